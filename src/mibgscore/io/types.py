"""What the reader returns: one Scan per study, whatever came in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

VIEWS = ("anterior", "posterior")


@dataclass(frozen=True)
class Patient:
    """Patient attributes as read from the file (all optional: many exports blank them)."""

    patient_id: str | None = None
    name: str | None = None
    birth_date: dt.date | None = None
    age_years: float | None = None
    sex: str | None = None
    height_cm: float | None = None
    weight_kg: float | None = None


@dataclass(frozen=True)
class Study:
    """Study and series identity."""

    study_uid: str | None = None
    series_uid: str | None = None
    sop_instance_uids: tuple[str, ...] = ()
    study_date: dt.date | None = None
    description: str | None = None
    accession_number: str | None = None


@dataclass(frozen=True)
class Tracer:
    """The radiopharmaceutical.

    ``status`` is ``"mibg"`` (123I- or 131I-MIBG), ``"unknown"`` (nothing in the file says) or
    ``"other"`` (another tracer, e.g. a 99mTc bone scan).
    """

    status: str = "unknown"
    name: str | None = None
    isotope: str | None = None
    code: str | None = None
    how: str = "no tracer information"

    def __post_init__(self) -> None:
        if self.status not in ("mibg", "unknown", "other"):
            raise ValueError(f"tracer status {self.status!r}")


@dataclass(frozen=True)
class Acquisition:
    """Camera and acquisition facts."""

    sop_class_uid: str | None = None
    modality: str | None = None
    transfer_syntax_uid: str | None = None
    image_type: tuple[str, ...] = ()
    manufacturer: str | None = None
    model: str | None = None
    collimator: str | None = None
    energy_window_kev: tuple[float, float] | None = None
    frame_duration_ms: float | None = None
    scan_velocity_mm_s: float | None = None
    counts_accumulated: int | None = None


@dataclass(frozen=True)
class ViewSource:
    """Where one view came from: file, 0-based frame index, and the rule that named the view."""

    file: str
    frame: int
    how: str


@dataclass(frozen=True, eq=False)
class Scan:
    """One whole-body MIBG study: anterior and posterior count images and what is known of them.

    Attributes
    ----------
    anterior, posterior : ndarray of shape (rows, cols), float32, or None
        Counts per pixel, head towards row 0. The posterior view is mirrored left-right into
        the anterior's orientation, so the patient's right lies on the viewer's left in both.
        At most one of them is None (a single-view scan, allowed only on request).
    spacing_mm : tuple of float
        Pixel spacing (row, col) in mm.
    assumptions : tuple of str
        Every guess made while reading (e.g. "view taken from Series Description").
    """

    anterior: np.ndarray | None
    posterior: np.ndarray | None
    spacing_mm: tuple[float, float]
    patient: Patient = field(default_factory=Patient)
    study: Study = field(default_factory=Study)
    tracer: Tracer = field(default_factory=Tracer)
    acquisition: Acquisition = field(default_factory=Acquisition)
    sources: dict[str, ViewSource] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    path: str | None = None

    def __post_init__(self) -> None:
        views = [v for v in (self.anterior, self.posterior) if v is not None]
        if not views:
            raise ValueError("a Scan needs at least one view")
        for v in views:
            if v.ndim != 2 or v.dtype != np.float32:
                raise ValueError("views must be 2-D float32 arrays")
        if len(views) == 2 and self.anterior.shape != self.posterior.shape:
            raise ValueError("anterior and posterior views differ in shape")
        if len(self.spacing_mm) != 2 or min(self.spacing_mm) <= 0:
            raise ValueError(f"pixel spacing {self.spacing_mm} is not positive")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the views."""
        v = self.anterior if self.anterior is not None else self.posterior
        return v.shape  # type: ignore[union-attr]

    @property
    def views(self) -> dict[str, np.ndarray]:
        """The views present, by name."""
        out = {}
        if self.anterior is not None:
            out["anterior"] = self.anterior
        if self.posterior is not None:
            out["posterior"] = self.posterior
        return out
