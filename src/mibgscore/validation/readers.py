"""Simulated readers: realistic reader disagreement applied to a reading, for demos and tests.

A second physician rarely disagrees at random: she misses or adds a discrete focus now and
then (one grade on segments graded 1-3), judges the extent of diffuse disease differently
(grades 4-6 move by one), and seldom calls a normal segment abnormal. These rules produce a
reader with roughly the agreement published for expert SIOPEN readers (ICC about 0.95).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, load_scheme

CURIE_COLUMNS = tuple(f"curie_{k}" for k in CURIE_KEYS)


@dataclass(frozen=True)
class ReaderHabits:
    """How often a simulated reader departs from the given grades (probabilities 0-1).

    Attributes
    ----------
    focal_miss : float
        A segment graded 1-3 is graded one lower (a focus missed).
    focal_extra : float
        A segment graded 1-3 is graded one higher (a focus added, e.g. bowel over bone).
    false_positive : float
        A normal segment is graded 1.
    diffuse_shift : float
        A segment graded 4-6 moves one grade up or down (extent judged differently).
    """

    focal_miss: float = 0.2
    focal_extra: float = 0.1
    false_positive: float = 0.03
    diffuse_shift: float = 0.4


def perturb_grades(grades: dict[str, int], rng: np.random.Generator, *, max_grade: int,
                   habits: ReaderHabits = ReaderHabits()) -> dict[str, int]:
    """One simulated reader's grades given the true grades of one study.

    Parameters
    ----------
    grades : dict of str to int
        True grade per segment key.
    rng : numpy.random.Generator
        Source of randomness.
    max_grade : int
        The scheme's highest grade (``SegmentScheme.max_grade``: 6 SIOPEN, 3 Curie). The
        focal grades are those up to half of it, rounded up (1-3 SIOPEN, 1-2 Curie); the grades
        above move as diffuse disease (Curie has no diffuse range, its grade 3 moves like
        SIOPEN 4-6).

    Returns
    -------
    dict of str to int
        The perturbed grades, within 0..max_grade.
    """
    out = {}
    focal_top = (max_grade + 1) // 2  # SIOPEN 1-3 focal, Curie 1-2
    for key, g in grades.items():
        u = rng.random()
        if g == 0:
            g2 = 1 if u < habits.false_positive else 0
        elif g <= focal_top:
            g2 = g - 1 if u < habits.focal_miss else (
                g + 1 if u < habits.focal_miss + habits.focal_extra else g)
        else:
            g2 = g + (1 if rng.random() < 0.5 else -1) if u < habits.diffuse_shift else g
        out[key] = int(min(max(g2, 0), max_grade))
    return out


def simulated_reader(rows: list[dict[str, Any]], *, name: str, seed: int,
                     habits: ReaderHabits = ReaderHabits()) -> list[dict[str, Any]]:
    """Readings of a simulated reader for each wide-form row (SIOPEN and, if given, Curie).

    Parameters
    ----------
    rows : list of dict
        Wide-form rows with the 12 SIOPEN keys (and optionally the ``curie_`` columns);
        identity columns are copied.
    name : str
        The reader's name.
    seed : int
        Seed: same rows, same readings.

    Returns
    -------
    list of dict
        Wide-form rows with ``reader``, the grades and recomputed totals.
    """
    rng = np.random.default_rng(seed)
    siopen_top, curie_top = load_scheme("siopen").max_grade, load_scheme("curie").max_grade
    out = []
    for row in rows:
        new = {k: row.get(k) for k in ("patient_id", "study_date", "study_uid")}
        new["reader"] = name
        siopen = perturb_grades({k: int(row[k]) for k in SIOPEN_KEYS}, rng,
                                max_grade=siopen_top, habits=habits)
        new.update(siopen)
        new["siopen_total"] = sum(siopen.values())
        if all(str(row.get(k, "")).strip() != "" for k in CURIE_COLUMNS):
            curie = perturb_grades({k: int(row[k]) for k in CURIE_COLUMNS}, rng,
                                   max_grade=curie_top, habits=habits)
            new.update(curie)
            new["curie_total"] = sum(curie.values())
        out.append(new)
    return out


def synthetic_cohort(n_patients: int, seed: int) -> list[dict[str, Any]]:
    """True readings of a synthetic cohort: each patient at diagnosis and after induction.

    Grades follow the shape of real cohorts: about a third of patients without skeletal
    disease, the rest with focal or diffuse disease that usually shrinks after induction.
    For tests and demos of the statistics without any image.

    Returns
    -------
    list of dict
        Wide-form rows (``patient_id``, ``study_date``, ``study_uid``, SIOPEN and Curie
        grades with totals), two per patient.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        pid = f"P{p + 1:04d}"
        day0 = np.datetime64("2020-01-01") + int(rng.integers(0, 1500))
        burden = rng.choice([0.0, 0.15, 0.4, 0.8], p=[0.3, 0.3, 0.25, 0.15])
        base = _grades(rng, burden)
        after = {k: int(max(0, g - rng.integers(0, 4))) if rng.random() < 0.8 else g
                 for k, g in base.items()}
        for visit, (grades, offset) in enumerate(((base, 0), (after, 120))):
            row: dict[str, Any] = {
                "patient_id": pid,
                "study_date": str(day0 + offset),
                "study_uid": f"2.25.{seed}{p:05d}{visit}",
            }
            row.update(grades)
            row["siopen_total"] = sum(grades.values())
            curie = _curie_from_siopen(grades, rng)
            row.update(curie)
            row["curie_total"] = sum(curie.values())
            rows.append(row)
    return rows


def _grades(rng: np.random.Generator, burden: float) -> dict[str, int]:
    out = {}
    for key in SIOPEN_KEYS:
        if rng.random() >= burden:
            out[key] = 0
        elif rng.random() < 0.35:
            out[key] = int(rng.choice([4, 5, 6], p=[0.5, 0.35, 0.15]))
        else:
            out[key] = int(rng.integers(1, 5))
    return out


def _curie_from_siopen(grades: dict[str, int], rng: np.random.Generator) -> dict[str, int]:
    def c(*keys: str) -> int:
        g = max(grades[k] for k in keys)
        return 0 if g == 0 else 1 if g == 1 else 3 if g >= 5 else 2

    return {
        "curie_head": c("skull"),
        "curie_cervical_thoracic_spine": c("spine"),
        "curie_ribs_sternum": c("thoracic_cage"),
        "curie_lumbar_sacral_spine": c("spine", "pelvis") if grades["spine"] > 2 else 0,
        "curie_pelvis": c("pelvis"),
        "curie_upper_arms": c("right_upper_limb_proximal", "left_upper_limb_proximal"),
        "curie_forearms_hands": c("right_upper_limb_distal", "left_upper_limb_distal"),
        "curie_thighs": c("right_lower_limb_proximal", "left_lower_limb_proximal"),
        "curie_legs_feet": c("right_lower_limb_distal", "left_lower_limb_distal"),
        "curie_soft_tissue": int(rng.random() < 0.5),
    }


def write_wide_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write wide-form rows (readings or results) to CSV, columns in the contract's order."""
    path = Path(path)
    columns = ["patient_id", "study_date", "study_uid", "reader", "file", *SIOPEN_KEYS,
               "siopen_total", *CURIE_COLUMNS, "curie_total", "warnings"]
    present = [c for c in columns if any(c in r for r in rows)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=present, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if r.get(k) is None else r.get(k) for k in present})
    return path


def truth_readings(sim_dir: str | Path, *, reader: str = "truth") -> list[dict[str, Any]]:
    """Wide-form readings from the ``truth.csv`` of ``mibgscore simulate`` (or
    :func:`mibgscore.simulate.write_studies`), identified by the DICOM headers of its files.

    Parameters
    ----------
    sim_dir : str or Path
        Folder holding ``truth.csv`` and the ``case_*.dcm`` files it names.
    reader : str
        Reader name given to the truth.

    Returns
    -------
    list of dict
        One row per study: ``patient_id``, ``study_date`` (YYYY-MM-DD), ``study_uid``,
        ``reader`` and the SIOPEN and Curie grades.
    """
    import pydicom

    folder = Path(sim_dir)
    with (folder / "truth.csv").open(newline="", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    rows = []
    for t in truth:
        ds = pydicom.dcmread(folder / t["file"], stop_before_pixels=True)
        date = str(ds.get("StudyDate", "") or "")
        row: dict[str, Any] = {
            "patient_id": str(ds.get("PatientID", "") or "") or None,
            "study_date": f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else None,
            "study_uid": str(ds.StudyInstanceUID),
            "reader": reader,
        }
        for key in (*SIOPEN_KEYS, "siopen_total", *CURIE_COLUMNS, "curie_total"):
            row[key] = int(t[key])
        rows.append(row)
    return rows
