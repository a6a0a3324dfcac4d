"""Compare the automatic scores (or one reader) with physicians' readings on a cohort.

:func:`validate` chains the steps: the cohort (:mod:`~mibgscore.validation.cohort`: read,
match, values), the statistics (:mod:`~mibgscore.validation.stats`), the overlays of the
discordant studies, and the report (:mod:`~mibgscore.validation.report`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mibgscore.anatomy.scheme import SIOPEN_KEYS, SegmentScheme
from mibgscore.errors import ReadingsFileError
from mibgscore.validation import stats
from mibgscore.validation._helpers import Progress, json_ready, resolve_schemes
from mibgscore.validation.cohort import (
    SOFTWARE,
    Provenance,
    match_studies,
    per_study_rows,
    read_results,
)
from mibgscore.validation.readings import read_readings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ValidateOptions:
    """Options of :func:`validate`.

    Attributes
    ----------
    reference_reader : str, optional
        The reader taken as reference (default: "consensus" if present, else the first).
    overlay_dir : str or Path, optional
        Where ``mibgscore batch --overlay`` or ``mibgscore score --overlay`` wrote overlays;
        discordant studies show them.
    pdf : bool
        Also write ``report.pdf`` (WeasyPrint) from the same HTML.
    n_resamples, seed : int
        Bootstrap resamples and seed for the kappa confidence intervals.
    max_discordant : int
        Discordant studies shown in the report.
    make_overlays : bool
        Score and draw overlays of the discordant studies whose files exist, when no
        overlay was found.
    siopen_scheme, curie_scheme : SegmentScheme, str or Path, optional
        The segment tables the automatic results were scored with (as
        :func:`mibgscore.pipeline.score` takes them; the bundled ones by default): recorded
        in metrics.json and the report, and used to score discordant studies again for their
        overlays.
    score_params : ScoreParams, optional
        How discordant studies are scored again for their overlays (an adapted model's,
        ``--model``); by default the detector results.csv names.
    """

    reference_reader: str | None = None
    overlay_dir: str | Path | None = None
    pdf: bool = False
    n_resamples: int = 2000
    seed: int = 0
    max_discordant: int = 10
    make_overlays: bool = True
    siopen_scheme: SegmentScheme | str | Path | None = None
    curie_scheme: SegmentScheme | str | Path | None = None
    score_params: Any = None


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
             out_dir: str | Path = "validation", *, options: ValidateOptions = ValidateOptions(),
             progress: Progress | None = None) -> dict[str, Any]:
    """Measure how well the automatic scores agree with physicians' readings.

    Writes ``report.html`` (self-contained), ``metrics.json``, ``per_study.csv`` and, with
    ``options.pdf``, ``report.pdf`` into ``out_dir``.

    Parameters
    ----------
    auto : str or Path, optional
        ``results.csv`` of ``mibgscore batch`` (or any wide-form file with one reader).
        Without it, the readers of ``reference`` are compared with one another.
    reference : str or Path
        The physicians' readings, CSV or .xlsx, wide or long form.
    out_dir : str or Path
        Folder for the outputs (created).
    options : ValidateOptions
        Reference reader, overlays, bootstrap, PDF, segment tables.
    progress : callable, optional
        ``progress(done, total)``, called as the work advances: the agreement statistics,
        the agreement between readers, each discordant study's overlay, the report.

    Returns
    -------
    dict
        The content of ``metrics.json``, plus ``outputs`` (paths written) and ``notes`` (how
        the columns were understood, ``reference``, ``auto``, ``matching``; and ``overlays``:
        discordant studies whose grades, scored again for their overlay, differ from the
        automatic results).

    Raises
    ------
    ReadingsFileError
        A readings file is wrong (see :func:`~mibgscore.validation.readings.read_readings`).
    SchemeError
        A segment table is inconsistent or does not define the contract's keys.
    """
    if reference is None:
        raise ReadingsFileError("no reference readings given.")
    opts = options
    siopen, curie = resolve_schemes(opts.siopen_scheme, opts.curie_scheme)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ref = read_readings(reference)
    auto_readings, provenance = (read_results(auto, default_reader=SOFTWARE)
                                 if auto is not None else (None, Provenance()))
    cohort = match_studies(ref, auto_readings, reference_reader=opts.reference_reader)
    rows = per_study_rows(cohort)
    discordant = [r for r in rows if r["siopen_segment_disagreement"] > 0][:opts.max_discordant]
    steps = _Steps(3 + (len(discordant) if auto is not None else 0), progress)

    metrics = stats.pair_metrics(cohort.studies, cohort.test, cohort.reference,
                                 n_resamples=opts.n_resamples, seed=opts.seed,
                                 siopen_scheme=siopen, curie_scheme=curie)
    steps.step()
    if metrics["n_studies"] < 2:
        raise ReadingsFileError(
            f"only {metrics['n_studies']} stud{'y' if metrics['n_studies'] == 1 else 'ies'} "
            f"read by both {cohort.test} and {cohort.reference}; check that study_uid, or "
            "patient_id and study_date, match between the files.", reference)
    readers = stats.readers_metrics(cohort, n_resamples=opts.n_resamples, seed=opts.seed,
                                    siopen_scheme=siopen)
    steps.step()
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
        "auto_schemes": list(provenance.schemes),
    }
    metrics["methods"] = {
        "icc_model": stats.ICC_MODELS["A,1"],
        "kappa_weights": f"quadratic (Cohen 1968), grades 0-{siopen.max_grade} (SIOPEN) and "
                         f"0-{curie.max_grade} (Curie)",
        "bootstrap_resamples": opts.n_resamples, "seed": opts.seed,
    }
    metrics["schemes"] = {"siopen": siopen.name, "curie": curie.name}
    metrics["models"] = list(provenance.models)
    per_study = out / "per_study.csv"
    _write_csv(per_study, rows)
    metrics = json_ready(metrics)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")

    scheme_notes = _scheme_notes(metrics["schemes"], provenance, auto)
    auto_notes = [*(auto_readings.notes if auto_readings is not None else []), *scheme_notes]
    overlay_notes: list[str] = []
    if auto is not None:
        overlay_notes = _attach_overlays(discordant, out, opts, (siopen, curie),
                                         opts.score_params or _score_params(provenance), steps)
    from mibgscore.validation.report import write_report

    outputs = write_report(metrics, discordant, cohort, out, pdf=opts.pdf,
                           notes=[*ref.notes, *cohort.notes],
                           scoring_notes=[*scheme_notes, *overlay_notes],
                           schemes=(siopen, curie))
    steps.step()
    outputs.update({"metrics": str(out / "metrics.json"), "per_study": str(per_study)})
    logger.info("validation of %d studies written to %s", metrics["n_studies"], out)
    return {**metrics, "outputs": outputs,
            "notes": {"reference": ref.notes, "auto": auto_notes, "matching": cohort.notes,
                      "overlays": overlay_notes}}


class _Steps:
    """Steps done, told to a progress callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress
        if progress is not None:
            progress(0, total)

    def step(self) -> None:
        self.done = min(self.done + 1, self.total)
        if self.progress is not None:
            self.progress(self.done, self.total)


def _scheme_notes(in_use: dict[str, str], provenance: Provenance,
                  auto: str | Path | None) -> list[str]:
    """A sentence when the automatic results name other segment tables than those in use."""
    other = [s for s in provenance.schemes if s != in_use]
    if auto is None or not other:
        return []
    named = "; ".join(f"{s['siopen']} and {s['curie']}" for s in other)
    return [f"{Path(auto).name} names the segment tables {named}, not {in_use['siopen']} and "
            f"{in_use['curie']} given here: give the batch's --segments so that the overlays "
            "of discordant studies are scored with the same tables."]


def _score_params(provenance: Provenance):
    """Score options for drawing overlays anew: the lesion detector that results.csv names,
    when it names one and it runs here; the default detector otherwise."""
    from mibgscore.pipeline import ScoreParams, lesion_method

    names = {m["name"] for m in provenance.models}
    if len(names) != 1:
        return ScoreParams()
    params = ScoreParams(lesion_method=names.pop())
    try:
        lesion_method(params)  # a registered detector, and it runs here
    except ValueError:
        return ScoreParams()
    return params


def _attach_overlays(rows: list[dict[str, Any]], out: Path, opts: ValidateOptions,
                     schemes: tuple[SegmentScheme, SegmentScheme], params: Any,
                     steps: _Steps) -> list[str]:
    """Find (or draw) the overlay PNG of each discordant study; sets ``row["overlay"]``.

    Returns
    -------
    list of str
        A sentence for each study drawn anew whose SIOPEN grades differ from the automatic
        results it is shown beside.
    """
    from mibgscore.report.naming import overlay_name

    made = out / "overlays"
    notes: list[str] = []
    for row in rows:
        row["overlay"] = None
        file = row.get("file")
        if file:
            name = overlay_name(file, row.get("study_uid"))
            for folder in (Path(opts.overlay_dir) if opts.overlay_dir else None, made):
                if folder is not None and (folder / name).is_file():
                    row["overlay"] = str(folder / name)
                    break
            if row["overlay"] is None and opts.make_overlays and Path(file).is_file():
                try:
                    row["overlay"], grades = _draw_overlay(Path(file), made / name,
                                                           row.get("study_uid"), schemes,
                                                           params)
                except Exception as exc:  # a missing picture must not cost the whole report
                    logger.warning("no overlay for a discordant study (%s)",
                                   type(exc).__name__, exc_info=True)
                else:
                    differ = [k for k in SIOPEN_KEYS
                              if grades is not None and row.get(f"{k}_test") is not None
                              and grades[k] != row[f"{k}_test"]]
                    if differ:
                        notes.append(f"{row['study']}: scored again for its overlay, the "
                                     f"grades of {', '.join(differ)} differ from the automatic "
                                     "results (other segment tables or lesion model?); the "
                                     "overlay may not show what was scored.")
        steps.step()
    return notes


def _draw_overlay(file: Path, target: Path, study_uid: str | None,
                  schemes: tuple[SegmentScheme, SegmentScheme], params: Any
                  ) -> tuple[str | None, dict[str, int] | None]:
    """Score the study of ``file`` with ``schemes`` and ``params`` and draw its overlay at
    ``target``.

    Returns
    -------
    path, grades
        The overlay written and the SIOPEN grades it shows; None, None when the file holds
        no such study.
    """
    from mibgscore.io.read import iter_scans
    from mibgscore.pipeline import score
    from mibgscore.report.overlay import render_overlay

    target.parent.mkdir(parents=True, exist_ok=True)
    for item in iter_scans([file], force=True):
        if isinstance(item, Exception):
            continue
        if study_uid and item.study.study_uid and item.study.study_uid != study_uid:
            continue
        result = score(item, params=params, siopen_scheme=schemes[0],
                       curie_scheme=schemes[1])
        render_overlay(item, result, target, schemes=schemes)
        return str(target), {k: int(v) for k, v in result.siopen.items()}
    return None, None
