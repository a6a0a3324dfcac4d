"""Compare the automatic scores (or one reader) with physicians' readings on a cohort."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibgscore.anatomy.scheme import SIOPEN_KEYS
from mibgscore.errors import ReadingsFileError
from mibgscore.validation import stats
from mibgscore.validation.readings import CURIE_COLUMNS, Readings, read_readings

logger = logging.getLogger(__name__)

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
        """Patient and date when known, else the Study Instance UID."""
        if self.patient_id and self.study_date:
            return f"{self.patient_id} {self.study_date}"
        if self.study_uid:
            return f"study {self.study_uid}"
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


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become None, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def match_studies(reference: Readings, auto: Readings | None = None,
                  *, reference_reader: str | None = None) -> Cohort:
    """Match the studies of two readings tables.

    A study is matched by Study Instance UID when both rows give it, else by patient ID and
    study date.

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
    for i, rec in enumerate(rows):
        if assigned[i] >= 0:
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

    for rec, sid in zip(rows, assigned, strict=True):
        study = studies[sid]
        for attr in ("patient_id", "study_date", "study_uid"):
            if getattr(study, attr) is None and rec.get(attr):
                setattr(study, attr, rec[attr])
        if rec["_side"] == "auto" and rec.get("file"):
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


def _values(studies: list[Study], rater: str, key: str) -> np.ndarray:
    out = []
    for s in studies:
        v = s.ratings[rater].get(key)
        out.append(np.nan if _is_missing(v) else float(v))
    return np.asarray(out, dtype=float)


def _is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _total_metrics(t: np.ndarray, r: np.ndarray) -> dict[str, Any]:
    keep = np.isfinite(t) & np.isfinite(r)
    t, r = t[keep], r[keep]
    a1 = stats.icc(np.stack([t, r], axis=1), "A,1")
    c1 = stats.icc(np.stack([t, r], axis=1), "C,1")
    ba = stats.bland_altman(t, r)
    return {
        "n": int(t.size),
        "icc_a1": a1.value, "icc_a1_ci": list(a1.ci),
        "icc_c1": c1.value, "icc_c1_ci": list(c1.ci),
        "mae": stats.mae(t, r), "bias": ba.bias, "sd_difference": ba.sd, "loa": list(ba.loa),
        "spearman": stats.spearman(t, r),
        "mean_test": float(t.mean()) if t.size else None,
        "mean_reference": float(r.mean()) if r.size else None,
    }


def _segment_metrics(studies: list[Study], test: str, ref: str, keys: tuple[str, ...],
                     max_grade: int, n_resamples: int, seed: int) -> dict[str, Any]:
    per: dict[str, Any] = {}
    all_t, all_r, groups = [], [], []
    for j, key in enumerate(keys):
        t = _values(studies, test, key)
        r = _values(studies, ref, key)
        keep = np.isfinite(t) & np.isfinite(r)
        t, r = t[keep].astype(int), r[keep].astype(int)
        confusion = np.zeros((max_grade + 1, max_grade + 1), dtype=int)
        np.add.at(confusion, (r, t), 1)
        per[key] = {
            "n": int(t.size),
            "weighted_kappa": stats.weighted_kappa(t, r, max_grade=max_grade),
            "weighted_kappa_ci": list(stats.bootstrap_kappa_ci(
                t, r, n_resamples=n_resamples, seed=seed + j)),
            "exact_agreement": stats.agreement(t, r),
            "within_one": stats.agreement(t, r, tolerance=1),
            "mean_difference": float((t - r).mean()) if t.size else None,
            "confusion": confusion.tolist(),
        }
        all_t.append(t)
        all_r.append(r)
        groups.append(np.flatnonzero(keep))
    t = np.concatenate(all_t) if all_t else np.zeros(0, int)
    r = np.concatenate(all_r) if all_r else np.zeros(0, int)
    g = np.concatenate(groups) if groups else np.zeros(0, int)
    return {
        "n_pairs": int(t.size),
        "weighted_kappa": stats.weighted_kappa(t, r, max_grade=max_grade),
        "weighted_kappa_ci": list(stats.bootstrap_kappa_ci(t, r, n_resamples=n_resamples,
                                                           seed=seed, groups=g)),
        "exact_agreement": stats.agreement(t, r),
        "within_one": stats.agreement(t, r, tolerance=1),
        "weights": "quadratic",
        "per_segment": per,
    }


def _response_metrics(studies: list[Study], test: str, ref: str, total: str
                      ) -> dict[str, Any]:
    by_patient: dict[str, list[Study]] = {}
    for s in studies:
        if s.patient_id and s.study_date:
            by_patient.setdefault(s.patient_id, []).append(s)
    tb, tf, rb, rf, patients = [], [], [], [], set()
    for pid, items in by_patient.items():
        items = sorted(items, key=lambda s: s.study_date)
        base = items[0]
        for later in items[1:]:
            vals = [_values([x], rater, total)[0] for x in (base, later) for rater in (test, ref)]
            if not all(np.isfinite(vals)):
                continue
            tb.append(vals[0])
            rb.append(vals[1])
            tf.append(vals[2])
            rf.append(vals[3])
            patients.add(pid)
    out: dict[str, Any] = {"n_patients": len(patients), "n_pairs": len(tb)}
    if tb:
        out.update(stats.response_agreement(tb, tf, rb, rf))
    return out


def pair_metrics(studies: list[Study], test: str, ref: str, *, n_resamples: int = 2000,
                 seed: int = 0) -> dict[str, Any]:
    """Every agreement measure of ``test`` against ``ref`` on the studies both have read.

    Returns
    -------
    dict
        ``n_studies``, ``siopen_total``, ``curie_total``, ``siopen_segments``,
        ``curie_segments``, ``threshold_siopen_3``, ``threshold_siopen_4``,
        ``threshold_curie_2``, ``response_siopen``, ``response_curie``; Curie blocks are None
        when either side lacks Curie grades.
    """
    both = [s for s in studies if test in s.ratings and ref in s.ratings]
    out: dict[str, Any] = {"n_studies": len(both), "test": test, "reference": ref}
    t = _values(both, test, "siopen_total")
    r = _values(both, ref, "siopen_total")
    out["siopen_total"] = _total_metrics(t, r)
    out["siopen_segments"] = _segment_metrics(both, test, ref, SIOPEN_KEYS, 6, n_resamples, seed)
    out["threshold_siopen_3"] = stats.threshold_agreement(t, r, 3)
    out["threshold_siopen_4"] = stats.threshold_agreement(t, r, 4)
    out["response_siopen"] = _response_metrics(both, test, ref, "siopen_total")
    tc = _values(both, test, "curie_total")
    rc = _values(both, ref, "curie_total")
    curie = [s for s, a, b in zip(both, tc, rc, strict=True) if np.isfinite(a) and np.isfinite(b)]
    if curie:
        tc = _values(curie, test, "curie_total")
        rc = _values(curie, ref, "curie_total")
        out["curie_total"] = _total_metrics(tc, rc)
        out["curie_segments"] = _segment_metrics(curie, test, ref, CURIE_COLUMNS, 3,
                                                 n_resamples, seed + 100)
        out["curie_segments"]["per_segment"] = {
            k.removeprefix("curie_"): v for k, v in out["curie_segments"]["per_segment"].items()}
        out["threshold_curie_2"] = stats.threshold_agreement(tc, rc, 2)
        out["response_curie"] = _response_metrics(curie, test, ref, "curie_total")
    else:
        out["curie_total"] = None
        out["curie_segments"] = None
        out["threshold_curie_2"] = None
        out["response_curie"] = None
    return out


def readers_metrics(cohort: Cohort, *, n_resamples: int = 2000, seed: int = 0
                    ) -> dict[str, Any] | None:
    """Agreement between the physicians, and of the software with each of them.

    Returns
    -------
    dict or None
        None with a single reader. Otherwise ``names``, ``icc_a1``/``icc_c1`` (with ``_ci``)
        over all readers on the SIOPEN total (studies read by all), ``kappa`` (mean pairwise
        quadratic-weighted kappa over the pooled segments), ``pairs`` (reader-vs-reader), and
        when automatic results are present ``software_vs_readers``, ``software_within_spread``
        and ``statement``.
    """
    readers = cohort.readers
    if len(readers) < 2:
        return None
    studies = cohort.studies
    complete = [s for s in studies if all(r in s.ratings for r in readers)]
    x = np.stack([_values(complete, r, "siopen_total") for r in readers], axis=1) \
        if complete else np.zeros((0, len(readers)))
    a1 = stats.icc(x, "A,1")
    c1 = stats.icc(x, "C,1")
    pairs = []
    for i, a in enumerate(readers):
        for b in readers[i + 1:]:
            pairs.append(_pair_summary(studies, a, b, n_resamples, seed))
    out: dict[str, Any] = {
        "names": readers,
        "n_studies": len(complete),
        "icc_a1": a1.value, "icc_a1_ci": list(a1.ci),
        "icc_c1": c1.value, "icc_c1_ci": list(c1.ci),
        "kappa": float(np.nanmean([p["weighted_kappa"] for p in pairs])) if pairs else None,
        "pairs": pairs,
    }
    software = cohort.test if cohort.test not in readers else None
    if software is not None:
        vs = [_pair_summary(studies, software, r, n_resamples, seed) for r in readers]
        out["software_vs_readers"] = vs
        allk = [s for s in complete if software in s.ratings]
        xs = np.stack([_values(allk, r, "siopen_total") for r in [*readers, software]], axis=1) \
            if allk else np.zeros((0, len(readers) + 1))
        with_sw = stats.icc(xs, "A,1")
        out["icc_a1_with_software"] = with_sw.value
        out["icc_a1_with_software_ci"] = list(with_sw.ci)
        sw_icc = [v["icc_a1"] for v in vs if v["icc_a1"] is not None and np.isfinite(v["icc_a1"])]
        rr_icc = [p["icc_a1"] for p in pairs
                  if p["icc_a1"] is not None and np.isfinite(p["icc_a1"])]
        if sw_icc and rr_icc:
            sw_mean = float(np.mean(sw_icc))
            low = min(min(rr_icc), a1.ci[0] if np.isfinite(a1.ci[0]) else min(rr_icc))
            within = sw_mean >= low
            out["software_mean_icc_a1"] = sw_mean
            out["readers_icc_a1_range"] = [min(rr_icc), max(rr_icc)]
            out["software_within_spread"] = bool(within)
            verdict = ("within the spread of the physicians" if within and sw_mean <= max(rr_icc)
                       else "above the agreement between physicians" if within
                       else "below the spread of the physicians")
            out["statement"] = (
                f"On the SIOPEN total, the software agrees with the physicians with a mean "
                f"ICC(A,1) of {sw_mean:.3f} (range {min(sw_icc):.3f}-{max(sw_icc):.3f}); the "
                f"physicians agree with one another with ICC(A,1) {a1.value:.3f} (95 % CI "
                f"{a1.ci[0]:.3f}-{a1.ci[1]:.3f}; pairwise {min(rr_icc):.3f}-{max(rr_icc):.3f}). "
                f"The software is therefore {verdict}.")
    return out


def _pair_summary(studies: list[Study], a: str, b: str, n_resamples: int, seed: int
                  ) -> dict[str, Any]:
    both = [s for s in studies if a in s.ratings and b in s.ratings]
    ta, tb = _values(both, a, "siopen_total"), _values(both, b, "siopen_total")
    a1 = stats.icc(np.stack([ta, tb], axis=1), "A,1") if both else None
    c1 = stats.icc(np.stack([ta, tb], axis=1), "C,1") if both else None
    ga = np.concatenate([_values(both, a, k) for k in SIOPEN_KEYS]) if both else np.zeros(0)
    gb = np.concatenate([_values(both, b, k) for k in SIOPEN_KEYS]) if both else np.zeros(0)
    return {
        "a": a, "b": b, "n": len(both),
        "icc_a1": a1.value if a1 else None, "icc_a1_ci": list(a1.ci) if a1 else None,
        "icc_c1": c1.value if c1 else None,
        "weighted_kappa": stats.weighted_kappa(ga.astype(int), gb.astype(int)),
        "exact_agreement": stats.agreement(ga, gb),
        "mae": stats.mae(ta, tb),
        "bias": stats.bland_altman(ta, tb).bias,
        "threshold_siopen_3_kappa": stats.threshold_agreement(ta, tb, 3)["kappa"],
    }


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
            row[f"{key}_test"] = None if _is_missing(va) else int(va)
            row[f"{key}_reference"] = None if _is_missing(vb) else int(vb)
            row[f"{key}_difference"] = (None if _is_missing(va) or _is_missing(vb)
                                        else int(va) - int(vb))
        for key in (*SIOPEN_KEYS, *CURIE_COLUMNS):
            va, vb = a.get(key), b.get(key)
            row[f"{key}_test"] = None if _is_missing(va) else int(va)
            row[f"{key}_reference"] = None if _is_missing(vb) else int(vb)
            if key in SIOPEN_KEYS and not (_is_missing(va) or _is_missing(vb)):
                seg_diff += abs(int(va) - int(vb))
        row["siopen_segment_disagreement"] = seg_diff
        for other in cohort.readers:
            if other not in (test, ref) and other in s.ratings:
                v = s.ratings[other].get("siopen_total")
                row[f"siopen_total[{other}]"] = None if _is_missing(v) else int(v)
        rows.append(row)
    order = sorted(range(len(rows)), key=lambda i: (
        -rows[i]["siopen_segment_disagreement"],
        -abs(rows[i]["siopen_total_difference"] or 0)))
    for rank, i in enumerate(order, start=1):
        rows[i]["disagreement_rank"] = rank
    return [rows[i] for i in order]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv

    columns: list[str] = []
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(k)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns or ["study"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def validate(auto: str | Path | None = None, reference: str | Path | None = None,
             out_dir: str | Path = "validation", *, pdf: bool = False,
             reference_reader: str | None = None, overlay_dir: str | Path | None = None,
             n_resamples: int = 2000, seed: int = 0, max_discordant: int = 10,
             make_overlays: bool = True) -> dict[str, Any]:
    """Measure how well the automatic scores agree with physicians' readings.

    Writes ``report.html`` (self-contained), ``metrics.json``, ``per_study.csv`` and, with
    ``pdf``, ``report.pdf`` into ``out_dir``.

    Parameters
    ----------
    auto : str or Path, optional
        ``results.csv`` of ``mibgscore batch`` (or any wide-form file with one reader).
        Without it, the readers of ``reference`` are compared with one another.
    reference : str or Path
        The physicians' readings, CSV or .xlsx, wide or long form.
    out_dir : str or Path
        Folder for the outputs (created).
    pdf : bool
        Also write ``report.pdf`` (WeasyPrint) from the same HTML.
    reference_reader : str, optional
        The reader taken as reference (default: "consensus" if present, else the first).
    overlay_dir : str or Path, optional
        Where ``mibgscore batch --overlay`` wrote overlays; discordant studies show them.
    n_resamples, seed : int
        Bootstrap resamples and seed for the kappa confidence intervals.
    max_discordant : int
        Discordant studies shown in the report.
    make_overlays : bool
        Score and draw overlays of the discordant studies whose files exist, when no
        overlay was found.

    Returns
    -------
    dict
        The content of ``metrics.json``, plus ``outputs`` (paths written) and ``notes`` (how
        the columns were understood).

    Raises
    ------
    ReadingsFileError
        A readings file is wrong (see :func:`~mibgscore.validation.readings.read_readings`).
    """
    if reference is None:
        raise ReadingsFileError("no reference readings given.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ref = read_readings(reference)
    auto_readings = read_readings(auto, default_reader=SOFTWARE) if auto is not None else None
    cohort = match_studies(ref, auto_readings, reference_reader=reference_reader)
    metrics = pair_metrics(cohort.studies, cohort.test, cohort.reference,
                           n_resamples=n_resamples, seed=seed)
    if metrics["n_studies"] < 2:
        raise ReadingsFileError(
            f"only {metrics['n_studies']} stud{'y' if metrics['n_studies'] == 1 else 'ies'} "
            f"read by both {cohort.test} and {cohort.reference}; check that study_uid, or "
            "patient_id and study_date, match between the files.", reference)
    readers = readers_metrics(cohort, n_resamples=n_resamples, seed=seed)
    if readers is not None:
        metrics["readers"] = readers
    metrics["mode"] = "software_vs_readers" if auto is not None else "readers_only"
    metrics["unmatched"] = {"auto_only": cohort.auto_only,
                            "reference_only": cohort.reference_only}
    metrics["input"] = {
        "reference": Path(reference).name, "auto": Path(auto).name if auto else None,
        "reference_form": ref.form, "readers": cohort.readers,
        "n_reference_readings": int(len(ref.table)),
        "n_auto_results": int(len(auto_readings.table)) if auto_readings is not None else None,
    }
    metrics["methods"] = {
        "icc_model": stats.ICC_MODELS["A,1"],
        "kappa_weights": "quadratic (Cohen 1968), grades 0-6 (SIOPEN) and 0-3 (Curie)",
        "bootstrap_resamples": n_resamples, "seed": seed,
    }
    rows = per_study_rows(cohort)
    per_study = out / "per_study.csv"
    _write_csv(per_study, rows)
    metrics = _clean(metrics)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")

    discordant = [r for r in rows if r["siopen_segment_disagreement"] > 0][:max_discordant]
    if auto is not None:
        _attach_overlays(discordant, out, overlay_dir, make_overlays)
    from mibgscore.validation.report import write_report

    outputs = write_report(metrics, discordant, cohort, out, pdf=pdf,
                           notes=[*ref.notes, *cohort.notes])
    outputs.update({"metrics": str(out / "metrics.json"), "per_study": str(per_study)})
    logger.info("validation of %d studies written to %s", metrics["n_studies"], out)
    return {**metrics, "outputs": outputs,
            "notes": {"reference": ref.notes,
                      "auto": auto_readings.notes if auto_readings is not None else [],
                      "matching": cohort.notes}}


def _attach_overlays(rows: list[dict[str, Any]], out: Path, overlay_dir: str | Path | None,
                     make: bool) -> None:
    """Find (or draw) the overlay PNG of each discordant study; sets ``row["overlay"]``."""
    from mibgscore.validation.batch import overlay_name

    made = out / "overlays"
    for row in rows:
        row["overlay"] = None
        file = row.get("file")
        if not file:
            continue
        name = overlay_name(file, row.get("study_uid"))
        for folder in (Path(overlay_dir) if overlay_dir else None, made):
            if folder is not None and (folder / name).is_file():
                row["overlay"] = str(folder / name)
                break
        if row["overlay"] is None and make and Path(file).is_file():
            try:
                row["overlay"] = _draw_overlay(Path(file), made / name, row.get("study_uid"))
            except Exception as exc:  # a missing picture must not cost the whole report
                logger.warning("no overlay for a discordant study (%s)", type(exc).__name__,
                               exc_info=True)


def _draw_overlay(file: Path, target: Path, study_uid: str | None) -> str | None:
    from mibgscore.io.read import iter_scans
    from mibgscore.pipeline import score
    from mibgscore.report.overlay import render_overlay

    target.parent.mkdir(parents=True, exist_ok=True)
    for item in iter_scans([file], force=True):
        if isinstance(item, Exception):
            continue
        if study_uid and item.study.study_uid and item.study.study_uid != study_uid:
            continue
        render_overlay(item, score(item), target)
        return str(target)
    return None
