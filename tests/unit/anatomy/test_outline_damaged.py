"""A silhouette a damaged file can give (no body rows where the trunk should be) is measured
without an exception: landmarks stay finite (fuzz case 4428 of seed 14, docs/robustness.md)."""

import math

import numpy as np

from mibgscore.anatomy._outline import measure_outline


def test_a_silhouette_without_trunk_rows_gives_finite_landmarks():
    mask = np.zeros((400, 120), bool)
    mask[10:40, 50:70] = True     # a head-like blob
    mask[380:396, 40:80] = True   # and a band near the feet: nothing in between
    out = measure_outline(mask, spacing_mm=4.0, age_years=5.0, height_cm=None)
    points = list(out.landmarks.values())
    assert points
    assert all(math.isfinite(v) for p in points for v in p)
