"""``mibgscore adapt``: score a centre's scans, match its readings, fit, evaluate, write.

The evaluation is patient-grouped k-fold cross-validation (every study of one child in the
same fold), nested where the pull towards the bundled rules is chosen: each fold's studies are
graded by limits fitted on the other folds only. The shipped model's figures ("before") and
the adapted model's ("after") are computed on the same studies with the statistics of
``mibgscore validate``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore.adapt.evidence import StudyEvidence, study_evidence
from mibgscore.adapt.fit import (
    SPLIT_GRID,
    cross_validate,
    features,
    fit_nested,
    predict,
    split_scheme,
)
from mibgscore.adapt.model import (
    CALIBRATION,
    SCHEME,
    base_params,
    hashed_uid,
    sha256_file,
    write_model,
)
from mibgscore.anatomy.scheme import SIOPEN_KEYS, load_scheme
from mibgscore.errors import MibgscoreError, ModelError, ReadingsFileError
from mibgscore.pipeline import ScoreParams
from mibgscore.validation._helpers import json_ready

logger = logging.getLogger(__name__)

MIN_STUDIES = 20
"""Fewest studies matched to readings that an adaptation accepts."""

CURVE_SIZES = (20, 40, 80)
"""Training sizes of the learning curve (and all the studies)."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AdaptOptions:
    """Options of :func:`adapt`.

    Attributes
    ----------
    folds : int
        Cross-validation folds (patient-grouped).
    seed : int
        Seed of the folds and of the learning curve's draws.
    reader : str or None
        The reader whose grades are fitted; None or ``consensus``: a reader named consensus
        when there is one, else the median of all readers (a single reader: that one).
    base : Path or None
        The model adapted: None (shipped), a weights folder or an adapted model folder.
    name : str or None
        The adapted model's name (default: the output folder's name).
    workers : int
        Processes scoring the scans.
    force : bool
        Read files that do not say they are MIBG (as ``batch --force``).
    n_resamples : int
        Bootstrap resamples for the kappa intervals.
    """

    folds: int = 5
    seed: int = 0
    reader: str | None = None
    base: Path | None = None
    name: str | None = None
    workers: int = 1
    force: bool = False
    n_resamples: int = 500


def _score_one(scan: Any, params: ScoreParams) -> dict[str, Any]:
    """Score one scan for adaptation (in a worker process); never raises for a bad scan."""
    from mibgscore.pipeline import score

    file = scan.path or ""
    try:
        result = score(scan, params=params)
        date = scan.study.study_date
        iso = date.isoformat() if date else ""
        ev = study_evidence(result, patient_id=scan.patient.patient_id or None,
                            study_date=iso or None)
    except MibgscoreError as exc:
        return {"ok": False, "file": file, "reason": exc.reason}
    except Exception as exc:  # a bug on one study must not stop the cohort
        logger.exception("internal error while scoring a study")
        return {"ok": False, "file": file, "reason": f"internal error ({type(exc).__name__})"}
    row = {"patient_id": scan.patient.patient_id or "", "study_date": iso,
           "study_uid": scan.study.study_uid or "", "file": file,
           **{k: int(result.siopen[k]) for k in SIOPEN_KEYS},
           "siopen_total": int(result.siopen_total)}
    return {"ok": True, "row": row, "evidence": ev, "model": result.model.to_dict()}


def score_scans(scans: Iterable[str | Path], params: ScoreParams, *, workers: int = 1,
                force: bool = False, progress: Progress | None = None
                ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Score every scan of ``scans`` (files, folders, zips, as ``batch``): the outcomes of
    those scored and ``(file, reason)`` of those refused."""
    from mibgscore.errors import InputError
    from mibgscore.io.read import iter_scans

    items = list(iter_scans(list(scans), force=force, allow_single_view=True))
    done, outcomes, failures = 0, [], []

    def step(outcome: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if outcome["ok"]:
            outcomes.append(outcome)
        else:
            failures.append((outcome["file"], outcome["reason"]))
        if progress is not None:
            progress(done, len(items))

    good = []
    for item in items:
        if isinstance(item, InputError):
            step({"ok": False, "file": item.path or "", "reason": item.reason})
        else:
            good.append(item)
    if workers <= 1 or len(good) < 4:
        for scan in good:
            step(_score_one(scan, params))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for outcome in pool.map(_score_one, good, [params] * len(good), chunksize=2):
                step(outcome)
    return outcomes, failures


def _reference(cohort, reader: str | None) -> tuple[str, list[str]]:
    """The rater fitted and the readers it stands for."""
    readers = cohort.readers
    if reader not in (None, "consensus"):
        return reader, [reader]
    named = [r for r in readers if r.strip().lower() == "consensus"]
    if named:
        return named[0], [named[0]]
    if len(readers) == 1:
        return readers[0], readers
    return "consensus", readers


def _grades_of(rating: dict[str, Any]) -> list[float]:
    from mibgscore.validation.cohort import is_missing

    return [np.nan if is_missing(rating.get(k)) else float(rating[k]) for k in SIOPEN_KEYS]


def matched_reference(outcomes: list[dict[str, Any]], reference: str | Path,
                      reader: str | None) -> tuple[list[StudyEvidence], np.ndarray, list[str],
                                                   dict[str, Any]]:
    """Match the scored studies to the readings as ``validate`` does.

    Returns the evidence of the matched studies, their reference grades (n, 12), the reader's
    name, and notes (unmatched studies, readers).

    Raises
    ------
    ReadingsFileError, ModelError
        A readings file ``validate`` would refuse; no study matched; the reader's grades have
        gaps.
    """
    from mibgscore.validation.cohort import match_studies, read_results
    from mibgscore.validation.readings import read_readings

    ref = read_readings(reference)
    if not any(k in ref.table.columns for k in SIOPEN_KEYS):
        raise ReadingsFileError("the readings hold no SIOPEN segment grades (a file for "
                                "another score or segment table?); adaptation fits SIOPEN "
                                "grades.", reference)
    by_file = {o["row"]["file"]: o for o in outcomes}
    with tempfile.TemporaryDirectory() as tmp:
        auto_csv = Path(tmp) / "results.csv"
        with auto_csv.open("w", newline="", encoding="utf-8") as fh:
            cols = ["patient_id", "study_date", "study_uid", "file", *SIOPEN_KEYS,
                    "siopen_total"]
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for o in outcomes:
                w.writerow(o["row"])
        auto, _ = read_results(auto_csv)
        named = None if reader in (None, "consensus") else reader
        cohort = match_studies(ref, auto, reference_reader=named)
    fitted_reader, readers = _reference(cohort, reader)
    evidence, grades = [], []
    gaps: list[str] = []
    for s in cohort.studies:
        if cohort.test not in s.ratings or s.file not in by_file:
            continue
        rows = [_grades_of(s.ratings[r]) for r in readers if r in s.ratings]
        if not rows:
            continue
        g = np.array(rows, dtype=float)
        if fitted_reader == "consensus" and len(readers) > 1:
            with np.errstate(all="ignore"):
                med = np.nanmedian(g, axis=0)
            g1 = np.floor(med + 0.5)
        else:
            g1 = g[0]
        if np.isnan(g1).any():
            gaps.append(s.label)
            continue
        evidence.append(by_file[s.file]["evidence"])
        grades.append(g1)
    if gaps:
        raise ModelError(f"reader {fitted_reader} gives no grade for some segments of "
                         f"{len(gaps)} stud{'y' if len(gaps) == 1 else 'ies'} (first: "
                         f"{gaps[0]}); complete the readings or choose another reader with "
                         "--reader.", reference)
    if not evidence:
        raise ModelError("none of the readings matches a scored scan (matched by "
                         "study_uid, else by patient_id and study_date).", reference)
    notes = {"reader": fitted_reader, "readers": readers,
             "scans_without_reading": cohort.auto_only,
             "readings_without_scan": cohort.reference_only}
    return evidence, np.array(grades), fitted_reader, notes


def _ratings_metrics(evidence: list[StudyEvidence], test: np.ndarray, ref: np.ndarray,
                     n_resamples: int, seed: int) -> dict[str, Any]:
    """``validate``'s agreement figures of grades ``test`` against ``ref`` (n, 12), plus the
    share of normal studies (reference total 0) scored 0."""
    from mibgscore.validation.cohort import Study
    from mibgscore.validation.stats import pair_metrics

    studies = []
    for i, ev in enumerate(evidence):
        ratings = {}
        for name, g in (("mibgscore", test[i]), ("reference", ref[i])):
            rec: dict[str, Any] = {k: int(v) for k, v in zip(SIOPEN_KEYS, g, strict=True)}
            rec["siopen_total"] = int(np.sum(g))
            ratings[name] = rec
        studies.append(Study(index=i, patient_id=ev.patient_id, study_date=ev.study_date,
                             study_uid=ev.study_uid, file=ev.file, ratings=ratings))
    out = pair_metrics(studies, "mibgscore", "reference", n_resamples=n_resamples, seed=seed)
    normal = ref.sum(axis=1) == 0
    out["normals_scored_0"] = {
        "n": int(normal.sum()),
        "share": (float((test[normal].sum(axis=1) == 0).mean()) if normal.any() else None)}
    return out


def _headline(m: dict[str, Any]) -> dict[str, Any]:
    t = m["siopen_total"]
    return {"icc_a1": t["icc_a1"], "icc_a1_ci": t["icc_a1_ci"], "mae": t["mae"],
            "bias": t["bias"], "loa": t["loa"],
            "weighted_kappa": m["siopen_segments"]["weighted_kappa"],
            "threshold_3_agreement": (m.get("threshold_siopen_3") or {}).get("accuracy"),
            "normals_scored_0": m["normals_scored_0"]["share"]}


def adapt(scans: Iterable[str | Path], reference: str | Path, out: str | Path, *,
          options: AdaptOptions = AdaptOptions(), progress: Progress | None = None
          ) -> dict[str, Any]:
    """Fit the grading's limits to a centre's readings and write the model folder ``out``.

    Returns the content of ``metrics.json`` (with ``cross_validated.before`` and ``.after``).

    Raises
    ------
    ReadingsFileError, ModelError, SchemeError
        With one sentence: the readings, the studies or the base model cannot be used.
    """
    t0 = time.perf_counter()
    if options.folds < 2:
        raise ModelError(f"--folds {options.folds}: cross-validation needs at least 2 folds.")
    reference = Path(reference)
    if not reference.is_file():
        raise ReadingsFileError("the readings file does not exist.", reference)
    params, network = base_params(options.base)
    outcomes, failures = score_scans(scans, params, workers=options.workers,
                                     force=options.force, progress=progress)
    if not outcomes:
        raise ModelError("no scan could be scored"
                         + (f" (first refusal: {failures[0][0]}: {failures[0][1]})"
                            if failures else " (no scan given)") + ".")
    evidence, ref, reader, notes = matched_reference(outcomes, reference, options.reader)
    n = len(evidence)
    if n < MIN_STUDIES:
        raise ModelError(f"{n} stud{'y is' if n == 1 else 'ies are'} matched to readings; "
                         f"adaptation needs at least {MIN_STUDIES}.", reference)
    groups = [ev.patient_id or ev.study_uid or ev.file or str(i)
              for i, ev in enumerate(evidence)]
    k = min(options.folds, len(set(groups)))
    base_text = resources.files("mibgscore.anatomy").joinpath("schemes", "siopen.toml"
                                                              ).read_text("utf-8")
    base_scheme = load_scheme("siopen")
    schemes = [split_scheme(base_scheme, base_text, s, s)[0] for s in SPLIT_GRID]
    feat = features(evidence, schemes)

    before = np.array([[ev.base[k_] for k_ in SIOPEN_KEYS] for ev in evidence])
    after = cross_validate(feat, ref, groups, k=k, seed=options.seed)
    metrics_before = _ratings_metrics(evidence, before, ref, options.n_resamples, options.seed)
    metrics_after = _ratings_metrics(evidence, after, ref, options.n_resamples, options.seed)
    curve = []
    for size in (*[s for s in CURVE_SIZES if s < n * (k - 1) / k], None):
        pred = cross_validate(feat, ref, groups, k=k, seed=options.seed, n_train=size)
        err = np.abs(pred.sum(axis=1) - ref.sum(axis=1))
        from mibgscore.validation.stats import icc

        value = icc(np.stack([pred.sum(axis=1), ref.sum(axis=1)], axis=1).astype(float),
                    "A,1").value
        curve.append({"n_train": size if size is not None else "all",
                      "mae": float(err.mean()), "icc_a1": value})

    fitted = fit_nested(feat, ref, groups, options.seed)
    scheme, scheme_text = split_scheme(base_scheme, base_text, fitted.splits["upper"],
                                       fitted.splits["lower"])
    name = options.name or Path(out).name or "adapted"
    scheme_sha = hashlib.sha256(scheme_text.encode()).hexdigest()
    calibration = fitted.calibration(name, scheme_sha)
    in_sample = predict(feat, fitted)
    base_model = outcomes[0]["model"]
    model_info = calibration.model_of(_model_info(base_model))
    metrics: dict[str, Any] = {
        "model": model_info.to_dict(), "base_model": base_model, "n_studies": n,
        "n_patients": len(set(groups)), "folds": k, "seed": options.seed, "reader": reader,
        "readers": notes["readers"],
        "cross_validated": {"before": _headline(metrics_before),
                            "after": _headline(metrics_after)},
        "cross_validated_full": {"before": metrics_before, "after": metrics_after},
        "in_sample_after_mae": float(np.abs(in_sample.sum(axis=1) - ref.sum(axis=1)).mean()),
        "learning_curve": curve,
        "fitted": {"lambda": fitted.lam, "splits": fitted.splits,
                   "focus": fitted.focus, "diffuse": {g: list(v) for g, v in
                                                      fitted.diffuse.items()}},
        "failures": [{"file": f, "reason": r} for f, r in failures],
        "unmatched": {"scans_without_reading": notes["scans_without_reading"],
                      "readings_without_scan": notes["readings_without_scan"]},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    from mibgscore.adapt.report import render_report

    manifest = {
        "name": name, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": model_info.to_dict(), "base_model": base_model,
        "segment_scheme": {"name": scheme.name, "sha256": scheme_sha},
        "training_studies": sorted(hashed_uid(ev.study_uid) for ev in evidence),
        "readings": {"file": reference.name, "sha256": sha256_file(reference)},
        "reader": reader, "seed": options.seed, "folds": k,
    }

    def text(content: str) -> Callable[[Path], None]:
        return lambda p: p.write_text(content, encoding="utf-8")

    write_model(out, {
        CALIBRATION: text(json.dumps(calibration.to_dict(), indent=2)),
        SCHEME: text(scheme_text),
        "metrics.json": text(json.dumps(json_ready(metrics), indent=2)),
        "report.html": text(render_report(metrics, calibration, scheme)),
    }, manifest, network)
    logger.info("adapted model %s written to %s (%d studies, %.1f s)", name, out, n,
                metrics["seconds"])
    return metrics


def _model_info(d: dict[str, str]):
    from mibgscore.result import ModelInfo

    return ModelInfo.from_dict(d)
