"""phantom3: the independent paediatric MIBG phantom (benchmarks/phantom3) and its truth."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment
from mibgscore.io.read import read_scan

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from phantom3 import generate_case, write_dicom  # noqa: E402
from phantom3.case import export_style  # noqa: E402

SIOPEN = load_scheme("siopen")
CURIE = load_scheme("curie")
SEEDS = {"normal": 3, "limited": 5, "extensive": 8}


@pytest.fixture(scope="module")
def cases():
    return {cat: generate_case(seed, cat) for cat, seed in SEEDS.items()}


@pytest.fixture(scope="module")
def extra():
    return [generate_case(s, "extensive") for s in (21, 40)] + [generate_case(22, "limited")]


def _all(cases, extra):
    return list(cases.values()) + list(extra)


def test_truth_keys_and_ranges(cases, extra):
    for case in _all(cases, extra):
        t = case.truth
        assert tuple(t["siopen"]) == SIOPEN.keys
        assert tuple(t["curie"]) == CURIE.keys
        assert set(t["siopen_diffuse_fraction"]) == set(SIOPEN.keys)
        assert set(t["curie_diffuse_fraction"]) == set(CURIE.keys)
        assert all(0 <= g <= 6 for g in t["siopen"].values())
        assert all(0 <= g <= 3 for g in t["curie"].values())
        assert t["siopen_total"] == sum(t["siopen"].values())
        assert t["curie_total"] == sum(t["curie"].values())
        for key in ("category", "lesions", "diffuse", "soft_tissue", "findings", "meta"):
            assert key in t
        for key in ("age_years", "sex", "height_cm", "pose", "abduction_deg", "legs_apart_deg",
                    "feet_first", "matrix", "spacing_mm", "collimator", "counts", "camera"):
            assert key in t["meta"]


def test_grades_follow_the_rules(cases, extra):
    for case in _all(cases, extra):
        t = case.truth
        n_s = dict.fromkeys(SIOPEN.keys, 0)
        n_c = dict.fromkeys(CURIE.keys, 0)
        for le in t["lesions"]:
            assert le["siopen"] == SIOPEN.segment_of(le["bone"], le["position"])
            assert le["curie"] == CURIE.segment_of(le["bone"], le["position"])
            n_s[le["siopen"]] += 1
            n_c[le["curie"]] += 1
        for k in SIOPEN.keys:
            assert t["siopen"][k] == grade_siopen_segment(n_s[k], t["siopen_diffuse_fraction"][k])
        for k in CURIE.keys:
            if k == "soft_tissue":
                assert t["curie"][k] == grade_curie_segment(len(t["soft_tissue"]))
            else:
                assert t["curie"][k] == grade_curie_segment(n_c[k], t["curie_diffuse_fraction"][k])


def test_categories(cases, extra):
    assert cases["normal"].truth["siopen_total"] == 0
    assert cases["normal"].truth["lesions"] == [] and cases["normal"].truth["diffuse"] == []
    assert 1 <= cases["limited"].truth["siopen_total"] <= 5
    assert cases["extensive"].truth["siopen_total"] > 5
    for case in extra:
        assert case.truth["category"] == ("limited" if case.seed == 22 else "extensive")


def test_lesions_on_bone_of_their_segment(cases, extra):
    n = 0
    for case in _all(cases, extra):
        seg = SIOPEN.segment_map(case.bone_labels, case.bone_position)
        rows, cols = case.scan.shape
        for le in case.truth["lesions"]:
            r, c = int(round(le["row"])), int(round(le["col"]))
            assert 0 <= r < rows and 0 <= c < cols
            assert case.bone_labels[r, c] == BONE_LABEL[le["bone"]]
            assert SIOPEN.keys[seg[r, c] - 1] == le["siopen"]
            assert 5 <= le["diameter_mm"] <= 30
            n += 1
    assert n > 5


def test_foci_hotter_than_surroundings(cases, extra):
    hotter = total = 0
    for case in _all(cases, extra):
        s = case.scan
        img = gaussian_filter(s.anterior + s.posterior, 1.0)
        sy, sx = s.spacing_mm
        yy, xx = np.mgrid[-40:41, -40:41]
        for le in case.truth["lesions"]:
            r, c = int(round(le["row"])), int(round(le["col"]))
            d = np.hypot(yy * sy, xx * sx)
            inner = le["diameter_mm"] / 2 + 12.0
            ring = (d > inner) & (d < inner + 12.0)
            core = d < 2.5 * max(sy, sx)
            rr, cc = yy + r, xx + c
            ok = (rr >= 0) & (rr < img.shape[0]) & (cc >= 0) & (cc < img.shape[1])
            peak = img[rr[core & ok], cc[core & ok]].max()
            around = np.median(img[rr[ring & ok], cc[ring & ok]])
            total += 1
            hotter += peak > 1.3 * around
    assert total > 5
    assert hotter >= 0.8 * total


def test_diffuse_entries_and_masks(cases, extra):
    for case in _all(cases, extra):
        for d in case.truth["diffuse"]:
            assert d["bone"] in BONES and d["siopen"] in SIOPEN.keys
            assert 0 < d["fraction"] <= 1
            assert case.truth["siopen_diffuse_fraction"][d["siopen"]] > 0


def test_bone_maps(cases):
    case = cases["limited"]
    lab, pos = case.bone_labels, case.bone_position
    assert lab.dtype == np.uint8 and pos.dtype == np.float32 and lab.shape == case.scan.shape
    assert set(np.unique(lab)) - {0} == set(BONE_LABEL.values())
    long = np.isin(lab, [BONE_LABEL[b] for b in LONG_BONES])
    assert np.all(np.isnan(pos[~long]))
    assert np.all((pos[long] >= 0) & (pos[long] <= 1))


def test_scan_object(cases):
    s = cases["extensive"].scan
    assert s.anterior.dtype == np.float32 and s.posterior.shape == s.anterior.shape
    assert s.tracer.status == "mibg"
    assert s.study.study_uid.startswith("2.25.")
    assert s.shape in ((1024, 256), (2048, 512))
    total = s.anterior.sum()
    assert 0.25e6 < total < 5e6


def test_same_seed_same_arrays(cases):
    a = cases["limited"]
    b = generate_case(SEEDS["limited"], "limited")
    assert np.array_equal(a.scan.anterior, b.scan.anterior)
    assert np.array_equal(a.scan.posterior, b.scan.posterior)
    assert np.array_equal(a.bone_labels, b.bone_labels)
    assert np.array_equal(a.bone_position, b.bone_position, equal_nan=True)
    assert a.truth == b.truth
    assert a.scan.study.study_uid == b.scan.study.study_uid


def test_feet_first_flips_rows():
    hf = generate_case(5, "limited", feet_first=False)
    ff = generate_case(5, "limited", feet_first=True)
    L = hf.truth["meta"]["scan_rows"]
    assert ff.truth["meta"]["feet_first"] and not hf.truth["meta"]["feet_first"]
    assert np.array_equal(ff.scan.anterior[:L], hf.scan.anterior[:L][::-1])
    assert np.array_equal(ff.bone_labels[:L], hf.bone_labels[:L][::-1])
    assert hf.truth["lesions"]
    for a, b in zip(hf.truth["lesions"], ff.truth["lesions"], strict=True):
        assert b["row"] == L - 1 - a["row"] and b["col"] == a["col"]
        assert ff.bone_labels[int(b["row"]), int(b["col"])] == BONE_LABEL[a["bone"]]
    assert ff.truth["siopen"] == hf.truth["siopen"]


@pytest.mark.parametrize("style", ["explicit", "implicit", "rle"])
def test_dicom_round_trip(tmp_path, style):
    seed = next(s for s in range(200) if export_style(s)["transfer"] == style)
    case = generate_case(seed)
    path = write_dicom(case, tmp_path / f"p3_{seed}.dcm")
    scan = read_scan(path)
    assert np.array_equal(scan.anterior, case.scan.anterior)
    assert np.array_equal(scan.posterior, case.scan.posterior)
    assert scan.spacing_mm == pytest.approx(case.scan.spacing_mm, abs=1e-4)
    assert scan.study.study_uid == case.scan.study.study_uid
    assert scan.tracer.status == "mibg"
