"""The benchmark harness (benchmarks/harness.py): a tiny run on every phantom there is, its
metrics from arrays, and the error-kind classifier on hand-made truth/result pairs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

from _harness import metrics  # noqa: E402
from _harness.errors import SUBKINDS, classify_errors  # noqa: E402
from _harness.phantoms import available_phantoms  # noqa: E402

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS  # noqa: E402
from mibgscore.result import Finding, Lesion, ScoreResult  # noqa: E402


def _truth(siopen=None, curie=None, fractions=None, lesions=(), findings=(), flags=None):
    s = {k: 0 for k in SIOPEN_KEYS} | (siopen or {})
    c = {k: 0 for k in CURIE_KEYS} | (curie or {})
    return {"siopen": s, "curie": c, "siopen_total": sum(s.values()),
            "curie_total": sum(c.values()),
            "siopen_diffuse_fraction": {k: 0.0 for k in SIOPEN_KEYS} | (fractions or {}),
            "category": "test", "lesions": list(lesions), "soft_tissue": [],
            "findings": list(findings),
            "meta": {"spacing_rc_mm": [2.0, 2.0], "findings": flags or {}}}


def _result(siopen=None, curie=None, lesions=(), findings=()):
    return ScoreResult(file="", study_uid=None, siopen={k: 0 for k in SIOPEN_KEYS} | (siopen or {}),
                       siopen_confidence={}, curie={k: 0 for k in CURIE_KEYS} | (curie or {}),
                       lesions=list(lesions), findings=list(findings))


def _focal(segment, row, col):
    return Lesion(segment=segment, kind="focal", row=row, col=col, fraction=None,
                  confidence=0.9)


def _kinds(events):
    return [(e["kind"], e["sub"], e["segment"]) for e in events]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "harness.py"), "--phantom", "all", "--n", "3", "--seed",
         "31", "--workers", "2", "--worst", "1", "--quiet", "--out", str(out / "b.md"),
         "--images", str(out / "img")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("phantom", available_phantoms())
def test_harness_writes_page_and_json(run, phantom):
    text = (run / f"b_{phantom}.md").read_text()
    assert text.startswith(f"# Benchmark: {phantom}")
    assert "benchmarks/harness.py --phantom all --n 3 --seed 31" in text
    assert "sha256" in text and "seeds: 31-33" in text
    for row in ("| SIOPEN total ICC(A,1) |", "| SIOPEN total MAE |", "| Bland-Altman bias",
                "pooled quadratic-weighted kappa", "| <=3 / >3 agreement |",
                "| normal scans (truth 0) scored 0 |", "graded >= 5 |",
                "| Curie total ICC(A,1) |"):
        assert row in text, row
    for section in ("## 2. Per segment", "## 3. Confusion", "## 4. Focal detection",
                    "## 5. Extent error", "## 6. Error kinds", "## 7. The 1 worst"):
        assert section in text, section
    assert "(a) normal uptake scored as bone disease" in text and "(d) limb lost" in text
    assert (run / "img" / f"benchmark_{phantom}_worst_1.png").stat().st_size > 10_000
    assert f"img/benchmark_{phantom}_worst_1.png" in text

    data = json.loads((run / f"b_{phantom}.json").read_text())
    h = data["headline"]
    assert data["n"] == 3 and 0 <= h["n"] <= 3
    if h["n"]:
        assert 0 <= h["mae"] <= 72 and -72 <= h["bias"] <= 72
        for key in ("icc", "curie_icc"):  # ICC(A,1) of 3 studies may fall below -1
            assert h[key] is None or h[key] <= 1.0 + 1e-9
        assert h["kappa"] is None or -1.0 <= h["kappa"] <= 1.0 + 1e-9
        for key in ("cut3", "normal0", "whole5", "segment_exact"):
            assert h[key] is None or 0.0 <= h[key] <= 1.0
    assert set(data["targets"]) == {t.key for t in metrics.TARGETS}
    assert all(t["met"] in (True, False, None) for t in data["targets"].values())
    assert "phantom2" in (run / "b.md").read_text()


def test_metrics_from_arrays():
    t_seg = np.zeros((4, 12), int)
    t_seg[1, 0], t_seg[2, 3], t_seg[3, :] = 1, 6, 5
    a_seg = t_seg.copy()
    a_seg[3, 0] = 4  # one segment graded lower
    h = metrics.headline(t_seg.sum(1), a_seg.sum(1), t_seg, a_seg, [0, 1, 3, 24], [0, 1, 3, 24])
    assert h["n"] == 4 and h["mae"] == pytest.approx(0.25) and h["bias"] == pytest.approx(-0.25)
    assert 0.99 < h["icc"] <= 1.0 and h["icc_ci"][0] <= h["icc"] <= h["icc_ci"][1]
    assert 0.95 < h["kappa"] < 1.0 and h["cut3"] == 1.0
    assert (h["normal_n"], h["normal_zero"], h["normal0"]) == (1, 1, 1.0)
    assert (h["whole_n"], h["whole_ge5"]) == (1, 1) and h["curie_icc"] == pytest.approx(1.0)
    ok = metrics.target_results(h)
    assert ok["mae"] is True and ok["normal0"] is True
    m = metrics.confusion(t_seg, a_seg)
    assert m.sum() == 48 and m[5, 4] == 1 and m[5, 5] == 11
    matched, missed, extra = metrics.match_foci(
        [{"row": 10, "col": 10}, {"row": 100, "col": 10}],
        [{"row": 14, "col": 10}, {"row": 300, "col": 10}], (2.0, 2.0))
    assert matched == {0: 0} and missed == [1] and extra == [1]
    sizes = metrics.focal_by_size([(5.0, True, False), (6.0, False, True), (20.0, True, False)])
    assert sizes[0]["n"] == 2 and sizes[0]["sensitivity"] == 0.5
    assert sizes[0]["missed_in_diffuse"] == 1 and sizes[-1]["bin"] == ">= 18 mm"
    assert math.isnan(metrics.headline([0, 0], [0, 0], np.zeros((2, 12)), np.zeros((2, 12)),
                                       [0, 0], [0, 0])["icc"])


def test_classifier_normal_uptake_in_a_normal_child():
    truth = _truth(findings=[{"label": "nasopharynx", "row": 52, "col": 100},
                             {"label": "heart", "row": 200, "col": 120}])
    result = _result(siopen={"skull": 1}, curie={"head": 1, "soft_tissue": 1},
                     lesions=[_focal("skull", 50, 100)],
                     findings=[Finding("heart", 240, 110)])  # 80 mm lower: on the liver
    out = classify_errors(truth, result)
    kinds = _kinds(out["events"])
    assert ("a", SUBKINDS["a"][0], "skull") in kinds
    skull = next(e for e in out["events"] if e["segment"] == "skull")
    assert skull["near"] == "nasopharynx" and skull["points"] == 1
    assert ("a", SUBKINDS["a"][5], "soft_tissue") in kinds
    assert ("a", SUBKINDS["a"][6], "heart") in kinds
    assert out["checks"]["heart_distance_mm"] > 40


def test_classifier_extent_foci_and_limbs():
    truth = _truth(
        siopen={"skull": 6, "pelvis": 3, "thoracic_cage": 3, "spine": 2,
                "right_lower_limb_proximal": 5},
        fractions={"skull": 1.0, "right_lower_limb_proximal": 0.8},
        lesions=[{"kind": "focal", "row": 300, "col": 100 + 20 * i, "siopen": "pelvis",
                  "diameter_mm": 10.0} for i in range(3)]
        + [{"kind": "focal", "row": 200, "col": 60 + 20 * i, "siopen": "thoracic_cage",
            "diameter_mm": 10.0} for i in range(3)]
        + [{"kind": "focal", "row": 150 + 60 * i, "col": 128, "siopen": "spine",
            "diameter_mm": 10.0} for i in range(2)])
    result = _result(siopen={"skull": 4, "pelvis": 2, "thoracic_cage": 4, "spine": 3,
                             "right_lower_limb_proximal": 0},
                     lesions=[_focal("pelvis", 300, 110), _focal("pelvis", 300, 140),
                              _focal("spine", 150, 128), _focal("spine", 210, 128),
                              _focal("spine", 212, 130)])
    kinds = _kinds(classify_errors(truth, result)["events"])
    assert ("b", SUBKINDS["b"][0], "skull") in kinds
    assert ("b", SUBKINDS["b"][1], "right_lower_limb_proximal") in kinds
    assert ("d", SUBKINDS["d"][1], "right_lower_limb_proximal") in kinds
    assert ("c", SUBKINDS["c"][0], "pelvis") in kinds
    assert ("c", SUBKINDS["c"][2], "thoracic_cage") in kinds
    assert ("c", SUBKINDS["c"][1], "spine") in kinds  # the extra focus lies on a true one


def test_classifier_injection_site_only_on_its_limb():
    truth = _truth(flags={"injection": "ankle_left"})
    result = _result(siopen={"left_lower_limb_distal": 1, "right_lower_limb_distal": 1},
                     lesions=[_focal("left_lower_limb_distal", 600, 150),
                              _focal("right_lower_limb_distal", 600, 90)])
    kinds = _kinds(classify_errors(truth, result)["events"])
    assert ("a", SUBKINDS["a"][3], "left_lower_limb_distal") in kinds
    assert ("a", SUBKINDS["a"][4], "right_lower_limb_distal") in kinds


def test_classifier_neighbour_disease_is_not_normal_uptake():
    truth = _truth(siopen={"right_lower_limb_distal": 5},
                   fractions={"right_lower_limb_distal": 0.7})
    diffuse = Lesion(segment="right_lower_limb_proximal", kind="diffuse", row=400, col=90,
                     fraction=0.3, confidence=0.5)
    result = _result(siopen={"right_lower_limb_distal": 5, "right_lower_limb_proximal": 4,
                             "pelvis": 4},
                     lesions=[diffuse, Lesion(segment="pelvis", kind="diffuse", row=300,
                                              col=120, fraction=0.3, confidence=0.5)])
    kinds = _kinds(classify_errors(truth, result)["events"])
    assert ("e", SUBKINDS["e"][2], "right_lower_limb_proximal") in kinds
    assert ("a", SUBKINDS["a"][1], "pelvis") in kinds  # nothing diseased beside the pelvis
