"""score(scan): chain the stages (body, skeleton, normal uptake, lesions, grading), timed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.anatomy.skeleton import fit_skeleton
from mibgscore.anatomy.types import Body, Skeleton
from mibgscore.errors import SchemeError
from mibgscore.grading.segments import SegmentEvidence, bone_units, grade_curie, grade_siopen
from mibgscore.io.types import Scan
from mibgscore.lesions.learned import LearnedParams, find_lesions_learned, model_available
from mibgscore.lesions.skeletal import LesionParams, find_lesions
from mibgscore.lesions.types import SkeletalLesions
from mibgscore.result import Finding, Lesion, ScoreResult
from mibgscore.uptake.images import combine_views
from mibgscore.uptake.normal import UptakeParams, normal_uptake_from_images
from mibgscore.uptake.types import NormalUptake

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreParams:
    """Options of :func:`score`.

    Attributes
    ----------
    uptake : UptakeParams
        Normal-uptake stage options.
    lesions : LesionParams
        Hand-made lesion stage options.
    lesion_method : {"auto", "learned", "classic"}
        ``learned``: the shipped network's lesion map (:mod:`mibgscore.lesions.learned`);
        ``classic``: the hand-made detector (:mod:`mibgscore.lesions.skeletal`); ``auto``:
        learned when its weights and onnxruntime are installed, else classic.
    learned : LearnedParams
        Thresholds of the learned lesion map.
    low_counts : float
        Total counts per view under which the scan is flagged as low-count.
    low_skeleton_confidence : float
        Skeleton fit confidence (0-1) under which a warning is given.
    """

    uptake: UptakeParams = field(default_factory=UptakeParams)
    lesions: LesionParams = field(default_factory=LesionParams)
    lesion_method: str = "auto"
    learned: LearnedParams = field(default_factory=LearnedParams)
    low_counts: float = 2.0e5
    low_skeleton_confidence: float = 0.5


@dataclass(frozen=True, eq=False)
class ScoreEvidence:
    """The stages' outputs behind a score, for overlays and the viewer (not serialised).

    ``body`` and ``skeleton`` are in the canonical frame (head at row 0); ``uptake`` and
    ``lesions`` too, at the working resolution (pixels binned by ``work_factor``); the maps
    below are in the ORIGINAL anterior frame and pixel grid of the scan.

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
    work_factor : int
        Binning of the working resolution (1: none; 2: 2 x 2 pixels summed).
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
    work_factor: int = 1


WORK_PIXEL_MM = 1.7
"""Scans with finer pixels than this are scored on 2 x 2 binned pixels (speed, noise)."""


def work_factor(spacing_mm: tuple[float, float]) -> int:
    """Binning factor of the working resolution: 2 below ``WORK_PIXEL_MM``, else 1."""
    return 2 if max(spacing_mm) < WORK_PIXEL_MM else 1


def _bin(a: np.ndarray, f: int) -> np.ndarray:
    r, c = a.shape[0] // f * f, a.shape[1] // f * f
    return a[:r, :c].reshape(r // f, f, c // f, f).sum(axis=(1, 3))


def _working(body: Body, skeleton: Skeleton, f: int):
    """Combined views, bone labels and views at the working resolution."""
    if f == 1:
        images = combine_views(body.anterior, body.posterior, body.mask, body.spacing_mm)
        return images, skeleton.bone_labels, body.anterior, body.posterior
    a = None if body.anterior is None else _bin(body.anterior, f).astype(np.float32)
    p = None if body.posterior is None else _bin(body.posterior, f).astype(np.float32)
    mask = _bin(body.mask.astype(np.int32), f) * 2 >= f * f
    spacing = (body.spacing_mm[0] * f, body.spacing_mm[1] * f)
    images = combine_views(a, p, mask, spacing)
    return images, _shrink(skeleton.bone_labels, f, mask.shape), a, p


def _shrink(a: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-pixel label map at the working resolution."""
    if f == 1:
        return a
    o = f // 2
    return np.ascontiguousarray(a[o::f, o::f][: shape[0], : shape[1]])


def _grow(a: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Working-resolution map back onto the full pixel grid (edge rows/cols repeated)."""
    big = np.repeat(np.repeat(a, f, axis=0), f, axis=1)
    pr, pc = shape[0] - big.shape[0], shape[1] - big.shape[1]
    if pr > 0 or pc > 0:
        big = np.pad(big, ((0, max(pr, 0)), (0, max(pc, 0))), mode="edge")
    return big[: shape[0], : shape[1]]


def _scheme(value: SegmentScheme | str | Path | None, default: str, keys: tuple[str, ...]
            ) -> SegmentScheme:
    scheme = load_scheme(default) if value is None else (
        value if isinstance(value, SegmentScheme) else load_scheme(value))
    if set(scheme.keys) != set(keys):
        raise SchemeError(f"the {default.upper()} segment table must define exactly the keys "
                          f"{', '.join(keys)}.")
    return scheme


def score(scan: Scan, *, params: ScoreParams = ScoreParams(),
          siopen_scheme: SegmentScheme | str | Path | None = None,
          curie_scheme: SegmentScheme | str | Path | None = None) -> ScoreResult:
    """Score one whole-body MIBG scan: SIOPEN and Curie grades, lesions, findings, evidence.

    Parameters
    ----------
    scan : Scan
        As returned by ``mibgscore.io.read.read_scan`` (one view is enough, with a warning).
    params : ScoreParams
        Stage options.
    siopen_scheme, curie_scheme : SegmentScheme, str or Path, optional
        Segment tables (a loaded scheme, ``"siopen"``/``"curie"``, or a TOML path); the
        bundled ones by default. Their keys must be the contract's keys.

    Returns
    -------
    ScoreResult
        Grades, totals, per-segment confidence, lesions and findings with (row, col) in the
        scan's anterior pixel grid, warnings, wall time, and ``evidence`` (ScoreEvidence).

    Raises
    ------
    SchemeError
        A segment table does not define the contract's keys.
    """
    t0 = time.perf_counter()
    siopen_s = _scheme(siopen_scheme, "siopen", SIOPEN_KEYS)
    curie_s = _scheme(curie_scheme, "curie", CURIE_KEYS)
    stage: dict[str, float] = {}

    t = time.perf_counter()
    body = find_body(scan)
    stage["body"] = time.perf_counter() - t
    t = time.perf_counter()
    skeleton = fit_skeleton(body, age_years=scan.patient.age_years,
                            height_cm=scan.patient.height_cm)
    stage["skeleton"] = time.perf_counter() - t
    t = time.perf_counter()
    f = work_factor(body.spacing_mm)
    images, labels_w, a_w, p_w = _working(body, skeleton, f)
    method = lesion_method(params)
    uptake = normal_uptake_from_images(images, labels_w, anterior=a_w, posterior=p_w,
                                       params=params.uptake,
                                       expected_counts=method == "classic")
    stage["uptake"] = time.perf_counter() - t
    t = time.perf_counter()
    if method == "learned":
        lesions = find_lesions_learned(body, labels_w, f, params=params.learned,
                                       normal_uptake=uptake.mask)
    else:
        lesions = find_lesions(uptake, labels_w, params=params.lesions)
    stage["lesions"] = time.perf_counter() - t

    t = time.perf_counter()
    siopen_map_c = skeleton.segment_map(siopen_s)
    curie_map_c = skeleton.segment_map(curie_s)
    siopen_map_w = _shrink(siopen_map_c, f, labels_w.shape)
    curie_map_w = _shrink(curie_map_c, f, labels_w.shape)
    points = [(x.bone_row, x.bone_col) for x in lesions.focal]
    s_idx = [int(siopen_map_w[r, c]) - 1 for r, c in points]
    c_idx = [int(curie_map_w[r, c]) - 1 for r, c in points]
    units = bone_units(labels_w, _shrink(skeleton.bone_position, f, labels_w.shape),
                       float(np.mean(images.spacing_mm)))
    siopen_ev = grade_siopen(siopen_s, siopen_map_w, lesions.diffuse, s_idx,
                             [x.confidence for x in lesions.focal], units)
    curie_ev = grade_curie(curie_s, curie_map_w, lesions.diffuse, c_idx,
                           soft_tissue_sites=len(uptake.soft_tissue), units=units)
    stage["grading"] = time.perf_counter() - t

    def orig(r: float, c: float) -> tuple[int, int]:
        r, c = r * f + (f - 1) / 2.0, c * f + (f - 1) / 2.0
        rr, cc = (body.shape[0] - 1 - r, c) if body.flipped_rows else (r, c)
        return int(round(rr)), int(round(cc))

    def orig_map(a: np.ndarray) -> np.ndarray:
        if a.shape != body.shape:
            a = _grow(a, f, body.shape)
        return np.ascontiguousarray(a[::-1]) if body.flipped_rows else a

    out_lesions: list[Lesion] = []
    for x, si in zip(lesions.focal, s_idx, strict=True):
        if si < 0:
            continue
        r, c = orig(x.row, x.col)
        out_lesions.append(Lesion(segment=siopen_s.segments[si].key, kind="focal", row=r, col=c,
                                  fraction=None, confidence=round(x.confidence, 4)))
    for i, ev in enumerate(siopen_ev):
        if ev.diffuse_fraction <= 0:
            continue
        here = lesions.diffuse & (siopen_map_w == i + 1)
        if not here.any():
            here = siopen_map_w == i + 1
        rows, cols = np.nonzero(here)
        k = int(np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2))
        r, c = orig(rows[k], cols[k])
        out_lesions.append(Lesion(segment=ev.key, kind="diffuse", row=r, col=c,
                                  fraction=round(ev.diffuse_fraction, 4),
                                  confidence=round(ev.confidence, 4)))
    findings = []
    for u in uptake.findings:
        r, c = orig(u.row, u.col)
        findings.append(Finding(label=u.label, row=r, col=c))

    graded = [i + 1 for i, ev in enumerate(siopen_ev) if ev.diffuse_fraction > 0]
    lesion_mask = lesions.diffuse & np.isin(siopen_map_w, graded)
    rr, cc = np.ogrid[: lesion_mask.shape[0], : lesion_mask.shape[1]]
    px = float(np.mean(images.spacing_mm))
    for x, si in zip(lesions.focal, s_idx, strict=True):
        if si < 0:
            continue
        rad = max(1.5, x.radius_mm / px)
        lesion_mask |= (rr - x.row) ** 2 + (cc - x.col) ** 2 <= rad * rad

    warnings = _warnings(scan, body, skeleton, params)
    evidence = ScoreEvidence(
        body=body, skeleton=skeleton, uptake=uptake, lesions=lesions,
        siopen_map=orig_map(siopen_map_c), curie_map=orig_map(curie_map_c),
        siopen_keys=siopen_s.keys, curie_keys=curie_s.keys,
        lesion_mask=orig_map(lesion_mask), finding_mask=orig_map(uptake.mask),
        siopen_segments=tuple(siopen_ev), curie_segments=tuple(curie_ev), stage_seconds=stage,
        work_factor=f)
    seconds = time.perf_counter() - t0
    logger.debug("stages (s): %s; total %.3f",
                 ", ".join(f"{k} {v:.3f}" for k, v in stage.items()), seconds)
    return ScoreResult(
        file=scan.path or "",
        study_uid=scan.study.study_uid,
        siopen={e.key: e.grade for e in siopen_ev},
        siopen_confidence={e.key: e.confidence for e in siopen_ev},
        curie={e.key: e.grade for e in curie_ev},
        lesions=out_lesions,
        findings=findings,
        warnings=warnings,
        seconds=seconds,
        evidence=evidence,
    )


def lesion_method(params: ScoreParams = ScoreParams()) -> str:
    """The lesion stage ``params`` selects: ``"learned"`` or ``"classic"``.

    Raises
    ------
    ValueError
        An unknown method, or ``"learned"`` without the network installed.
    """
    m = params.lesion_method
    if m == "auto":
        return "learned" if model_available() else "classic"
    if m == "learned" and not model_available():
        raise ValueError("the learned lesion map needs onnxruntime and the shipped weights "
                         "(mibgscore/lesions/models/lesion_net.onnx).")
    if m not in ("learned", "classic"):
        raise ValueError(f"lesion method {m!r} is not auto, learned or classic")
    return m


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


