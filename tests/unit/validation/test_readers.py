"""Simulated readers: seeded, within the scales, and about as close as expert readers."""

import numpy as np

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.validation import stats
from mibgscore.validation.readers import simulated_reader, synthetic_cohort


def test_simulated_reader_is_seeded_and_within_scales():
    truth = synthetic_cohort(40, seed=1)
    a = simulated_reader(truth, name="B", seed=3)
    assert a == simulated_reader(truth, name="B", seed=3)
    assert a != simulated_reader(truth, name="B", seed=4)
    for row in a:
        assert all(0 <= row[k] <= 6 for k in SIOPEN_KEYS)
        assert all(0 <= row[f"curie_{k}"] <= 3 for k in CURIE_KEYS)
        assert row["siopen_total"] == sum(row[k] for k in SIOPEN_KEYS)


def test_simulated_reader_agrees_like_an_expert_not_perfectly():
    truth = synthetic_cohort(100, seed=2)
    b = simulated_reader(truth, name="B", seed=5)
    t = np.array([r["siopen_total"] for r in truth], float)
    r = np.array([x["siopen_total"] for x in b], float)
    icc = stats.icc(np.stack([t, r], 1), "A,1").value
    assert 0.9 < icc < 0.999, f"ICC(A,1) = {icc:.3f}"
    exact = stats.agreement(np.concatenate([[x[k] for x in truth] for k in SIOPEN_KEYS]),
                            np.concatenate([[x[k] for x in b] for k in SIOPEN_KEYS]))
    assert 0.8 < exact < 0.99, f"exact segment agreement {exact:.3f}"
