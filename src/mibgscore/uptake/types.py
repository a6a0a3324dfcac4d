"""What the normal-uptake stage returns: labelled findings and the model of a normal scan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mibgscore.anatomy.grid import WorkGrid
from mibgscore.anatomy.types import Body

FINDING_LABELS: tuple[str, ...] = (
    "salivary_glands",
    "nasopharynx",
    "lacrimal_glands",
    "thyroid",
    "brown_fat",
    "heart",
    "liver",
    "spleen",
    "kidney",
    "bowel",
    "bladder",
    "urine",
    "injection_site",
    "soft_tissue_tumour",
)
"""Labels of normal (physiological) uptake and of soft-tissue tumour, as reported in findings."""

SOFT_TISSUE_LABELS: frozenset[str] = frozenset({"soft_tissue_tumour"})
"""Findings that enter the Curie soft-tissue segment."""

ORGAN_LABELS: frozenset[str] = frozenset({"heart", "liver", "spleen", "kidney", "bladder"})
"""Findings large enough to hide a bone focus that still stands out of them; in every other
finding (glands, brown fat, injection site, urine, bowel, tumour) a focus is the finding."""


@dataclass(frozen=True, eq=False)
class UptakeFinding:
    """One region of normal uptake or soft-tissue tumour, in the Body's canonical frame.

    Attributes
    ----------
    label : str
        One of ``FINDING_LABELS``.
    row, col : int
        Hottest pixel of the region (canonical frame: head up, posterior registered).
    mask : ndarray of shape (rows, cols), bool
        Pixels of the region.
    area_mm2 : float
        Area of the region in mm^2.
    peak_ratio : float
        Peak counts over the body's reference counts (dimensionless).
    anterior_fraction : float or None
        Share of the region's excess counts seen on the anterior view (0-1); None with one view.
    """

    label: str
    row: int
    col: int
    mask: np.ndarray
    area_mm2: float
    peak_ratio: float
    anterior_fraction: float | None = None

    def __post_init__(self) -> None:
        if self.label not in FINDING_LABELS:
            raise ValueError(f"finding label {self.label!r}")
        if self.mask.dtype != bool:
            raise ValueError("finding mask must be bool")


@dataclass(frozen=True, eq=False)
class ViewImages:
    """The two views combined for scoring, with their noise model (canonical frame).

    Attributes
    ----------
    combined : ndarray of shape (rows, cols), float32
        Geometric mean of the lightly smoothed anterior and registered posterior views (counts),
        or the single view present.
    variance : ndarray of shape (rows, cols), float32
        Expected noise variance of a raw pixel of ``combined`` (counts^2), Poisson times
        ``noise_gain``.
    noise_gain : float
        Measured noise variance over the Poisson variance (1 for pure counting noise).
    reference_counts : float
        Median of ``combined`` over the body (counts): the unit of every contrast ratio.
    body : ndarray of shape (rows, cols), bool
        The body outline.
    spacing_mm : tuple of float
        Pixel spacing (row, col) in mm.
    n_views : int
        1 or 2.
    profile : ndarray of shape (rows, cols), float32, or None
        Expected relative soft-tissue counts from the body's thickness
        (``images.chord_profile``).
    central : ndarray of shape (rows, cols), bool, or None
        Pixels in the middle of their body part, where that profile is reliable.
    """

    combined: np.ndarray
    variance: np.ndarray
    noise_gain: float
    reference_counts: float
    body: np.ndarray
    spacing_mm: tuple[float, float]
    n_views: int
    profile: np.ndarray | None = None
    central: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class NormalUptake:
    """Normal biodistribution found on a scan and the expected normal counts at each pixel.

    Attributes
    ----------
    findings : tuple of UptakeFinding
        Organ uptake, brown fat, injection site and soft-tissue tumour.
    mask : ndarray of shape (rows, cols), bool
        Union of the findings' masks: skeletal uptake is not scored there unless it stands out
        of the organ itself.
    expected : ndarray of shape (rows, cols), float32
        Counts a normal scan would show at each pixel (soft tissue, and organ surface inside
        ``mask``): the background model of the lesion stage.
    images : ViewImages
        The combined views and their noise model.
    level : ndarray of shape (rows, cols), float32, or None
        Soft-tissue counts at full body thickness (``expected`` before the thickness profile).
    """

    findings: tuple[UptakeFinding, ...]
    mask: np.ndarray
    expected: np.ndarray
    images: ViewImages
    level: np.ndarray | None = None

    @property
    def opaque(self) -> np.ndarray:
        """bool (rows, cols): findings in which no bone focus is sought (all but organs)."""
        out = np.zeros(self.mask.shape, bool)
        for f in self.findings:
            if f.label not in ORGAN_LABELS:
                out |= f.mask
        return out

    @property
    def soft_tissue(self) -> tuple[UptakeFinding, ...]:
        """Findings that count in the Curie soft-tissue segment."""
        return tuple(f for f in self.findings if f.label in SOFT_TISSUE_LABELS)


@dataclass(frozen=True, eq=False)
class WorkingViews:
    """The registered views on the working grid, combined once for every later stage.

    Attributes
    ----------
    body : Body
        The canonical full-resolution views and outline they were binned from.
    grid : WorkGrid
        The working grid (``body.grid`` when scoring).
    anterior, posterior : ndarray of shape grid.working_shape, float32, or None
        Counts summed over each working pixel.
    images : ViewImages
        Their combination (geometric mean) and noise model, on the working grid.
    """

    body: Body
    grid: WorkGrid
    anterior: np.ndarray | None
    posterior: np.ndarray | None
    images: ViewImages
