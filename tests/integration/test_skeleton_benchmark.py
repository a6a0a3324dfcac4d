"""A tiny run of benchmarks/skeleton_fit.py keeps the script from rotting, and checks the fit
against the simulator's truth on one study."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_skeleton_fit_benchmark_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "skeleton_fit.py"), "--n", "1", "--seed", "7",
         "--render", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    assert "SIOPEN segment Dice" in out and "landmark error (mm)" in out
    assert (tmp_path / "skeleton_fit_sim_7.png").stat().st_size > 10_000


def test_fit_on_one_simulated_study():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from skeleton_fit import evaluate
    finally:
        sys.path.pop(0)
    res = evaluate(11, use_age=True)
    assert res["bone_dice"] > 0.6, f"bone Dice {res['bone_dice']:.3f}"
    assert np.nanmedian(list(res["siopen"].values())) > 0.5, res["siopen"]
    for name in ("vertex", "hip_right", "knee_left", "shoulder_right"):
        assert res["landmarks_mm"][name] < 60, (name, res["landmarks_mm"][name])
