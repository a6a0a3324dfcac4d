"""The patient simulator: determinism, truth consistency, grade coverage, anatomy."""

import math

import numpy as np
import pytest
from scipy import ndimage

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, load_scheme
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment
from mibgscore.simulate import SimulationParams, simulate_studies, simulate_study
from mibgscore.simulate.types import CATEGORY_TOTALS


@pytest.fixture(scope="module")
def batch():
    return list(simulate_studies(8, seed=11))


def test_same_seed_same_study():
    a, b = simulate_study(123), simulate_study(123)
    assert np.array_equal(a.scan.anterior, b.scan.anterior)
    assert np.array_equal(a.scan.posterior, b.scan.posterior)
    assert a.truth.siopen == b.truth.siopen and a.truth.curie == b.truth.curie
    assert a.truth.lesions == b.truth.lesions
    assert np.array_equal(a.truth.bone_labels, b.truth.bone_labels)
    assert a.scan.study.study_uid == b.scan.study.study_uid
    c = simulate_study(124)
    assert not np.array_equal(a.scan.anterior, c.scan.anterior)
    assert c.scan.study.study_uid != a.scan.study.study_uid


def test_scan_is_what_the_reader_returns(batch):
    for st in batch:
        scan = st.scan
        assert scan.anterior.dtype == np.float32 and scan.shape in ((1024, 256), (2048, 512))
        assert 1.2 <= scan.spacing_mm[0] <= 4.0 + 1e-6
        assert scan.tracer.status == "mibg"
        assert np.all(scan.anterior == np.round(scan.anterior)) and scan.anterior.min() >= 0
        total = float(scan.anterior.sum())
        assert 0.2e6 < total < 3.5e6, f"anterior counts {total:.0f}"
        assert st.truth.bone_labels.shape == scan.shape
        assert st.truth.bone_labels.dtype == np.int16
        assert st.truth.bone_position.dtype == np.float32
        m = st.truth.body_mask  # the whole child lies inside the field
        assert not (m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any())


def test_truth_follows_the_rules_from_the_lesion_list(batch):
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    for st in batch:
        t = st.truth
        smap = siopen.segment_map(t.bone_labels, t.bone_position)
        cmap = curie.segment_map(t.bone_labels, t.bone_position)
        for key in SIOPEN_KEYS:
            foci = [x for x in t.lesions if x.kind == "focal" and x.siopen == key]
            diffuse = [x for x in t.lesions if x.kind == "diffuse" and x.siopen == key]
            frac = diffuse[0].fraction if diffuse else 0.0
            assert len(diffuse) <= 1
            assert math.isclose(frac, t.siopen_fractions[key], abs_tol=1e-9)
            assert t.siopen[key] == grade_siopen_segment(len(foci), frac), key
        for key in CURIE_KEYS[:-1]:
            foci = [x for x in t.lesions if x.kind == "focal" and x.curie == key]
            assert t.curie[key] == grade_curie_segment(len(foci), t.curie_fractions[key]), key
        sites = sum(f.label == "soft_tissue_tumour" for f in t.findings)
        assert t.curie["soft_tissue"] == grade_curie_segment(sites)
        assert t.siopen_total == sum(t.siopen.values())
        for les in t.lesions:
            if les.kind == "focal":
                bone = int(t.bone_labels[les.row, les.col])
                assert bone == BONE_LABEL[les.bone]
                assert siopen.keys[smap[les.row, les.col] - 1] == les.siopen
                assert curie.keys[cmap[les.row, les.col] - 1] == les.curie
        lo, hi = CATEGORY_TOTALS[t.category]
        assert lo <= t.siopen_total <= hi


def test_foci_are_distinct_and_visible(batch):
    brighter, n = 0, 0
    for st in batch:
        foci = [x for x in st.truth.lesions if x.kind == "focal"]
        sp = st.scan.spacing_mm[0]
        for i, a in enumerate(foci):
            for b in foci[i + 1:]:
                d = math.hypot(a.row - b.row, a.col - b.col) * sp
                assert d >= 10.0, f"foci {d:.1f} mm apart"
            best = 0.0
            for view in (st.scan.anterior, st.scan.posterior):
                r, c = a.row, a.col
                k = max(int(round(2.5 * (a.size_mm or 10) / sp)), 4)
                # smoothed at the focus's scale: low-count scans have a few counts per pixel
                view = ndimage.gaussian_filter(view, max(1.0, 0.2 * (a.size_mm or 10) / sp))
                view = np.pad(view, k, mode="edge")
                r, c = r + k, c + k
                core = view[r - 1:r + 2, c - 1:c + 2].mean()
                ring = np.concatenate([view[r - k, c - k:c + k + 1], view[r + k, c - k:c + k + 1],
                                       view[r - k:r + k + 1, c - k], view[r - k:r + k + 1, c + k]])
                best = max(best, core / max(float(np.median(ring)), 1e-3))
            brighter += best > 1.15
            n += 1
    assert n > 0
    assert brighter >= 0.8 * n, f"{brighter} of {n} foci stand out from their surroundings"


@pytest.mark.parametrize("category", ["normal", "limited", "moderate", "extensive"])
def test_category_gives_its_total(category):
    lo, hi = CATEGORY_TOTALS[category]
    for st in simulate_studies(2, seed=5, category=category):
        assert lo <= st.truth.siopen_total <= hi, st.truth.siopen
        if category == "normal":
            assert st.truth.lesions == [] and st.truth.curie_total == 0


def test_every_grade_in_every_segment():
    seen = {k: set() for k in SIOPEN_KEYS}
    for grade in range(7):
        params = SimulationParams(forced_grade=grade, age_years=(2.0, 16.0),
                                  matrix_weights=(1.0, 0.0))
        for seed in (1, 2):
            t = simulate_study(100 * grade + seed, params=params).truth
            for k, g in t.siopen.items():
                seen[k].add(g)
    missing = {k: sorted(set(range(7)) - v) for k, v in seen.items() if set(range(7)) - v}
    assert not missing, f"grades never drawn: {missing}"


def test_bone_map_is_anatomically_ordered(batch):
    siopen = load_scheme("siopen")
    idx = {k: i + 1 for i, k in enumerate(siopen.keys)}
    for st in batch:
        t = st.truth
        smap = siopen.segment_map(t.bone_labels, t.bone_position)
        centre = {}
        for k in SIOPEN_KEYS:
            rows, cols = np.nonzero(smap == idx[k])
            assert rows.size > 0, k
            centre[k] = (rows.mean(), cols.mean())
        order = ["skull", "thoracic_cage", "pelvis", "right_lower_limb_proximal",
                 "right_lower_limb_distal"]
        rows = [centre[k][0] for k in order]
        assert rows == sorted(rows), dict(zip(order, rows, strict=True))
        assert centre["skull"][0] < centre["spine"][0] < centre["pelvis"][0]
        for part in ("upper_limb_proximal", "upper_limb_distal", "lower_limb_proximal",
                     "lower_limb_distal"):
            # patient's right lies on the viewer's left of the anterior frame
            assert centre[f"right_{part}"][1] < centre[f"left_{part}"][1], part
        assert t.keypoints["vertex"][0] < t.keypoints["chin"][0] < t.keypoints["hip_right"][0]
        assert t.body_mask[t.bone_labels > 0].all()


def test_age_sets_the_proportions():
    young = SimulationParams(age_years=(0.9, 1.1))
    old = SimulationParams(age_years=(15.5, 16.0))
    for params, lo, hi in ((young, 0.21, 0.29), (old, 0.12, 0.165)):
        t = simulate_study(3, params=params).truth
        head = t.keypoints["chin"][0] - t.keypoints["vertex"][0]
        rows = np.nonzero(t.body_mask.any(axis=1))[0]
        length = rows.max() - rows.min()
        assert lo <= head / length <= hi, f"head {head / length:.3f} of the length"


def test_normal_scan_shows_organs_not_bones():
    st = simulate_study(8, category="normal")
    t, img = st.truth, st.scan.anterior
    labels = {f.label for f in t.findings}
    assert {"liver", "heart", "bladder", "parotid_right"} <= labels
    liver = next(f for f in t.findings if f.label == "liver")
    femur = t.bone_labels == BONE_LABEL["femur_right"]
    # no bone uptake on a normal scan: the liver outshines the femur, the skull is not hot
    assert not t.lesions
    assert img[liver.row - 2:liver.row + 3, liver.col - 2:liver.col + 3].mean() > 3 * img[
        femur].mean()


def test_same_seed_other_category_is_the_same_child():
    a = simulate_study(5, category="normal")
    b = simulate_study(5, category="extensive")
    assert np.array_equal(a.truth.bone_labels, b.truth.bone_labels)
    assert a.scan.spacing_mm == b.scan.spacing_mm
    assert a.truth.siopen_total == 0 < b.truth.siopen_total


def test_chosen_grades():
    params = SimulationParams(grades={"spine": 3, "left_upper_limb_distal": 5})
    t = simulate_study(3, params=params).truth
    assert t.siopen["spine"] == 3 and t.siopen["left_upper_limb_distal"] == 5
    assert t.siopen_total == 8
    with pytest.raises(ValueError, match="grades"):
        SimulationParams(grades={"femur": 2})


def test_grades_beyond_the_scheme_s_scale_are_refused():
    with pytest.raises(ValueError, match="forced grade 7 is not 0-6"):
        SimulationParams(forced_grade=7)
    with pytest.raises(ValueError, match=r"SIOPEN grade 7 for spine \(0-6\)"):
        SimulationParams(grades={"spine": 7})
    assert CATEGORY_TOTALS["extensive"][1] == load_scheme("siopen").max_total == 72
