"""Smoke run of the independent phantom2 benchmark: 3 cases generated, scored, keys checked."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from phantom2 import generate_case  # noqa: E402

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS  # noqa: E402


def test_phantom2_truth_is_consistent():
    case = generate_case(11, category="extensive")
    t = case.truth
    assert tuple(t["siopen"]) == SIOPEN_KEYS and tuple(t["curie"]) == CURIE_KEYS
    assert t["siopen_total"] == sum(t["siopen"].values()) > 5
    assert all(0 <= g <= 6 for g in t["siopen"].values())
    assert all(0 <= g <= 3 for g in t["curie"].values())
    scan = case.scan
    assert scan.anterior.dtype == np.float32 and scan.anterior.shape == scan.posterior.shape
    assert scan.tracer.status == "mibg"
    assert 1.5e5 < scan.anterior.sum() < 4.5e6
    rows, cols = scan.shape
    for les in t["lesions"]:
        assert 0 <= les["row"] < rows and 0 <= les["col"] < cols
        assert les["siopen"] in SIOPEN_KEYS
    # the foci are drawn where the truth says: the summed views are hotter at a focus than
    # on a ring around it, for most foci (a few lie on hot organs or diffuse disease)
    both = scan.anterior + scan.posterior
    hotter = []
    for les in t["lesions"]:
        r, c = les["row"], les["col"]
        k = les["diameter_mm"] / scan.spacing_mm[0] + 4
        ring = [both[int(np.clip(r + k * np.sin(a), 0, rows - 1)),
                     int(np.clip(c + k * np.cos(a), 0, cols - 1))]
                for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]
        hotter.append(both[r - 1: r + 2, c - 1: c + 2].mean() > np.mean(ring))
    assert len(hotter) > 0 and np.mean(hotter) >= 0.8, f"{np.mean(hotter):.2f} of foci hotter"


def test_phantom2_is_seeded():
    a = generate_case(4, category="normal")
    b = generate_case(4, category="normal")
    assert np.array_equal(a.scan.anterior, b.scan.anterior)
    assert a.truth["siopen_total"] == 0 and a.truth["lesions"] == []
