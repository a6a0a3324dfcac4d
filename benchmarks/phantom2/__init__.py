"""phantom2: an independent paediatric 123I-MIBG whole-body phantom, for out-of-distribution
checks of ``mibgscore.pipeline.score`` (it shares no code with ``mibgscore.simulate``).

>>> from phantom2 import generate_case          # with benchmarks/ on sys.path
>>> case = generate_case(7)
>>> case.scan.shape, sorted(case.truth)[:3]
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace

import numpy as np

from mibgscore.io.types import Acquisition, Patient, Scan, Study, Tracer

from .anatomy import Child, draw_anatomy, proportion, sample_child
from .camera import project, sample_camera
from .geometry import Grid
from .physiology import draw_disease, normal_uptake
from .truth import truth_of

__all__ = ["Phantom2Case", "generate_case", "generate_cases"]

CATEGORIES = ("normal", "limited", "extensive")


@dataclass(frozen=True, eq=False)
class Phantom2Case:
    """One phantom scan and its ground truth.

    Attributes
    ----------
    seed : int
    scan : Scan
        Anterior and mirrored posterior counts, float32.
    truth : dict
        ``siopen`` (12 grades), ``curie`` (10 grades), totals, ``lesions`` (row, col in the
        anterior grid), ``soft_tissue`` sites, ``category`` and ``meta``.
    bone_labels : ndarray of shape (rows, cols), uint8
        The drawn bone map, in the scan's frame (for figures).
    diffuse_mask : ndarray of shape (rows, cols), bool
        Bone drawn with diffuse disease, in the scan's frame (training targets).
    """

    seed: int
    scan: Scan
    truth: dict
    bone_labels: np.ndarray
    diffuse_mask: np.ndarray | None = None


FOV_HALF_WIDTH_MM = 300.0
"""Half the width of a whole-body detector: arms are abducted no further than fits."""


def _fit_arms(child: Child) -> Child:
    """Limit the arms' abduction so that the hands stay in a 600 mm wide field."""
    h = child.height_cm * 10
    a = child.age_years
    arm = sum(proportion(k, a) for k in ("humerus", "forearm", "hand")) * h
    sh = proportion("shoulder", a) * h / 2
    room = (FOV_HALF_WIDTH_MM - 20 - sh) / arm
    top = math.degrees(math.asin(min(max(room, 0.05), 1.0)))
    abd = tuple(min(v, top) for v in child.abduction_deg)
    return replace(child, abduction_deg=abd) if abd != child.abduction_deg else child


def _field(child: Child, rng: np.random.Generator) -> tuple[tuple[int, int], float, float]:
    """Matrix, pixel spacing and the body's lateral extent (mm) for one child."""
    h = child.height_cm * 10
    a = child.age_years
    arm = sum(proportion(k, a) for k in ("humerus", "forearm", "hand")) * h
    sh = proportion("shoulder", a) * h / 2
    half_w = max(sh + arm * math.sin(math.radians(max(child.abduction_deg))) + 20,
                 0.13 * h * child.build)
    big = rng.random() < 0.3
    rows, cols = (2048, 512) if big else (1024, 256)
    need = max((h + 60) / rows, 2 * half_w / cols)
    if big:
        s = max(need, float(rng.uniform(1.2, 1.6)))
    elif need > 3.6:
        s = need
    elif rng.random() < 0.15:
        s = max(need, float(rng.uniform(1.2, 4.0)))
    else:
        s = max(need, float(rng.uniform(2.0, 3.3)))
    return (rows, cols), round(s, 3), half_w


def generate_case(seed: int, category: str | None = None) -> Phantom2Case:
    """Generate one phantom scan with its truth (same seed, same case).

    Parameters
    ----------
    seed : int
    category : {"normal", "limited", "extensive"}, optional
        Skeletal disease class; drawn 30 / 30 / 40 % when None.
    """
    rng = np.random.default_rng(seed)
    child = _fit_arms(sample_child(rng))
    (rows, cols), s, half_w = _field(child, rng)
    h = child.height_cm * 10
    free_r = rows * s - h - 40
    free_c = cols * s / 2 - half_w
    r0 = float(rng.uniform(10, max(free_r * float(rng.choice([0.25, 1.0], p=[0.8, 0.2])), 11))) / s
    c0 = cols / 2 + float(rng.uniform(-1, 1)) * max(free_c, 0) * 0.8 / s
    grid = Grid((rows, cols), s, (r0, c0), child.rotation_deg)
    an = draw_anatomy(child, grid)
    camera = sample_camera(rng)
    normal, found = normal_uptake(an, rng)
    background = np.zeros(grid.shape, np.float32)
    for src in normal:
        background[src.win] += src.emission
    if category is None:
        category = str(rng.choice(CATEGORIES, p=[0.3, 0.3, 0.4]))
    blur = camera.fwhm_mm(camera.gap_mm[0] + 0.05 * h)
    disease, lesion_sources = draw_disease(an, rng, category, background, blur)
    ant, post, _ = project(normal + lesion_sources, an.thickness, s, camera, rng)
    truth = truth_of(an, disease)
    labels = an.bone_labels
    diffuse = (disease.diffuse if disease.diffuse is not None
               else np.zeros(labels.shape, bool))
    flipped = rng.random() < 0.15
    if flipped:  # feet first: head at the bottom of the image
        ant, post, labels = ant[::-1].copy(), post[::-1].copy(), labels[::-1].copy()
        diffuse = diffuse[::-1].copy()
        for item in truth["lesions"] + truth["soft_tissue"]:
            item["row"] = rows - 1 - item["row"]
    truth["meta"] = {
        "age_years": child.age_years, "sex": child.sex, "height_cm": child.height_cm,
        "build": child.build, "arm_pose": list(child.arm_pose),
        "abduction_deg": [round(v, 1) for v in child.abduction_deg],
        "rotation_deg": round(child.rotation_deg, 2), "feet_first": flipped,
        "matrix": [rows, cols], "spacing_mm": s, "collimator": camera.collimator,
        "counts": int(ant.sum()), "findings": found,
    }
    uid = "2.25." + str(uuid.uuid5(uuid.NAMESPACE_OID, f"phantom2-{seed}").int)
    patient = Patient(patient_id=f"P2-{seed:05d}", age_years=child.age_years, sex=child.sex,
                      height_cm=child.height_cm if rng.random() < 0.5 else None)
    scan = Scan(
        anterior=ant, posterior=post, spacing_mm=(s, s), patient=patient,
        study=Study(study_uid=uid, description="phantom2 whole body MIBG"),
        tracer=Tracer(status="mibg", name="Iobenguane I-123", isotope="I-123",
                      how="phantom2"),
        acquisition=Acquisition(modality="NM", image_type=("ORIGINAL", "PRIMARY", "WHOLE BODY"),
                                collimator=camera.collimator, counts_accumulated=int(ant.sum())),
        path=f"phantom2_{seed:05d}",
    )
    return Phantom2Case(seed, scan, truth, labels, diffuse)


def generate_cases(n: int, seed: int = 0) -> list[Phantom2Case]:
    """``n`` cases with seeds ``seed``, ``seed + 1``, ...."""
    return [generate_case(seed + i) for i in range(n)]
