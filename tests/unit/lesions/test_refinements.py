"""Evidence the learned detector weighs: legs on the network's legs, depth behind the
sternum, and the focus verifier's verdicts."""

import json

import numpy as np
import pytest

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.grid import WorkGrid
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.lesions._evidence import FEATURES, focus_evidence
from mibgscore.lesions._limbs import refine_legs
from mibgscore.lesions.types import FocalLesion
from mibgscore.lesions.verifier import FocusVerifier

GRID = WorkGrid(1, (200, 80), False, (3.0, 3.0))


def _legs(right_col: int, left_col: int) -> WorkingSkeleton:
    labels = np.zeros((200, 80), np.int16)
    position = np.full(labels.shape, np.nan, np.float32)
    for name, col in (("right", right_col), ("left", left_col)):
        labels[60:120, col - 2:col + 3] = BONE_LABEL[f"femur_{name}"]
        labels[120:180, col - 2:col + 3] = BONE_LABEL[f"tibia_fibula_{name}"]
        position[60:120, col - 2:col + 3] = np.linspace(0, 1, 60)[:, None]
        position[120:180, col - 2:col + 3] = np.linspace(0, 1, 60)[:, None]
    labels[40:60, 25:55] = BONE_LABEL["hip_bone_right"]
    return WorkingSkeleton(GRID, None, labels, position)


def test_legs_held_together_are_moved_onto_the_legs_the_network_sees():
    fitted = _legs(right_col=30, left_col=38)  # the fit put both legs left of the midline
    bone_p = np.zeros((200, 80), np.float32)
    bone_p[60:180, 28:33] = 0.9   # the right leg, where the fit has it
    bone_p[60:180, 48:53] = 0.9   # the left leg, 12 columns (36 mm) further
    out = refine_legs(fitted, bone_p)
    left_cols = np.nonzero((out.labels == BONE_LABEL["tibia_fibula_left"]).any(axis=0))[0]
    right_cols = np.nonzero((out.labels == BONE_LABEL["tibia_fibula_right"]).any(axis=0))[0]
    assert 48 <= left_cols.mean() <= 52, left_cols
    assert 28 <= right_cols.mean() <= 32, right_cols
    # positions travel with their pixels; the trunk is untouched
    moved = out.labels == BONE_LABEL["femur_left"]
    assert np.nanmin(out.position[moved]) == 0.0 and np.nanmax(out.position[moved]) == 1.0
    assert (out.labels == BONE_LABEL["hip_bone_right"]).sum() == 20 * 30


def test_legs_stay_where_the_network_shows_one_leg_or_none():
    fitted = _legs(right_col=30, left_col=50)
    bone_p = np.zeros((200, 80), np.float32)
    bone_p[60:180, 36:45] = 0.9  # one broad ridge: legs together, not told apart
    out = refine_legs(fitted, bone_p)
    np.testing.assert_array_equal(out.labels, fitted.labels)


def _verifier(weights: dict[str, float], threshold=0.5) -> FocusVerifier:
    n = len(FEATURES)
    coef = [weights.get(f, 0.0) for f in FEATURES]
    return FocusVerifier.from_json(json.dumps({
        "features": list(FEATURES), "mean": [0.0] * n, "scale": [1.0] * n, "coef": coef,
        "intercept": 0.0, "threshold": threshold}))


def test_the_verifier_weighs_evidence_and_names_what_it_took_a_focus_for():
    v = _verifier({"anterior_share": -8.0, "in_glands": -6.0})
    x = np.zeros(len(FEATURES))
    x[FEATURES.index("anterior_share")] = 0.3  # deep: posterior
    assert v.probability(x) < 0.5  # intercept 0 and a negative term
    x[FEATURES.index("anterior_share")] = -0.5
    assert v.probability(x) > 0.5
    x[FEATURES.index("in_glands")] = 1.0
    assert v.probability(x) < 0.5 and v.reason(x) == "salivary_glands"
    assert _verifier({}).reason(np.zeros(len(FEATURES))) == "not_bone"
    with pytest.raises(ValueError, match="other features"):
        FocusVerifier.from_json(json.dumps({"features": ["x"], "mean": [0], "scale": [1],
                                            "coef": [1], "intercept": 0, "threshold": 0.5}))


def test_the_evidence_reads_depth_from_the_two_views():
    from mibgscore.anatomy.types import Body
    from mibgscore.uptake.images import combine_views
    from mibgscore.uptake.types import NormalUptake, WorkingViews

    mask = np.zeros((200, 80), bool)
    mask[10:190, 10:70] = True
    rr, cc = np.mgrid[:200, :80]
    spot = np.exp(-((rr - 100) ** 2 + (cc - 40) ** 2) / 8.0)
    ant = np.where(mask, 20.0 + 20.0 * spot, 0).astype(np.float32)    # faint in front
    post = np.where(mask, 20.0 + 180.0 * spot, 0).astype(np.float32)  # strong behind
    body = Body(anterior=ant, posterior=post, flipped_rows=False, posterior_shift=(0, 0),
                mask=mask, spacing_mm=(3.0, 3.0))
    images = combine_views(ant, post, mask, (3.0, 3.0))
    views = WorkingViews(body, GRID, ant, post, images)
    uptake = NormalUptake(findings=(), mask=np.zeros_like(mask), expected=ant, images=images)
    focus = FocalLesion(row=100, col=40, bone_row=100, bone_col=40, bone="thoracic_spine",
                        radius_mm=5.0, contrast=2.0, z=10.0, confidence=0.8)
    x = focus_evidence(focus, views, uptake, float("nan"))
    assert x[FEATURES.index("anterior_share")] == pytest.approx(0.1, abs=0.03)
    assert x[FEATURES.index("bone_spine")] == 1.0 and x[FEATURES.index("bone_head")] == 0.0
    assert x[FEATURES.index("midline_mm")] < 5.0  # on the midline
    assert x[FEATURES.index("mirror_ratio")] == 1.0  # its own mirror


def test_a_deep_focus_over_the_sternum_is_the_spine_behind_it():
    from mibgscore.anatomy.types import Body
    from mibgscore.lesions.learned import LearnedParams, _behind_the_sternum
    from mibgscore.uptake.images import combine_views
    from mibgscore.uptake.types import WorkingViews

    labels = np.zeros((200, 80), np.int16)
    labels[40:160, 37:43] = BONE_LABEL["thoracic_spine"]
    labels[78:92, 36:44] = BONE_LABEL["sternum"]  # drawn over the spine, as in a planar view
    mask = np.zeros((200, 80), bool)
    mask[10:190, 10:70] = True
    rr, cc = np.mgrid[:200, :80]
    spot = np.exp(-((rr - 85) ** 2 + (cc - 40) ** 2) / 8.0)

    def views(front, back):
        ant = np.where(mask, 20.0 + front * spot, 0).astype(np.float32)
        post = np.where(mask, 20.0 + back * spot, 0).astype(np.float32)
        body = Body(anterior=ant, posterior=post, flipped_rows=False,
                    posterior_shift=(0, 0), mask=mask, spacing_mm=(3.0, 3.0))
        return WorkingViews(body, GRID, ant, post, combine_views(ant, post, mask, (3.0, 3.0)))

    p = LearnedParams()
    br, bc = _behind_the_sternum(views(20.0, 180.0), labels, 85, 40, 85, 40, 3.0, p)
    assert labels[br, bc] == BONE_LABEL["thoracic_spine"]  # the nearest spine pixel in view
    # in front: the sternum's own focus
    assert _behind_the_sternum(views(180.0, 20.0), labels, 85, 40, 85, 40, 3.0, p) == (85, 40)


def _femur_extent():
    """A femur's measured extent (rows 60-119), its nearest-bone labels, and a joint zone at
    its top (rows 60-64, next to the hip bone)."""
    label = BONE_LABEL["femur_right"]
    extent = np.zeros((200, 80), bool)
    extent[60:120, 18:23] = True
    nearest = np.where(extent, label, 0).astype(np.int16)
    joint = np.zeros_like(extent)
    joint[60:65, 18:23] = True
    return extent, nearest, joint, label


def test_a_whole_femur_is_not_made_partial_by_its_joint_with_the_hip():
    from mibgscore.lesions.learned import _joint_gap

    extent, nearest, joint, _ = _femur_extent()
    involved = extent.copy()
    involved[60:64] = False  # the network's involvement stops at the misplaced head
    gap = _joint_gap(joint, extent, nearest, involved)
    assert gap[60:64, 18:23].all() and not gap[64:].any()
    # involvement stopping short of the joint: the joint's bone counts as uninvolved
    short = extent.copy()
    short[60:90] = False
    assert not _joint_gap(joint, extent, nearest, short).any()


def test_a_detached_uninvolved_piece_is_not_the_bone_s():
    from mibgscore.lesions.learned import _detached

    extent, nearest, _, label = _femur_extent()
    extent[70:80, 2:5] = True          # a hand lying beside the thigh
    nearest[70:80, 2:5] = label
    involved = np.zeros_like(extent)
    involved[60:120, 18:23] = True
    dropped = _detached(extent, nearest, involved)
    assert dropped[70:80, 2:5].all() and not dropped[60:120, 18:23].any()
    involved[72, 3] = True              # involved: it stays
    assert not _detached(extent, nearest, involved).any()
