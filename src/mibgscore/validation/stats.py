"""Agreement statistics: ICC, weighted kappa, Bland-Altman, threshold and response agreement.

Formulas follow McGraw & Wong, Psychol Methods 1996;1:30-46 (ICC models and their F-based
confidence intervals), Shrout & Fleiss, Psychol Bull 1979;86:420-428, Cohen, Psychol Bull
1968;70:213-220 (weighted kappa) and Bland & Altman, Lancet 1986;i:307-310. Weighted kappa
comes from scikit-learn, rank correlation from SciPy; the ANOVA mean squares are computed here
because no well-kept library offers ICC(A,1) with its confidence interval. The last part
applies them to a matched cohort (:mod:`mibgscore.validation.cohort`): every measure that
``validate`` reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mibgscore.anatomy.scheme import SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.validation.cohort import Cohort, Study, values
from mibgscore.validation.readings import CURIE_COLUMNS

ICC_MODELS = {
    "A,1": "two-way random effects, absolute agreement, single measures (McGraw & Wong "
           "ICC(A,1); Shrout & Fleiss ICC(2,1))",
    "C,1": "two-way effects, consistency, single measures (McGraw & Wong ICC(C,1); "
           "Shrout & Fleiss ICC(3,1))",
    "1,1": "one-way random effects, single measures (ICC(1,1))",
}
"""The ICC models offered, in the words a methods section uses."""


@dataclass(frozen=True)
class ICC:
    """An intraclass correlation coefficient and its confidence interval.

    Attributes
    ----------
    model : str
        ``"A,1"``, ``"C,1"`` or ``"1,1"`` (see :data:`ICC_MODELS`).
    value : float
        The coefficient (at most 1; may be negative).
    ci : tuple of float
        Lower and upper bound of the (1 - alpha) confidence interval.
    n, k : int
        Targets (studies) and raters (readers) used, complete cases only.
    f, df1, df2, p : float
        F test of ICC = 0.
    """

    model: str
    value: float
    ci: tuple[float, float]
    n: int
    k: int
    f: float
    df1: float
    df2: float
    p: float


def _mean_squares(x: np.ndarray) -> dict[str, float]:
    n, k = x.shape
    grand = x.mean()
    ss_total = float(((x - grand) ** 2).sum())
    ss_rows = float(k * ((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = float(n * ((x.mean(axis=0) - grand) ** 2).sum())
    ss_error = ss_total - ss_rows - ss_cols
    return {
        "msr": ss_rows / (n - 1),
        "msc": ss_cols / (k - 1),
        "mse": ss_error / ((n - 1) * (k - 1)),
        "msw": (ss_total - ss_rows) / (n * (k - 1)),
    }


def _complete(ratings: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2:
        raise ValueError("ratings must be a 2-D array (targets, raters)")
    return x[~np.isnan(x).any(axis=1)]


def icc(ratings: np.ndarray | Sequence[Sequence[float]], model: str = "A,1",
        *, alpha: float = 0.05) -> ICC:
    """Intraclass correlation of single measures, with its F-based confidence interval.

    Parameters
    ----------
    ratings : array_like of shape (n_targets, k_raters)
        One row per study, one column per rater; rows holding NaN are left out.
    model : {"A,1", "C,1", "1,1"}
        ``"A,1"``: two-way random effects, absolute agreement (Shrout & Fleiss ICC(2,1));
        ``"C,1"``: consistency (ICC(3,1)); ``"1,1"``: one-way random effects.
    alpha : float
        1 - confidence level.

    Returns
    -------
    ICC
        NaN value and interval when fewer than 2 complete rows remain, or when every rating
        is the same.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: six targets rated by four judges.

    >>> x = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> round(icc(x, "A,1").value, 2), round(icc(x, "C,1").value, 2), round(icc(x, "1,1").value, 2)
    (0.29, 0.71, 0.17)
    """
    from scipy import stats

    if model not in ICC_MODELS:
        raise ValueError(f"ICC model {model!r}; choose one of {', '.join(ICC_MODELS)}")
    x = _complete(ratings)
    n, k = x.shape
    nan = float("nan")
    if n < 2 or k < 2 or np.ptp(x) == 0:
        return ICC(model, nan, (nan, nan), n, k, nan, nan, nan, nan)
    ms = _mean_squares(x)
    msr, msc, mse, msw = ms["msr"], ms["msc"], ms["mse"], ms["msw"]
    q = 1.0 - alpha / 2.0
    if model == "1,1":
        value = (msr - msw) / (msr + (k - 1) * msw)
        df1, df2 = n - 1, n * (k - 1)
        f0 = msr / msw if msw > 0 else math.inf
        ci = _f_interval(f0, df1, df2, k, q)
    else:
        df1, df2 = n - 1, (n - 1) * (k - 1)
        f0 = msr / mse if mse > 0 else math.inf
        if model == "C,1":
            value = (msr - mse) / (msr + (k - 1) * mse)
            ci = _f_interval(f0, df1, df2, k, q)
        else:
            value = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
            ci = _icc_a1_ci(value, msr, msc, mse, n, k, q)
    if not math.isfinite(f0):  # no residual variance: perfect agreement
        ci = (1.0, 1.0)
    p = float(stats.f.sf(f0, df1, df2)) if math.isfinite(f0) else 0.0
    lo, hi = (float(c) if math.isfinite(c) else nan for c in ci)
    return ICC(model, float(value), (lo, hi), n, k, float(f0), float(df1), float(df2), p)


def _f_interval(f0: float, df1: float, df2: float, k: int, q: float) -> tuple[float, float]:
    """Shrout & Fleiss (1979) interval for ICC(1,1) and ICC(C,1) from the observed F."""
    from scipy import stats

    if not math.isfinite(f0):
        return (1.0, 1.0)
    fl = f0 / stats.f.ppf(q, df1, df2)
    fu = f0 * stats.f.ppf(q, df2, df1)
    return ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))


def _icc_a1_ci(value: float, msr: float, msc: float, mse: float, n: int, k: int,
               q: float) -> tuple[float, float]:
    """McGraw & Wong (1996) interval for ICC(A,1), Satterthwaite degrees of freedom."""
    from scipy import stats

    if value >= 1.0 or mse == 0:
        return (1.0, 1.0)
    a = k * value / (n * (1 - value))
    b = 1 + k * value * (n - 1) / (n * (1 - value))
    num = (a * msc + b * mse) ** 2
    den = (a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1))
    v = num / den if den > 0 else math.inf
    f_lo = stats.f.ppf(q, n - 1, v)
    f_hi = stats.f.ppf(q, v, n - 1)
    common = k * msc + (k * n - k - n) * mse
    lower = n * (msr - f_lo * mse) / (f_lo * common + n * msr)
    upper = n * (f_hi * msr - mse) / (common + n * f_hi * msr)
    return (lower, upper)


def weighted_kappa(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray,
                   *, max_grade: int = load_scheme("siopen").max_grade,
                   weights: str | None = "quadratic") -> float:
    """Cohen's weighted kappa between two readers' grades (scikit-learn).

    Parameters
    ----------
    a, b : array_like of int
        Grades of the same segments by two readers, 0 to ``max_grade``.
    max_grade : int
        Highest grade of the scale, ``SegmentScheme.max_grade`` (by default SIOPEN's, 6;
        Curie's is 3); the labels are 0..max_grade.
    weights : {"quadratic", "linear", None}
        Disagreement weights (Cohen 1968); None gives the unweighted kappa.

    Returns
    -------
    float
        NaN when chance agreement is perfect (both readers give one grade throughout).

    Examples
    --------
    >>> round(weighted_kappa([0, 1, 2, 3], [0, 1, 2, 2]), 3)
    0.875
    """
    import warnings

    from sklearn.metrics import cohen_kappa_score

    a = np.asarray(a, dtype=int)
    b = np.asarray(b, dtype=int)
    if a.size == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score(a, b, weights=weights, labels=list(range(max_grade + 1)))
    return float(value)


def quadratic_kappa_closed_form(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quadratic-weighted kappa along the last axis (Fleiss & Cohen 1973 identity).

    ``1 - sum((a - b)**2) / (n * (var_a + var_b + (mean_a - mean_b)**2))`` with population
    variances; equal to :func:`weighted_kappa` with quadratic weights, and vectorised for
    the bootstrap.

    Parameters
    ----------
    a, b : ndarray of shape (..., n)
        Grades; several resamples may be stacked along the leading axes.

    Returns
    -------
    ndarray of shape (...)
        NaN where the denominator is 0.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    n = a.shape[-1]
    observed = ((a - b) ** 2).sum(axis=-1)
    expected = n * (a.var(axis=-1) + b.var(axis=-1) + (a.mean(axis=-1) - b.mean(axis=-1)) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1.0 - observed / np.where(expected > 0, expected, 1), np.nan)


def bootstrap_kappa_ci(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray,
                       *, n_resamples: int = 2000, seed: int = 0, alpha: float = 0.05,
                       groups: Sequence | np.ndarray | None = None) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the quadratic-weighted kappa.

    Parameters
    ----------
    a, b : array_like of int
        Paired grades.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the random generator: same input, same interval.
    alpha : float
        1 - confidence level.
    groups : array_like, optional
        Cluster of each pair (the study, when segments of one study are pooled): whole
        clusters are resampled, so that segments of one study are not treated as independent.

    Returns
    -------
    tuple of float
        (lower, upper); NaN when fewer than two pairs, or no resample gives a finite kappa.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    nan = (float("nan"), float("nan"))
    if a.size < 2:
        return nan
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, a.size, size=(n_resamples, a.size))
        values = quadratic_kappa_closed_form(a[idx], b[idx])
    else:
        g = np.asarray(groups)
        uniq, inverse = np.unique(g, return_inverse=True)
        members = [np.flatnonzero(inverse == i) for i in range(uniq.size)]
        sizes = np.array([m.size for m in members])
        if np.all(sizes == sizes[0]):  # equal clusters (12 segments per study): vectorised
            table = np.stack(members)
            pick = rng.integers(0, uniq.size, size=(n_resamples, uniq.size))
            idx = table[pick].reshape(n_resamples, -1)
            values = quadratic_kappa_closed_form(a[idx], b[idx])
        else:
            values = np.empty(n_resamples)
            for r in range(n_resamples):
                pick = rng.integers(0, uniq.size, size=uniq.size)
                idx = np.concatenate([members[i] for i in pick])
                values[r] = quadratic_kappa_closed_form(a[idx], b[idx])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return nan
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class BlandAltman:
    """Bias and 95 % limits of agreement of ``test - reference`` (Bland & Altman 1986).

    Attributes
    ----------
    bias : float
        Mean difference.
    sd : float
        Standard deviation of the differences (n - 1 denominator).
    loa : tuple of float
        ``bias -/+ 1.96 sd``.
    n : int
        Pairs.
    """

    bias: float
    sd: float
    loa: tuple[float, float]
    n: int


def bland_altman(test: Sequence[float] | np.ndarray,
                 reference: Sequence[float] | np.ndarray) -> BlandAltman:
    """Bland-Altman bias and 95 % limits of agreement of ``test - reference``.

    Examples
    --------
    >>> ba = bland_altman([2, 4, 6, 9], [1, 4, 5, 8])
    >>> ba.bias, round(ba.sd, 3)
    (0.75, 0.5)
    """
    d = np.asarray(test, dtype=float) - np.asarray(reference, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        nan = float("nan")
        return BlandAltman(nan, nan, (nan, nan), 0)
    bias = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    return BlandAltman(bias, sd, (bias - 1.96 * sd, bias + 1.96 * sd), int(d.size))


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation (SciPy); NaN when either side is constant."""
    import warnings

    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.spearmanr(a, b).statistic)


def mae(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Mean absolute difference."""
    d = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    return float(d.mean()) if d.size else float("nan")


def agreement(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
              tolerance: int = 0) -> float:
    """Share of pairs differing by at most ``tolerance`` (0: exact agreement), 0-1."""
    d = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    return float((d <= tolerance).mean()) if d.size else float("nan")


def binary_agreement(test: Sequence[bool] | np.ndarray,
                     reference: Sequence[bool] | np.ndarray) -> dict[str, float | int]:
    """Accuracy, sensitivity, specificity and Cohen's kappa of a yes/no call.

    Parameters
    ----------
    test, reference : array_like of bool
        The call of the method under test and of the reference, per study; True is
        "positive" (e.g. SIOPEN total above the cut-off).

    Returns
    -------
    dict
        ``accuracy``, ``sensitivity`` (NaN without reference positives), ``specificity``
        (NaN without reference negatives), ``kappa`` (unweighted), ``n``, ``tp``, ``fp``,
        ``tn``, ``fn``.
    """
    t = np.asarray(test, dtype=bool)
    r = np.asarray(reference, dtype=bool)
    tp = int((t & r).sum())
    tn = int((~t & ~r).sum())
    fp = int((t & ~r).sum())
    fn = int((~t & r).sum())
    n = tp + tn + fp + fn
    nan = float("nan")
    if n == 0:
        return {"accuracy": nan, "sensitivity": nan, "specificity": nan, "kappa": nan,
                "n": 0, "tp": 0, "fp": 0, "tn": 0, "fn": 0}
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / n**2
    kappa = (po - pe) / (1 - pe) if pe < 1 else nan
    return {
        "accuracy": po,
        "sensitivity": tp / (tp + fn) if tp + fn else nan,
        "specificity": tn / (tn + fp) if tn + fp else nan,
        "kappa": kappa,
        "n": n, "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }


def threshold_agreement(test: Sequence[float] | np.ndarray,
                        reference: Sequence[float] | np.ndarray,
                        cutoff: float) -> dict[str, float | int]:
    """Agreement on ``total > cutoff`` (e.g. SIOPEN > 3, Ladenstein 2018).

    See :func:`binary_agreement` for the keys; positive means above the cut-off.
    """
    t = np.asarray(test, dtype=float)
    r = np.asarray(reference, dtype=float)
    out = binary_agreement(t > cutoff, r > cutoff)
    out["cutoff"] = cutoff
    return out


def response_agreement(test_baseline: Sequence[float] | np.ndarray,
                       test_follow_up: Sequence[float] | np.ndarray,
                       ref_baseline: Sequence[float] | np.ndarray,
                       ref_follow_up: Sequence[float] | np.ndarray
                       ) -> dict[str, dict[str, float | int]]:
    """Agreement on skeletal response between a baseline and a follow-up scan.

    Pairs whose reference baseline is 0 are left out (no skeletal disease to respond).
    Response is a reduction of the total by at least 50 %; complete response is a
    follow-up total of 0.

    Returns
    -------
    dict
        ``{"response": binary_agreement(...), "complete_response": binary_agreement(...)}``;
        the test method's call uses its own baseline.
    """
    tb = np.asarray(test_baseline, dtype=float)
    tf = np.asarray(test_follow_up, dtype=float)
    rb = np.asarray(ref_baseline, dtype=float)
    rf = np.asarray(ref_follow_up, dtype=float)
    keep = rb > 0
    tb, tf, rb, rf = tb[keep], tf[keep], rb[keep], rf[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        t_resp = (tb > 0) & (tf <= 0.5 * tb)
    r_resp = rf <= 0.5 * rb
    return {
        "response": binary_agreement(t_resp, r_resp),
        "complete_response": binary_agreement((tb > 0) & (tf == 0), rf == 0),
    }


# Agreement measures of a matched cohort (what validate reports)

def _total_metrics(t: np.ndarray, r: np.ndarray) -> dict[str, Any]:
    keep = np.isfinite(t) & np.isfinite(r)
    t, r = t[keep], r[keep]
    a1 = icc(np.stack([t, r], axis=1), "A,1")
    c1 = icc(np.stack([t, r], axis=1), "C,1")
    ba = bland_altman(t, r)
    return {
        "n": int(t.size),
        "icc_a1": a1.value, "icc_a1_ci": list(a1.ci),
        "icc_c1": c1.value, "icc_c1_ci": list(c1.ci),
        "mae": mae(t, r), "bias": ba.bias, "sd_difference": ba.sd, "loa": list(ba.loa),
        "spearman": spearman(t, r),
        "mean_test": float(t.mean()) if t.size else None,
        "mean_reference": float(r.mean()) if r.size else None,
    }


def _segment_metrics(studies: list[Study], test: str, ref: str, keys: tuple[str, ...],
                     max_grade: int, n_resamples: int, seed: int) -> dict[str, Any]:
    per: dict[str, Any] = {}
    all_t, all_r, groups = [], [], []
    for j, key in enumerate(keys):
        t = values(studies, test, key)
        r = values(studies, ref, key)
        keep = np.isfinite(t) & np.isfinite(r)
        t, r = t[keep].astype(int), r[keep].astype(int)
        confusion = np.zeros((max_grade + 1, max_grade + 1), dtype=int)
        np.add.at(confusion, (r, t), 1)
        per[key] = {
            "n": int(t.size),
            "weighted_kappa": weighted_kappa(t, r, max_grade=max_grade),
            "weighted_kappa_ci": list(bootstrap_kappa_ci(
                t, r, n_resamples=n_resamples, seed=seed + j)),
            "exact_agreement": agreement(t, r),
            "within_one": agreement(t, r, tolerance=1),
            "mean_difference": float((t - r).mean()) if t.size else None,
            "confusion": confusion.tolist(),
        }
        all_t.append(t)
        all_r.append(r)
        groups.append(np.flatnonzero(keep))
    t = np.concatenate(all_t) if all_t else np.zeros(0, int)
    r = np.concatenate(all_r) if all_r else np.zeros(0, int)
    g = np.concatenate(groups) if groups else np.zeros(0, int)
    return {
        "n_pairs": int(t.size),
        "weighted_kappa": weighted_kappa(t, r, max_grade=max_grade),
        "weighted_kappa_ci": list(bootstrap_kappa_ci(t, r, n_resamples=n_resamples,
                                                           seed=seed, groups=g)),
        "exact_agreement": agreement(t, r),
        "within_one": agreement(t, r, tolerance=1),
        "weights": "quadratic",
        "per_segment": per,
    }


def _response_metrics(studies: list[Study], test: str, ref: str, total: str
                      ) -> dict[str, Any]:
    by_patient: dict[str, list[Study]] = {}
    for s in studies:
        if s.patient_id and s.study_date:
            by_patient.setdefault(s.patient_id, []).append(s)
    tb, tf, rb, rf, patients = [], [], [], [], set()
    for pid, items in by_patient.items():
        items = sorted(items, key=lambda s: s.study_date)
        base = items[0]
        for later in items[1:]:
            vals = [values([x], rater, total)[0] for x in (base, later) for rater in (test, ref)]
            if not all(np.isfinite(vals)):
                continue
            tb.append(vals[0])
            rb.append(vals[1])
            tf.append(vals[2])
            rf.append(vals[3])
            patients.add(pid)
    out: dict[str, Any] = {"n_patients": len(patients), "n_pairs": len(tb)}
    if tb:
        out.update(response_agreement(tb, tf, rb, rf))
    return out


def pair_metrics(studies: list[Study], test: str, ref: str, *, n_resamples: int = 2000,
                 seed: int = 0, siopen_scheme: SegmentScheme | None = None,
                 curie_scheme: SegmentScheme | None = None) -> dict[str, Any]:
    """Every agreement measure of ``test`` against ``ref`` on the studies both have read.

    The grade scales of the kappas are the segment tables' (``max_grade``); the bundled
    tables unless ``siopen_scheme`` / ``curie_scheme`` are given.

    Returns
    -------
    dict
        ``n_studies``, ``siopen_total``, ``curie_total``, ``siopen_segments``,
        ``curie_segments``, ``threshold_siopen_3``, ``threshold_siopen_4``,
        ``threshold_curie_2``, ``response_siopen``, ``response_curie``; Curie blocks are None
        when either side lacks Curie grades.
    """
    siopen = siopen_scheme or load_scheme("siopen")
    curie_top = (curie_scheme or load_scheme("curie")).max_grade
    both = [s for s in studies if test in s.ratings and ref in s.ratings]
    out: dict[str, Any] = {"n_studies": len(both), "test": test, "reference": ref}
    t = values(both, test, "siopen_total")
    r = values(both, ref, "siopen_total")
    out["siopen_total"] = _total_metrics(t, r)
    out["siopen_segments"] = _segment_metrics(both, test, ref, SIOPEN_KEYS, siopen.max_grade,
                                              n_resamples, seed)
    out["threshold_siopen_3"] = threshold_agreement(t, r, 3)
    out["threshold_siopen_4"] = threshold_agreement(t, r, 4)
    out["response_siopen"] = _response_metrics(both, test, ref, "siopen_total")
    tc = values(both, test, "curie_total")
    rc = values(both, ref, "curie_total")
    curie = [s for s, a, b in zip(both, tc, rc, strict=True) if np.isfinite(a) and np.isfinite(b)]
    if curie:
        tc = values(curie, test, "curie_total")
        rc = values(curie, ref, "curie_total")
        out["curie_total"] = _total_metrics(tc, rc)
        out["curie_segments"] = _segment_metrics(curie, test, ref, CURIE_COLUMNS, curie_top,
                                                 n_resamples, seed + 100)
        out["curie_segments"]["per_segment"] = {
            k.removeprefix("curie_"): v for k, v in out["curie_segments"]["per_segment"].items()}
        out["threshold_curie_2"] = threshold_agreement(tc, rc, 2)
        out["response_curie"] = _response_metrics(curie, test, ref, "curie_total")
    else:
        out["curie_total"] = None
        out["curie_segments"] = None
        out["threshold_curie_2"] = None
        out["response_curie"] = None
    return out


def readers_metrics(cohort: Cohort, *, n_resamples: int = 2000, seed: int = 0,
                    siopen_scheme: SegmentScheme | None = None) -> dict[str, Any] | None:
    """Agreement between the physicians, and of the software with each of them.

    The SIOPEN grade scale of the kappas is ``siopen_scheme``'s (the bundled table's by
    default).

    Returns
    -------
    dict or None
        None with a single reader. Otherwise ``names``, ``icc_a1``/``icc_c1`` (with ``_ci``)
        over all readers on the SIOPEN total (studies read by all), ``kappa`` (mean pairwise
        quadratic-weighted kappa over the pooled segments), ``pairs`` (reader-vs-reader), and
        when automatic results are present ``software_vs_readers``, ``software_within_spread``
        and ``statement``.
    """
    readers = cohort.readers
    if len(readers) < 2:
        return None
    top = (siopen_scheme or load_scheme("siopen")).max_grade
    studies = cohort.studies
    complete = [s for s in studies if all(r in s.ratings for r in readers)]
    x = np.stack([values(complete, r, "siopen_total") for r in readers], axis=1) \
        if complete else np.zeros((0, len(readers)))
    a1 = icc(x, "A,1")
    c1 = icc(x, "C,1")
    pairs = []
    for i, a in enumerate(readers):
        for b in readers[i + 1:]:
            pairs.append(_pair_summary(studies, a, b, n_resamples, seed, top))
    out: dict[str, Any] = {
        "names": readers,
        "n_studies": len(complete),
        "icc_a1": a1.value, "icc_a1_ci": list(a1.ci),
        "icc_c1": c1.value, "icc_c1_ci": list(c1.ci),
        "kappa": float(np.nanmean([p["weighted_kappa"] for p in pairs])) if pairs else None,
        "pairs": pairs,
    }
    software = cohort.test if cohort.test not in readers else None
    if software is not None:
        vs = [_pair_summary(studies, software, r, n_resamples, seed, top) for r in readers]
        out["software_vs_readers"] = vs
        allk = [s for s in complete if software in s.ratings]
        xs = np.stack([values(allk, r, "siopen_total") for r in [*readers, software]], axis=1) \
            if allk else np.zeros((0, len(readers) + 1))
        with_sw = icc(xs, "A,1")
        out["icc_a1_with_software"] = with_sw.value
        out["icc_a1_with_software_ci"] = list(with_sw.ci)
        sw_icc = [v["icc_a1"] for v in vs if v["icc_a1"] is not None and np.isfinite(v["icc_a1"])]
        rr_icc = [p["icc_a1"] for p in pairs
                  if p["icc_a1"] is not None and np.isfinite(p["icc_a1"])]
        if sw_icc and rr_icc:
            sw_mean = float(np.mean(sw_icc))
            low = min(min(rr_icc), a1.ci[0] if np.isfinite(a1.ci[0]) else min(rr_icc))
            within = sw_mean >= low
            out["software_mean_icc_a1"] = sw_mean
            out["readers_icc_a1_range"] = [min(rr_icc), max(rr_icc)]
            out["software_within_spread"] = bool(within)
            verdict = ("within the spread of the physicians" if within and sw_mean <= max(rr_icc)
                       else "above the agreement between physicians" if within
                       else "below the spread of the physicians")
            out["statement"] = (
                f"On the SIOPEN total, the software agrees with the physicians with a mean "
                f"ICC(A,1) of {sw_mean:.3f} (range {min(sw_icc):.3f}-{max(sw_icc):.3f}); the "
                f"physicians agree with one another with ICC(A,1) {a1.value:.3f} (95 % CI "
                f"{a1.ci[0]:.3f}-{a1.ci[1]:.3f}; pairwise {min(rr_icc):.3f}-{max(rr_icc):.3f}). "
                f"The software is therefore {verdict}.")
    return out


def _pair_summary(studies: list[Study], a: str, b: str, n_resamples: int, seed: int,
                  max_grade: int) -> dict[str, Any]:
    both = [s for s in studies if a in s.ratings and b in s.ratings]
    ta, tb = values(both, a, "siopen_total"), values(both, b, "siopen_total")
    a1 = icc(np.stack([ta, tb], axis=1), "A,1") if both else None
    c1 = icc(np.stack([ta, tb], axis=1), "C,1") if both else None
    ga = np.concatenate([values(both, a, k) for k in SIOPEN_KEYS]) if both else np.zeros(0)
    gb = np.concatenate([values(both, b, k) for k in SIOPEN_KEYS]) if both else np.zeros(0)
    return {
        "a": a, "b": b, "n": len(both),
        "icc_a1": a1.value if a1 else None, "icc_a1_ci": list(a1.ci) if a1 else None,
        "icc_c1": c1.value if c1 else None,
        "weighted_kappa": weighted_kappa(ga.astype(int), gb.astype(int), max_grade=max_grade),
        "exact_agreement": agreement(ga, gb),
        "mae": mae(ta, tb),
        "bias": bland_altman(ta, tb).bias,
        "threshold_siopen_3_kappa": threshold_agreement(ta, tb, 3)["kappa"],
    }
