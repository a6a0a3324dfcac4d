"""fit_skeleton: landmarks and bone map on synthetic children of known anatomy."""

from __future__ import annotations

import numpy as np
import pytest
from figures_anatomy import make_child

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.anatomy.scheme import SIOPEN_KEYS, load_scheme
from mibgscore.anatomy.skeleton import SkeletonParams, fit_skeleton
from mibgscore.anatomy.types import Skeleton

CASES = {
    "infant, arms at the sides": dict(height_cm=68, arms="side"),
    "toddler, arms abducted, low counts, 4 mm": dict(height_cm=88, arms="abducted",
                                                     spacing_mm=4.0, shape=(512, 128),
                                                     counts=2e5),
    "child off-centre, arms apart": dict(height_cm=120, arms="apart", col_offset_mm=50),
    "adolescent, legs together": dict(height_cm=165, arms="side", legs_apart=False),
    "feet first": dict(height_cm=105, arms="apart", feet_first=True),
}

# largest landmark error allowed, as a fraction of stature
TOLERANCE = {"vertex": 0.02, "chin": 0.05, "shoulder_right": 0.06, "shoulder_left": 0.06,
             "hip_right": 0.07, "hip_left": 0.07, "knee_right": 0.06, "knee_left": 0.06,
             "ankle_right": 0.05, "ankle_left": 0.05}


@pytest.fixture(scope="module", params=list(CASES))
def fitted(request):
    child = make_child(seed=11, **CASES[request.param])
    body = find_body(child.scan)
    return child, body, fit_skeleton(body)


def test_skeleton_types(fitted):
    _, body, sk = fitted
    assert isinstance(sk, Skeleton)
    assert sk.bone_labels.dtype == np.int16 and sk.bone_labels.shape == body.shape
    assert sk.bone_position.dtype == np.float32
    assert 0.0 <= sk.confidence <= 1.0
    assert set(np.unique(sk.bone_labels)) <= set(range(len(BONES) + 1))
    # position defined on long bones only, and within 0-1
    long_labels = [BONE_LABEL[b] for b in LONG_BONES]
    on_long = np.isin(sk.bone_labels, long_labels)
    assert np.isfinite(sk.bone_position[on_long]).all()
    assert np.isnan(sk.bone_position[~on_long]).all()
    pos = sk.bone_position[on_long]
    assert pos.min() >= 0.0 and pos.max() <= 1.0
    # bone lies inside the body
    assert not (sk.bone_mask & ~body.mask).any()


def test_every_siopen_segment_is_present(fitted):
    _, _, sk = fitted
    seg = sk.segment_map(load_scheme("siopen"))
    area = np.bincount(seg.ravel(), minlength=len(SIOPEN_KEYS) + 1)[1:]
    missing = [k for k, a in zip(SIOPEN_KEYS, area, strict=True) if a < 20]
    assert not missing, f"segments without bone: {missing}"


def test_landmarks_near_the_truth(fitted):
    child, body, sk = fitted
    H = child.height_px
    rows = body.shape[0]
    errors = {}
    for name, tol in TOLERANCE.items():
        r, c = child.keypoints[name]
        if body.flipped_rows:
            r = rows - 1 - r
        fr, fc = sk.landmarks[name]
        err = float(np.hypot(fr - r, fc - c)) / H
        if err > tol:
            errors[name] = round(err, 3)
    assert not errors, f"landmark errors (fraction of stature): {errors}"


def test_patient_right_is_on_the_viewer_left(fitted):
    _, _, sk = fitted
    for right, left in [("humerus_right", "humerus_left"), ("femur_right", "femur_left"),
                        ("ribs_right", "ribs_left"), ("hip_bone_right", "hip_bone_left")]:
        cr = np.nonzero(sk.bone_labels == BONE_LABEL[right])[1].mean()
        cl = np.nonzero(sk.bone_labels == BONE_LABEL[left])[1].mean()
        assert cr < cl, (right, cr, cl)


def test_long_bones_run_proximal_to_distal(fitted):
    _, _, sk = fitted
    for bone in ("femur_right", "tibia_fibula_left", "humerus_left"):
        rr, _ = np.nonzero(sk.bone_labels == BONE_LABEL[bone])
        pos = sk.bone_position[sk.bone_labels == BONE_LABEL[bone]]
        # for limbs hanging down or out, the distal end is lower on the image
        assert np.corrcoef(rr, pos)[0, 1] > 0.5, bone


def test_vertical_order_of_the_axial_skeleton(fitted):
    _, _, sk = fitted

    def row(bone: str) -> float:
        return float(np.nonzero(sk.bone_labels == BONE_LABEL[bone])[0].mean())

    order = ["cranium", "cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum"]
    rows = [row(b) for b in order]
    assert rows == sorted(rows), dict(zip(order, rows, strict=True))
    assert row("femur_right") < row("tibia_fibula_right") < row("foot_right")


def test_age_changes_the_head_size():
    child = make_child(height_cm=100, seed=12, legs_apart=False)
    body = find_body(child.scan)
    young = fit_skeleton(body, age_years=1.0)
    old = fit_skeleton(body, age_years=15.0)
    assert young.landmarks["chin"][0] > old.landmarks["chin"][0]


def test_segment_map_uses_the_scheme(fitted):
    _, _, sk = fitted
    curie = load_scheme("curie")
    seg = sk.segment_map(curie)
    assert seg.dtype == np.uint8 and seg.max() <= len(curie.segments)
    np.testing.assert_array_equal(seg > 0, sk.bone_mask)


def test_bone_margin_gives_nearby_soft_tissue_to_thin_bones():
    child = make_child(height_cm=110, seed=13, arms="apart")
    body = find_body(child.scan)
    tight = fit_skeleton(body, params=SkeletonParams(margin_mm=0.0))
    loose = fit_skeleton(body)  # default margin
    assert SkeletonParams().margin_mm > 0
    grown = loose.bone_mask & ~tight.bone_mask
    assert grown.sum() > 0.1 * tight.bone_mask.sum()
    assert not (grown & ~body.mask).any(), "bone grown outside the body"
    # drawn bone keeps its label; the skull, hands, feet and lower legs are not grown
    np.testing.assert_array_equal(loose.bone_labels[tight.bone_mask],
                                  tight.bone_labels[tight.bone_mask])
    broad = [BONE_LABEL[b] for b in BONES if b.startswith(("cranium", "facial", "mandible",
                                                            "hand_", "foot_", "tibia"))]
    assert not np.isin(loose.bone_labels[grown], broad).any()
    # a grown pixel takes a bone that lies within the margin (plus a working-grid pixel)
    from scipy import ndimage as ndi

    px = float(body.spacing_mm[0])
    for lab in np.unique(loose.bone_labels[grown]):
        d = ndi.distance_transform_edt(tight.bone_labels != lab) * px
        assert d[grown & (loose.bone_labels == lab)].max() <= 4.0 + 2 * 4.0 + 0.5
    # long bones keep a position along them where grown
    long_ids = [BONE_LABEL[b] for b in LONG_BONES]
    g_long = grown & np.isin(loose.bone_labels, long_ids)
    assert np.isfinite(loose.bone_position[g_long]).all()
