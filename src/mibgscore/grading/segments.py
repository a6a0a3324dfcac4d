"""Stage 5: per-segment SIOPEN and Curie grades, with a confidence per SIOPEN segment."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mibgscore.anatomy.scheme import SegmentScheme
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.grading.calibration import Calibration
from mibgscore.grading.rules import (
    MIN_DIFFUSE_FRACTION,
    SIOPEN_DIFFUSE_WHOLE,
    grade_curie_segment,
    grade_siopen_segment,
)
from mibgscore.lesions.types import SkeletalLesions

CONFIDENCE_SCALE = 0.314
CONFIDENCE_SHIFT = -1.049
"""Platt calibration of the raw segment confidence: logistic fit of "grade right" on the raw
logit over 480 segments of 40 simulated development scans (seeds 6000-6039)."""

DIFFUSE_FRACTION_SD = 0.08
"""Typical error of a measured diffuse fraction (0-1), for the confidence near grade limits."""


@dataclass(frozen=True)
class SegmentEvidence:
    """What was found in one segment and the grade it gives."""

    key: str
    focal_count: int
    diffuse_fraction: float
    grade: int
    confidence: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.diffuse_fraction <= 1.0 or not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"segment {self.key}: fraction {self.diffuse_fraction}, "
                             f"confidence {self.confidence}")


def segment_of_foci(segment_map: np.ndarray, bone_points: list[tuple[int, int]]) -> list[int]:
    """Segment index (0-based; -1 for none) of each focus from its nearest bone pixel."""
    out = []
    for r, c in bone_points:
        v = int(segment_map[r, c])
        out.append(v - 1)
    return out


def bone_units(bone_labels: np.ndarray, bone_position: np.ndarray | None, px_mm: float, *,
               step: float = 0.05, tile_mm: float = 10.0) -> np.ndarray:
    """Small pieces of bone over which involvement is judged whole: slices across long bones
    (``step`` of their length), tiles of ``tile_mm`` elsewhere.

    Judging a whole slice across a long bone makes the involved share follow the bone's length,
    whatever the fitted bone's width.

    Returns
    -------
    ndarray of shape (rows, cols), int64
        0 outside bone, a unit number elsewhere.
    """
    rows, cols = bone_labels.shape
    rr, cc = np.mgrid[:rows, :cols]
    tile = max(1, int(round(tile_mm / px_mm)))
    n_tiles_c = cols // tile + 1
    flat = (rr // tile) * n_tiles_c + cc // tile + 1
    units = bone_labels.astype(np.int64) * 10_000_000 + flat
    if bone_position is not None:
        pos = bone_position
        along = np.isfinite(pos) & (bone_labels > 0)
        k = np.clip((np.nan_to_num(pos) / step).astype(np.int64), 0, int(1 / step))
        units = np.where(along, bone_labels.astype(np.int64) * 10_000_000 + 9_000_000 + k,
                         units)
    return np.where(bone_labels > 0, units, 0)


def diffuse_fractions(segment_map: np.ndarray, diffuse: np.ndarray, n_segments: int,
                      units: np.ndarray | None = None, unit_share: float = 0.4, *,
                      min_fraction: float = MIN_DIFFUSE_FRACTION) -> np.ndarray:
    """Share of each segment's bone with diffuse involvement (0-1), by segment index.

    With ``units`` (:func:`bone_units`), a unit counts as involved, all its pixels, when at
    least ``unit_share`` of its pixels are; without, pixels count one by one. Shares under
    ``min_fraction`` are set to 0 (a patch that small is not a diffuse lesion of the
    segment).
    """
    hit_map = diffuse
    if units is not None:
        inside = segment_map > 0
        u, inv = np.unique(units[inside], return_inverse=True)
        tot = np.bincount(inv)
        hits = np.bincount(inv, weights=diffuse[inside].astype(np.float64))
        involved = (hits / np.maximum(tot, 1)) >= unit_share
        hit_map = np.zeros_like(diffuse)
        hit_map[inside] = involved[inv]
        del u
    total = np.bincount(segment_map.ravel(), minlength=n_segments + 1)[1:n_segments + 1]
    hit = np.bincount(segment_map[hit_map].ravel(), minlength=n_segments + 1)[1:n_segments + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, hit / np.maximum(total, 1), 0.0)
    frac = np.where(frac < min_fraction, 0.0, frac)
    return np.clip(frac, 0.0, 1.0)


def grade_siopen(scheme: SegmentScheme, segment_map: np.ndarray, diffuse: np.ndarray,
                 foci_segments: list[int], foci_confidence: list[float],
                 units: np.ndarray | None = None,
                 calibration: Calibration | None = None) -> list[SegmentEvidence]:
    """SIOPEN grade and confidence of every segment of ``scheme``.

    Parameters
    ----------
    scheme : SegmentScheme
        The SIOPEN scheme (or a centre's variant).
    segment_map : ndarray of shape (rows, cols), uint8
        0 outside bone, i + 1 for ``scheme.segments[i]``.
    diffuse : ndarray of shape (rows, cols), bool
        Diffusely involved pixels.
    foci_segments : list of int
        Segment index of each focus (-1 for none).
    foci_confidence : list of float
        Confidence of each focus, 0-1.
    units : ndarray of shape (rows, cols), int, optional
        Bone units (:func:`bone_units`) over which involvement is judged whole.
    calibration : Calibration, optional
        A centre's diffuse-extent limits per segment; the bundled rules by default.
    """
    n = len(scheme.segments)
    frac = diffuse_fractions(segment_map, diffuse, n, units,
                             min_fraction=0.0 if calibration else MIN_DIFFUSE_FRACTION)
    out = []
    for i, seg in enumerate(scheme.segments):
        confs = [p for s, p in zip(foci_segments, foci_confidence, strict=True) if s == i]
        f = float(frac[i]) if not seg.soft_tissue else 0.0
        limits = calibration.limits(seg.key) if calibration else None
        if limits is not None and f < limits.min_fraction:
            f = 0.0
        grade = min(grade_siopen_segment(len(confs), f) if limits is None else
                    grade_siopen_segment(len(confs), f, half=limits.half, whole=limits.whole),
                    scheme.max_grade)
        conf = _siopen_confidence(confs, f, grade)
        out.append(SegmentEvidence(seg.key, len(confs), f, grade, conf))
    return out


def grade_curie(scheme: SegmentScheme, segment_map: np.ndarray, diffuse: np.ndarray,
                foci_segments: list[int], soft_tissue_sites: int,
                units: np.ndarray | None = None) -> list[SegmentEvidence]:
    """Curie grade of every segment of ``scheme``; soft-tissue segments count tumour sites."""
    n = len(scheme.segments)
    frac = diffuse_fractions(segment_map, diffuse, n, units)
    out = []
    for i, seg in enumerate(scheme.segments):
        if seg.soft_tissue:
            count, f = soft_tissue_sites, 0.0
        else:
            count, f = sum(1 for s in foci_segments if s == i), float(frac[i])
        grade = min(grade_curie_segment(count, f), scheme.max_grade)
        out.append(SegmentEvidence(seg.key, count, f, grade, 1.0))
    return out


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _siopen_confidence(foci_conf: list[float], fraction: float, grade: int) -> float:
    """Raw probability that a segment's grade is right, then Platt-calibrated."""
    p = 1.0
    # foci: each must be real (or, beyond four, the grade does not change)
    for q in sorted(foci_conf, reverse=True)[:4]:
        p *= max(q, 1.0 - q) if grade < 4 or fraction > 0 else q if len(foci_conf) <= 4 else 1.0
    # diffuse: distance of the fraction to the nearest limit that changes the grade
    if fraction > 0 or grade >= 4:
        limits = [0.5, SIOPEN_DIFFUSE_WHOLE]
        d = min(abs(fraction - x) for x in limits)
        if fraction > 0:
            p *= _phi(d / DIFFUSE_FRACTION_SD)
    p = min(max(p, 1e-4), 1 - 1e-4)
    logit = math.log(p / (1 - p))
    cal = 1.0 / (1.0 + math.exp(-(CONFIDENCE_SCALE * logit + CONFIDENCE_SHIFT)))
    return float(min(max(cal, 0.0), 1.0))


@dataclass(frozen=True, eq=False)
class ScanGrades:
    """Both scores of one scan, segment by segment, on the working grid.

    Attributes
    ----------
    siopen, curie : tuple of SegmentEvidence
        Per segment, in scheme order.
    siopen_map, curie_map : ndarray of shape (rows, cols), uint8
        Segment maps on the working grid (0 outside bone, i + 1 for segment i).
    focal_segments : tuple of int
        SIOPEN segment index of each focus of ``lesions.focal`` (-1: none).
    siopen_extent_map : ndarray of shape (rows, cols), uint8
        The bone on which diffuse extent was measured, by SIOPEN segment (``siopen_map``
        unless the detector gave its own bone).
    """

    siopen: tuple[SegmentEvidence, ...]
    curie: tuple[SegmentEvidence, ...]
    siopen_map: np.ndarray
    curie_map: np.ndarray
    focal_segments: tuple[int, ...]
    siopen_extent_map: np.ndarray


def grade_scan(skeleton: WorkingSkeleton, lesions: SkeletalLesions, soft_tissue_sites: int,
               siopen: SegmentScheme, curie: SegmentScheme,
               calibration: Calibration | None = None) -> ScanGrades:
    """Assign every lesion to its segments and grade both schemes.

    Parameters
    ----------
    skeleton : WorkingSkeleton
        Fitted bones and long-bone positions on the working grid.
    lesions : SkeletalLesions
        On the same grid; each focus counts in the segment of its nearest bone pixel.
    soft_tissue_sites : int
        Soft-tissue tumour sites (Curie soft-tissue segment).
    siopen, curie : SegmentScheme
    calibration : Calibration, optional
        A centre's SIOPEN diffuse-extent limits (its focus limits are applied to the lesions
        before, by :func:`mibgscore.grading.calibration.calibrate_foci`).

    The detector's refined skeleton (``lesions.skeleton``) is used when it gives one.
    """
    if lesions.skeleton is not None:
        skeleton = lesions.skeleton
    siopen_map = skeleton.segment_map(siopen)
    curie_map = skeleton.segment_map(curie)
    points = [(x.bone_row, x.bone_col) for x in lesions.focal]
    s_idx = segment_of_foci(siopen_map, points)
    c_idx = segment_of_foci(curie_map, points)
    if lesions.extent_bone is None:
        units = bone_units(skeleton.labels, skeleton.position, skeleton.grid.pixel_mm)
        s_extent, c_extent = siopen_map, curie_map
    else:  # the detector's own bone, each pixel counted for the fitted bone it names
        units = None
        s_extent = siopen.segment_map(lesions.extent_bone, lesions.extent_position)
        c_extent = curie.segment_map(lesions.extent_bone, lesions.extent_position)
    siopen_ev = grade_siopen(siopen, s_extent, lesions.diffuse, s_idx,
                             [x.confidence for x in lesions.focal], units, calibration)
    curie_ev = grade_curie(curie, c_extent, lesions.diffuse, c_idx,
                           soft_tissue_sites=soft_tissue_sites, units=units)
    return ScanGrades(tuple(siopen_ev), tuple(curie_ev), siopen_map, curie_map, tuple(s_idx),
                      s_extent)
