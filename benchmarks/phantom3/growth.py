"""Paediatric body size and proportions.

Stature medians: CDC 2000 growth charts (2-17 y) joined to the WHO Child Growth Standards
(0.5-2 y), boys and girls; SD as a coefficient of variation of about 4 % (CDC LMS tables give
3.5-4.5 % for stature). BMI medians: CDC 2000 / WHO. Body proportions (head height, leg length,
arm segments, biacromial and bitrochanteric breadth) follow the classic anthropometric series of
children (Snyder et al. 1977, "Anthropometry of infants, children and youths to age 18 for
product safety design", SAE SP-450; Tanner's sitting-height ratio; Koff's bladder capacity).
Everything is expressed as a fraction of stature so that one table serves all sizes.
"""

from __future__ import annotations

import numpy as np

AGES = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
        15.0, 16.0, 17.0)
STATURE_CM = {
    "M": (67.6, 75.7, 82.3, 87.1, 95.3, 102.5, 109.2, 115.5, 121.9, 128.0, 133.3, 138.4, 143.5,
          149.1, 156.2, 163.2, 169.0, 173.0, 175.2),
    "F": (65.7, 74.0, 80.7, 85.7, 94.1, 101.6, 108.4, 114.6, 120.6, 126.6, 132.5, 138.3, 144.8,
          151.5, 157.1, 160.4, 161.8, 162.5, 163.0),
}
BMI_MEDIAN = {
    "M": (17.3, 17.2, 16.7, 16.5, 16.0, 15.7, 15.5, 15.4, 15.5, 15.8, 16.1, 16.6, 17.2, 17.8,
          18.5, 19.2, 19.8, 20.5, 21.1),
    "F": (16.9, 16.6, 16.2, 16.0, 15.7, 15.4, 15.3, 15.3, 15.5, 15.8, 16.2, 16.9, 17.4, 18.0,
          18.7, 19.4, 19.9, 20.4, 21.0),
}


def _lerp(table: list[tuple[float, float]], age: float) -> float:
    a, v = zip(*table, strict=True)
    return float(np.interp(age, a, v))


def stature_cm(age: float, sex: str, z: float) -> float:
    """Stature for an age, sex and SD score."""
    med = float(np.interp(age, AGES, STATURE_CM[sex]))
    return med * (1.0 + 0.042 * z)


def bmi(age: float, sex: str, z: float) -> float:
    """BMI for an age, sex and (log-normal) SD score."""
    med = float(np.interp(age, AGES, BMI_MEDIAN[sex]))
    return med * float(np.exp(0.13 * z))


def bladder_capacity_ml(age: float) -> float:
    """Koff's expected bladder capacity, (age + 2) x 30 mL (infants: 38 + 2.5 x months)."""
    if age < 1.0:
        return 38.0 + 2.5 * age * 12.0
    return min((age + 2.0) * 30.0, 450.0)


# fractions of stature, by age
HEAD = [(0.5, 0.235), (1, 0.22), (2, 0.20), (3, 0.188), (5, 0.175), (8, 0.16), (11, 0.148),
        (14, 0.138), (17, 0.132)]
"""Vertex-chin height / stature (a quarter at birth, about an eighth in adults)."""
HEAD_WIDTH = [(0.5, 0.80), (3, 0.76), (8, 0.72), (17, 0.67)]
"""Head breadth / head height."""
FACE = [(0.5, 0.38), (2, 0.40), (6, 0.43), (12, 0.47), (17, 0.50)]
"""Face (nasion-menton) / head height: the face grows faster than the neurocranium."""
NECK = [(0.5, 0.035), (2, 0.04), (6, 0.045), (17, 0.05)]
"""Chin to acromion level / stature."""
LEG = [(0.5, 0.33), (1, 0.35), (2, 0.38), (4, 0.42), (7, 0.44), (10, 0.46), (14, 0.47),
       (17, 0.47)]
"""Crotch height / stature (subischial leg length)."""
HUMERUS = [(0.5, 0.165), (3, 0.175), (10, 0.185), (17, 0.188)]
FOREARM = [(0.5, 0.135), (5, 0.14), (17, 0.146)]
HAND = [(0.5, 0.115), (5, 0.11), (17, 0.108)]
FOOT = [(0.5, 0.16), (5, 0.155), (17, 0.15)]
BIACROMIAL = [(0.5, 0.26), (2, 0.245), (6, 0.23), (10, 0.22), (17, 0.225)]
CHEST_AP = [(0.5, 0.85), (3, 0.78), (10, 0.70), (17, 0.65)]
"""Chest depth / chest breadth (infants have a round chest)."""
ABDOMEN_AP = [(0.5, 0.95), (3, 0.85), (10, 0.72), (17, 0.66)]
WAIST = [(0.5, 0.97), (5, 0.92), (10, 0.86), (17, 0.80)]
"""Waist breadth / chest breadth."""
RIB_DROP = [(0.5, 1.4), (3, 2.0), (8, 2.8), (17, 3.4)]
"""Vertical drop of a mid rib from head to costochondral end, in thoracic vertebral heights:
infant ribs are nearly horizontal."""
NECK_SHAFT = [(0.5, 148.0), (5, 140.0), (17, 132.0)]
"""Femoral neck-shaft angle, degrees."""
LIVER_HEIGHT = [(0.5, 0.11), (3, 0.10), (10, 0.09), (17, 0.085)]
KIDNEY_LENGTH = [(0.5, 0.085), (3, 0.075), (10, 0.068), (17, 0.063)]
SKULL_SHELL_MM = [(0.5, 3.0), (3, 4.5), (10, 6.0), (17, 7.5)]


def frac(table: list[tuple[float, float]], age: float) -> float:
    """Interpolate an age table."""
    return _lerp(table, age)
