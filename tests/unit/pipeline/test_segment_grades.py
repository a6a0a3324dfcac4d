"""Per-segment grading from foci and diffuse maps, with the bundled schemes."""

import numpy as np

from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.segments import diffuse_fractions, grade_curie, grade_siopen


def _maps():
    siopen = load_scheme("siopen")
    seg = np.zeros((40, 12), np.uint8)
    for i in range(12):  # segment i+1 occupies column i, rows 0-39
        seg[:, i] = i + 1
    return siopen, seg


def test_fractions_count_bone_pixels_of_each_segment():
    _, seg = _maps()
    diffuse = np.zeros(seg.shape, bool)
    diffuse[:30, 0] = True  # 75 % of segment 1
    diffuse[:10, 5] = True  # 25 % of segment 6
    frac = diffuse_fractions(seg, diffuse, 12)
    assert frac[0] == 0.75 and frac[5] == 0.25 and frac[1:5].sum() == 0


def test_siopen_grades_take_foci_and_diffuse():
    scheme, seg = _maps()
    diffuse = np.zeros(seg.shape, bool)
    diffuse[:, 3] = True  # whole pelvis
    diffuse[:25, 8] = True  # 62 % of the proximal right lower limb
    foci = [0, 0, 1, 2, 2, 2, 2, 2]  # skull 2, thoracic cage 1, spine 5
    ev = grade_siopen(scheme, seg, diffuse, foci, [0.99] * len(foci))
    grades = {e.key: e.grade for e in ev}
    assert grades["skull"] == 2 and grades["thoracic_cage"] == 1 and grades["spine"] == 4
    assert grades["pelvis"] == 6 and grades["right_lower_limb_proximal"] == 5
    assert sum(grades.values()) == 18
    conf = {e.key: e.confidence for e in ev}
    assert conf["left_lower_limb_distal"] > 0.8  # nothing there: confident 0
    assert conf["right_lower_limb_proximal"] > 0.35


def test_confidence_drops_near_a_grade_limit_and_for_weak_foci():
    scheme, seg = _maps()
    diffuse = np.zeros(seg.shape, bool)
    diffuse[:20, 8] = True  # exactly 50 %: grade 5 but on the limit
    weak = grade_siopen(scheme, seg, diffuse, [0], [0.55])
    assert weak[8].confidence < 0.7
    assert weak[0].confidence < 0.7


def test_curie_soft_tissue_counts_tumour_sites():
    curie = load_scheme("curie")
    seg = np.zeros((10, 9), np.uint8)
    for i in range(9):
        seg[:, i] = i + 1
    diffuse = np.zeros(seg.shape, bool)
    diffuse[:8, 7] = True  # 80 % of the thighs
    ev = grade_curie(curie, seg, diffuse, [0, 0, 1], soft_tissue_sites=1)
    grades = {e.key: e.grade for e in ev}
    assert grades == {"head": 2, "cervical_thoracic_spine": 1, "ribs_sternum": 0,
                      "lumbar_sacral_spine": 0, "pelvis": 0, "upper_arms": 0,
                      "forearms_hands": 0, "thighs": 3, "legs_feet": 0, "soft_tissue": 1}
