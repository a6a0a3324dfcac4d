"""Known answers on a flat synthetic patient: foci, a diffuse band, a hot liver."""

import numpy as np
import pytest
from lesion_phantom import blob, make_phantom

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.lesions.skeletal import ClassicDetector
from mibgscore.uptake.images import working_views
from mibgscore.uptake.normal import find_normal_uptake


def _run(extra=None, **kw):
    body, skeleton = make_phantom(extra, **kw)
    views, bones = working_views(body), skeleton.on(body.grid)
    uptake = find_normal_uptake(views, bones)
    return body, skeleton, uptake, ClassicDetector().find(views, bones, uptake)


@pytest.mark.parametrize("level", [8.0, 40.0])
def test_a_normal_flat_patient_has_no_lesion(level):
    for seed in range(3):
        _, _, uptake, lesions = _run(level=level, seed=seed)
        assert lesions.focal == (), [(f.row, f.col, f.z, f.contrast) for f in lesions.focal]
        assert not lesions.diffuse.any()
        assert uptake.findings == ()


def test_three_foci_are_found_within_two_pixels():
    places = [(300, 60), (150, 80), (400, 100)]  # right hip bone, sternum, left femur
    extra = sum(2.0 * blob(r, c, 2.0) for r, c in places)
    _, _, _, lesions = _run(extra, level=15.0, seed=1)
    assert len(lesions.focal) == 3, [(f.row, f.col) for f in lesions.focal]
    for r, c in places:
        d = min(np.hypot(f.row - r, f.col - c) for f in lesions.focal)
        assert d <= 2.0, f"focus at ({r}, {c}) found {d:.1f} px away"
    bones = sorted(f.bone for f in lesions.focal)
    assert bones == ["femur_left", "hip_bone_right", "sternum"]
    assert all(0.5 < f.confidence <= 1.0 for f in lesions.focal)


def test_one_view_is_enough_for_a_clear_focus():
    _, _, _, lesions = _run(3.0 * blob(400, 60, 2.0), level=20.0, seed=2, single_view=True)
    assert [(f.bone) for f in lesions.focal] == ["femur_right"]


def test_a_diffuse_band_over_sixty_percent_of_a_femur_is_diffuse():
    # left femur: rows 320-440, cols 95-105; involve rows 330-402 (60 % of its length)
    extra = np.zeros((560, 160))
    extra[330:402, 95:105] = 1.0
    from scipy import ndimage as ndi

    extra = ndi.gaussian_filter(extra, 1.0)
    _, skeleton, _, lesions = _run(extra, level=15.0, seed=3)
    femur = skeleton.bone_labels == BONE_LABEL["femur_left"]
    fraction = lesions.diffuse[femur].mean()
    assert 0.5 <= fraction <= 0.95, f"diffuse fraction {fraction:.2f}"
    other = (skeleton.bone_labels > 0) & ~femur
    assert lesions.diffuse[other].mean() < 0.01


def test_a_hot_liver_over_the_right_ribs_is_a_finding_not_a_lesion():
    rr, cc = np.mgrid[:560, :160]
    liver = (((rr - 215) / 30.0) ** 2 + ((cc - 62) / 26.0) ** 2 <= 1).astype(float)
    from scipy import ndimage as ndi

    extra = 4.0 * ndi.gaussian_filter(liver, 2.0)
    _, skeleton, uptake, lesions = _run(extra, level=15.0, seed=4)
    labels = [f.label for f in uptake.findings]
    assert "liver" in labels, labels
    ribs = skeleton.bone_labels == BONE_LABEL["ribs_right"]
    assert not lesions.diffuse[ribs].any()
    near = [f for f in lesions.focal if np.hypot(f.row - 215, f.col - 62) < 40]
    assert near == [], [(f.row, f.col, f.contrast) for f in near]
