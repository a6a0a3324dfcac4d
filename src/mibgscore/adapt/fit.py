"""Fitting a centre's limits: per-segment grid search, pulled towards the bundled rules.

Every study's candidate foci and binned extent (:mod:`mibgscore.adapt.evidence`) are graded
under every combination of limits at once (numpy), so a fit is a few milliseconds and the
whole nested cross-validation a few seconds. The loss is the sum over studies of the absolute
grade error of each segment; ``lam`` times the distance from the bundled rules is added, so
that a centre with few studies keeps the shipped model unless its data clearly say otherwise.
Left and right limbs share their limits; each limb pair shares its split.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from mibgscore.adapt.evidence import (
    N_BINS,
    StudyEvidence,
    foci_segments,
    segment_fractions,
    segment_lookup,
)
from mibgscore.anatomy.scheme import SegmentScheme, load_scheme
from mibgscore.grading.calibration import Calibration, SegmentLimits
from mibgscore.grading.rules import MIN_DIFFUSE_FRACTION, SIOPEN_DIFFUSE_HALF, SIOPEN_DIFFUSE_WHOLE

FOCUS_GRID: tuple[float | None, ...] = (None, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7,
                                        0.75, 0.8, 0.85, 0.9)
"""Focus limits tried (None: the detector's own decision)."""

MIN_GRID = (0.06, 0.09, 0.12, 0.16, 0.2, 0.25)
HALF_GRID = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65)
WHOLE_GRID = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
SPLIT_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Diffuse limits and limb splits (position along the humerus or femur) tried."""

LONE_GRID: tuple[float | None, ...] = (None, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
"""Limits tried for a scan's lone focus (None: counted as any focus)."""

LAMBDAS = (2.0, 4.0, 8.0)
"""Pulls towards the bundled rules tried by the inner cross-validation. Weaker pulls (0.5,
1) won the inner cross-validation but lost on other studies of the same centres in
development (centres of seeds 71-74 million): the inner folds are too small to trust them."""

TOTAL_WEIGHT = 1.0
"""Weight of the SIOPEN total's absolute error beside the segments' in the loss: segment
errors of opposite sign cancel in the total, which is what the clinic uses."""

SWEEPS = 2
"""Passes over the segment groups refining the limits for segments and total together."""

SHIPPED_FOCUS_P = 0.5
"""Where the distance of a focus limit is measured from (about the verifier's threshold)."""

GROUPS: dict[str, tuple[str, ...]] = {
    "skull": ("skull",), "thoracic_cage": ("thoracic_cage",), "spine": ("spine",),
    "pelvis": ("pelvis",),
    "upper_limb_proximal": ("right_upper_limb_proximal", "left_upper_limb_proximal"),
    "upper_limb_distal": ("right_upper_limb_distal", "left_upper_limb_distal"),
    "lower_limb_proximal": ("right_lower_limb_proximal", "left_lower_limb_proximal"),
    "lower_limb_distal": ("right_lower_limb_distal", "left_lower_limb_distal"),
}
"""Segments sharing their limits."""

SPLITS = {"upper": ("upper_limb_proximal", "upper_limb_distal", "humerus"),
          "lower": ("lower_limb_proximal", "lower_limb_distal", "femur")}
"""Each limb pair's groups and the bone its split lies on."""


def _combos() -> list[tuple[float, float, float]]:
    return [(m, h, w) for m, h, w in itertools.product(MIN_GRID, HALF_GRID, WHOLE_GRID)
            if m <= h <= w]


COMBOS = _combos()


def _penalties() -> tuple[np.ndarray, np.ndarray]:
    pq = np.array([0.0 if q is None else 0.5 + abs(q - SHIPPED_FOCUS_P) / 0.1
                   for q in FOCUS_GRID])
    pc = np.array([abs(m - MIN_DIFFUSE_FRACTION) / 0.04 + abs(h - SIOPEN_DIFFUSE_HALF) / 0.1
                   + abs(w - SIOPEN_DIFFUSE_WHOLE) / 0.1 for m, h, w in COMBOS])
    return pq, pc


PENALTY_FOCUS, PENALTY_DIFFUSE = _penalties()
PENALTY_SPLIT = np.array([abs(s - 0.5) / 0.1 for s in SPLIT_GRID])
PENALTY_LONE = np.array([0.0 if v is None else 1.0 + (v - 0.5) / 0.1 for v in LONE_GRID])


def split_scheme(base: SegmentScheme, text: str, upper: float, lower: float
                 ) -> tuple[SegmentScheme, str]:
    """``base`` (its TOML ``text``) with the humerus split at ``upper`` and the femur split at
    ``lower``; the scheme and its TOML.

    Raises
    ------
    ValueError
        The table does not split the humerus and femur at one position each.
    """
    out = text
    for bone, at in (("humerus", upper), ("femur", lower)):
        for side in ("right", "left"):
            name = f"{bone}_{side}"
            pat = re.compile(r'\{ *bone *= *"' + name + r'" *, *from *= *([0-9.]+) *, *to *= *'
                             r'([0-9.]+) *\}')
            parts = pat.findall(out)
            if len(parts) != 2:
                raise ValueError(f"the segment table does not split {name} in two")

            def repl(m: re.Match, name: str = name, at: float = at) -> str:
                start = float(m.group(1))
                if start == 0.0:
                    return f'{{ bone = "{name}", from = 0.0, to = {at:.2f} }}'
                return f'{{ bone = "{name}", from = {at:.2f}, to = 1.0 }}'

            out = pat.sub(repl, out)
            if at >= 1.0:  # nothing left of the bone in the distal segment
                out = re.sub(r'\{ *bone *= *"' + name + r'" *, *from *= *1\.00 *, *to *= *1\.0 *\}'
                             r' *, *', "", out)
    if (upper, lower) != (0.5, 0.5):
        out = re.sub(r'(?m)^name = "([^"]*)"', lambda m: f'name = "{m.group(1)} (limb split: '
                     f'humerus {upper:g}, femur {lower:g})"', out, count=1)
    return _scheme_of_text(out), out


def _scheme_of_text(text: str) -> SegmentScheme:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "siopen.toml"
        path.write_text(text, encoding="utf-8")
        return load_scheme(path)


@dataclass(frozen=True, eq=False)
class Features:
    """Every study's evidence in the form the fit needs, for each limb split.

    Attributes
    ----------
    keys : tuple of str
        SIOPEN segment keys.
    fraction : ndarray of shape (n_splits, n_studies, n_segments)
        Involved share of each segment (before any minimum).
    counts : ndarray of shape (n_splits, n_studies, n_segments, len(FOCUS_GRID))
        Foci counted under each focus limit.
    foci : list of tuple
        Per study: each candidate focus's segment under each split (n_splits, m), its
        probability, the detector's decision and whether a rule set it aside.
    any_diffuse : ndarray of shape (n_studies,), bool
    """

    keys: tuple[str, ...]
    fraction: np.ndarray
    counts: np.ndarray
    foci: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    any_diffuse: np.ndarray

    def subset(self, index: np.ndarray) -> Features:
        """The features of the studies ``index``."""
        return Features(self.keys, self.fraction[:, index], self.counts[:, index],
                        [self.foci[i] for i in index], self.any_diffuse[index])

    @property
    def n(self) -> int:
        return self.fraction.shape[1]


def features(evidence: list[StudyEvidence], schemes: list[SegmentScheme]) -> Features:
    """Features of ``evidence`` under each scheme of ``schemes`` (one per ``SPLIT_GRID`` value,
    both limbs split there)."""
    keys = schemes[0].keys
    n_seg = len(keys)
    frac = np.zeros((len(schemes), len(evidence), n_seg))
    counts = np.zeros((len(schemes), len(evidence), n_seg, len(FOCUS_GRID)), dtype=np.int64)
    segs = [np.zeros((len(schemes), ev.foci_p.size), dtype=np.int64) for ev in evidence]
    for k, scheme in enumerate(schemes):
        lookup = segment_lookup(scheme)
        for i, ev in enumerate(evidence):
            frac[k, i] = segment_fractions(ev, lookup, n_seg)
            seg = foci_segments(ev, lookup)
            segs[i][k] = seg
            ok = (seg >= 0) & ~ev.foci_fixed
            for j, q in enumerate(FOCUS_GRID):
                take = ok & (ev.foci_kept if q is None else ev.foci_p >= q)
                counts[k, i, :, j] = np.bincount(seg[take], minlength=n_seg)[:n_seg]
    soft = [i for i, s in enumerate(schemes[0].segments) if s.soft_tissue]
    frac[:, :, soft] = 0.0
    foci = [(segs[i], ev.foci_p, ev.foci_kept, ev.foci_fixed) for i, ev in enumerate(evidence)]
    return Features(keys, frac, counts, foci, np.array([ev.any_diffuse for ev in evidence]))


def _grades(frac: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Grades of shape (rows, len(FOCUS_GRID), len(COMBOS)) from fractions (rows,) and focus
    counts (rows, len(FOCUS_GRID))."""
    c = np.array(COMBOS)
    f = frac[:, None]
    diffuse = np.where(f < c[None, :, 0], 0,
                       np.where(f < c[None, :, 1], 4, np.where(f <= c[None, :, 2], 5, 6)))
    diffuse = np.where(f > 0, diffuse, 0)
    return np.maximum(np.minimum(counts, 4)[:, :, None], diffuse[:, None, :])


@dataclass(frozen=True)
class Fitted:
    """Limits chosen for each segment group, and the limb splits."""

    focus: dict[str, float | None]
    diffuse: dict[str, tuple[float, float, float]]
    splits: dict[str, float]
    lam: float
    lone: float | None = None

    def calibration(self, name: str, scheme_sha256: str = "") -> Calibration:
        """The limits as a :class:`Calibration` (groups spread to their segments)."""
        segments = {}
        for group, keys in GROUPS.items():
            m, h, w = self.diffuse[group]
            limits = SegmentLimits(focus_p=self.focus[group], min_fraction=m, half=h, whole=w)
            if not limits.is_default:
                for key in keys:
                    segments[key] = limits
        return Calibration(name, segments, scheme_sha256, self.lone)


def _group_error(feat: Features, ref: np.ndarray, group: str, split: int) -> np.ndarray:
    """Summed absolute error of ``group`` for every (focus limit, diffuse limits)."""
    idx = [feat.keys.index(k) for k in GROUPS[group]]
    frac = feat.fraction[split][:, idx].T.ravel()
    counts = feat.counts[split][:, idx, :].transpose(1, 0, 2).reshape(-1, len(FOCUS_GRID))
    r = ref[:, idx].T.ravel()
    keep = np.isfinite(r)
    g = _grades(frac[keep], counts[keep])
    return np.abs(g - r[keep][:, None, None]).sum(axis=0)


def fit(feat: Features, ref: np.ndarray, lam: float) -> Fitted:
    """Limits minimising the summed absolute grade error plus ``lam`` times the distance from
    the bundled rules.

    Parameters
    ----------
    feat : Features
    ref : ndarray of shape (n_studies, n_segments)
        The reference grades (NaN where not read).
    lam : float
    """
    pen = PENALTY_FOCUS[:, None] + PENALTY_DIFFUSE[None, :]
    focus: dict[str, float | None] = {}
    diffuse: dict[str, tuple[float, float, float]] = {}
    splits: dict[str, float] = {}
    mid = SPLIT_GRID.index(0.5)

    def best(group: str, split: int) -> tuple[float, int, int]:
        obj = _group_error(feat, ref, group, split) + lam * pen
        j, c = np.unravel_index(int(np.argmin(obj)), obj.shape)
        return float(obj[j, c]), int(j), int(c)

    limb_groups = {g for a, b, _ in SPLITS.values() for g in (a, b)}
    for group in GROUPS:
        if group in limb_groups:
            continue
        _, j, c = best(group, mid)
        focus[group], diffuse[group] = FOCUS_GRID[j], COMBOS[c]
    for limb, (prox, dist, _) in SPLITS.items():
        options = []
        for s in range(len(SPLIT_GRID)):
            a, b = best(prox, s), best(dist, s)
            options.append((a[0] + b[0] + lam * PENALTY_SPLIT[s], s, a, b))
        _, s, a, b = min(options, key=lambda o: (o[0], abs(SPLIT_GRID[o[1]] - 0.5)))
        splits[limb] = SPLIT_GRID[s]
        focus[prox], diffuse[prox] = FOCUS_GRID[a[1]], COMBOS[a[2]]
        focus[dist], diffuse[dist] = FOCUS_GRID[b[1]], COMBOS[b[2]]
    fitted = _refine(feat, ref, Fitted(focus, diffuse, splits, lam), pen)
    focus, diffuse = fitted.focus, fitted.diffuse
    keep = np.isfinite(ref)
    costs = []
    for v, pen_v in zip(LONE_GRID, PENALTY_LONE, strict=True):
        trial = Fitted(focus, diffuse, splits, lam, v)
        costs.append(float(np.abs(predict(feat, trial) - np.nan_to_num(ref))[keep].sum())
                     + lam * pen_v)
    return Fitted(focus, diffuse, splits, lam, LONE_GRID[int(np.argmin(costs))]) \
        if min(costs) < costs[0] else fitted


def _refine(feat: Features, ref: np.ndarray, fitted: Fitted, pen: np.ndarray) -> Fitted:
    """Coordinate descent over the groups on segment error + ``TOTAL_WEIGHT`` x total error
    (+ the pull), the splits kept."""
    focus, diffuse = dict(fitted.focus), dict(fitted.diffuse)
    ref_total = ref.sum(axis=1)
    rows = np.isfinite(ref_total)
    split_of = {g: SPLIT_GRID.index(0.5) for g in GROUPS}
    for limb, (prox, dist, _) in SPLITS.items():
        split_of[prox] = split_of[dist] = SPLIT_GRID.index(fitted.splits[limb])
    for _ in range(SWEEPS):
        for group, keys in GROUPS.items():
            current = predict(feat, Fitted(focus, diffuse, fitted.splits, fitted.lam))
            idx = [feat.keys.index(k) for k in keys]
            others = current[rows].sum(axis=1) - current[rows][:, idx].sum(axis=1)
            s = split_of[group]
            seg_err = 0.0
            total = others[:, None, None].astype(float)
            for i in idx:
                g = _grades(feat.fraction[s][rows, i], feat.counts[s][rows, i, :])
                seg_err = seg_err + np.abs(g - ref[rows, i][:, None, None]).sum(axis=0)
                total = total + g
            obj = (seg_err + TOTAL_WEIGHT * np.abs(total - ref_total[rows][:, None, None]
                                                   ).sum(axis=0) + fitted.lam * pen)
            j, c = np.unravel_index(int(np.argmin(obj)), obj.shape)
            focus[group], diffuse[group] = FOCUS_GRID[int(j)], COMBOS[int(c)]
    return Fitted(focus, diffuse, fitted.splits, fitted.lam)


def predict(feat: Features, fitted: Fitted) -> np.ndarray:
    """Grades of shape (n_studies, n_segments) under ``fitted``."""
    out = np.zeros((feat.n, len(feat.keys)), dtype=np.int64)
    split_of = {g: SPLIT_GRID.index(0.5) for g in GROUPS}
    for limb, (prox, dist, _) in SPLITS.items():
        split_of[prox] = split_of[dist] = SPLIT_GRID.index(fitted.splits[limb])
    for group, keys in GROUPS.items():
        s = split_of[group]
        j = FOCUS_GRID.index(fitted.focus[group])
        c = COMBOS.index(fitted.diffuse[group])
        for key in keys:
            i = feat.keys.index(key)
            g = _grades(feat.fraction[s][:, i], feat.counts[s][:, i, :])
            out[:, i] = g[:, j, c]
    if fitted.lone is not None:
        _lone_rule(feat, fitted, split_of, out)
    return out


def _lone_rule(feat: Features, fitted: Fitted, split_of: dict[str, int],
               out: np.ndarray) -> None:
    """Set aside a scan's lone focus under ``fitted.lone`` (the scan graded 0 there)."""
    group_of = {feat.keys.index(k): g for g, ks in GROUPS.items() for k in ks}
    limb_upper = {feat.keys.index(k) for g in SPLITS["upper"][:2] for k in GROUPS[g]}
    limb_lower = {feat.keys.index(k) for g in SPLITS["lower"][:2] for k in GROUPS[g]}
    mid = SPLIT_GRID.index(0.5)
    for i, (segs, p, kept, fixed) in enumerate(feat.foci):
        if feat.any_diffuse[i] or p.size == 0:
            continue
        seg0 = segs[mid]
        split = np.array([split_of[SPLITS["upper"][0]] if s in limb_upper else
                          split_of[SPLITS["lower"][0]] if s in limb_lower else mid
                          for s in seg0], dtype=np.int64)
        seg = segs[split, np.arange(p.size)]
        limit = [fitted.focus.get(group_of.get(int(s), ""), None) for s in seg]
        counted = np.array([(s >= 0) and not f and (k if q is None else pj >= q)
                            for s, f, k, q, pj in zip(seg, fixed, kept, limit, p,
                                                      strict=True)], dtype=bool)
        if counted.sum() == 1 and p[counted][0] < fitted.lone:
            out[i, int(seg[counted][0])] = 0


def grouped_folds(groups: list[str], k: int, seed: int) -> list[np.ndarray]:
    """Test indices of ``k`` folds; all studies of one patient in the same fold."""
    names = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    fold_of = {names[i]: n % k for n, i in enumerate(order)}
    return [np.array([i for i, g in enumerate(groups) if fold_of[g] == f], dtype=np.int64)
            for f in range(k)]


def choose_lambda(feat: Features, ref: np.ndarray, groups: list[str], seed: int,
                  k: int = 3) -> float:
    """The pull (``LAMBDAS``) with the least inner cross-validated error."""
    if len(set(groups)) < k:
        return max(LAMBDAS)
    folds = grouped_folds(groups, k, seed)
    errors = []
    for lam in LAMBDAS:
        err = 0.0
        for test in folds:
            train = np.setdiff1d(np.arange(feat.n), test)
            fitted = fit(feat.subset(train), ref[train], lam)
            pred = predict(feat.subset(test), fitted)
            r = ref[test]
            err += float(np.nansum(np.abs(pred - r)))
        errors.append(err)
    return LAMBDAS[int(np.argmin(errors))]


def fit_nested(feat: Features, ref: np.ndarray, groups: list[str], seed: int) -> Fitted:
    """:func:`fit` with its pull chosen by inner cross-validation on the same studies."""
    return fit(feat, ref, choose_lambda(feat, ref, groups, seed))


def cross_validate(feat: Features, ref: np.ndarray, groups: list[str], *, k: int, seed: int,
                   n_train: int | None = None) -> np.ndarray:
    """Out-of-fold grades of shape (n_studies, n_segments): each fold's studies graded by
    limits fitted (nested) on the other folds, or on ``n_train`` studies drawn from them by
    patient."""
    out = np.zeros((feat.n, len(feat.keys)), dtype=np.int64)
    rng = np.random.default_rng(seed + 1)
    for f, test in enumerate(grouped_folds(groups, k, seed)):
        train = np.setdiff1d(np.arange(feat.n), test)
        if n_train is not None and n_train < train.size:
            patients = sorted({groups[i] for i in train})
            picked: list[int] = []
            for p in rng.permutation(len(patients)):
                picked += [i for i in train if groups[i] == patients[p]]
                if len(picked) >= n_train:
                    break
            train = np.array(sorted(picked), dtype=np.int64)
        sub = [groups[i] for i in train]
        fitted = fit_nested(feat.subset(train), ref[train], sub, seed + 10 + f)
        out[test] = predict(feat.subset(test), fitted)
    return out


__all__ = ["COMBOS", "FOCUS_GRID", "Features", "Fitted", "GROUPS", "LAMBDAS", "N_BINS",
           "SPLIT_GRID", "choose_lambda", "cross_validate", "features", "fit", "fit_nested",
           "grouped_folds", "predict", "split_scheme"]
