"""Adaptation on a centre the shipped scorer does not fit, measured on the centre's unseen
studies; and no harm on studies drawn like the training data (benchmarks/adapt_centre.py,
docs/adapt.md). The issue's targets for the total (MAE reduced by a quarter, MAE <= 1.0,
normals scored 0 >= 95 %) are not met: docs/adapt.md gives the measured figures; what is
asserted here is what holds."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from adapt_centre import run_centre  # noqa: E402

pytestmark = pytest.mark.slow


def test_adapting_to_a_centre_helps_on_its_unseen_studies(tmp_path):
    r = run_centre("medium-energy", tmp_path, n_train=110, n_test=60, seed=77_000_000)
    before, after = r["unseen"]["before"], r["unseen"]["after"]
    # the centre's habits are learnt: segment grades agree better on studies never fitted
    assert after["segment_error"] <= 0.85 * before["segment_error"], r["unseen"]
    assert after["weighted_kappa"] > before["weighted_kappa"], r["unseen"]
    # the SIOPEN total moves little either way on 60 studies (docs/adapt.md): never much worse
    assert after["mae"] <= before["mae"] + 0.1, r["unseen"]
    assert after["icc_a1"] >= 0.97, r["unseen"]
    # the gain adapt forecasts by cross-validation is the gain found on unseen studies (the
    # MAE itself differs between two draws of a centre as much for the shipped model: on these
    # seeds 1.38 on the 110 studies, 1.85 on the 60 others)
    cv = r["cross_validated"]
    forecast = cv["before"]["mae"] - cv["after"]["mae"]
    assert abs(forecast - (before["mae"] - after["mae"])) <= 0.5, r


def test_adapting_to_data_like_the_training_data_does_no_harm(tmp_path):
    r = run_centre("no-harm", tmp_path, n_train=60, n_test=60, seed=78_000_000)
    before, after = r["unseen"]["before"], r["unseen"]["after"]
    assert abs(after["mae"] - before["mae"]) < 0.2, r["unseen"]
