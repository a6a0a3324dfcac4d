"""The cohort: studies matched between the automatic results and the readings, and their values.

Matching pairs each automatic result with the physicians' readings of the same study; the
values are the per-segment grades and totals each rater gave, ready for the statistics
(:mod:`mibgscore.validation.stats`) and the report (:mod:`mibgscore.validation.report`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibgscore.anatomy.scheme import SIOPEN_KEYS
from mibgscore.errors import ReadingsFileError
from mibgscore.validation._helpers import bundled_scheme_names
from mibgscore.validation.readings import CURIE_COLUMNS, Readings, file_key, read_readings

__all__ = ["SOFTWARE", "Cohort", "Provenance", "Study", "is_missing", "match_studies",
           "paired_values", "per_study_rows", "read_results", "values"]

SOFTWARE = "mibgscore"
"""Rater name of the automatic scores."""

_CONSENSUS_NAMES = ("consensus", "reference", "ref", "adjudicated", "adjudication", "gold")


@dataclass
class Study:
    """One study of the cohort and every rater's reading of it."""

    index: int
    patient_id: str | None = None
    study_date: str | None = None
    study_uid: str | None = None
    file: str | None = None
    ratings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Patient and date when known, else the Study Instance UID, else the file."""
        if self.patient_id and self.study_date:
            return f"{self.patient_id} {self.study_date}"
        if self.study_uid:
            return f"study {self.study_uid}"
        if self.file and not (self.patient_id or self.study_date):
            return f"file {file_key(self.file)}"
        return f"{self.patient_id or ''} {self.study_date or ''}".strip()


@dataclass
class Cohort:
    """Matched studies, rater names, and what could not be matched."""

    studies: list[Study]
    test: str
    reference: str
    readers: list[str]
    auto_only: list[str]
    reference_only: list[str]
    notes: list[str]


@dataclass(frozen=True)
class Provenance:
    """What scored the automatic results, as ``results.csv`` records it.

    Attributes
    ----------
    schemes : tuple of dict
        The distinct segment tables, ``{"siopen": name, "curie": name}``, in order of first
        appearance; the bundled tables for rows written before the tables were recorded.
    models : tuple of dict
        The distinct lesion models, ``{"name", "version", "sha256", "n_studies"}``; empty when
        the file does not say (written before models were recorded, or not by ``batch``).
    """

    schemes: tuple[dict[str, str], ...] = ()
    models: tuple[dict[str, Any], ...] = ()


def read_results(path: str | Path, *, default_reader: str = SOFTWARE
                 ) -> tuple[Readings, Provenance]:
    """Read the automatic results (``results.csv`` of ``mibgscore batch``) and what scored them.

    The columns naming the segment tables and the model (``siopen_scheme``, ``curie_scheme``,
    ``model_name``, ``model_version``, ``model_sha256``: the readings parser's
    ``METADATA_COLUMNS``) are summed up as the provenance; the file is read as any readings
    file. Files written before these columns existed read as before, with an empty provenance.

    Parameters
    ----------
    path : str or Path
        ``results.csv``, or any wide-form readings file with one reader.
    default_reader : str
        Rater name of rows without a reader column.

    Returns
    -------
    readings : Readings
    provenance : Provenance

    Raises
    ------
    ReadingsFileError
        As :func:`~mibgscore.validation.readings.read_readings`.
    """
    readings = read_readings(path, default_reader=default_reader)
    if not readings.metadata:
        return readings, Provenance()
    taken = readings.metadata
    readings.notes.append(f"column{'s' if len(taken) > 1 else ''} {', '.join(taken)} read as "
                          "the segment tables and the model that scored each study.")
    return readings, _provenance(readings)


def _provenance(readings: Readings) -> Provenance:
    def cell(rec: dict[str, Any], name: str) -> str:
        value = rec.get(name)
        return "" if value is None else str(value).strip()

    bundled = bundled_scheme_names()
    schemes: dict[tuple[str, str], None] = {}
    models: Counter[tuple[str, str, str]] = Counter()
    for row in readings.table.to_dict("records"):
        schemes[(cell(row, "siopen_scheme") or bundled["siopen"],
                  cell(row, "curie_scheme") or bundled["curie"])] = None
        model = (cell(row, "model_name"), cell(row, "model_version"), cell(row, "model_sha256"))
        if any(model):
            models[model] += 1
    return Provenance(
        schemes=tuple({"siopen": s, "curie": c} for s, c in schemes),
        models=tuple({"name": n, "version": v, "sha256": h, "n_studies": k}
                     for (n, v, h), k in models.items()))


def match_studies(reference: Readings, auto: Readings | None = None,
                  *, reference_reader: str | None = None) -> Cohort:
    """Match the studies of two readings tables.

    A study is matched by Study Instance UID when both rows give it, else by patient ID and
    study date, else (a row naming only its file, as the simulator's ``truth.csv`` does) by
    the file's name (``readings.file_key``).

    Parameters
    ----------
    reference : Readings
        The physicians' readings (one or several readers).
    auto : Readings, optional
        The automatic scores (``results.csv``). Without it the second reader of
        ``reference`` is compared with the first.
    reference_reader : str, optional
        The reader taken as reference; default: a reader named "consensus" (or "reference"),
        else the first reader of the file.

    Raises
    ------
    ReadingsFileError
        The named reader is absent, or there is nothing to compare with.
    """
    readers = reference.readers
    notes: list[str] = []
    if reference_reader is not None and reference_reader not in readers:
        raise ReadingsFileError(f"reader {reference_reader!r} is not in the file; readers: "
                                f"{', '.join(readers)}.", reference.path)
    if reference_reader is None:
        named = [r for r in readers if r.strip().lower() in _CONSENSUS_NAMES]
        reference_reader = named[0] if named else readers[0]
    test_name = SOFTWARE
    rows: list[dict[str, Any]] = []
    if auto is not None:
        auto_readers = auto.readers
        if len(auto_readers) > 1:
            raise ReadingsFileError(f"the automatic results hold several readers "
                                    f"({', '.join(auto_readers)}); give one.", auto.path)
        test_name = SOFTWARE if SOFTWARE not in readers else f"{SOFTWARE} (auto)"
        for rec in auto.table.to_dict("records"):
            rows.append({**rec, "reader": test_name, "_side": "auto"})
    else:
        others = [r for r in readers if r != reference_reader]
        if not others:
            raise ReadingsFileError("the readings hold a single reader; give the automatic "
                                    "results (--auto) or a second reader to compare.",
                                    reference.path)
        test_name = others[0]
    for rec in reference.table.to_dict("records"):
        rows.append({**rec, "_side": "reference"})

    sid_of_uid: dict[str, int] = {}
    sids_of_pd: dict[tuple[str, str], list[int]] = {}
    studies: list[Study] = []

    def new_study() -> int:
        studies.append(Study(index=len(studies)))
        return len(studies) - 1

    assigned: list[int] = [-1] * len(rows)
    for i, rec in enumerate(rows):
        uid = rec.get("study_uid")
        if uid:
            sid = sid_of_uid.get(uid)
            if sid is None:
                sid = sid_of_uid[uid] = new_study()
            assigned[i] = sid
            if rec.get("patient_id") and rec.get("study_date"):
                key = (rec["patient_id"], rec["study_date"])
                if sid not in sids_of_pd.setdefault(key, []):
                    sids_of_pd[key].append(sid)
    pd_only: dict[tuple[str, str], int] = {}
    by_file: list[int] = []
    for i, rec in enumerate(rows):
        if assigned[i] >= 0:
            continue
        if not (rec.get("patient_id") and rec.get("study_date")) and rec.get("file"):
            by_file.append(i)  # matched by file name once the others are placed
            continue
        key = (rec["patient_id"], rec["study_date"])
        candidates = sids_of_pd.get(key, [])
        if len(candidates) > 1:
            notes.append(f"patient {key[0]} has {len(candidates)} studies on {key[1]}; a "
                         "reading without study_uid was matched to the first.")
        if candidates:
            assigned[i] = candidates[0]
        else:
            if key not in pd_only:
                pd_only[key] = new_study()
            assigned[i] = pd_only[key]

    sids_of_file: dict[str, list[int]] = {}
    for i, rec in enumerate(rows):
        if assigned[i] >= 0 and rec.get("file"):
            sids = sids_of_file.setdefault(file_key(rec["file"]), [])
            if assigned[i] not in sids:
                sids.append(assigned[i])
    for i in by_file:
        key = file_key(rows[i]["file"])
        candidates = sids_of_file.get(key, [])
        if len(candidates) > 1:
            notes.append(f"{len(candidates)} studies come from files named {key}; a reading "
                         "naming only its file was matched to the first.")
        if not candidates:
            candidates = sids_of_file[key] = [new_study()]
        assigned[i] = candidates[0]

    for rec, sid in zip(rows, assigned, strict=True):
        study = studies[sid]
        for attr in ("patient_id", "study_date", "study_uid"):
            if getattr(study, attr) is None and rec.get(attr):
                setattr(study, attr, rec[attr])
        if rec.get("file") and (rec["_side"] == "auto" or study.file is None):
            study.file = rec["file"]
        rater = rec["reader"]
        if rater in study.ratings:
            path = reference.path if rec["_side"] == "reference" else auto.path  # type: ignore
            raise ReadingsFileError(f"{study.label} is read twice by {rater} (once by "
                                    "study_uid, once by patient_id and study_date); keep one.",
                                    path)
        study.ratings[rater] = rec

    auto_only: list[str] = []
    reference_only: list[str] = []
    if auto is not None:
        for s in studies:
            has_auto = test_name in s.ratings
            has_ref = any(r in s.ratings for r in readers)
            if has_auto and not has_ref:
                auto_only.append(s.label)
            elif has_ref and not has_auto:
                reference_only.append(s.label)
    else:
        for s in studies:
            if reference_reader in s.ratings and test_name not in s.ratings:
                reference_only.append(s.label)
            elif test_name in s.ratings and reference_reader not in s.ratings:
                auto_only.append(s.label)
    return Cohort(studies=studies, test=test_name, reference=reference_reader,
                  readers=readers, auto_only=auto_only, reference_only=reference_only,
                  notes=notes)


def is_missing(value: Any) -> bool:
    """Whether a grade or total is absent (None, pandas NA or NaN)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def values(studies: list[Study], rater: str, key: str) -> np.ndarray:
    """One rater's grade (or total) ``key`` for each study.

    Returns
    -------
    ndarray of shape (len(studies),), float
        NaN where the rater gave none. Every study must have been read by ``rater``.
    """
    out = []
    for s in studies:
        v = s.ratings[rater].get(key)
        out.append(np.nan if is_missing(v) else float(v))
    return np.asarray(out, dtype=float)


def paired_values(cohort: Cohort, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Test and reference values of ``key`` on the studies where both give one.

    Returns
    -------
    test, reference : ndarray of shape (n,), float
    """
    both = [s for s in cohort.studies
            if cohort.test in s.ratings and cohort.reference in s.ratings]
    t = values(both, cohort.test, key)
    r = values(both, cohort.reference, key)
    keep = np.isfinite(t) & np.isfinite(r)
    return t[keep], r[keep]


def per_study_rows(cohort: Cohort) -> list[dict[str, Any]]:
    """One row per matched study: both raters' grades, differences and disagreement rank."""
    test, ref = cohort.test, cohort.reference
    rows = []
    for s in cohort.studies:
        if test not in s.ratings or ref not in s.ratings:
            continue
        a, b = s.ratings[test], s.ratings[ref]
        row: dict[str, Any] = {"study": s.label, "patient_id": s.patient_id,
                               "study_date": s.study_date, "study_uid": s.study_uid,
                               "file": s.file}
        seg_diff = 0
        for key in ("siopen_total", "curie_total"):
            va, vb = a.get(key), b.get(key)
            row[f"{key}_test"] = None if is_missing(va) else int(va)
            row[f"{key}_reference"] = None if is_missing(vb) else int(vb)
            row[f"{key}_difference"] = (None if is_missing(va) or is_missing(vb)
                                        else int(va) - int(vb))
        for key in (*SIOPEN_KEYS, *CURIE_COLUMNS):
            va, vb = a.get(key), b.get(key)
            row[f"{key}_test"] = None if is_missing(va) else int(va)
            row[f"{key}_reference"] = None if is_missing(vb) else int(vb)
            if key in SIOPEN_KEYS and not (is_missing(va) or is_missing(vb)):
                seg_diff += abs(int(va) - int(vb))
        row["siopen_segment_disagreement"] = seg_diff
        for other in cohort.readers:
            if other not in (test, ref) and other in s.ratings:
                v = s.ratings[other].get("siopen_total")
                row[f"siopen_total[{other}]"] = None if is_missing(v) else int(v)
        rows.append(row)
    order = sorted(range(len(rows)), key=lambda i: (
        -rows[i]["siopen_segment_disagreement"],
        -abs(rows[i]["siopen_total_difference"] or 0)))
    for rank, i in enumerate(order, start=1):
        rows[i]["disagreement_rank"] = rank
    return [rows[i] for i in order]
