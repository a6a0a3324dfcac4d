"""Score a whole cohort: every study found scored once, results streamed to CSV files.

``results.csv`` (one row per study), ``lesions.csv`` (one row per lesion) and
``failures.csv`` (file, reason) are written row by row, each row flushed and fsynced as soon
as its study is done, so that a crash, Ctrl-C or ``kill -9`` loses nothing. A ledger beside
``results.csv`` (``<name>.done``) records the key of every study scored (SHA-256 of its SOP
Instance UIDs and of its files' bytes); a re-run skips those studies and scores the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.errors import InputError, MibgscoreError

if TYPE_CHECKING:
    from mibgscore.pipeline import ScoreParams

logger = logging.getLogger(__name__)

RESULT_COLUMNS: tuple[str, ...] = (
    "patient_id", "study_date", "study_uid", "file", *SIOPEN_KEYS, "siopen_total",
    *(f"curie_{k}" for k in CURIE_KEYS), "curie_total", "warnings",
)
"""Columns of results.csv, in order (the wide form of the reference readings)."""

LESION_COLUMNS: tuple[str, ...] = ("study_uid", "file", "segment", "kind", "row", "col",
                                   "fraction", "confidence")
FAILURE_COLUMNS: tuple[str, ...] = ("file", "reason")
_LEDGER_COLUMNS = ("key", "study_uid", "file")


@dataclass
class BatchSummary:
    """What a batch did.

    Attributes
    ----------
    scored, skipped, failed : int
        Studies scored now, studies skipped (already in results.csv), inputs that failed.
    seconds : float
        Wall time.
    results, lesions, failures : str
        Paths of the three CSV files.
    overlay_dir : str or None
        Where overlays were written.
    """

    scored: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    results: str = ""
    lesions: str = ""
    failures: str = ""
    overlay_dir: str | None = None
    failure_reasons: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``--json``)."""
        return {"scored": self.scored, "skipped": self.skipped, "failed": self.failed,
                "seconds": round(self.seconds, 2), "results": self.results,
                "lesions": self.lesions, "failures": self.failures,
                "overlay_dir": self.overlay_dir}


def overlay_name(file: str, study_uid: str | None) -> str:
    """File name of a study's overlay PNG: the file's stem and a short hash of the study.

    Examples
    --------
    >>> overlay_name("/data/case_001.dcm", "1.2.3")
    'case_001-c47f5b18.png'
    """
    tag = hashlib.sha256((study_uid or file).encode()).hexdigest()[:8]
    stem = Path(file).name
    for suffix in (".dcm", ".DCM", ".zip", ".ZIP"):
        stem = stem.removesuffix(suffix)
    return f"{stem or 'study'}-{tag}.png"


def study_key(scan: Any) -> str:
    """Key of a study for re-runs: SHA-256 of its SOP Instance UIDs and its files' bytes.

    When the views did not come from plain files (zip members), the pixel data stand in for
    the files' bytes.
    """
    h = hashlib.sha256()
    for uid in sorted(scan.study.sop_instance_uids):
        h.update(uid.encode())
        h.update(b"\0")
    files = sorted({src.file for src in scan.sources.values()} if scan.sources else
                   ({scan.path} if scan.path else set()))
    hashed = False
    for name in files:
        p = Path(name)
        if p.is_file():
            with p.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            hashed = True
    if not hashed:
        for view in scan.views.values():
            h.update(view.tobytes())
    return h.hexdigest()


def _score_one(scan: Any, overlay_dir: str | None,
               params: ScoreParams | None = None) -> dict[str, Any]:
    """Score one scan (in a worker process); never raises for a bad scan."""
    file = scan.path or ""
    try:
        from mibgscore.pipeline import ScoreParams, score

        result = score(scan, params=params if params is not None else ScoreParams())
        overlay = None
        if overlay_dir:
            from mibgscore.report.overlay import render_overlay

            target = Path(overlay_dir) / overlay_name(file, scan.study.study_uid)
            render_overlay(scan, result, target)
            overlay = str(target)
    except MibgscoreError as exc:
        return {"ok": False, "file": file, "reason": exc.reason}
    except Exception as exc:  # a bug on one study must not stop the cohort
        logger.exception("internal error while scoring a study")
        return {"ok": False, "file": file,
                "reason": f"internal error ({type(exc).__name__}: {exc})"}
    date = scan.study.study_date
    row: dict[str, Any] = {
        "patient_id": scan.patient.patient_id or "",
        "study_date": date.isoformat() if date else "",
        "study_uid": scan.study.study_uid or "",
        "file": file,
    }
    row.update({k: int(result.siopen[k]) for k in SIOPEN_KEYS})
    row["siopen_total"] = result.siopen_total
    row.update({f"curie_{k}": int(result.curie[k]) for k in CURIE_KEYS})
    row["curie_total"] = result.curie_total
    row["warnings"] = "; ".join(result.warnings)
    lesions = [{"study_uid": row["study_uid"], "file": file, "segment": x.segment,
                "kind": x.kind, "row": int(x.row), "col": int(x.col),
                "fraction": "" if x.fraction is None else round(float(x.fraction), 4),
                "confidence": round(float(x.confidence), 4)} for x in result.lesions]
    return {"ok": True, "row": row, "lesions": lesions, "overlay": overlay,
            "seconds": float(result.seconds)}


class _Sink:
    """An append-only CSV file; each row is flushed and fsynced."""

    def __init__(self, path: Path, columns: tuple[str, ...], *, fresh: bool = False) -> None:
        self.path = path
        self.columns = columns
        exists = path.is_file() and path.stat().st_size > 0 and not fresh
        if exists:
            _drop_partial_line(path)
            _check_header(path, columns)
        self.fh = path.open("a" if exists else "w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.fh, fieldnames=list(columns), extrasaction="ignore")
        if not exists:
            self.writer.writeheader()
            self.sync()

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(self.columns), extrasaction="ignore")
        for row in rows:
            writer.writerow(row)
        self.fh.write(buf.getvalue())  # one write per study: a kill leaves whole rows
        self.sync()

    def sync(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()

    def drop(self, study_uid: str, file: str) -> None:
        """Remove the rows of one study (scored again because its file changed)."""
        self.close()
        rows = [r for r in _read_rows(self.path)
                if (r.get("study_uid", ""), r.get("file", "")) != (study_uid, file)]
        _rewrite(self.path, self.columns, rows)
        self.fh = self.path.open("a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.fh, fieldnames=list(self.columns),
                                     extrasaction="ignore")


def _drop_partial_line(path: Path) -> None:
    """Cut a last line left half-written by a kill."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with path.open("r+b") as fh:
            fh.truncate(cut)


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    _drop_partial_line(path)
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _rewrite(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _check_header(path: Path, columns: tuple[str, ...]) -> None:
    """Refuse to append to (or clean up) a CSV file that another program wrote."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if tuple(header) != columns:
        raise InputError(f"exists with other columns ({', '.join(header[:4])}...); choose "
                         "another --out or move it away.", path=path)


def _recover(results: Path, lesions: Path, ledger: Path
             ) -> tuple[set[str], set[tuple[str, str]]]:
    """Keys and (study_uid, file) pairs already done; drop rows a kill left unfinished."""
    for path, columns in ((results, RESULT_COLUMNS), (lesions, LESION_COLUMNS),
                          (ledger, _LEDGER_COLUMNS)):
        _check_header(path, columns)
    done_rows = _read_rows(ledger)
    done = {r["key"] for r in done_rows if r.get("key")}
    known = {(r.get("study_uid", ""), r.get("file", "")) for r in done_rows}
    for path, columns in ((results, RESULT_COLUMNS), (lesions, LESION_COLUMNS)):
        rows = _read_rows(path)
        keep = [r for r in rows if (r.get("study_uid", ""), r.get("file", "")) in known]
        if len(keep) != len(rows):
            logger.info("dropping %d unfinished rows from %s", len(rows) - len(keep), path.name)
            _rewrite(path, columns, keep)
    return done, known


_NOT_SCANS = frozenset({".csv", ".png", ".jpg", ".jpeg", ".txt", ".json", ".xlsx", ".html",
                        ".pdf", ".done", ".tmp", ".npz", ".npy", ".xml", ".log", ".md", ".py",
                        ".toml"})


def _count_inputs(paths: list[Path]) -> int:
    """Rough number of files to read (for the progress bar's ETA)."""
    n = 0
    for p in paths:
        if p.is_dir():
            n += sum(1 for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")
                     and f.name.upper() != "DICOMDIR"
                     and f.suffix.lower() not in _NOT_SCANS)
        elif p.suffix.lower() == ".zip" and zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                n += sum(1 for i in z.infolist() if not i.is_dir())
        else:
            n += 1
    return max(n, 1)


def score_cohort(paths: Iterable[str | os.PathLike] | str | os.PathLike,
                 out: str | os.PathLike, *, workers: int | None = None,
                 scheduler: str | Any | None = None, overlay_dir: str | os.PathLike | None = None,
                 force: bool = False, progress: bool = True,
                 params: ScoreParams | None = None) -> BatchSummary:
    """Score every study found in files, folders, zips and DICOMDIRs, streaming to CSV.

    Parameters
    ----------
    paths : path or iterable of paths
        Inputs, mixed freely.
    out : path
        ``results.csv``; ``lesions.csv`` and ``failures.csv`` are written beside it (the
        same stem with ``_lesions``/``_failures`` when the name is not ``results.csv``).
    workers : int, optional
        Worker processes; default: every core. 1 scores in this process.
    scheduler : str or dask.distributed.Client, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``), or a Client: the
        studies are scored on that cluster instead of local processes.
    overlay_dir : path, optional
        Write an overlay PNG of every study there (see :func:`overlay_name`).
    force : bool
        Score studies whose tracer is not MIBG (passed to the reader).
    progress : bool
        Show a progress bar with ETA on stderr.
    params : ScoreParams, optional
        Options of :func:`mibgscore.pipeline.score` (the lesion stage, say); its defaults
        when not given.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        ``out`` exists with other columns, Dask is asked for but not installed, or
        ``params`` asks for the learned lesion stage without it installed.
    """
    from mibgscore.io.read import iter_scans
    from mibgscore.pipeline import ScoreParams, lesion_method

    params = params if params is not None else ScoreParams()
    try:
        lesion_method(params)
    except ValueError as exc:
        raise InputError(f"lesion stage: {exc}") from None

    start = time.perf_counter()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    inputs = [Path(p) for p in paths]
    results_path = Path(out)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    if results_path.name == "results.csv":
        lesions_path = results_path.with_name("lesions.csv")
        failures_path = results_path.with_name("failures.csv")
    else:
        lesions_path = results_path.with_name(f"{results_path.stem}_lesions.csv")
        failures_path = results_path.with_name(f"{results_path.stem}_failures.csv")
    ledger_path = results_path.with_name(results_path.name + ".done")
    overlays = str(Path(overlay_dir)) if overlay_dir is not None else None
    if overlays:
        Path(overlays).mkdir(parents=True, exist_ok=True)

    done, known = _recover(results_path, lesions_path, ledger_path)
    summary = BatchSummary(results=str(results_path), lesions=str(lesions_path),
                           failures=str(failures_path), overlay_dir=overlays)
    sinks = {
        "results": _Sink(results_path, RESULT_COLUMNS),
        "lesions": _Sink(lesions_path, LESION_COLUMNS),
        "failures": _Sink(failures_path, FAILURE_COLUMNS, fresh=True),
        "ledger": _Sink(ledger_path, _LEDGER_COLUMNS),
    }
    bar = _progress_bar(_count_inputs(inputs), progress)

    def record(key: str, outcome: dict[str, Any]) -> None:
        if outcome["ok"]:
            pair = (outcome["row"]["study_uid"], outcome["row"]["file"])
            if pair in known:  # same study and file, new bytes: replace its rows
                sinks["results"].drop(*pair)
                sinks["lesions"].drop(*pair)
            sinks["results"].write([outcome["row"]])
            if outcome["lesions"]:
                sinks["lesions"].write(outcome["lesions"])
            sinks["ledger"].write([{"key": key, "study_uid": outcome["row"]["study_uid"],
                                    "file": outcome["row"]["file"]}])
            summary.scored += 1
            logger.info("study %s scored", key[:8])
        else:
            fail(outcome["file"], outcome["reason"])
        bar.update(1)

    def fail(file: str, reason: str) -> None:
        sinks["failures"].write([{"file": file, "reason": reason}])
        summary.failed += 1
        summary.failure_reasons.append((file, reason))

    def jobs() -> Iterator[tuple[str, Any]]:
        for item in iter_scans(inputs, force=force, allow_single_view=True):
            if isinstance(item, InputError):
                fail(item.path or "", item.reason)
                bar.update(1)
                continue
            key = study_key(item)
            if key in done:
                summary.skipped += 1
                bar.update(1)
                continue
            done.add(key)
            yield key, item

    try:
        if scheduler is not None:
            _run_dask(jobs(), scheduler, overlays, params, record)
        elif (workers or os.cpu_count() or 1) <= 1:
            for key, scan in jobs():
                record(key, _score_one(scan, overlays, params))
        else:
            _run_pool(jobs(), workers or os.cpu_count() or 1, overlays, params, record)
    finally:
        if bar.n and bar.total != bar.n:
            bar.total = bar.n  # the file count was an estimate of the study count
            bar.refresh()
        bar.close()
        for sink in sinks.values():
            sink.close()
    summary.seconds = time.perf_counter() - start
    logger.info("batch: %d scored, %d skipped, %d failed in %.1f s", summary.scored,
                summary.skipped, summary.failed, summary.seconds)
    return summary


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, unit="study", desc="scoring",
                dynamic_ncols=True, smoothing=0.1)


def _run_pool(jobs: Iterator[tuple[str, Any]], workers: int, overlays: str | None,
              params: ScoreParams, record) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods()
                             else "spawn")
    limit = 2 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: dict[Any, tuple[str, str]] = {}
        for key, scan in jobs:
            pending[pool.submit(_score_one, scan, overlays, params)] = (key, scan.path or "")
            while len(pending) >= limit:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key_, file = pending.pop(fut)
                    record(key_, _outcome(fut, file))
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                key_, file = pending.pop(fut)
                record(key_, _outcome(fut, file))


def _outcome(fut, file: str) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # the worker died (out of memory, killed)
        return {"ok": False, "file": file, "reason": f"worker failed ({type(exc).__name__}: "
                                                   f"{exc})"}


def _run_dask(jobs: Iterator[tuple[str, Any]], scheduler: str | Any, overlays: str | None,
              params: ScoreParams, record) -> None:
    try:
        from dask.distributed import Client, wait
    except ImportError as exc:
        raise InputError("--scheduler needs Dask: pip install 'mibgscore[dask]'.") from exc
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    try:
        n_workers = max(1, sum(client.nthreads().values()))
        limit = 2 * n_workers
        pending: dict[Any, tuple[str, str]] = {}
        for key, scan in jobs:
            fut = client.submit(_score_one, scan, overlays, params, pure=False)
            pending[fut] = (key, scan.path or "")
            while len(pending) >= limit:
                for f in wait(list(pending), return_when="FIRST_COMPLETED").done:
                    key_, file = pending.pop(f)
                    record(key_, _outcome(f, file))
        while pending:
            for f in wait(list(pending), return_when="FIRST_COMPLETED").done:
                key_, file = pending.pop(f)
                record(key_, _outcome(f, file))
    finally:
        if own:
            client.close()
