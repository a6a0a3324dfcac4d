"""Agreement statistics against published worked examples and an independent computation."""

import numpy as np
import pandas as pd
import pytest

from mibgscore.validation import stats

# Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
# Psychol Bull 1979;86:420-428, Table 2: six targets rated by four judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
                          [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])

# Gwet KL. Handbook of Inter-Rater Reliability, 4th ed. 2014, the "cont3x3abstractors" table
# (R package irrCAC): 100 records classified by two abstractors into 3 categories.
# Published: Cohen's kappa 0.7964094, quadratic-weighted kappa 0.8921569
# (irrCAC::kappa2.table(cont3x3abstractors, weights = quadratic.weights(1:3))).
GWET_3X3 = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])


def _pairs_from_table(table):
    a, b = [], []
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            a += [i] * int(table[i, j])
            b += [j] * int(table[i, j])
    return np.array(a), np.array(b)


def test_icc_shrout_fleiss_table_2():
    got = {m: stats.icc(SHROUT_FLEISS, m).value for m in ("1,1", "A,1", "C,1")}
    assert round(got["1,1"], 2) == 0.17, got
    assert round(got["A,1"], 2) == 0.29, got
    assert round(got["C,1"], 2) == 0.71, got
    # Shrout & Fleiss Table 4 F tests: F = 11.03 on (5, 15) for the two-way models.
    assert stats.icc(SHROUT_FLEISS, "A,1").f == pytest.approx(11.027, abs=1e-3)
    assert stats.icc(SHROUT_FLEISS, "1,1").f == pytest.approx(1.795, abs=1e-3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_icc_matches_pingouin(seed):
    pg = pytest.importorskip("pingouin")  # GPL: tests only, never imported from src
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 40, size=25)
    x = np.stack([truth, truth + rng.integers(-3, 4, 25), truth + 2 + rng.integers(-5, 6, 25)],
                 axis=1).astype(float)
    long = pd.DataFrame([(i, j, x[i, j]) for i in range(x.shape[0]) for j in range(x.shape[1])],
                        columns=["study", "reader", "score"])
    ref = pg.intraclass_corr(long, targets="study", raters="reader", ratings="score")
    ref = ref.set_index("Type")
    for model, name in (("1,1", "ICC(1,1)"), ("A,1", "ICC(A,1)"), ("C,1", "ICC(C,1)")):
        mine = stats.icc(x, model)
        assert mine.value == pytest.approx(ref.loc[name, "ICC"], abs=1e-9), model
        assert mine.f == pytest.approx(ref.loc[name, "F"], rel=1e-9), model
        lo, hi = ref.loc[name, "CI95"]  # pingouin rounds its interval to 2 decimals
        assert mine.ci[0] == pytest.approx(lo, abs=0.0051), (model, mine.ci, (lo, hi))
        assert mine.ci[1] == pytest.approx(hi, abs=0.0051), (model, mine.ci, (lo, hi))


def test_icc_shrout_fleiss_intervals_match_pingouin_published_rounding():
    # pingouin 0.5+ on Table 2: ICC(1,1) [-0.13, 0.72], ICC(A,1) [0.02, 0.76], ICC(C,1) [0.34, 0.95]
    expected = {"1,1": (-0.13, 0.72), "A,1": (0.02, 0.76), "C,1": (0.34, 0.95)}
    for model, (lo, hi) in expected.items():
        ci = stats.icc(SHROUT_FLEISS, model).ci
        assert (round(ci[0], 2), round(ci[1], 2)) == (lo, hi), (model, ci)


def test_icc_perfect_agreement_and_missing_rows():
    x = np.array([[1, 1], [5, 5], [9, 9], [np.nan, 3]])
    r = stats.icc(x, "A,1")
    assert r.value == pytest.approx(1.0) and r.n == 3
    assert r.ci == (1.0, 1.0)
    assert np.isnan(stats.icc([[2, 2], [2, 2]], "A,1").value)


def test_icc_absolute_agreement_penalises_a_constant_offset_consistency_does_not():
    truth = np.arange(20, dtype=float)
    x = np.stack([truth, truth + 5], axis=1)
    assert stats.icc(x, "C,1").value == pytest.approx(1.0)
    assert stats.icc(x, "A,1").value < 0.8


def test_weighted_kappa_gwet_worked_example():
    a, b = _pairs_from_table(GWET_3X3)
    assert stats.weighted_kappa(a, b, max_grade=2, weights=None) == pytest.approx(0.7964094,
                                                                                   abs=1e-7)
    assert stats.weighted_kappa(a, b, max_grade=2) == pytest.approx(0.8921569, abs=1e-7)


def test_weighted_kappa_by_hand_formula_and_fleiss_cohen_identity():
    rng = np.random.default_rng(7)
    a = rng.integers(0, 7, 200)
    b = np.clip(a + rng.integers(-2, 3, 200), 0, 6)
    # Cohen (1968): 1 - sum(w * observed) / sum(w * expected), w = (i - j)^2.
    obs = np.zeros((7, 7))
    np.add.at(obs, (a, b), 1)
    obs /= obs.sum()
    exp = np.outer(obs.sum(axis=1), obs.sum(axis=0))
    w = (np.arange(7)[:, None] - np.arange(7)[None, :]) ** 2
    by_hand = 1 - (w * obs).sum() / (w * exp).sum()
    assert stats.weighted_kappa(a, b) == pytest.approx(by_hand, abs=1e-12)
    assert float(stats.quadratic_kappa_closed_form(a, b)) == pytest.approx(by_hand, abs=1e-12)


def test_bootstrap_kappa_ci_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 7, 120)
    b = np.clip(a + rng.integers(-1, 2, 120), 0, 6)
    k = stats.weighted_kappa(a, b)
    ci1 = stats.bootstrap_kappa_ci(a, b, n_resamples=300, seed=5)
    ci2 = stats.bootstrap_kappa_ci(a, b, n_resamples=300, seed=5)
    assert ci1 == ci2
    assert ci1[0] < k < ci1[1], (ci1, k)
    groups = np.repeat(np.arange(10), 12)
    ci3 = stats.bootstrap_kappa_ci(a, b, n_resamples=300, seed=5, groups=groups)
    assert ci3[0] < k < ci3[1], (ci3, k)


def test_bland_altman_spearman_mae_agreement():
    test = np.array([3, 5, 8, 12, 20])
    ref = np.array([2, 5, 9, 10, 20])
    ba = stats.bland_altman(test, ref)
    d = test - ref
    assert ba.bias == pytest.approx(d.mean())
    assert ba.sd == pytest.approx(d.std(ddof=1))
    assert ba.loa == pytest.approx((d.mean() - 1.96 * d.std(ddof=1),
                                    d.mean() + 1.96 * d.std(ddof=1)))
    assert stats.spearman(test, ref) == pytest.approx(1.0)  # same order
    assert stats.spearman([1, 2, 3, 4, 5], [1, 3, 2, 4, 5]) == pytest.approx(0.9)  # one swap
    assert stats.mae(test, ref) == pytest.approx(0.8)
    assert stats.agreement(test, ref) == pytest.approx(0.4)
    assert stats.agreement(test, ref, tolerance=1) == pytest.approx(0.8)
    assert np.isnan(stats.spearman([1, 1, 1], [1, 2, 3]))


def test_threshold_agreement_counts():
    ref = [0, 2, 3, 4, 5, 10, 1, 7]
    test = [0, 4, 3, 3, 6, 12, 1, 7]
    out = stats.threshold_agreement(test, ref, 3)
    # reference positives (>3): 4,5,10,7 -> test 3 (miss), 6, 12, 7
    # reference negatives: 0,2,3,1 -> test 0, 4 (false positive), 3, 1
    assert (out["tp"], out["fn"], out["tn"], out["fp"]) == (3, 1, 3, 1)
    assert out["accuracy"] == pytest.approx(0.75)
    assert out["sensitivity"] == pytest.approx(0.75)
    assert out["specificity"] == pytest.approx(0.75)
    assert out["kappa"] == pytest.approx(0.5)


def test_response_agreement():
    # four patients: partial response, complete response, stable, no disease at baseline
    out = stats.response_agreement([10, 8, 6, 0], [4, 0, 5, 0], [10, 9, 6, 0], [6, 0, 5, 0])
    assert out["response"]["n"] == 3
    # test: resp, resp, no ; reference: 6 > 5 -> no, resp, no
    assert (out["response"]["tp"], out["response"]["fp"], out["response"]["tn"]) == (1, 1, 1)
    assert out["complete_response"]["accuracy"] == pytest.approx(1.0)
