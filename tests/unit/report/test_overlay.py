"""The overlay PNG: size, lesion marks where the hot spots are, mirrored posterior."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from report_cases import make_case
from scipy import ndimage

from mibgscore.io.types import Scan
from mibgscore.report.overlay import SEGMENT_COLOURS, render_overlay


def _rgb(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB")).astype(int)


def _red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)


def _hot_spots(rgb: np.ndarray, top: int) -> list[tuple[float, float]]:
    """Centroids (row, col) of black blobs under the titles: the focal lesions' hot spots."""
    black = (rgb.max(axis=2) < 40)
    black[:top] = False
    labels, n = ndimage.label(black)
    keep = []
    for i, box in enumerate(ndimage.find_objects(labels), start=1):
        h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
        if 5 <= h <= 20 and 5 <= w <= 20 and (labels[box] == i).sum() >= 40:  # small, round
            keep.append(i)
    return [tuple(c) for c in ndimage.center_of_mass(black, labels, keep)]


@pytest.fixture(scope="module")
def clean():
    """A noise-free case, rendered with and without its lesions."""
    scan, result = make_case(noise=False)
    marked = _rgb(render_overlay(scan, result, title=""))
    bare = _rgb(render_overlay(scan, dataclasses.replace(result, lesions=[]), title=""))
    return scan, result, marked, bare


def test_png_file_and_size(case, tmp_path):
    scan, result = case
    path = tmp_path / "overlay.png"
    png = render_overlay(scan, result, path)
    assert path.read_bytes() == png
    rgb = _rgb(png)
    assert rgb.shape[0] >= 900 and rgb.shape[1] >= 900, rgb.shape


def test_low_confidence_segments_are_flagged(case):
    scan, result = case  # the pelvis grade has confidence 0.55

    def flagged(rgb):  # the highlight behind a flagged table row
        return int((np.abs(rgb - np.array([0xff, 0xf2, 0xa8])).sum(axis=2) < 6).sum())

    low = flagged(_rgb(render_overlay(scan, result)))
    sure = dataclasses.replace(result, siopen_confidence={k: 0.95 for k in result.siopen})
    assert low > 1000 and flagged(_rgb(render_overlay(scan, sure))) == 0, low


def test_lesions_are_ringed_on_both_views_where_the_hot_spots_are(clean):
    _, _, marked, bare = clean
    top = 90  # below the titles
    width = marked.shape[1]
    spots = [s for s in _hot_spots(bare, top) if s[1] < 0.55 * width]  # the two views
    assert len(spots) == 4, f"expected 2 focal hot spots x 2 views, found {spots}"
    red_marked = np.argwhere(_red(marked))
    red_bare = np.argwhere(_red(bare))
    for r, c in spots:
        near = np.hypot(red_marked[:, 0] - r, red_marked[:, 1] - c).min()
        assert near <= 15, f"no lesion mark within 15 px of the hot spot at ({r:.0f}, {c:.0f})"
        if len(red_bare):
            far = np.hypot(red_bare[:, 0] - r, red_bare[:, 1] - c).min()
            assert far > 15, f"red near ({r:.0f}, {c:.0f}) without any lesion ({far:.1f} px)"


def test_posterior_is_drawn_as_seen_from_behind(clean):
    bare = clean[3]
    black = bare.max(axis=2) < 40
    labels, _ = ndimage.label(black)
    frames = sorted((box[1].start, box[1].stop) for box in ndimage.find_objects(labels)
                    if box[0].stop - box[0].start > 500)  # the two panels' black frames
    assert len(frames) == 2, frames
    spots = [s for s in _hot_spots(bare, 90) if s[0] < 300]  # the skull lesion, both views
    assert len(spots) == 2, spots
    where = []
    for (left, right), (_, c) in zip(frames, sorted(spots, key=lambda s: s[1]), strict=True):
        where.append((c - left) / (right - left))
    # col 70.5 of 128 (patient's left of the midline): at 0.55 of the anterior panel's width,
    # at 0.45 of the posterior panel's (seen from behind).
    assert abs(where[0] - 70.5 / 128) < 0.03, where
    assert abs(where[1] - (1 - 70.5 / 128)) < 0.03, where


def test_without_evidence_or_table_there_are_no_outlines_and_the_png_is_narrower(clean):
    scan, result, with_maps, _ = clean
    without = _rgb(render_overlay(scan, dataclasses.replace(result, evidence=None), title="",
                                  table=False))
    skull = np.array([int(SEGMENT_COLOURS[0][i:i + 2], 16) for i in (1, 3, 5)])

    def count(rgb):
        return int((np.abs(rgb - skull).sum(axis=2) < 30).sum())

    assert count(with_maps) > 100
    assert count(without) == 0
    assert without.shape[1] < 0.6 * with_maps.shape[1], (without.shape, with_maps.shape)


def test_single_view_scan(clean):
    scan, result, two, _ = clean
    single = Scan(anterior=scan.anterior, posterior=None, spacing_mm=scan.spacing_mm)
    rgb = _rgb(render_overlay(single, result))
    assert rgb.shape[1] < two.shape[1] - 150
