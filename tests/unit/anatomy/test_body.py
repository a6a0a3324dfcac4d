"""find_body: outline, head/feet orientation, posterior registration, on synthetic children."""

from __future__ import annotations

import numpy as np
import pytest
from figures_anatomy import make_child

from mibgscore.anatomy.body import find_body, to_original_frame
from mibgscore.anatomy.types import Body
from mibgscore.io.types import Scan


def _overlap(found: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """(share of the true body found, share of the found mask that is body)."""
    inter = float((found & true).sum())
    return inter / true.sum(), inter / max(found.sum(), 1)


@pytest.mark.parametrize("kw", [
    dict(height_cm=70, arms="side"),
    dict(height_cm=120, arms="apart", col_offset_mm=60),
    dict(height_cm=165, arms="side", legs_apart=False),
    dict(height_cm=95, arms="abducted", spacing_mm=4.0, shape=(512, 128), counts=2e5),
    dict(height_cm=100, spacing_mm=1.2, shape=(1536, 512)),
])
def test_outline_matches_the_body(kw):
    child = make_child(seed=3, **kw)
    body = find_body(child.scan)
    assert isinstance(body, Body)
    assert body.mask.shape == child.scan.shape and body.mask.dtype == bool
    found, precise = _overlap(body.mask, child.mask)
    assert found >= 0.93, f"found {found:.3f} of the body"
    assert precise >= 0.85, f"{precise:.3f} of the outline is body"
    assert not body.flipped_rows


def test_feet_first_scan_is_flipped_and_maps_back():
    child = make_child(height_cm=110, feet_first=True, seed=1)
    body = find_body(child.scan)
    assert body.flipped_rows
    assert any("feet-first" in n for n in body.notes)
    np.testing.assert_array_equal(body.anterior, child.scan.anterior[::-1])
    found, _ = _overlap(body.mask, child.mask[::-1])
    assert found >= 0.93
    # the vertex is near row 0 side in the canonical frame, and maps back to the true vertex
    rows = np.flatnonzero(body.mask.any(axis=1))
    r, c = to_original_frame(body, float(rows[0]), 128.0)
    assert abs(r - child.keypoints["vertex"][0]) <= 6, (r, child.keypoints["vertex"])
    assert c == 128.0


def test_head_first_scan_keeps_its_frame():
    child = make_child(height_cm=140, seed=2)
    body = find_body(child.scan)
    assert not body.flipped_rows
    assert to_original_frame(body, 10.0, 20.0) == (10.0, 20.0)


@pytest.mark.parametrize("shift", [(6, -4), (-9, 7), (0, 0)])
def test_posterior_shift_is_recovered(shift):
    child = make_child(height_cm=110, posterior_shift_px=shift, seed=4)
    body = find_body(child.scan)
    dr, dc = body.posterior_shift
    assert abs(dr + shift[0]) <= 1.0 and abs(dc + shift[1]) <= 1.0, body.posterior_shift
    # the registered posterior overlays the anterior: the correlation rises
    a, p = body.anterior, body.posterior
    assert np.corrcoef(a.ravel(), p.ravel())[0, 1] > 0.8


def test_posterior_row_scale_is_corrected():
    child = make_child(height_cm=120, seed=5)
    ant = child.scan.anterior
    rows = ant.shape[0]
    # stretch the posterior by 6 % along the body, about row 0
    src = np.clip(np.arange(rows) / 1.06, 0, rows - 1)
    post = np.stack([np.interp(src, np.arange(rows), col) for col in ant.T], axis=1)
    scan = Scan(anterior=ant, posterior=post.astype(np.float32), spacing_mm=(2.4, 2.4))
    body = find_body(scan)
    assert abs(body.posterior_row_scale - 1 / 1.06) < 0.02, body.posterior_row_scale
    # the registered views end at the same rows (head and soles)
    ends = []
    for view in (body.anterior, body.posterior):
        prof = view.sum(axis=1)
        rows_in = np.flatnonzero(prof > 0.05 * prof.max())
        ends.append((rows_in[0], rows_in[-1]))
    assert abs(ends[0][0] - ends[1][0]) <= 3 and abs(ends[0][1] - ends[1][1]) <= 3, ends


def test_single_view_scan():
    child = make_child(height_cm=100, single_view=True, seed=6)
    body = find_body(child.scan)
    assert body.posterior is None and body.anterior is not None
    assert body.posterior_shift == (0.0, 0.0)
    assert any("single view" in n for n in body.notes)
    found, _ = _overlap(body.mask, child.mask)
    assert found >= 0.93

    only_post = Scan(anterior=None, posterior=child.scan.anterior, spacing_mm=(2.4, 2.4))
    body = find_body(only_post)
    assert body.anterior is None and body.posterior is not None
    np.testing.assert_array_equal(body.counts, body.posterior)


def test_counts_are_not_rescaled():
    child = make_child(height_cm=100, seed=7)
    body = find_body(child.scan)
    np.testing.assert_array_equal(body.anterior, child.scan.anterior)
    assert body.anterior.dtype == np.float32 and body.posterior.dtype == np.float32
    assert body.spacing_mm == (2.4, 2.4)


def test_empty_posterior_is_not_registered():
    child = make_child(height_cm=100, seed=8)
    ant = child.scan.anterior
    scan = Scan(anterior=ant, posterior=np.zeros_like(ant), spacing_mm=(2.4, 2.4))
    body = find_body(scan)
    assert body.posterior_shift == (0.0, 0.0)
    assert any("almost no body" in n for n in body.notes)
    found, _ = _overlap(body.mask, child.mask)
    assert found >= 0.93


def test_blank_image_gives_a_whole_image_outline():
    scan = Scan(anterior=np.zeros((256, 64), np.float32), posterior=None, spacing_mm=(4.0, 4.0))
    body = find_body(scan)
    assert body.mask.all()
    assert any("no body outline" in n for n in body.notes)


