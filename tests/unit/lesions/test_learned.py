"""The learned lesion stage without its network: the grid, resampling, the input, and how a
hand-made prediction becomes foci and diffuse involvement on a synthetic skeleton."""

import math

import numpy as np
import pytest

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.grid import WorkGrid
from mibgscore.anatomy.types import Body, WorkingSkeleton
from mibgscore.lesions.learned import (
    NET_BODY_ROWS,
    NET_MAX_COLS,
    NET_MULTIPLE,
    LearnedParams,
    find_lesions_learned,
    net_grid,
    net_input,
    resample,
)
from mibgscore.pipeline import ScoreParams, lesion_method
from mibgscore.uptake.images import working_views

P = LearnedParams(diffuse_p=0.5, focal_p=0.3, focal_min_mm=12.0, snap_mm=10.0)
"""Thresholds these tests are written for (fixed here, whatever the shipped defaults)."""
SPACING_MM = 2.0
F = 2  # working grid: canonical pixels binned 2 x 2, so 4 mm per working pixel
SPINE = BONE_LABEL["thoracic_spine"]
SPINE_ROWS = (10, 90)  # working rows of the synthetic spine (half-open)
SPINE_COLS = (18, 22)  # working cols
WORK = WorkGrid(F, (200, 80), False, (SPACING_MM, SPACING_MM))


def _mask(rows=(10, 190), cols=(20, 60), shape=(200, 80)) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[rows[0]:rows[1], cols[0]:cols[1]] = True
    return m


def _body(anterior=100.0, posterior=100.0, mask=None) -> Body:
    mask = _mask() if mask is None else mask
    views = [None if v is None else np.where(mask, v, 0.0).astype(np.float32)
             for v in (anterior, posterior)]
    return Body(anterior=views[0], posterior=views[1], flipped_rows=False,
                posterior_shift=(0.0, 0.0), mask=mask, spacing_mm=(SPACING_MM, SPACING_MM))


def _labels() -> np.ndarray:
    labels = np.zeros((100, 40), dtype=np.int16)
    labels[SPINE_ROWS[0]:SPINE_ROWS[1], SPINE_COLS[0]:SPINE_COLS[1]] = SPINE
    return labels


def _canonical(r_w, c_w):
    """Canonical (row, col) of working pixel centres."""
    return WORK.to_canonical(r_w, c_w)


def _find(body, labels, params, prediction):
    """The learned stage on the test's working grid (binned 2 x 2)."""
    views = working_views(body, WORK)
    skeleton = WorkingSkeleton(WORK, None, labels, np.full(labels.shape, np.nan, np.float32))
    return find_lesions_learned(views, skeleton, params=params, prediction=prediction)


def _gauss(shape, i, j, sigma, peak):
    ii, jj = np.ogrid[:shape[0], :shape[1]]
    return (peak * np.exp(-((ii - i) ** 2 + (jj - j) ** 2) / (2 * sigma ** 2))
            ).astype(np.float32)


def _net_pixel(grid, r_w, c_w) -> tuple[int, int]:
    i, j = grid.to_net(*_canonical(r_w, c_w))
    return int(round(float(i))), int(round(float(j)))


def _working_of_net(grid, i, j) -> tuple[int, int]:
    """Working pixel under a net pixel's centre."""
    rows, cols = grid.source_axes()
    r, c = WORK.to_working(rows[i], cols[j])
    return int(r), int(c)


# --- the grid -------------------------------------------------------------------------------

def test_body_spans_net_body_rows_and_sides_are_multiples():
    mask = _mask()  # 180 rows x 40 cols of body
    grid = net_grid(mask)
    assert grid.zoom == pytest.approx(NET_BODY_ROWS / 180)
    h, w = grid.shape
    assert h % NET_MULTIPLE == 0 and w % NET_MULTIPLE == 0, grid.shape
    assert (h, w) == (416, 112)
    on_net = resample(mask.astype(np.float32), grid, order=0) > 0.5
    body_rows = int(on_net.any(axis=1).sum())
    assert abs(body_rows - NET_BODY_ROWS) <= 1, f"body spans {body_rows} net rows"
    body_cols = int(on_net.any(axis=0).sum())
    assert abs(body_cols - 40 * grid.zoom) <= 1.5, f"body spans {body_cols} net cols"
    # the body's centre is the grid's centre
    r, c = grid.to_net((10 + 189) / 2.0, (20 + 59) / 2.0)
    assert float(r) == pytest.approx((h - 1) / 2.0)
    assert float(c) == pytest.approx((w - 1) / 2.0)


def test_a_wide_field_is_capped_at_net_max_cols():
    grid = net_grid(_mask(rows=(0, 200), cols=(0, 400), shape=(200, 400)))
    assert grid.shape[1] == NET_MAX_COLS
    assert grid.shape[0] % NET_MULTIPLE == 0
    # cropped about the body's centre
    _, c = grid.to_net(99.5, 399 / 2.0)
    assert float(c) == pytest.approx((NET_MAX_COLS - 1) / 2.0)


def test_jitter_scales_the_zoom():
    mask = _mask()
    base = net_grid(mask)
    for jitter in (0.9, 1.1):
        g = net_grid(mask, jitter=jitter)
        assert g.zoom == pytest.approx(base.zoom * jitter)
        assert g.shape[0] % NET_MULTIPLE == 0 and g.shape[1] % NET_MULTIPLE == 0
        rows = int((resample(mask.astype(np.float32), g, order=0) > 0.5).any(axis=1).sum())
        assert abs(rows - NET_BODY_ROWS * jitter) <= 1.5, f"jitter {jitter}: {rows} rows"


def test_to_net_inverts_source_axes():
    grid = net_grid(_mask())
    i, j = grid.source_axes()
    assert i.shape == (grid.shape[0],) and j.shape == (grid.shape[1],)
    ri, rj = grid.to_net(i, j)
    np.testing.assert_allclose(ri, np.arange(grid.shape[0]), atol=1e-9)
    np.testing.assert_allclose(rj, np.arange(grid.shape[1]), atol=1e-9)
    # one net pixel is 1 / zoom canonical pixels
    np.testing.assert_allclose(np.diff(i), 1.0 / grid.zoom)


# --- resampling -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape,rows", [((200, 80), (10, 190)), ((1000, 300), (50, 950))])
def test_a_constant_image_stays_constant_inside(shape, rows):
    mask = _mask(rows=rows, cols=(shape[1] // 4, 3 * shape[1] // 4), shape=shape)
    grid = net_grid(mask)
    out = resample(np.full(shape, 7.0, dtype=np.float32), grid)
    assert out.shape == grid.shape and out.dtype == np.float32
    i, j = grid.source_axes()
    inside = ((i >= 0) & (i <= shape[0] - 1))[:, None] & ((j >= 0) & (j <= shape[1] - 1))[None]
    assert inside.sum() > 0.5 * out.size
    np.testing.assert_allclose(out[inside], 7.0, rtol=1e-5)
    outside = ((i < -1) | (i > shape[0]))[:, None] | ((j < -1) | (j > shape[1]))[None]
    if outside.any():
        assert np.all(out[outside] == 0.0)


def test_order_0_keeps_the_labels():
    mask = _mask()
    grid = net_grid(mask)
    labels = np.zeros(mask.shape, dtype=np.int16)
    labels[40:120, 36:44] = 5
    labels[130:180, 24:34] = 3
    out = resample(labels, grid, order=0)
    assert set(np.unique(out).tolist()) == {0.0, 3.0, 5.0}
    i, j = grid.source_axes()
    ii = np.clip(np.rint(i).astype(int), 0, mask.shape[0] - 1)
    jj = np.clip(np.rint(j).astype(int), 0, mask.shape[1] - 1)
    np.testing.assert_array_equal(out, labels[np.ix_(ii, jj)])
    # each label keeps its area, scaled by zoom squared
    for k, area in ((5, 80 * 8), (3, 50 * 10)):
        ratio = (out == k).sum() / (area * grid.zoom ** 2)
        assert 0.9 < ratio < 1.1, f"label {k}: area ratio {ratio:.3f}"


# --- the input ------------------------------------------------------------------------------

def test_net_input_channels():
    body = _body(anterior=100.0, posterior=300.0)
    grid = net_grid(body.mask)
    x = net_input(body, grid)
    assert x.shape == (3, *grid.shape) and x.dtype == np.float32
    np.testing.assert_array_equal(x[2], resample(body.mask.astype(np.float32), grid))
    r, c = (int(round(float(v))) for v in grid.to_net(100.0, 40.0))
    assert x[2, r, c] == pytest.approx(1.0)
    assert x[2, 0, 0] == 0.0
    inside = x[2] > 0.5
    assert abs(inside.sum() / (180 * 40 * grid.zoom ** 2) - 1) < 0.05
    # counts over their mean in the body: both views near log(2) in the body, 0 outside
    for k in (0, 1):
        assert x[k, r, c] == pytest.approx(math.log(2.0), abs=0.02)
        assert x[k, 0, 0] == 0.0
    np.testing.assert_allclose(x[0], x[1], atol=1e-5)  # uniform views: scale drops out


def test_a_single_view_fills_both_channels():
    body = _body(anterior=50.0, posterior=None)
    grid = net_grid(body.mask)
    x = net_input(body, grid)
    np.testing.assert_array_equal(x[0], x[1])
    assert x[0].max() > 0.5


# --- from a prediction to lesions -----------------------------------------------------------

def _predict(grid, diffuse=None, focal=None):
    prob = np.zeros((3, *grid.shape), dtype=np.float32)
    if diffuse is not None:
        prob[0] = diffuse
    if focal is not None:
        prob[1] = focal
    return grid, prob


def test_a_diffuse_blob_marks_only_nearby_bone():
    body, labels = _body(), _labels()
    grid = net_grid(body.mask)
    centre_w = (30, 20)  # on the spine
    i, j = grid.to_net(*_canonical(*centre_w))
    sigma = 10.0  # net pixels (about 9 mm); above 0.5 within 1.08 sigma
    blob = _gauss(grid.shape, float(i), float(j), sigma, 0.9)
    out = _find(body, labels, P, _predict(grid, diffuse=blob))
    assert out.focal == ()
    assert out.diffuse.shape == labels.shape and out.diffuse.dtype == bool
    assert out.diffuse.any()
    assert not (out.diffuse & (labels == 0)).any(), "diffuse pixels off bone"
    rr, cc = np.nonzero(out.diffuse)
    net_px_mm = SPACING_MM / grid.zoom
    d_mm = np.hypot(rr - centre_w[0], cc - centre_w[1]) * F * SPACING_MM
    # blob above 0.5 (10.2 mm) + the square snap window (10 mm, up to 14.1 mm on diagonals)
    reach = sigma * math.sqrt(2 * math.log(0.9 / 0.5)) * net_px_mm + 10.0 * math.sqrt(2) + 2
    assert d_mm.max() <= reach, f"diffuse pixel {d_mm.max():.1f} mm from the blob"
    near = (labels > 0) & (np.hypot(*np.meshgrid(np.arange(100) - centre_w[0],
                                                 np.arange(40) - centre_w[1],
                                                 indexing="ij")) * F * SPACING_MM <= 10.0)
    assert out.diffuse[near].all(), "bone within 10 mm of the blob's centre not involved"
    assert not out.diffuse[60:].any(), "bone far down the spine marked diffuse"
    assert out.excess[centre_w] == pytest.approx(0.9, abs=0.01)
    np.testing.assert_array_equal(out.bone_zone, labels > 0)


def test_a_focal_peak_near_bone_snaps_onto_it():
    body, labels = _body(), _labels()
    grid = net_grid(body.mask)
    i, j = _net_pixel(grid, 40, SPINE_COLS[1])  # one working pixel right of the spine
    heat = _gauss(grid.shape, i, j, 3.0, 0.8)
    out = _find(body, labels, P, _predict(grid, focal=heat))
    assert len(out.focal) == 1, out.focal
    f = out.focal[0]
    r, c = _working_of_net(grid, i, j)
    assert (f.row, f.col) == (r, c)
    assert abs(f.row - 40) <= 1 and abs(f.col - SPINE_COLS[1]) <= 1
    br, bc = np.nonzero(labels)
    k = int(np.argmin((br - r) ** 2 + (bc - c) ** 2))
    assert (f.bone_row, f.bone_col) == (int(br[k]), int(bc[k]))
    assert labels[f.bone_row, f.bone_col] == SPINE and f.bone == "thoracic_spine"
    assert f.confidence == pytest.approx(0.8, abs=1e-6)
    assert 3.0 <= f.radius_mm <= 15.0
    assert not out.diffuse.any()
    assert out.significance[r, c] == pytest.approx(0.8, abs=0.1)


def test_a_peak_beyond_snap_mm_is_dropped():
    body, labels = _body(), _labels()
    grid = net_grid(body.mask)
    far_col = SPINE_COLS[1] + 8  # 9 working pixels = 36 mm from the spine's edge
    i, j = _net_pixel(grid, 40, far_col)
    heat = _gauss(grid.shape, i, j, 3.0, 0.9)
    out = _find(body, labels, P, _predict(grid, focal=heat))
    assert out.focal == ()
    # the same peak is kept when snap_mm reaches the spine
    wide = LearnedParams(diffuse_p=0.5, focal_p=0.3, snap_mm=45.0)
    out = _find(body, labels, wide, _predict(grid, focal=heat))
    assert len(out.focal) == 1 and out.focal[0].bone_col == SPINE_COLS[1] - 1


def test_two_peaks_closer_than_focal_min_mm_give_one_focus():
    body, labels = _body(), _labels()
    grid = net_grid(body.mask)
    net_px_mm = SPACING_MM / grid.zoom
    i, j = _net_pixel(grid, 40, 20)
    gap = int(round(6.0 / net_px_mm))  # 6 mm apart, focal_min_mm is 12
    heat = np.maximum(_gauss(grid.shape, i, j, 2.0, 0.7),
                      _gauss(grid.shape, i + gap, j, 2.0, 0.6))
    out = _find(body, labels, P, _predict(grid, focal=heat))
    assert len(out.focal) == 1, [(f.row, f.col, f.confidence) for f in out.focal]
    assert out.focal[0].confidence == pytest.approx(0.7, abs=1e-6)
    # 40 mm apart: two foci, hottest first
    far = int(round(40.0 / net_px_mm))
    heat = np.maximum(_gauss(grid.shape, i, j, 2.0, 0.7),
                      _gauss(grid.shape, i + far, j, 2.0, 0.6))
    out = _find(body, labels, P, _predict(grid, focal=heat))
    assert [round(f.confidence, 3) for f in out.focal] == [0.7, 0.6]
    assert out.focal[1].row - out.focal[0].row == pytest.approx(40.0 / (F * SPACING_MM), abs=1)


def test_a_peak_under_focal_p_is_not_a_focus():
    body, labels = _body(), _labels()
    grid = net_grid(body.mask)
    i, j = _net_pixel(grid, 40, 20)
    heat = _gauss(grid.shape, i, j, 3.0, 0.25)  # focal_p is 0.3
    out = _find(body, labels, P, _predict(grid, focal=heat))
    assert out.focal == ()


# --- choosing the stage ---------------------------------------------------------------------

def test_lesion_method_choice():
    with pytest.raises(ValueError, match="bogus"):
        lesion_method(ScoreParams(lesion_method="bogus"))
    assert lesion_method(ScoreParams(lesion_method="classic")) == "classic"
    assert lesion_method(ScoreParams(lesion_method="auto")) in ("learned", "classic")


# --- diffuse extent in the limbs ------------------------------------------------------------

EXT = LearnedParams(diffuse_p=0.9, extent_p=0.5, focal_p=0.3, snap_mm=10.0)
"""Sure involvement at 0.9; its extent reaches every connected pixel above 0.5."""


def _femur():
    """A femur (working rows 20-80, cols 10-13) with its long-bone positions."""
    labels = np.zeros((100, 40), dtype=np.int16)
    labels[20:80, 10:13] = BONE_LABEL["femur_right"]
    position = np.full(labels.shape, np.nan, np.float32)
    position[20:80, 10:13] = np.linspace(0, 1, 60, dtype=np.float32)[:, None]
    return labels, position


def _whole_bone_prediction(grid, core_p, rest_p, shift_cols=0):
    """Network maps of a femur involved end to end: very sure in its middle third, less at
    the ends (what a real network does at a bone's faint epiphyses); the network's bone is
    where the femur is, ``shift_cols`` working columns beside the fitted one."""
    prob = np.zeros((3, *grid.shape), dtype=np.float32)
    rows, cols = grid.source_axes()
    r_w, c_w = WORK.to_working(rows, cols)
    on = (np.asarray(r_w)[:, None] >= 20) & (np.asarray(r_w)[:, None] < 80) & \
        (np.asarray(c_w)[None, :] >= 10 + shift_cols) & (np.asarray(c_w)[None, :] < 13 + shift_cols)
    core = on & (np.asarray(r_w)[:, None] >= 40) & (np.asarray(r_w)[:, None] < 60)
    prob[0] = np.where(core, core_p, np.where(on, rest_p, 0.0))
    prob[2] = on.astype(np.float32)
    return grid, prob


def test_a_femur_involved_end_to_end_grades_6():
    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.grading.segments import grade_scan
    from mibgscore.lesions.types import SkeletalLesions  # noqa: F401 - the stage's output type

    body = _body()
    labels, position = _femur()
    grid = net_grid(body.mask)
    views = working_views(body, WORK)
    skeleton = WorkingSkeleton(WORK, None, labels, position)
    # the network's femur lies one working pixel (4 mm) beside the fitted outline
    prediction = _whole_bone_prediction(grid, 0.97, 0.6, shift_cols=1)
    out = find_lesions_learned(views, skeleton, params=EXT, prediction=prediction)
    grades = grade_scan(skeleton, out, 0, load_scheme("siopen"), load_scheme("curie"))
    by_key = {e.key: e for e in grades.siopen}
    assert by_key["right_lower_limb_proximal"].grade == 6, by_key["right_lower_limb_proximal"]
    assert by_key["right_lower_limb_distal"].grade == 6, by_key["right_lower_limb_distal"]
    # only the sure middle third, nothing around it: half of each half is involved at most
    out = find_lesions_learned(views, skeleton, params=EXT,
                               prediction=_whole_bone_prediction(grid, 0.97, 0.0, 1))
    grades = grade_scan(skeleton, out, 0, load_scheme("siopen"), load_scheme("curie"))
    assert {e.key: e.grade for e in grades.siopen}["right_lower_limb_proximal"] < 6


def test_uncertain_uptake_alone_is_not_diffuse_disease():
    body = _body()
    labels, position = _femur()
    grid = net_grid(body.mask)
    skeleton = WorkingSkeleton(WORK, None, labels, position)
    out = find_lesions_learned(working_views(body, WORK), skeleton, params=EXT,
                               prediction=_whole_bone_prediction(grid, 0.45, 0.45, 0))
    assert not out.diffuse.any()
