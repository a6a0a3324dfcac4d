"""Normal variants that are not lesions, and the bone texture of diffuse marrow disease."""

import numpy as np
from lesion_phantom import blob, make_phantom

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.lesions.skeletal import ClassicDetector
from mibgscore.uptake.images import working_views
from mibgscore.uptake.normal import find_normal_uptake


def _run(extra=None, **kw):
    body, skeleton = make_phantom(extra, **kw)
    views, bones = working_views(body), skeleton.on(body.grid)
    uptake = find_normal_uptake(views, bones)
    return skeleton, ClassicDetector().find(views, bones, uptake)


def test_a_lone_hot_spot_at_the_wrist_of_a_normal_skeleton_is_the_injection_site():
    _, lesions = _run(1.5 * blob(300, 29, 2.0), level=15.0, seed=5)
    assert lesions.focal == (), [(f.bone, f.z, f.contrast) for f in lesions.focal]


def test_a_wrist_focus_counts_when_the_skeleton_has_another_lesion():
    extra = 1.5 * blob(300, 29, 2.0) + 2.0 * blob(400, 100, 2.0)
    _, lesions = _run(extra, level=15.0, seed=6)
    assert sorted(f.bone for f in lesions.focal) == ["femur_left", "forearm_right"]


def test_a_faint_spot_over_the_skull_is_not_a_focus_but_a_clear_one_is():
    faint = 0.45 * blob(30, 80, 2.0)
    _, lesions = _run(faint + 2.0 * blob(400, 100, 2.0), level=15.0, seed=7)
    assert [f.bone for f in lesions.focal] == ["femur_left"]
    _, lesions = _run(3.0 * blob(30, 80, 2.0) + 2.0 * blob(400, 100, 2.0), level=15.0, seed=7)
    assert sorted(f.bone for f in lesions.focal) == ["cranium", "femur_left"]


def test_vertebrae_made_visible_by_marrow_disease_are_diffuse_involvement():
    # every vertebra of the thoracic and lumbar spine twice as hot as the soft tissue, with
    # cold discs between them: the spine shows as a pattern
    skeleton_rows = np.arange(115, 270)
    extra = np.zeros((560, 160))
    for r in skeleton_rows:
        if (r - 115) % 8 < 5:
            extra[r, 76:84] = 1.0
    skeleton, lesions = _run(extra, level=60.0, seed=8)
    spine = np.isin(skeleton.bone_labels, [BONE_LABEL["thoracic_spine"],
                                           BONE_LABEL["lumbar_spine"]])
    assert lesions.diffuse[spine].mean() > 0.9, lesions.diffuse[spine].mean()
    limbs = np.isin(skeleton.bone_labels, [BONE_LABEL["femur_left"], BONE_LABEL["humerus_left"]])
    assert not lesions.diffuse[limbs].any()
