"""Agreement figures from arrays: headline with targets, per segment, confusion matrix, focal
detection by size and extent by grade. Statistics come from ``mibgscore.validation.stats``."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from mibgscore.validation import stats

MAX_GRADE = 6
MATCH_MM = 20.0
"""A truth focus is found when an automatic focus lies within this distance."""
SIZE_BINS_MM: tuple[tuple[float, float], ...] = ((0, 8), (8, 12), (12, 18), (18, math.inf))


@dataclass(frozen=True)
class Target:
    """One headline target (issue 10): ``value >= goal`` (``op ">="``) or ``<=``."""

    key: str
    label: str
    op: str
    goal: float

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target (None when it is not defined)."""
        if value is None or not math.isfinite(value):
            return None
        return value >= self.goal if self.op == ">=" else value <= self.goal


TARGETS: tuple[Target, ...] = (
    Target("icc", "SIOPEN total ICC(A,1)", ">=", 0.98),
    Target("mae", "SIOPEN total MAE", "<=", 1.5),
    Target("kappa", "segment grades, pooled quadratic-weighted kappa", ">=", 0.90),
    Target("cut3", "<=3 / >3 agreement", ">=", 0.97),
    Target("normal0", "normal scans (truth 0) scored 0", ">=", 0.95),
    Target("whole5", "whole-bone segments (truth 6) graded >= 5", ">=", 0.90),
    Target("curie_icc", "Curie total ICC(A,1)", ">=", 0.97),
)


def _f(x) -> float:
    return float(x) if x is not None else float("nan")


def headline(t_tot, a_tot, t_seg, a_seg, t_cur, a_cur, *, seed: int = 0,
             n_resamples: int = 1000) -> dict:
    """Every headline number from the truth and automatic totals and segment grades.

    Parameters
    ----------
    t_tot, a_tot : array_like of shape (n,)
        SIOPEN totals, truth and automatic.
    t_seg, a_seg : array_like of shape (n, 12)
        SIOPEN segment grades.
    t_cur, a_cur : array_like of shape (n,)
        Curie totals.

    Returns
    -------
    dict
        ``n``, ``icc`` and ``icc_ci``, ``mae``, ``bias``, ``loa``, ``kappa`` and ``kappa_ci``
        (bootstrap over studies), ``segment_exact``, ``cut3`` with ``cut3_sensitivity`` and
        ``cut3_specificity``, ``normal_n``, ``normal_zero``, ``normal0``, ``whole_n``,
        ``whole_ge5``, ``whole5``, ``curie_icc`` and ``curie_icc_ci``, ``curie_mae``; NaN where
        undefined (JSON: null).
    """
    with warnings.catch_warnings():  # kappa with one grade only is NaN, and says so
        warnings.simplefilter("ignore")
        return _headline(t_tot, a_tot, t_seg, a_seg, t_cur, a_cur, seed, n_resamples)


def _headline(t_tot, a_tot, t_seg, a_seg, t_cur, a_cur, seed, n_resamples) -> dict:
    t_tot, a_tot = np.asarray(t_tot, float), np.asarray(a_tot, float)
    t_cur, a_cur = np.asarray(t_cur, float), np.asarray(a_cur, float)
    t_seg = np.asarray(t_seg, int).reshape(len(t_tot), -1) if len(t_tot) else np.zeros((0, 12))
    a_seg = np.asarray(a_seg, int).reshape(len(t_tot), -1) if len(t_tot) else np.zeros((0, 12))
    n = int(t_tot.size)
    nan = float("nan")
    out: dict = {"n": n}
    ic = stats.icc(np.column_stack([t_tot, a_tot]), "A,1") if n else None
    out["icc"] = ic.value if ic else nan
    out["icc_ci"] = list(ic.ci) if ic else [nan, nan]
    out["mae"] = stats.mae(a_tot, t_tot)
    ba = stats.bland_altman(a_tot, t_tot)
    out["bias"], out["sd"], out["loa"] = ba.bias, ba.sd, list(ba.loa)
    ts, as_ = t_seg.ravel(), a_seg.ravel()
    out["kappa"] = stats.weighted_kappa(ts, as_, max_grade=MAX_GRADE)
    groups = np.repeat(np.arange(n), t_seg.shape[1]) if n else None
    out["kappa_ci"] = list(stats.bootstrap_kappa_ci(ts, as_, n_resamples=n_resamples, seed=seed,
                                                    groups=groups)) if n > 1 else [nan, nan]
    out["segment_exact"] = stats.agreement(ts, as_)
    cut = stats.threshold_agreement(a_tot, t_tot, 3)
    out["cut3"] = cut["accuracy"]
    out["cut3_sensitivity"], out["cut3_specificity"] = cut["sensitivity"], cut["specificity"]
    normal = t_tot == 0
    out["normal_n"], out["normal_zero"] = int(normal.sum()), int((a_tot[normal] == 0).sum())
    out["normal0"] = out["normal_zero"] / out["normal_n"] if out["normal_n"] else nan
    whole = t_seg == MAX_GRADE
    out["whole_n"], out["whole_ge5"] = int(whole.sum()), int((a_seg[whole] >= 5).sum())
    out["whole5"] = out["whole_ge5"] / out["whole_n"] if out["whole_n"] else nan
    ci = stats.icc(np.column_stack([t_cur, a_cur]), "A,1") if n else None
    out["curie_icc"] = ci.value if ci else nan
    out["curie_icc_ci"] = list(ci.ci) if ci else [nan, nan]
    out["curie_mae"] = stats.mae(a_cur, t_cur)
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


def target_results(h: dict) -> dict[str, bool | None]:
    """Pass (True), fail (False) or undefined (None) of each target for a headline dict."""
    return {t.key: t.met(_f(h.get(t.key))) for t in TARGETS}


def per_segment(t_seg, a_seg, keys) -> list[dict]:
    """Per SIOPEN segment: n, truth and auto mean, bias, MAE, exact share, weighted kappa."""
    t_seg, a_seg = np.asarray(t_seg, int), np.asarray(a_seg, int)
    out = []
    for j, k in enumerate(keys):
        t, a = t_seg[:, j], a_seg[:, j]
        out.append({"segment": k, "n": int(t.size),
                    "truth_mean": float(t.mean()) if t.size else math.nan,
                    "auto_mean": float(a.mean()) if t.size else math.nan,
                    "bias": float((a - t).mean()) if t.size else math.nan,
                    "mae": stats.mae(a, t), "exact": stats.agreement(a, t),
                    "kappa": stats.weighted_kappa(t, a, max_grade=MAX_GRADE)})
    return out


def confusion(t, a, max_grade: int = MAX_GRADE) -> np.ndarray:
    """Counts of (truth grade row, automatic grade column), 0..max_grade each."""
    m = np.zeros((max_grade + 1, max_grade + 1), int)
    np.add.at(m, (np.asarray(t, int).ravel(), np.asarray(a, int).ravel()), 1)
    return m


def _mm(p, q, spacing_rc) -> float:
    return math.hypot((p[0] - q[0]) * spacing_rc[0], (p[1] - q[1]) * spacing_rc[1])


def match_foci(truth_foci: list[dict], auto_foci: list, spacing_rc,
               radius_mm: float = MATCH_MM) -> tuple[dict[int, int], list[int], list[int]]:
    """One-to-one matching of truth foci to automatic foci, nearest pairs first.

    Parameters
    ----------
    truth_foci : list of dict
        With ``row`` and ``col``.
    auto_foci : list
        Objects or dicts with ``row`` and ``col`` (the automatic focal lesions).
    spacing_rc : (float, float)
        Pixel spacing (row, col) in mm.

    Returns
    -------
    matched : dict of int to int
        Truth index -> automatic index.
    missed : list of int
        Truth foci without an automatic focus within ``radius_mm``.
    extra : list of int
        Automatic foci matched to no truth focus.
    """
    def rc(x):
        return (x["row"], x["col"]) if isinstance(x, dict) else (x.row, x.col)

    pairs = sorted((_mm(rc(t), rc(a), spacing_rc), i, j) for i, t in enumerate(truth_foci)
                   for j, a in enumerate(auto_foci))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for d, i, j in pairs:
        if d > radius_mm:
            break
        if i not in matched and j not in used:
            matched[i] = j
            used.add(j)
    missed = [i for i in range(len(truth_foci)) if i not in matched]
    extra = [j for j in range(len(auto_foci)) if j not in used]
    return matched, missed, extra


def focal_by_size(foci: list[tuple[float | None, bool, bool]]) -> list[dict]:
    """Detection by diameter bin from ``(diameter_mm, found, segment_called_diffuse)``."""
    out = []
    for lo, hi in (*SIZE_BINS_MM, (None, None)):
        if lo is None:
            sel = [f for f in foci if f[0] is None]
            name = "size unknown"
        else:
            sel = [f for f in foci if f[0] is not None and lo <= f[0] < hi]
            name = f"{lo:g}-{hi:g} mm" if math.isfinite(hi) else f">= {lo:g} mm"
        if not sel:
            continue
        found = sum(1 for f in sel if f[1])
        out.append({"bin": name, "n": len(sel), "found": found, "sensitivity": found / len(sel),
                    "missed_in_diffuse": sum(1 for f in sel if not f[1] and f[2])})
    return out


def extent_by_grade(pairs: list[tuple[int, int, float, float | None]]) -> list[dict]:
    """Extent error for diffuse-truth segments from ``(truth grade, auto grade, truth
    fraction, auto fraction or None)``, by truth grade 4, 5, 6."""
    out = []
    for g in (4, 5, 6):
        sel = [p for p in pairs if p[0] == g]
        if not sel:
            out.append({"truth_grade": g, "n": 0})
            continue
        a = np.array([p[1] for p in sel], float)
        tf = np.array([p[2] for p in sel], float)
        af = np.array([p[3] if p[3] is not None else 0.0 for p in sel], float)
        out.append({"truth_grade": g, "n": len(sel), "auto_mean": float(a.mean()),
                    "exact": float((a == g).mean()), "ge5": float((a >= 5).mean()),
                    "lower": float((a < g).mean()), "truth_fraction": float(tf.mean()),
                    "auto_fraction": float(af.mean())})
    return out
