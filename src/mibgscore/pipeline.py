"""score(scan): chain the stages (body, skeleton, normal uptake, lesions, grading), timed."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.grid import WorkGrid
from mibgscore.anatomy.scheme import SegmentScheme, resolve_scheme
from mibgscore.anatomy.skeleton import fit_skeleton
from mibgscore.anatomy.types import Body, Skeleton
from mibgscore.grading.calibration import Calibration, calibrate_foci, model_of
from mibgscore.grading.segments import ScanGrades, SegmentEvidence, grade_scan
from mibgscore.io.types import Scan
from mibgscore.lesions.registry import resolve_detector
from mibgscore.lesions.types import SkeletalLesions
from mibgscore.result import Finding, Lesion, ScoreResult
from mibgscore.uptake.images import working_views
from mibgscore.uptake.normal import UptakeParams, find_normal_uptake
from mibgscore.uptake.types import NormalUptake

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreParams:
    """Options of :func:`score`.

    Attributes
    ----------
    uptake : UptakeParams
        Normal-uptake stage options.
    lesion_method : str
        The lesion detector, by registry name (:func:`mibgscore.lesions.detector.detector_names`:
        ``learned``, the shipped network; ``classic``, the hand-made detector) or ``auto``
        (the first that can run here; a fall-back is reported in the result's warnings).
    lesion_params : object, optional
        The detector's own parameters (``LearnedParams``, ``LesionParams``...); its defaults
        when None.
    low_counts : float
        Total counts per view under which the scan is flagged as low-count.
    low_skeleton_confidence : float
        Skeleton fit confidence (0-1) under which a warning is given.
    calibration : Calibration, optional
        A centre's adapted limits (``mibgscore adapt``); the result then names the adapted
        model.
    """

    uptake: UptakeParams = field(default_factory=UptakeParams)
    lesion_method: str = "auto"
    lesion_params: Any = None
    low_counts: float = 2.0e5
    low_skeleton_confidence: float = 0.5
    calibration: Calibration | None = None


@dataclass(frozen=True, eq=False)
class ScoreEvidence:
    """The stages' outputs behind a score, for overlays and the viewer (not serialised).

    ``body`` and ``skeleton`` are in the canonical frame (head at row 0); ``uptake`` and
    ``lesions`` too, on the working grid (``body.grid``); the maps below are in the ORIGINAL
    anterior frame and pixel grid of the scan.

    Attributes
    ----------
    body : Body
        Body outline, orientation and registered views.
    skeleton : Skeleton
        Fitted bone map.
    uptake : NormalUptake
        Normal-uptake findings and the background model.
    lesions : SkeletalLesions
        Foci and diffuse involvement.
    siopen_map, curie_map : ndarray of shape (rows, cols), uint8
        0 outside bone, i + 1 for ``scheme.segments[i]`` (original frame).
    siopen_keys, curie_keys : tuple of str
        Segment keys in label order (label i + 1 is key i).
    lesion_mask : ndarray of shape (rows, cols), bool
        Pixels of lesions, focal (discs) and diffuse (original frame).
    finding_mask : ndarray of shape (rows, cols), bool
        Pixels of normal uptake and soft-tissue findings (original frame).
    siopen_segments, curie_segments : tuple of SegmentEvidence
        Per-segment foci count, diffuse fraction, grade and confidence.
    stage_seconds : dict of str to float
        Wall time of each stage.
    calibration : Calibration or None
        The centre's limits the grades were read with (None: the bundled rules).
    """

    body: Body
    skeleton: Skeleton
    uptake: NormalUptake
    lesions: SkeletalLesions
    siopen_map: np.ndarray
    curie_map: np.ndarray
    siopen_keys: tuple[str, ...]
    curie_keys: tuple[str, ...]
    lesion_mask: np.ndarray
    finding_mask: np.ndarray
    siopen_segments: tuple[SegmentEvidence, ...]
    curie_segments: tuple[SegmentEvidence, ...]
    stage_seconds: dict[str, float]
    calibration: Calibration | None = None

    @property
    def work_factor(self) -> int:
        """Binning of the working grid (1: none; 2: 2 x 2 pixels summed)."""
        return self.body.grid.factor

    @classmethod
    def of(cls, body: Body, skeleton: Skeleton, uptake: NormalUptake, lesions: SkeletalLesions,
           grades: ScanGrades, siopen: SegmentScheme, curie: SegmentScheme,
           stage_seconds: dict[str, float], calibration: Calibration | None = None
           ) -> ScoreEvidence:
        """The evidence of the stages' outputs, its maps carried to the scan's own frame."""
        grid = body.grid
        fit = skeleton if lesions.skeleton is None else lesions.skeleton  # as refined
        return cls(
            body=body, skeleton=skeleton, uptake=uptake, lesions=lesions,
            siopen_map=grid.to_original_map(fit.segment_map(siopen)),
            curie_map=grid.to_original_map(fit.segment_map(curie)),
            siopen_keys=siopen.keys, curie_keys=curie.keys,
            lesion_mask=grid.to_original_map(_lesion_mask(lesions, grades, grid)),
            finding_mask=grid.to_original_map(uptake.mask), siopen_segments=grades.siopen,
            curie_segments=grades.curie, stage_seconds=stage_seconds,
            calibration=calibration)


@contextmanager
def _timed(stage: dict[str, float], name: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    stage[name] = time.perf_counter() - t


def score(scan: Scan, *, params: ScoreParams = ScoreParams(),
          siopen_scheme: SegmentScheme | str | Path | None = None,
          curie_scheme: SegmentScheme | str | Path | None = None) -> ScoreResult:
    """Score one whole-body MIBG scan: SIOPEN and Curie grades, lesions, findings, evidence.

    Parameters
    ----------
    scan : Scan
        As returned by ``mibgscore.io.read.read_scan`` (one view is enough, with a warning).
    params : ScoreParams
        Stage options and the lesion detector.
    siopen_scheme, curie_scheme : SegmentScheme, str or Path, optional
        Segment tables (a loaded scheme, ``"siopen"``/``"curie"``, or a TOML path); the
        bundled ones by default. Their keys must be the contract's keys.

    Returns
    -------
    ScoreResult
        Grades, confidence, lesions, findings (scan's anterior pixel grid), warnings, time,
        the model (adapted, with ``params.calibration``) and ``evidence``.

    Raises
    ------
    SchemeError, ValueError
        A segment table without the contract's keys; an unknown lesion detector, or one that
        cannot run here.
    """
    t0 = time.perf_counter()
    siopen_s, curie_s = (resolve_scheme(siopen_scheme, "siopen"),
                         resolve_scheme(curie_scheme, "curie"))
    detector, detector_notes = resolve_detector(params.lesion_method, params.lesion_params)
    stage: dict[str, float] = {}
    with _timed(stage, "body"):
        body = find_body(scan)
    with _timed(stage, "skeleton"):
        skeleton = fit_skeleton(body, age_years=scan.patient.age_years,
                                height_cm=scan.patient.height_cm)
    with _timed(stage, "uptake"):
        views, bones = working_views(body), skeleton.on(body.grid)
        uptake = find_normal_uptake(views, bones, params=params.uptake)
    with _timed(stage, "lesions"):
        lesions = detector.find(views, bones, uptake)
    with _timed(stage, "grading"):
        lesions = calibrate_foci(lesions, bones, siopen_s, cal := params.calibration)
        grades = grade_scan(bones, lesions, len(uptake.soft_tissue), siopen_s, curie_s, cal)
    evidence = ScoreEvidence.of(body, skeleton, uptake, lesions, grades, siopen_s, curie_s,
                                stage, cal)
    seconds = time.perf_counter() - t0
    logger.debug("stages (s): %s; total %.3f",
                 ", ".join(f"{k} {v:.3f}" for k, v in stage.items()), seconds)
    return ScoreResult(
        file=scan.path or "", study_uid=scan.study.study_uid,
        siopen={e.key: e.grade for e in grades.siopen},
        siopen_confidence={e.key: e.confidence for e in grades.siopen},
        curie={e.key: e.grade for e in grades.curie},
        lesions=_lesions(lesions, grades, siopen_s, body.grid),
        findings=_findings(uptake, lesions, body.grid),
        warnings=[*detector_notes, *_warnings(scan, body, skeleton, params)],
        seconds=seconds, evidence=evidence, model=model_of(detector.model, cal),
        schemes={"siopen": siopen_s.name, "curie": curie_s.name})


def _lesions(lesions: SkeletalLesions, grades: ScanGrades, scheme: SegmentScheme,
             grid: WorkGrid) -> list[Lesion]:
    """Foci in their segments, then one diffuse lesion per diffusely involved segment, at the
    involved pixel nearest the involvement's centre (scan frame)."""
    out: list[Lesion] = []
    for x, si in zip(lesions.focal, grades.focal_segments, strict=True):
        if si < 0:
            continue
        (r, c), = grid.to_original([(x.row, x.col)])
        out.append(Lesion(segment=scheme.segments[si].key, kind="focal", row=int(r), col=int(c),
                          fraction=None, confidence=round(x.confidence, 4)))
    for i, ev in enumerate(grades.siopen):
        if ev.diffuse_fraction <= 0:
            continue
        here = lesions.diffuse & (grades.siopen_extent_map == i + 1)
        if not here.any():
            here = grades.siopen_map == i + 1
        rows, cols = np.nonzero(here)
        k = int(np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2))
        (r, c), = grid.to_original([(rows[k], cols[k])])
        out.append(Lesion(segment=ev.key, kind="diffuse", row=int(r), col=int(c),
                          fraction=round(ev.diffuse_fraction, 4),
                          confidence=round(ev.confidence, 4)))
    return out


def _findings(uptake: NormalUptake, lesions: SkeletalLesions, grid: WorkGrid
              ) -> list[Finding]:
    """Normal-uptake and soft-tissue findings at their hottest pixel, then the candidate foci
    the detector set aside as normal uptake, labelled with what they were taken for (scan
    frame)."""
    points = [(u.label, u.row, u.col) for u in uptake.findings]
    points += [(x.reason, x.focus.row, x.focus.col) for x in lesions.rejected]
    out = []
    for label, row, col in points:
        (r, c), = grid.to_original([(row, col)])
        out.append(Finding(label=label, row=int(r), col=int(c)))
    return out


def _lesion_mask(lesions: SkeletalLesions, grades: ScanGrades, grid: WorkGrid) -> np.ndarray:
    """Working-grid pixels of the graded lesions: diffuse involvement of graded segments and
    a disc per focus in a segment."""
    graded = [i + 1 for i, ev in enumerate(grades.siopen) if ev.diffuse_fraction > 0]
    mask = lesions.diffuse & np.isin(grades.siopen_extent_map, graded)
    rr, cc = np.ogrid[: mask.shape[0], : mask.shape[1]]
    for x, si in zip(lesions.focal, grades.focal_segments, strict=True):
        if si < 0:
            continue
        rad = max(1.5, x.radius_mm / grid.pixel_mm)
        mask |= (rr - x.row) ** 2 + (cc - x.col) ** 2 <= rad * rad
    return mask


def lesion_method(params: ScoreParams = ScoreParams()) -> str:
    """Registry name of the lesion detector ``params`` selects (``auto`` resolved).

    Raises
    ------
    ValueError
        An unknown method, or a named detector that cannot run here.
    """
    return resolve_detector(params.lesion_method, params.lesion_params)[0].model.name


def _warnings(scan: Scan, body: Body, skeleton: Skeleton, params: ScoreParams) -> list[str]:
    out = []
    if scan.anterior is None or scan.posterior is None:
        view = "anterior" if scan.anterior is not None else "posterior"
        out.append(f"single view ({view} only): scored from one view, so lesions deep on the "
                   "other side may be missed.")
    counts = [float(v.sum()) for v in scan.views.values()]
    if counts and min(counts) < params.low_counts:
        out.append(f"low counts ({_human(min(counts))} per view): small lesions may be missed.")
    if skeleton.confidence < params.low_skeleton_confidence:
        out.append(f"uncertain skeleton fit (confidence {skeleton.confidence:.2f}): check the "
                   "segment outlines.")
    if body.flipped_rows:
        out.append("feet-first scan: turned head up to score; positions are given in the "
                   "scan's own frame.")
    if scan.tracer.status == "other":
        name = scan.tracer.name or "another tracer"
        out.append(f"the tracer is {name}, not MIBG: scored on request, the grades assume "
                   "MIBG uptake.")
    return out


def _human(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.1f} M"
    if x >= 1e3:
        return f"{x / 1e3:.0f} k"
    return f"{x:.0f}"


