"""Score a whole cohort: every study found scored once, results streamed to CSV files.

``results.csv`` (one row per study), ``lesions.csv`` (one row per lesion) and
``failures.csv`` (file, reason) are written row by row, each row flushed and fsynced as soon
as its study is done, so that a crash, Ctrl-C or ``kill -9`` loses nothing. A ledger beside
``results.csv`` (``<name>.done``) records every study scored: its key
(:func:`mibgscore.io.keys.study_key`, the key the web application uses too) and the SHA-256
of its files' bytes; a re-run skips those studies and scores the rest, and scores again a
study whose file changed. Each row of ``results.csv`` names the segment tables and the lesion
model that scored it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme
from mibgscore.errors import InputError, MibgscoreError
from mibgscore.io.keys import study_key
from mibgscore.io.tables import formula_safe, safe_row, unescape_cell
from mibgscore.report.naming import overlay_name
from mibgscore.validation._helpers import Progress, bundled_scheme_names, resolve_schemes
from mibgscore.validation.readings import METADATA_COLUMNS

if TYPE_CHECKING:
    from mibgscore.pipeline import ScoreParams

logger = logging.getLogger(__name__)

PROVENANCE_COLUMNS: tuple[str, ...] = METADATA_COLUMNS
"""Last columns of results.csv: the segment tables (their names) and the lesion model
(``ScoreResult.model``) that scored the study."""

_LEGACY_RESULT_COLUMNS: tuple[str, ...] = (
    "patient_id", "study_date", "study_uid", "file", *SIOPEN_KEYS, "siopen_total",
    *(f"curie_{k}" for k in CURIE_KEYS), "curie_total", "warnings",
)
RESULT_COLUMNS: tuple[str, ...] = (*_LEGACY_RESULT_COLUMNS, *PROVENANCE_COLUMNS)
"""Columns of results.csv, in order: the wide form of the reference readings, then what
scored the study. Files written before the last five columns existed are upgraded in place
when a batch resumes them."""

LESION_COLUMNS: tuple[str, ...] = ("study_uid", "file", "segment", "kind", "row", "col",
                                   "fraction", "confidence")
FAILURE_COLUMNS: tuple[str, ...] = ("file", "reason")
_LEDGER_COLUMNS = ("key", "study_uid", "file", "files_sha256")
_LEGACY_LEDGER_COLUMNS = ("key", "study_uid", "file")
_LEGACY = {RESULT_COLUMNS: _LEGACY_RESULT_COLUMNS, _LEDGER_COLUMNS: _LEGACY_LEDGER_COLUMNS}


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


def files_sha256(scan: Any) -> str:
    """SHA-256 (hex) of the bytes of the files a scan was read from, in name order.

    Empty when the views did not come from plain files (zip members): the study key, which
    holds the pixels, then tells a changed study apart.
    """
    files = sorted({src.file for src in scan.sources.values()} if scan.sources else
                   ({scan.path} if scan.path else set()))
    h = hashlib.sha256()
    hashed = False
    for name in files:
        p = Path(name)
        if p.is_file():
            with p.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            hashed = True
    return h.hexdigest() if hashed else ""


def _score_one(scan: Any, overlay_dir: str | None, params: ScoreParams | None = None,
               siopen_scheme: SegmentScheme | None = None,
               curie_scheme: SegmentScheme | None = None) -> dict[str, Any]:
    """Score one scan (in a worker process); never raises for a bad scan."""
    file = scan.path or ""
    try:
        from mibgscore.pipeline import ScoreParams, score

        siopen_scheme, curie_scheme = resolve_schemes(siopen_scheme, curie_scheme)
        result = score(scan, params=params if params is not None else ScoreParams(),
                       siopen_scheme=siopen_scheme, curie_scheme=curie_scheme)
        overlay = None
        if overlay_dir:
            from mibgscore.report.overlay import render_overlay

            target = Path(overlay_dir) / overlay_name(file, scan.study.study_uid)
            render_overlay(scan, result, target, schemes=(siopen_scheme, curie_scheme))
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
    row["siopen_scheme"] = siopen_scheme.name
    row["curie_scheme"] = curie_scheme.name
    row["model_name"] = result.model.name
    row["model_version"] = result.model.version
    row["model_sha256"] = result.model.sha256
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
        for row in rows:  # patient IDs, file names, reasons: formula-safe for spreadsheets
            writer.writerow(safe_row(row))
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
        pair = (formula_safe(study_uid), formula_safe(file))  # as written
        rows = [r for r in _read_rows(self.path)
                if (r.get("study_uid", ""), r.get("file", "")) != pair]
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


def _header(path: Path) -> tuple[str, ...] | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        return tuple(next(csv.reader(fh), []))


def _check_header(path: Path, columns: tuple[str, ...]) -> None:
    """Refuse to append to (or clean up) a CSV file that another program wrote."""
    header = _header(path)
    if header is not None and header != columns:
        raise InputError(f"exists with other columns ({', '.join(header[:4])}...); choose "
                         "another --out or move it away.", path=path)


def _upgrade(path: Path, columns: tuple[str, ...]) -> None:
    """Rewrite a file of an earlier batch (fewer columns) with today's columns, blanks added."""
    legacy = _LEGACY.get(columns)
    if legacy is not None and _header(path) == legacy:
        logger.info("adding columns %s to %s", ", ".join(columns[len(legacy):]), path.name)
        _rewrite(path, columns, _read_rows(path))


def _recover(results: Path, lesions: Path, ledger: Path
             ) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(key, files_sha256) and (study_uid, file) pairs already done; drop rows a kill left
    unfinished."""
    for path, columns in ((results, RESULT_COLUMNS), (lesions, LESION_COLUMNS),
                          (ledger, _LEDGER_COLUMNS)):
        _upgrade(path, columns)
        _check_header(path, columns)
    done_rows = _read_rows(ledger)
    done = {(r["key"], r.get("files_sha256") or "") for r in done_rows if r.get("key")}
    known = {(unescape_cell(r.get("study_uid", "")), unescape_cell(r.get("file", "")))
             for r in done_rows}
    for path, columns in ((results, RESULT_COLUMNS), (lesions, LESION_COLUMNS)):
        rows = _read_rows(path)
        keep = [r for r in rows if (unescape_cell(r.get("study_uid", "")),
                                    unescape_cell(r.get("file", ""))) in known]
        if len(keep) != len(rows):
            logger.info("dropping %d unfinished rows from %s", len(rows) - len(keep), path.name)
            _rewrite(path, columns, keep)
    return done, known


def _check_schemes(results: Path, siopen: SegmentScheme, curie: SegmentScheme) -> None:
    """Refuse to add studies scored with other segment tables to a results.csv."""
    bundled = bundled_scheme_names()
    wanted = (siopen.name, curie.name)
    for row in _read_rows(results):
        used = (row.get("siopen_scheme") or bundled["siopen"],
                row.get("curie_scheme") or bundled["curie"])
        if used != wanted:
            raise InputError(f"holds studies scored with the segment tables {used[0]} and "
                             f"{used[1]}, not {wanted[0]} and {wanted[1]}; choose another "
                             "--out or give the same --segments.", path=results)


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
                 force: bool = False, params: ScoreParams | None = None,
                 siopen_scheme: SegmentScheme | str | os.PathLike | None = None,
                 curie_scheme: SegmentScheme | str | os.PathLike | None = None,
                 progress: Progress | None = None) -> BatchSummary:
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
        Write an overlay PNG of every study there (named by
        :func:`mibgscore.report.naming.overlay_name`).
    force : bool
        Score studies whose tracer is not MIBG (passed to the reader).
    params : ScoreParams, optional
        Options of :func:`mibgscore.pipeline.score` (the lesion stage, say); its defaults
        when not given.
    siopen_scheme, curie_scheme : SegmentScheme, str or path, optional
        Segment tables (as :func:`mibgscore.pipeline.score` takes them); the bundled ones by
        default. Every worker scores with them, and results.csv names them.
    progress : callable, optional
        ``progress(done, total)``, called in this process as each input is handled: inputs
        handled and the estimated number of inputs (the files found; the last call has
        ``done == total``).

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        ``out`` exists with other columns or holds studies scored with other segment tables,
        Dask is asked for but not installed, or ``params`` asks for the learned lesion stage
        without it installed.
    SchemeError
        A segment table is inconsistent or does not define the contract's keys.
    """
    from mibgscore.io.read import iter_scans
    from mibgscore.pipeline import ScoreParams, lesion_method

    params = params if params is not None else ScoreParams()
    try:
        lesion_method(params)
    except ValueError as exc:
        raise InputError(f"lesion stage: {exc}") from None
    siopen, curie = resolve_schemes(siopen_scheme, curie_scheme)

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

    done, known = _recover(results_path, lesions_path, ledger_path)
    _check_schemes(results_path, siopen, curie)
    if overlays:
        Path(overlays).mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(results=str(results_path), lesions=str(lesions_path),
                           failures=str(failures_path), overlay_dir=overlays)
    sinks = {
        "results": _Sink(results_path, RESULT_COLUMNS),
        "lesions": _Sink(lesions_path, LESION_COLUMNS),
        "failures": _Sink(failures_path, FAILURE_COLUMNS, fresh=True),
        "ledger": _Sink(ledger_path, _LEDGER_COLUMNS),
    }
    counter = _Counter(_count_inputs(inputs), progress)
    work = (overlays, params, siopen, curie)

    def record(entry: tuple[str, str], outcome: dict[str, Any]) -> None:
        if outcome["ok"]:
            pair = (outcome["row"]["study_uid"], outcome["row"]["file"])
            if pair in known:  # same study and file, new bytes: replace its rows
                sinks["results"].drop(*pair)
                sinks["lesions"].drop(*pair)
            sinks["results"].write([outcome["row"]])
            if outcome["lesions"]:
                sinks["lesions"].write(outcome["lesions"])
            sinks["ledger"].write([{"key": entry[0], "study_uid": outcome["row"]["study_uid"],
                                    "file": outcome["row"]["file"], "files_sha256": entry[1]}])
            summary.scored += 1
            logger.info("study %s scored", entry[0][:8])
        else:
            fail(outcome["file"], outcome["reason"])
        counter.step()

    def fail(file: str, reason: str) -> None:
        sinks["failures"].write([{"file": file, "reason": reason}])
        summary.failed += 1
        summary.failure_reasons.append((file, reason))

    def jobs() -> Iterator[tuple[tuple[str, str], Any]]:
        for item in iter_scans(inputs, force=force, allow_single_view=True):
            if isinstance(item, InputError):
                fail(item.path or "", item.reason)
                counter.step()
                continue
            entry = (study_key(item), files_sha256(item))
            if entry in done:
                summary.skipped += 1
                counter.step()
                continue
            done.add(entry)
            yield entry, item

    try:
        if scheduler is not None:
            _run_dask(jobs(), scheduler, work, record)
        elif (workers or os.cpu_count() or 1) <= 1:
            for entry, scan in jobs():
                record(entry, _score_one(scan, *work))
        else:
            _run_pool(jobs(), workers or os.cpu_count() or 1, work, record)
    finally:
        counter.finish()
        for sink in sinks.values():
            sink.close()
    summary.seconds = time.perf_counter() - start
    logger.info("batch: %d scored, %d skipped, %d failed in %.1f s", summary.scored,
                summary.skipped, summary.failed, summary.seconds)
    return summary


class _Counter:
    """Inputs handled, told to a progress callback; the total is the estimate until the end."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done = 0
        self.total = total
        self.progress = progress
        if progress is not None:
            progress(0, total)

    def step(self) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        if self.progress is not None:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        """The file count was an estimate of the study count: end at done == total."""
        if self.progress is not None and self.done and self.total != self.done:
            self.total = self.done
            self.progress(self.done, self.total)


def _run_pool(jobs: Iterator[tuple[tuple[str, str], Any]], workers: int, work: tuple,
              record) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods()
                             else "spawn")
    limit = 2 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        pending: dict[Any, tuple[tuple[str, str], str]] = {}
        for entry, scan in jobs:
            pending[pool.submit(_score_one, scan, *work)] = (entry, scan.path or "")
            while len(pending) >= limit:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    entry_, file = pending.pop(fut)
                    record(entry_, _outcome(fut, file))
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                entry_, file = pending.pop(fut)
                record(entry_, _outcome(fut, file))


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the batch process ends, even by ``kill -9``.

    On Linux the kernel sends SIGKILL when the worker's parent (the pool's fork server) exits,
    which it does once the batch process is gone (``prctl(PR_SET_PDEATHSIG)``); everywhere, a
    watchdog thread checks every second that ``parent_pid`` still lives.
    """
    import signal
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, under another user: not ours to judge
                pass
            if os.getppid() == 1:
                os._exit(1)

    threading.Thread(target=watch, name="mibgscore-parent-watch", daemon=True).start()


def _outcome(fut, file: str) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # the worker died (out of memory, killed)
        return {"ok": False, "file": file, "reason": f"worker failed ({type(exc).__name__}: "
                                                   f"{exc})"}


def _run_dask(jobs: Iterator[tuple[tuple[str, str], Any]], scheduler: str | Any, work: tuple,
              record) -> None:
    try:
        from dask.distributed import Client, wait
    except ImportError as exc:
        raise InputError("--scheduler needs Dask: pip install 'mibgscore[dask]'.") from exc
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    try:
        n_workers = max(1, sum(client.nthreads().values()))
        limit = 2 * n_workers
        pending: dict[Any, tuple[tuple[str, str], str]] = {}
        for entry, scan in jobs:
            fut = client.submit(_score_one, scan, *work, pure=False)
            pending[fut] = (entry, scan.path or "")
            while len(pending) >= limit:
                for f in wait(list(pending), return_when="FIRST_COMPLETED").done:
                    entry_, file = pending.pop(f)
                    record(entry_, _outcome(f, file))
        while pending:
            for f in wait(list(pending), return_when="FIRST_COMPLETED").done:
                entry_, file = pending.pop(f)
                record(entry_, _outcome(f, file))
    finally:
        if own:
            client.close()
