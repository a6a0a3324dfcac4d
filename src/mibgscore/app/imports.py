"""Imports: uploaded files, folders and zips, and a watched folder, read as `mibgscore` reads.

What was sent goes to ``mibgscore.io.read.iter_scans``, the command line's reader, unchanged:
folders walked, .zip archives opened (members read in memory, never written out under their
own names), DICOMDIRs followed, files without the DICOM preamble accepted, obvious non-DICOM
files skipped. The web application adds only limits (what the zips of one import unpack to,
and their member count), safe file names, and a copy of each new study's files in the data
folder.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from mibgscore.app.db import Event, Study
from mibgscore.app.security import BoundedPool
from mibgscore.app.storage import Store, save_study_files
from mibgscore.errors import MibgscoreError, ServiceError
from mibgscore.io.keys import study_key

logger = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """What an import did: new study ids, studies already there, files refused (one line each)."""

    imported: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "duplicates": self.duplicates, "errors": self.errors}


def safe_name(filename: str | None, fallback: str) -> str:
    """The last part of a sent file name, as a name only (never a path) to save it under.

    Either slash separates parts; control characters go; ``!`` (which separates an archive
    from its member in the reader's file labels) becomes ``_``; ``.`` and ``..`` become
    ``fallback``.
    """
    parts = safe_parts(filename)
    return parts[-1] if parts else fallback


def safe_parts(filename: str | None) -> list[str]:
    """The folders and name of a sent file name (a folder upload sends ``CD/DICOM/IM1``), each
    made safe as in :func:`safe_name`; empty, ``.`` and ``..`` parts are dropped, so the parts
    never climb out of the folder they are saved in."""
    out = []
    for part in re.split(r"[\\/]", filename or ""):
        part = "".join(c for c in part if c.isprintable()).replace("!", "_").strip()[:200]
        if part not in ("", ".", ".."):
            out.append(part)
    return out[-_MAX_DEPTH:]


_MAX_DEPTH = 12


def check_archives(files: Sequence[tuple[str, Path]], *, max_bytes: int, max_zip_files: int
                   ) -> tuple[list[Path], list[str]]:
    """The files and folders to read, without the zips over the limits; one error line per zip
    refused (a zip inside a sent folder is deleted from it: the folder is a working copy).

    ``max_bytes`` caps what the zips together unpack to (the members' recorded sizes: the
    zip module reads no further than them); ``max_zip_files`` the members of one zip.
    """
    keep: list[Path] = []
    errors: list[str] = []
    total = 0
    for name, path in files:
        inner = sorted(p for p in path.rglob("*") if p.is_file() and zipfile.is_zipfile(p)) \
            if path.is_dir() else [path] if zipfile.is_zipfile(path) else []
        refused = False
        for archive in inner:
            label = name if archive == path else f"{name}/{archive.relative_to(path)}"
            error, size = _zip_over_limits(archive, label, total, max_bytes, max_zip_files)
            if error is None:
                total += size
                continue
            errors.append(error)
            if archive == path:
                refused = True
            else:
                archive.unlink()
        if not refused:
            keep.append(path)
    return keep, errors


def _zip_over_limits(path: Path, label: str, total: int, max_bytes: int, max_zip_files: int
                     ) -> tuple[str | None, int]:
    """An error line when the zip holds too many members, or unpacks to more than is left of
    ``max_bytes`` after ``total``; and what it unpacks to."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError):
        return None, 0  # the reader says what is wrong with it
    if len(members) > max_zip_files:
        return (f"{label}: holds {len(members)} files; at most {max_zip_files} are accepted "
                "in one zip."), 0
    size = sum(m.file_size for m in members)
    if total + size > max_bytes:
        return (f"{label}: unpacks to {size / 2**20:.0f} MiB, over the upload limit of "
                f"{max_bytes / 2**20:.0f} MiB."), 0
    return None, size


def source_opener(inputs: Sequence[Path]) -> Callable[[str], IO[bytes]]:
    """``open(label)`` for the file labels of scans read from ``inputs``: a path, or
    ``archive.zip!member`` for a member of a zip that is an input or lies in one."""
    roots = [p.resolve() for p in inputs]

    def open_source(label: str) -> IO[bytes]:
        at = label.find("!")
        while at > 0:
            archive = Path(label[:at])
            if archive.is_file() and zipfile.is_zipfile(archive) and any(
                    archive.resolve().is_relative_to(r) for r in roots):
                with zipfile.ZipFile(archive) as zf:
                    return io.BytesIO(zf.read(label[at + 1:]))
            at = label.find("!", at + 1)
        return open(label, "rb")  # noqa: SIM115 - the caller closes it

    return open_source


def import_files(store: Store, paths: list[Path], user_id: int | None) -> ImportReport:
    """Read files and zips into studies (one per scan found) and keep a copy of their files."""
    from mibgscore.io.read import iter_scans

    report = ImportReport()
    open_source = source_opener(paths)
    for item in iter_scans(paths):
        if isinstance(item, MibgscoreError):
            report.errors.append(str(item))
        elif isinstance(item, Exception):
            report.errors.append(f"a file could not be read ({type(item).__name__}).")
        else:
            _import_scan(store, item, user_id, report, open_source)
    return report


def _import_scan(store: Store, scan, user_id: int | None, report: ImportReport,
                 open_source: Callable[[str], IO[bytes]]) -> None:
    key = study_key(scan)
    with store.session() as s, s.begin():
        existing = s.scalar(select(Study).where(Study.key == key))
        if existing is not None:
            report.duplicates.append(existing.id)
            return
        sources = sorted({src.file for src in scan.sources.values()} or
                         ({scan.path} if scan.path else set()))
        views = save_study_files(store, key, scan, sources, open_source)
        study = _study_row(key, scan, user_id)
        s.add(study)
        s.flush()
        s.add(Event(study_id=study.id, user_id=user_id, action="import",
                    detail={"views": views}, version=1))
        report.imported.append(study.id)
        logger.info("study %s imported", key[:8])
    store.remember(key, scan)


def _study_row(key: str, scan, user_id: int | None) -> Study:
    p, st = scan.patient, scan.study
    return Study(
        key=key, study_uid=st.study_uid, patient_id=p.patient_id, patient_name=p.name,
        birth_date=p.birth_date.isoformat() if p.birth_date else None, sex=p.sex,
        age_years=_age(scan), study_date=st.study_date.isoformat() if st.study_date else None,
        description=st.description, rows=int(scan.shape[0]), cols=int(scan.shape[1]),
        spacing_row_mm=float(scan.spacing_mm[0]), spacing_col_mm=float(scan.spacing_mm[1]),
        assumptions=list(scan.assumptions), status="new", imported_by=user_id)


def _age(scan) -> float | None:
    p = scan.patient
    if p.age_years is not None:
        return float(p.age_years)
    if p.birth_date and scan.study.study_date:
        return round((scan.study.study_date - p.birth_date).days / 365.25, 1)
    return None


class Importer:
    """Imports into one store within the settings' limits, then hands new studies to scoring."""

    def __init__(self, store: Store, submit: Callable[[int], None]) -> None:
        self.store = store
        self.settings = store.settings
        self.submit = submit
        self.pool = BoundedPool(self.settings.import_workers, self.settings.import_queue,
                                "imports")

    async def import_in_pool(self, files: list[tuple[str, Path]], user_id: int | None
                             ) -> ImportReport:
        """:meth:`import_paths` in the bounded import pool, off the event loop (reading,
        decoding and checking a study takes seconds); BusyError (503) when it is full."""
        report = await self.pool.run(self.import_paths, files, user_id)
        if report.errors and not report.imported and not report.duplicates:
            raise ServiceError(" ".join(report.errors[:5]) + (
                f" (and {len(report.errors) - 5} more)" if len(report.errors) > 5 else ""),
                422, "refused", extra=report.to_dict())
        return report

    @property
    def max_bytes(self) -> int:
        return int(self.settings.max_upload_mb * 2**20)

    def import_paths(self, files: list[tuple[str, Path]], user_id: int | None, *,
                     keep: bool = False) -> ImportReport:
        """Import ``(name, path)`` files; with ``keep``, copies are read and the originals are
        left for the caller to move."""
        with (tempfile.TemporaryDirectory(dir=self.settings.data_dir) if keep
              else contextlib.nullcontext()) as tmp:
            if keep:
                files = [(name, _copy_in(p, Path(tmp) / f"{i:05d}", name))
                         for i, (name, p) in enumerate(files)]
            paths, errors = check_archives(files, max_bytes=self.max_bytes,
                                           max_zip_files=self.settings.max_zip_files)
            report = import_files(self.store, paths, user_id) if paths else ImportReport()
            report.errors = errors + report.errors
        for sid in report.imported:
            self.submit(sid)
        return report

    async def save_uploads(self, items: list, folder: Path) -> list[tuple[str, Path]]:
        """Write uploaded files into ``folder``, stopping with ServiceError 413 once they pass
        the upload limit; return what to import: ``(name, path)`` of each file sent alone, and
        of each folder sent (files named ``folder/.../name``, kept in their folders, so a
        DICOMDIR's references hold)."""
        files: list[tuple[str, Path]] = []
        roots: set[str] = set()
        total = 0
        for i, f in enumerate(items):
            parts = safe_parts(f.filename) or [f"file{i}"]
            if len(parts) > 1:
                root = folder / "folders" / parts[0]
                path = root.joinpath(*parts[1:])
                if parts[0] not in roots:
                    roots.add(parts[0])
                    files.append((parts[0], root))
            else:
                path = folder / f"{i:05d}" / parts[0]
                files.append((parts[0], path))
            try:
                if path.exists() or not path.resolve().is_relative_to(folder.resolve()):
                    raise FileExistsError(path)
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:  # a name sent twice, or both as a file and as a folder
                raise ServiceError(f"{'/'.join(parts)}: this file name is sent twice.") from None
            with path.open("wb") as out:
                while chunk := await f.read(1 << 20):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise ServiceError(f"the upload is over the limit of "
                                           f"{self.settings.max_upload_mb:.0f} MiB.", 413,
                                           "too_large")
                    out.write(chunk)
        return files


def _copy_in(path: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    target = folder / safe_name(name, "file")
    shutil.copyfile(path, target)
    return target


def watch_folder(importer: Importer, folder: Path, poll_seconds: float,
                 stop: threading.Event) -> threading.Thread:
    """Import the files that appear in ``folder`` (once unchanged for 2 s) until ``stop``;
    they are then moved to ``imported/``, or to ``failed/`` when nothing could be read."""

    def watch() -> None:
        while not stop.wait(poll_seconds):
            try:
                _import_folder_once(importer, folder)
            except Exception:  # the watcher must keep running
                logger.exception("import folder scan failed")

    thread = threading.Thread(target=watch, name="mibgscore-import", daemon=True)
    thread.start()
    return thread


def _import_folder_once(importer: Importer, folder: Path) -> None:
    """Import what lies in ``folder``; each file refused (one that crashed the pixel decoder
    included) goes to ``failed/`` with ``<name>.txt`` saying why, so it is never read again;
    the others go to ``imported/``."""
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
             and time.time() - p.stat().st_mtime > 2.0]
    if not files:
        return
    try:
        report = importer.import_paths([(p.name, p) for p in files], None, keep=True)
    except MibgscoreError as exc:  # the whole import refused (the data folder is full, say)
        report = ImportReport(errors=[f"{p.name}: {exc}" for p in files])
    for p in files:
        why = [e for e in report.errors if e.startswith((f"{p.name}: ", f"{p.name}!",
                                                         f"{p.name}/"))]
        target = folder / ("failed" if why and not report.imported or
                           why and not _contributed(p, report) else "imported")
        target.mkdir(exist_ok=True)
        p.replace(target / p.name)
        if target.name == "failed":
            (target / f"{p.name}.txt").write_text("\n".join(why) + "\n", encoding="utf-8")
    logger.info("import folder: %d imported, %d refused", len(report.imported),
                len(report.errors))


def _contributed(path: Path, report: ImportReport) -> bool:
    """Whether a zip may hold an imported study beside its refused members (a DICOM file
    with an error of its own did not)."""
    return zipfile.is_zipfile(path) and bool(report.imported)
