"""The lesion-detector contract, the registry of detectors, and rules every detector shares.

A detector turns the registered views on the working grid, the fitted skeleton on the same
grid and the normal-uptake findings into skeletal lesions, and says which model it is. The
pipeline asks the registry for one by name; adding a detector means registering it here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mibgscore.anatomy.bones import near_injection_site
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.lesions.types import FocalLesion, SkeletalLesions
from mibgscore.result import ModelInfo
from mibgscore.uptake.types import NormalUptake, WorkingViews

logger = logging.getLogger(__name__)


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


_REGISTRY: dict[str, DetectorEntry] = {}

AUTO = "auto"
"""The registry's choice: the first registered detector that can run here."""


def register(entry: DetectorEntry) -> None:
    """Add a detector to the registry."""
    if entry.name == AUTO or entry.name in _REGISTRY:
        raise ValueError(f"lesion detector name {entry.name!r} is taken")
    _REGISTRY[entry.name] = entry


def _entries() -> list[DetectorEntry]:
    _load_builtin()
    return sorted(_REGISTRY.values(), key=lambda e: e.preference)


def detector_names() -> tuple[str, ...]:
    """The ``--lesions`` choices: ``auto`` and every registered detector."""
    return (AUTO, *(e.name for e in _entries()))


def detector_help() -> str:
    """One line per choice, for ``--help``."""
    entries = _entries()
    parts = [f"{AUTO}: {entries[0].name} when it can run here, else the next"]
    parts += [f"{e.name}: {e.summary}" for e in entries]
    return "; ".join(parts)


def resolve_detector(name: str = AUTO, params: Any = None
                     ) -> tuple[LesionDetector, tuple[str, ...]]:
    """The detector called ``name``, and the warnings to show with its results.

    ``auto`` takes the first registered detector that can run; when that is not the
    preferred one, a warning says so (a fall-back is never silent).

    Raises
    ------
    ValueError
        An unknown name, or a named detector that cannot run here (with the reason).
    """
    entries = _entries()
    if name == AUTO:
        skipped = []
        for entry in entries:
            why = entry.available()
            if why is None:
                warnings = tuple(
                    f"the {s} lesion detector could not be used ({reason}): scored with the "
                    f"{entry.name} detector." for s, reason in skipped)
                for w in warnings:
                    logger.warning(w)
                return entry.make(params), warnings
            skipped.append((entry.name, why.rstrip(".")))
        raise ValueError("no lesion detector can run here: "
                         + "; ".join(f"{n}: {w}" for n, w in skipped) + ".")
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"lesion method {name!r} is not one of {', '.join(detector_names())}")
    why = entry.available()
    if why is not None:
        raise ValueError(f"the {name} lesion detector cannot run here: {why}")
    return entry.make(params), ()


def _load_builtin() -> None:
    """Register the shipped detectors (their modules register themselves when imported)."""
    from mibgscore.lesions import learned, skeletal  # noqa: F401


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
