"""The registry of lesion detectors: the ``--lesions`` choices and ``auto``.

Adding a detector: write its module in ``lesions/`` (a class with ``model`` and ``find``, see
:class:`mibgscore.lesions.detector.LesionDetector`) and register it below.
"""

from __future__ import annotations

import logging
from typing import Any

from mibgscore.lesions import learned, skeletal
from mibgscore.lesions.detector import DetectorEntry, LesionDetector

logger = logging.getLogger(__name__)

_REGISTRY: dict[str, DetectorEntry] = {}

AUTO = "auto"
"""The registry's choice: the first registered detector that can run here."""


def register(entry: DetectorEntry) -> None:
    """Add a detector to the registry."""
    if entry.name == AUTO or entry.name in _REGISTRY:
        raise ValueError(f"lesion detector name {entry.name!r} is taken")
    _REGISTRY[entry.name] = entry


def _entries() -> list[DetectorEntry]:
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




register(DetectorEntry(
    name="learned", summary="the shipped U-Net lesion map (onnxruntime)",
    make=learned.LearnedDetector, available=learned.unavailable_reason, preference=10))
register(DetectorEntry(
    name="classic", summary="the hand-made detector (contrast over a model of normal counts)",
    make=skeletal.ClassicDetector, available=lambda: None, preference=20))
