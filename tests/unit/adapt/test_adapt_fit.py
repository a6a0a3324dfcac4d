"""Fitting a centre's limits: recovers limits it can see, keeps the shipped rules otherwise."""

import numpy as np

from mibgscore.adapt.fit import (
    COMBOS,
    FOCUS_GRID,
    GROUPS,
    SPLIT_GRID,
    Features,
    Fitted,
    cross_validate,
    fit,
    grouped_folds,
    predict,
)
from mibgscore.anatomy.scheme import SIOPEN_KEYS

DEFAULT = Fitted(focus={g: None for g in GROUPS}, diffuse={g: (0.12, 0.5, 0.95) for g in GROUPS},
                 splits={"upper": 0.5, "lower": 0.5}, lam=0.0)


def _features(n: int, seed: int) -> Features:
    rng = np.random.default_rng(seed)
    n_split, n_seg, n_q = len(SPLIT_GRID), len(SIOPEN_KEYS), len(FOCUS_GRID)
    frac = np.where(rng.random((n_split, n, n_seg)) < 0.35, rng.random((n_split, n, n_seg)), 0)
    # counts fall as the focus limit rises (column 0: the detector's own decision)
    base = rng.poisson(1.2, (n_split, n, n_seg, 1))
    drop = np.cumsum(rng.random((n_split, n, n_seg, n_q - 1)) < 0.15, axis=-1)
    counts = np.concatenate([base, np.maximum(base + 1 - drop, 0)], axis=-1)
    none = (np.zeros((n_split, 0), int), np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))
    return Features(tuple(SIOPEN_KEYS), frac, counts, [none] * n, np.ones(n, bool))


def test_fit_recovers_limits_and_splits_it_can_see():
    feat = _features(150, 1)
    truth = Fitted(focus={**DEFAULT.focus, "skull": 0.7, "pelvis": 0.4},
                   diffuse={**DEFAULT.diffuse, "spine": (0.12, 0.4, 0.8),
                            "lower_limb_proximal": (0.12, 0.5, 0.85)},
                   splits={"upper": 1.0, "lower": 0.7}, lam=0.0)
    ref = predict(feat, truth).astype(float)
    got = fit(feat, ref, lam=0.5)
    assert np.array_equal(predict(feat, got), ref)
    assert got.splits == truth.splits
    assert got.focus["skull"] == 0.7 and got.diffuse["spine"][2] == 0.8


def test_few_noisy_studies_keep_the_shipped_rules():
    feat = _features(20, 2)
    ref = predict(feat, DEFAULT).astype(float)
    rng = np.random.default_rng(3)
    noise = rng.random(ref.shape) < 0.08
    ref = np.clip(ref + noise * rng.choice([-1, 1], ref.shape), 0, 6)
    got = fit(feat, ref, lam=8.0)
    assert got.calibration("x").segments == {}
    assert got.splits == {"upper": 0.5, "lower": 0.5}


def test_folds_keep_a_patient_together_and_cover_every_study():
    groups = [f"p{i // 3}" for i in range(40)]
    folds = grouped_folds(groups, 5, seed=4)
    assert sorted(np.concatenate(folds).tolist()) == list(range(40))
    for test in folds:
        inside = {groups[i] for i in test}
        assert all(groups[j] not in inside for j in range(40) if j not in test)


def test_cross_validation_predicts_each_study_from_the_other_folds():
    feat = _features(60, 5)
    truth = Fitted(focus=DEFAULT.focus, diffuse={**DEFAULT.diffuse, "pelvis": (0.12, 0.4, 0.8)},
                   splits={"upper": 0.5, "lower": 1.0}, lam=0.0)
    ref = predict(feat, truth).astype(float)
    groups = [f"p{i}" for i in range(60)]
    oof = cross_validate(feat, ref, groups, k=5, seed=0)
    before = np.abs(predict(feat, DEFAULT) - ref).sum()
    assert np.abs(oof - ref).sum() < 0.3 * before
    assert len(COMBOS) > 100
