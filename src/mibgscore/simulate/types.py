"""What the simulator returns: a scan and its complete ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mibgscore.anatomy.grades import Graded, Grades
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, load_scheme
from mibgscore.io.types import Scan
from mibgscore.result import Finding

CATEGORIES: tuple[str, ...] = ("normal", "limited", "moderate", "extensive")
"""Disease categories by SIOPEN total: 0, 1-3, 4-16, 17-72."""

CATEGORY_TOTALS: dict[str, tuple[int, int]] = {
    "normal": (0, 0),
    "limited": (1, 3),
    "moderate": (4, 16),
    "extensive": (17, load_scheme("siopen").max_total),
}
"""Inclusive range of the SIOPEN total of each category."""


@dataclass(frozen=True)
class SimulationParams:
    """Options of the patient simulator (defaults: a broad mix of children and cameras).

    Attributes
    ----------
    age_years : tuple of float
        Range of ages drawn (uniform), 0.5-16.
    matrix_weights : tuple of float
        Probabilities of a 256 x 1024 and a 512 x 2048 matrix (cols x rows).
    counts_per_view : tuple of float
        Range of total counts in the anterior view (log-uniform).
    lehr_probability : float
        Share of studies acquired with a low-energy (LEHR) collimator, which shows septal
        penetration; the others use a medium-energy collimator.
    category_weights : tuple of float
        Weights of normal, limited, moderate, extensive when no category is asked for.
    forced_grade : int or None
        Test mode: every SIOPEN segment is given this grade (0 to the scheme's ``max_grade``).
    grades : dict of str to int, optional
        Test mode: these SIOPEN grades for the segments named (the others 0); wins over
        ``forced_grade``. A grade is not reached when the segment has no room for the foci.
    pitfall_rate : float
        Scales the probability of each optional normal-uptake pitfall (brown fat, failed
        thyroid block, contamination, injection site); 0 switches them off.
    bowel_scale : float
        Scales the bowel's activity (a centre's bowel preparation).
    """

    age_years: tuple[float, float] = (0.5, 16.0)
    matrix_weights: tuple[float, float] = (0.75, 0.25)
    counts_per_view: tuple[float, float] = (0.2e6, 4.0e6)
    lehr_probability: float = 0.6
    category_weights: tuple[float, float, float, float] = (0.18, 0.3, 0.34, 0.18)
    forced_grade: int | None = None
    grades: dict[str, int] | None = None
    pitfall_rate: float = 1.0
    bowel_scale: float = 1.0

    def __post_init__(self) -> None:
        lo, hi = self.age_years
        if not 0.5 <= lo <= hi <= 16.0:
            raise ValueError(f"age range {self.age_years} is not within 0.5-16 years")
        top = load_scheme("siopen").max_grade
        if self.forced_grade is not None and not 0 <= self.forced_grade <= top:
            raise ValueError(f"forced grade {self.forced_grade} is not 0-{top}")
        if self.grades is not None:
            try:
                Grades("siopen", {**Grades.zeros("siopen"), **self.grades})
            except ValueError as exc:
                raise ValueError(f"grades {self.grades} name unknown segments or grades "
                                 f"({exc})") from None
        if len(self.category_weights) != 4 or min(self.category_weights) < 0:
            raise ValueError("category_weights needs four non-negative weights")


@dataclass(frozen=True)
class TruthLesion:
    """One simulated skeletal lesion, in the anterior frame's pixel grid.

    Attributes
    ----------
    kind : str
        ``"focal"`` (a discrete lesion) or ``"diffuse"`` (marrow involvement of part of a
        segment).
    bone : str
        Bone holding the lesion (for a diffuse lesion: the bone holding most of it).
    siopen, curie : str
        SIOPEN and Curie segment keys.
    row, col : int
        Centre (focal) or centroid (diffuse).
    size_mm : float or None
        Diameter of a focal lesion.
    fraction : float or None
        Share of the SIOPEN segment's bone area involved by a diffuse lesion, 0-1.
    """

    kind: str
    bone: str
    siopen: str
    curie: str
    row: int
    col: int
    size_mm: float | None = None
    fraction: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("focal", "diffuse"):
            raise ValueError(f"lesion kind {self.kind!r}")
        if self.siopen not in SIOPEN_KEYS or self.curie not in CURIE_KEYS:
            raise ValueError(f"segments {self.siopen!r}, {self.curie!r}")
        if self.fraction is not None and not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"diffuse fraction {self.fraction}")


@dataclass(frozen=True, eq=False)
class Truth(Graded):
    """Ground truth of a simulated study.

    Attributes
    ----------
    siopen : dict of str to int
        SIOPEN grade (0 to the scheme's ``max_grade``) per segment, in ``SIOPEN_KEYS`` order.
    curie : dict of str to int
        Curie grade per segment, in ``CURIE_KEYS`` order (soft tissue included).
    category : str
        ``normal``, ``limited``, ``moderate`` or ``extensive`` (from the SIOPEN total).
    lesions : list of TruthLesion
        Skeletal lesions.
    findings : list of Finding
        Normal uptake, pitfalls and soft-tissue tumour, labelled (``liver``, ``bladder``,
        ``brown_fat``, ``soft_tissue_tumour``...), at their centre.
    bone_labels : ndarray of shape (rows, cols), int16
        Bone map in the anterior frame: 0 background, ``BONE_LABEL[name]``; overlaps take the
        bone drawn last in ``DRAW_ORDER``.
    bone_position : ndarray of shape (rows, cols), float32
        Position along long bones, 0 proximal - 1 distal; NaN elsewhere.
    body_mask : ndarray of shape (rows, cols), bool
        The body outline (soft tissue).
    keypoints : dict of str to (int, int)
        Anatomical landmarks (``vertex``, ``chin``, ``shoulder_right``, ``hip_left``...), as
        (row, col) in the anterior frame.
    curie_fractions, siopen_fractions : dict of str to float
        Diffuse share of each segment's bone area (0 where none).
    age_years, height_cm : float
        The simulated child.
    diffuse_mask : ndarray of shape (rows, cols), bool, optional
        Bone pixels with diffuse involvement (anterior frame).
    """

    siopen: dict[str, int]
    curie: dict[str, int]
    category: str
    lesions: list[TruthLesion]
    findings: list[Finding]
    bone_labels: np.ndarray
    bone_position: np.ndarray
    body_mask: np.ndarray
    keypoints: dict[str, tuple[int, int]]
    siopen_fractions: dict[str, float] = field(default_factory=dict)
    curie_fractions: dict[str, float] = field(default_factory=dict)
    age_years: float = 0.0
    height_cm: float = 0.0
    diffuse_mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if tuple(self.siopen) != SIOPEN_KEYS or tuple(self.curie) != CURIE_KEYS:
            raise ValueError("truth grades must list every segment key in report order")
        Grades("siopen", self.siopen)  # raises on a grade outside the scale
        Grades("curie", self.curie)
        if self.category not in CATEGORIES:
            raise ValueError(f"category {self.category!r}")



@dataclass(frozen=True, eq=False)
class SimulatedStudy:
    """A simulated scan (as the reader would return it) with its ground truth."""

    scan: Scan
    truth: Truth
    seed: int


def category_of(total: int) -> str:
    """Disease category of a SIOPEN total (0 normal, 1-3 limited, 4-16 moderate, else extensive).

    Examples
    --------
    >>> category_of(3), category_of(4)
    ('limited', 'moderate')
    """
    for name, (lo, hi) in CATEGORY_TOTALS.items():
        if lo <= total <= hi:
            return name
    raise ValueError(f"SIOPEN total {total}")
