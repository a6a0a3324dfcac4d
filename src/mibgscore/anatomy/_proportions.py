"""Body proportions of children by age, as fractions of stature.

Rounded from standard anthropometry (head height 1/4 of stature at birth, 1/5 at 2 years,
1/6 at 6, 1/7.5 in adolescents; sitting-height ratio 0.67 at birth falling to 0.52 after
puberty; limb-segment ratios from Drillis-Contini/Winter, nearly constant after infancy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# age (years) -> median height (cm), both sexes (WHO/CDC, rounded)
_AGE = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0])
_HEIGHT = np.array([50, 67, 75, 87, 96, 103, 116, 128, 138, 149, 162, 170, 172], float)


def age_from_height(height_cm: float) -> float:
    """Age (years) of a child of median height ``height_cm``."""
    return float(np.interp(height_cm, _HEIGHT, _AGE))


def height_from_age(age_years: float) -> float:
    """Median height (cm) at ``age_years``."""
    return float(np.interp(age_years, _AGE, _HEIGHT))


@dataclass(frozen=True)
class Proportions:
    """Fractions of stature (vertex to soles) at one age.

    Attributes
    ----------
    head : float
        Vertex to chin.
    shoulder : float
        Vertex to the acromion.
    crotch : float
        Vertex to the crotch.
    arm : float
        Acromion to fingertip (humerus + forearm + hand).
    humerus, forearm, hand : float
        Shares of the arm (sum 1).
    """

    head: float
    shoulder: float
    crotch: float
    arm: float
    humerus: float = 0.43
    forearm: float = 0.33
    hand: float = 0.24


def proportions(age_years: float) -> Proportions:
    """Body proportions at ``age_years`` (0-18)."""
    a = float(np.clip(age_years, 0.0, 18.0))
    head = float(np.interp(a, [0, 1, 2, 6, 10, 14, 18], [0.25, 0.22, 0.20, 0.167, 0.15, 0.14,
                                                          0.13]))
    shoulder = head + float(np.interp(a, [0, 2, 6, 18], [0.05, 0.055, 0.06, 0.055]))
    leg = float(np.interp(a, [0, 1, 3, 6, 10, 14, 18], [0.33, 0.37, 0.41, 0.44, 0.46, 0.47,
                                                        0.47]))
    arm = float(np.interp(a, [0, 2, 6, 18], [0.40, 0.42, 0.43, 0.44]))
    return Proportions(head=head, shoulder=shoulder, crotch=1.0 - leg, arm=arm)
