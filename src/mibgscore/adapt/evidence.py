"""What adaptation keeps of one scored study: its candidate foci and its measured extent.

Grading again under other limits or another limb split needs no new detection: every
candidate focus (bone, position along the bone, the verifier's probability) and the bone the
extent was measured on, binned along each bone, are enough. :func:`regrade` reproduces the
pipeline's SIOPEN grades from them exactly (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, BONES
from mibgscore.anatomy.scheme import SegmentScheme
from mibgscore.grading.calibration import RULE_REJECTIONS, Calibration
from mibgscore.grading.rules import MIN_DIFFUSE_FRACTION, grade_siopen_segment
from mibgscore.result import ScoreResult

N_BINS = 20
"""Bins along each long bone (5 % of its length each): limb splits move in these steps."""


@dataclass(frozen=True, eq=False)
class StudyEvidence:
    """The adaptation's view of one scored study.

    Attributes
    ----------
    study_uid, patient_id, study_date, file : str or None
        Identity (matched to the readings as ``validate`` does).
    foci_bone, foci_bin : ndarray of int
        Bone label and position bin of each candidate focus.
    foci_p : ndarray of float
        Its focus-verifier probability (the detector's confidence for those it kept).
    foci_kept : ndarray of bool
        The detector's own decision.
    foci_fixed : ndarray of bool
        Set aside by a rule (injection site): never counted.
    extent_total, extent_hit : ndarray of shape (len(BONES) + 1, N_BINS), int
        Pixels of the bone the extent is measured on, and of them the involved ones, by bone
        label and position bin.
    any_diffuse : bool
        Whether the detector found diffuse involvement anywhere.
    base : dict of str to int
        SIOPEN grades of the base model (the "before" of the evaluation).
    base_curie : dict of str to int
        Curie grades of the base model.
    """

    study_uid: str | None
    patient_id: str | None
    study_date: str | None
    file: str | None
    foci_bone: np.ndarray
    foci_bin: np.ndarray
    foci_p: np.ndarray
    foci_kept: np.ndarray
    foci_fixed: np.ndarray
    extent_total: np.ndarray
    extent_hit: np.ndarray
    any_diffuse: bool = False
    base: dict[str, int] = field(default_factory=dict)
    base_curie: dict[str, int] = field(default_factory=dict)


def _bins(position: np.ndarray) -> np.ndarray:
    pos = np.nan_to_num(np.asarray(position, dtype=np.float64), nan=0.5)
    return np.clip((pos * N_BINS).astype(np.int64), 0, N_BINS - 1)


def study_evidence(result: ScoreResult, *, patient_id: str | None = None,
                   study_date: str | None = None) -> StudyEvidence:
    """The evidence of a result scored without calibration (``result.evidence`` is needed).

    Raises
    ------
    ValueError
        The result carries no evidence, or its detector measured no extent bone (only the
        learned detector can be adapted).
    """
    ev = result.evidence
    if ev is None or ev.lesions.extent_bone is None:
        raise ValueError("only results of the learned lesion detector, with their evidence, "
                         "can be adapted")
    lesions = ev.lesions
    fit = lesions.skeleton if lesions.skeleton is not None else ev.skeleton.on(ev.body.grid)
    rows = [(x, x.confidence, True, False) for x in lesions.focal]
    rows += [(r.focus, r.probability, False, r.reason in RULE_REJECTIONS)
             for r in lesions.rejected]
    bone = np.array([BONE_LABEL.get(x.bone, 0) for x, *_ in rows], dtype=np.int64)
    position = np.array([fit.position[x.bone_row, x.bone_col] for x, *_ in rows], np.float64)
    labels = lesions.extent_bone.astype(np.int64)
    inside = labels > 0
    flat = labels[inside] * N_BINS + _bins(lesions.extent_position[inside])
    size = (len(BONES) + 1) * N_BINS
    total = np.bincount(flat, minlength=size).reshape(len(BONES) + 1, N_BINS)
    hit = np.bincount(flat, weights=lesions.diffuse[inside].astype(np.float64),
                      minlength=size).reshape(len(BONES) + 1, N_BINS).astype(np.int64)
    return StudyEvidence(
        study_uid=result.study_uid or None, patient_id=patient_id, study_date=study_date,
        file=result.file or None, foci_bone=bone, foci_bin=_bins(position),
        foci_p=np.array([p for _, p, *_ in rows], dtype=np.float64),
        foci_kept=np.array([k for *_, k, _ in rows], dtype=bool),
        foci_fixed=np.array([f for *_, f in rows], dtype=bool),
        extent_total=total, extent_hit=hit, any_diffuse=bool(lesions.diffuse.any()),
        base=dict(result.siopen), base_curie=dict(result.curie))


def segment_lookup(scheme: SegmentScheme) -> np.ndarray:
    """Segment index (-1: none) of each bone label and position bin under ``scheme``."""
    out = np.full((len(BONES) + 1, N_BINS), -1, dtype=np.int64)
    centres = (np.arange(N_BINS) + 0.5) / N_BINS
    for label in range(1, len(BONES) + 1):
        for k, p in enumerate(centres):
            key = scheme.segment_of(BONES[label - 1], float(p))
            if key is not None:
                out[label, k] = scheme.keys.index(key)
    return out


def segment_fractions(ev: StudyEvidence, lookup: np.ndarray, n_segments: int) -> np.ndarray:
    """Involved share of each segment's measured bone (0-1), before any minimum."""
    seg = lookup.ravel()
    keep = seg >= 0
    total = np.bincount(seg[keep], weights=ev.extent_total.ravel()[keep], minlength=n_segments)
    hit = np.bincount(seg[keep], weights=ev.extent_hit.ravel()[keep], minlength=n_segments)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(total > 0, hit / np.maximum(total, 1), 0.0), 0.0, 1.0)


def foci_segments(ev: StudyEvidence, lookup: np.ndarray) -> np.ndarray:
    """Segment index of each candidate focus (-1: none)."""
    return lookup[np.clip(ev.foci_bone, 0, lookup.shape[0] - 1), ev.foci_bin]


def regrade(ev: StudyEvidence, scheme: SegmentScheme,
            calibration: Calibration | None = None) -> dict[str, int]:
    """SIOPEN grades of the study under ``scheme`` and ``calibration`` (the pipeline's rules)."""
    lookup = segment_lookup(scheme)
    n = len(scheme.segments)
    frac = segment_fractions(ev, lookup, n)
    seg = foci_segments(ev, lookup)
    counted = np.zeros(seg.shape, dtype=bool)
    for i, s in enumerate(scheme.segments):
        limits = calibration.limits(s.key) if calibration is not None else None
        here = (seg == i) & ~ev.foci_fixed
        counted |= here & (ev.foci_kept if limits is None or limits.focus_p is None
                           else ev.foci_p >= limits.focus_p)
    lone = calibration.lone_focus_p if calibration is not None else None
    if (lone is not None and counted.sum() == 1 and not ev.any_diffuse
            and ev.foci_p[counted][0] < lone):
        counted[:] = False
    out: dict[str, int] = {}
    for i, s in enumerate(scheme.segments):
        limits = calibration.limits(s.key) if calibration is not None else None
        count = int((counted & (seg == i)).sum())
        f = 0.0 if s.soft_tissue else float(frac[i])
        if limits is None:
            f = f if f >= MIN_DIFFUSE_FRACTION else 0.0
            grade = grade_siopen_segment(count, f)
        else:
            f = f if f >= limits.min_fraction else 0.0
            grade = grade_siopen_segment(count, f, half=limits.half, whole=limits.whole)
        out[s.key] = min(grade, scheme.max_grade)
    return out
