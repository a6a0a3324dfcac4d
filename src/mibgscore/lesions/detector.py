"""The lesion-detector contract and the rules every detector shares.

A detector turns the registered views on the working grid, the fitted skeleton on the same
grid and the normal-uptake findings into skeletal lesions, and says which model it is. The
pipeline asks :mod:`mibgscore.lesions.registry` for one by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mibgscore.anatomy.bones import near_injection_site
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.lesions.types import FocalLesion, SkeletalLesions
from mibgscore.result import ModelInfo
from mibgscore.uptake.types import NormalUptake, WorkingViews


@runtime_checkable
class LesionDetector(Protocol):
    """What every lesion detector offers.

    Attributes
    ----------
    model : ModelInfo
        Name, version and SHA-256 of what defines the detector (weights or parameters).
    """

    model: ModelInfo

    def find(self, views: WorkingViews, skeleton: WorkingSkeleton,
             uptake: NormalUptake) -> SkeletalLesions:
        """Foci and diffuse involvement on the working grid (canonical frame)."""
        ...


@dataclass(frozen=True)
class DetectorEntry:
    """One registered detector.

    Attributes
    ----------
    name : str
        Registry name (the ``--lesions`` choice).
    summary : str
        One line for ``--help``.
    make : callable
        ``make(params)`` builds the detector; ``params`` None gives its defaults.
    available : callable
        ``available()`` returns None when the detector can run here, else the reason it
        cannot (one sentence).
    preference : int
        ``auto`` tries detectors from the lowest preference up.
    """

    name: str
    summary: str
    make: Callable[[Any], LesionDetector]
    available: Callable[[], str | None]
    preference: int = 100


def lone_injection_site(focal: list[FocalLesion] | tuple[FocalLesion, ...],
                        diffuse: np.ndarray, skeleton: WorkingSkeleton) -> bool:
    """True when the only abnormal uptake on the skeleton is one focus where tracer is
    injected (forearm, hand, lower leg, foot, elbow end of the humerus).

    Such a lone hot spot is far likelier the injection site than a single distal metastasis;
    detectors with ``lone_extremity_is_injection`` drop it.
    """
    if len(focal) != 1 or diffuse.any():
        return False
    x = focal[0]
    position = float(skeleton.position[x.bone_row, x.bone_col])
    return near_injection_site(x.bone, position)
