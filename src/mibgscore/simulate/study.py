"""Simulated 123I-MIBG whole-body studies of children with neuroblastoma, with ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, load_scheme
from mibgscore.grading.rules import grade_curie_segment
from mibgscore.io.types import Acquisition, Patient, Scan, Study, Tracer, ViewSource
from mibgscore.simulate._raster import Canvas
from mibgscore.simulate.biodistribution import normal_uptake, soft_tissue_tumour
from mibgscore.simulate.camera import acquire, sample_camera
from mibgscore.simulate.disease import draw_disease, plan_grades
from mibgscore.simulate.phantom import draw_child, extent_mm, sample_child
from mibgscore.simulate.types import (
    CATEGORIES,
    SimulatedStudy,
    SimulationParams,
    Truth,
    category_of,
)

logger = logging.getLogger(__name__)

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
MAX_COUNTS = 65535


def uid_for(seed: int, what: str) -> str:
    """A deterministic DICOM UID for the simulated study ``seed`` (``what``: study, series...)."""
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["mibgscore-simulator", str(seed), what]))


def simulate_study(seed: int, *, category: str | None = None,
                   params: SimulationParams = SimulationParams()) -> SimulatedStudy:
    """Simulate one whole-body 123I-MIBG study of a child, with its ground truth.

    Parameters
    ----------
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives the
        same study.
    category : str, optional
        ``normal`` (SIOPEN 0), ``limited`` (1-3), ``moderate`` (4-16) or ``extensive``
        (17 or more); by default drawn with ``params.category_weights``.
    params : SimulationParams
        Ranges of the simulated children and cameras.

    Returns
    -------
    SimulatedStudy
        ``scan``: the views as the reader returns them (posterior mirrored into the anterior's
        orientation), float32 integer counts; ``truth``: grades, lesions, findings and maps.

    Notes
    -----
    The child, the camera and the normal uptake are drawn before the disease, so one seed
    with two given categories is the same child, with other disease (and other noise).
    """
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    rng = np.random.default_rng(seed)
    if category is None:
        w = np.array(params.category_weights, dtype=float)
        category = str(rng.choice(CATEGORIES, p=w / w.sum()))
    child = sample_child(rng, params.age_years)
    camera = sample_camera(rng, lehr_probability=params.lehr_probability,
                           counts=params.counts_per_view)

    # matrix, pixel size and the child's place in the field
    big = rng.random() < params.matrix_weights[1] / sum(params.matrix_weights)
    shape = (2048, 512) if big else (1024, 256)
    length, half = extent_mm(child)
    need_len = max(length * 1.03 / shape[0], 1.2)
    if big:
        spacing = float(rng.uniform(1.15, 1.45))
    elif rng.random() < 0.8:
        spacing = float(rng.uniform(1.9, 2.8))
    else:
        spacing = float(rng.uniform(1.2, 4.0))
    spacing = max(spacing, need_len)
    for _ in range(8):  # bring the arms in until the child fits the field's width
        if 2.0 * half * 1.04 <= shape[1] * spacing:
            break
        child = replace(child, arm_abduction=tuple(0.6 * a for a in child.arm_abduction),
                        elbow_angle=tuple(0.6 * a for a in child.elbow_angle))
        length, half = extent_mm(child)
    spacing = round(max(spacing, 2.0 * half * 1.04 / shape[1]), 4)
    angle = float(rng.uniform(-4.0, 4.0))
    free_rows = shape[0] - length / spacing
    top = float(rng.uniform(0.0, 0.3)) * max(free_rows - 0.02 * shape[0], 0.0) + 0.01 * shape[0]
    free_cols = shape[1] - 2.0 * half / spacing
    col = shape[1] / 2 + float(rng.uniform(-0.45, 0.45)) * max(free_cols, 0.0)
    canvas = Canvas(shape, spacing, (top, col), angle)
    anatomy = draw_child(child, canvas)
    for _ in range(6):  # keep the whole body inside the field, with a small margin
        rows = np.nonzero(anatomy.body_mask.any(axis=1))[0]
        cols = np.nonzero(anatomy.body_mask.any(axis=0))[0]
        margin = 3
        span_r = rows.max() - rows.min() + 1 + 2 * margin
        span_c = cols.max() - cols.min() + 1 + 2 * margin
        if (rows.min() >= margin and cols.min() >= margin and rows.max() < shape[0] - margin
                and cols.max() < shape[1] - margin):
            break
        if span_r > shape[0] or span_c > shape[1]:
            grow = max(span_r / shape[0], span_c / shape[1]) * 1.03
            spacing = round(spacing * grow, 4)
            top, col = top / grow, shape[1] / 2 + (col - shape[1] / 2) / grow
        else:
            top += _shift(int(rows.min()), int(rows.max()), shape[0], margin)
            col += _shift(int(cols.min()), int(cols.max()), shape[1], margin)
        canvas = Canvas(shape, spacing, (top, col), angle)
        anatomy = draw_child(child, canvas)

    act, findings = normal_uptake(child, anatomy, canvas, rng, pitfall_rate=params.pitfall_rate,
                                   bowel_scale=params.bowel_scale)
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    grades = plan_grades(rng, category, params.forced_grade, params.grades)
    px = {k: canvas.to_pixel(*v) for k, v in anatomy.landmarks.items()}
    axes = {}
    for side in ("right", "left"):
        axes[f"{side}_upper_limb_proximal"] = (px[f"shoulder_{side}"], px[f"elbow_{side}"])
        axes[f"{side}_upper_limb_distal"] = (px[f"elbow_{side}"], px[f"hand_{side}"])
        axes[f"{side}_lower_limb_proximal"] = (px[f"hip_{side}"], px[f"knee_{side}"])
        axes[f"{side}_lower_limb_distal"] = (px[f"knee_{side}"], px[f"foot_{side}"])
    disease = draw_disease(
        rng, grades, labels=anatomy.bone_labels, position=anatomy.bone_position,
        depth=anatomy.bone_depth, thickness_cm=anatomy.thickness_cm, siopen=siopen,
        curie=curie, canvas=canvas, act=act, fwhm_of=camera.lesion_fwhm_mm,
        height_mm=child.height_mm, limb_axes=axes)
    tumour = []
    forced = params.grades is not None or params.forced_grade is not None
    diseased = any(grades.values()) if forced else category != "normal"
    if diseased and rng.random() < 0.55:
        tumour = soft_tissue_tumour(child, anatomy, canvas, act, rng)
    findings = findings + tumour
    anterior, posterior = acquire(act, anatomy.thickness_cm, spacing, camera, rng)
    np.minimum(anterior, MAX_COUNTS, out=anterior)
    np.minimum(posterior, MAX_COUNTS, out=posterior)

    curie_grades = dict(disease.curie_skeletal)
    curie_grades["soft_tissue"] = grade_curie_segment(len(tumour), 0.0)
    total = sum(disease.siopen.values())
    keypoints = {k: (int(round(r)), int(round(c))) for k, (r, c) in px.items()}
    truth = Truth(
        siopen={k: disease.siopen[k] for k in SIOPEN_KEYS},
        curie={k: curie_grades[k] for k in CURIE_KEYS},
        category=category_of(total),
        lesions=disease.lesions,
        findings=findings,
        bone_labels=anatomy.bone_labels,
        bone_position=anatomy.bone_position,
        body_mask=anatomy.body_mask,
        keypoints=keypoints,
        siopen_fractions=disease.siopen_fractions,
        curie_fractions={**disease.curie_fractions, "soft_tissue": 0.0},
        age_years=round(child.age_years, 2),
        height_cm=round(child.height_mm / 10.0, 1),
        diffuse_mask=disease.involved,
    )
    if truth.category != category:
        logger.debug("seed %d: asked for %s, drew %s", seed, category, truth.category)
    scan = _scan(seed, rng, child, camera, anterior, posterior, spacing)
    return SimulatedStudy(scan=scan, truth=truth, seed=seed)


def _shift(lo: int, hi: int, n: int, margin: int) -> int:
    """Pixels to move a body spanning lo-hi (of n) to bring it inside the margin.

    A body cut by the edge may reach further than it shows: step by more than the overlap.
    """
    up = max(margin - lo, 0) + (12 if lo == 0 else 0)
    down = max(hi - (n - 1 - margin), 0) + (12 if hi == n - 1 else 0)
    return min(up, n - 1 - margin - hi) - min(down, lo - margin)


def _scan(seed, rng, child, camera, anterior, posterior, spacing) -> Scan:
    study_date = dt.date(2020, 1, 1) + dt.timedelta(days=int(rng.integers(0, 6 * 365)))
    birth = study_date - dt.timedelta(days=int(round(child.age_years * 365.25)))
    sop = uid_for(seed, "sop")
    speed = float(rng.choice([80.0, 100.0, 120.0, 150.0, 200.0]))  # mm/min
    duration = anterior.shape[0] * spacing / speed * 60000.0  # ms for the whole field
    return Scan(
        anterior=anterior,
        posterior=posterior,
        spacing_mm=(spacing, spacing),
        patient=Patient(
            patient_id=f"SIM{seed % 10**8:08d}",
            name=f"SIMULATED^CASE{seed % 10**8:08d}",
            birth_date=birth,
            age_years=round((study_date - birth).days / 365.25, 2),
            sex=child.sex,
            height_cm=round(child.height_mm / 10.0, 1),
            weight_kg=round(child.weight_kg, 1),
        ),
        study=Study(
            study_uid=uid_for(seed, "study"),
            series_uid=uid_for(seed, "series"),
            sop_instance_uids=(sop,),
            study_date=study_date,
            description="MIBG WHOLE BODY 24H (simulated)",
            accession_number=f"A{seed % 10**8:08d}",
        ),
        tracer=Tracer(status="mibg", name="123I-MIBG", isotope="123I", code="395787009",
                      how="simulated"),
        acquisition=Acquisition(
            sop_class_uid=NM_IMAGE_STORAGE,
            modality="NM",
            transfer_syntax_uid=EXPLICIT_VR_LITTLE_ENDIAN,
            image_type=("ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"),
            manufacturer="mibgscore",
            model="simulator",
            collimator=camera.collimator,
            energy_window_kev=(143.0, 175.0),
            frame_duration_ms=round(duration, 1),
            scan_velocity_mm_s=round(speed / 60.0, 3),
            counts_accumulated=int(anterior.sum() + posterior.sum()),
        ),
        sources={"anterior": ViewSource("", 0, "simulated"),
                 "posterior": ViewSource("", 1, "simulated")},
        assumptions=(),
        path=None,
    )


def child_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th study of a batch drawn from ``seed`` (independent streams)."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def simulate_studies(n: int, seed: int, *, category: str | None = None,
                     params: SimulationParams = SimulationParams()
                     ) -> Iterator[SimulatedStudy]:
    """Simulate ``n`` independent studies; study i uses ``child_seed(seed, i)``."""
    for i in range(n):
        yield simulate_study(child_seed(seed, i), category=category, params=params)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps, so that the same arrays give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_studies(outdir: str | Path, n: int, seed: int, *, category: str | None = None,
                  params: SimulationParams = SimulationParams()) -> list[Path]:
    """Write ``n`` simulated studies with their truth to ``outdir``.

    Writes ``case_000.dcm``... (one multi-frame NM file per study), ``truth.csv`` (file, the
    12 SIOPEN grades, ``siopen_total``, ``curie_<key>`` grades, ``curie_total``),
    ``lesions.csv`` and ``labels/case_000.npz`` (``bone_labels``, ``bone_position``,
    ``siopen_map``, ``curie_map``, ``body_mask``). The same seed gives the same bytes.

    Returns
    -------
    list of Path
        The DICOM files, in order.
    """
    from mibgscore.io.write import write_nm

    out = Path(outdir)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    paths: list[Path] = []
    truth_rows: list[list] = []
    lesion_rows: list[list] = []
    for i, st in enumerate(simulate_studies(n, seed, category=category, params=params)):
        name = f"case_{i:03d}"
        path = out / f"{name}.dcm"
        write_nm(st.scan, path)
        t = st.truth
        (out / "labels" / f"{name}.npz").write_bytes(_npz_bytes({
            "bone_labels": t.bone_labels,
            "bone_position": t.bone_position,
            "siopen_map": siopen.segment_map(t.bone_labels, t.bone_position),
            "curie_map": curie.segment_map(t.bone_labels, t.bone_position),
            "body_mask": t.body_mask,
        }))
        truth_rows.append([path.name, *[t.siopen[k] for k in SIOPEN_KEYS], t.siopen_total,
                           *[t.curie[k] for k in CURIE_KEYS], t.curie_total, t.category,
                           st.seed, t.age_years, t.height_cm])
        for les in t.lesions:
            lesion_rows.append([path.name, les.kind, les.bone, les.siopen, les.curie, les.row,
                                les.col, "" if les.size_mm is None else les.size_mm,
                                "" if les.fraction is None else round(les.fraction, 4)])
        for f in t.findings:
            if f.label == "soft_tissue_tumour":
                lesion_rows.append([path.name, "soft_tissue", "", "", "soft_tissue", f.row,
                                    f.col, "", ""])
        paths.append(path)
        logger.info("simulated %s: SIOPEN %d, Curie %d", name, t.siopen_total, t.curie_total)
    header = ["file", *SIOPEN_KEYS, "siopen_total", *[f"curie_{k}" for k in CURIE_KEYS],
              "curie_total", "category", "seed", "age_years", "height_cm"]
    _write_csv(out / "truth.csv", header, truth_rows)
    _write_csv(out / "lesions.csv", ["file", "kind", "bone", "siopen", "curie", "row", "col",
                                     "size_mm", "fraction"], lesion_rows)
    return paths


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


