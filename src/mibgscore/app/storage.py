"""Where studies live: database sessions, the data folder, and each study's files.

A study's folder is ``studies/<key>/`` with ``dicom/NNN.dcm`` (the imported files, as sent),
``views.npz`` (float32 counts per view, anterior orientation) and, once scored, ``maps.npz``
(the segment maps and the lesion mask, uint8).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mibgscore.app.db import Study
from mibgscore.app.schemes import Schemes
from mibgscore.app.settings import AppSettings
from mibgscore.errors import ServiceError
from mibgscore.io.keys import study_key

logger = logging.getLogger(__name__)

MAP_NAMES = ("siopen_map", "curie_map", "lesion_mask")
"""The maps kept of a scored study (``maps.npz``)."""

_CACHED_SCANS = 8
_CACHED_VIEWS = 64


@dataclass
class Store:
    """Database sessions, the data folder, the segment tables in use and a few cached scans."""

    settings: AppSettings
    sessions: sessionmaker
    schemes: Schemes = field(default_factory=Schemes.load)
    _scans: OrderedDict = field(default_factory=OrderedDict)
    _views: OrderedDict = field(default_factory=OrderedDict)
    _making: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self) -> Session:
        return self.sessions()

    def study_dir(self, study: Study) -> Path:
        return self.settings.studies_dir / study.key

    def scan(self, study: Study):
        """The study's Scan, read again from its stored DICOM files when not cached."""
        with self._lock:
            if study.key in self._scans:
                self._scans.move_to_end(study.key)
                return self._scans[study.key]
        scan = read_stored_scan(self.study_dir(study))
        if scan is None:
            raise ServiceError("the stored DICOM files of this study cannot be read again.",
                               500, "storage")
        self.remember(study.key, scan)
        return scan

    def remember(self, key: str, scan) -> None:
        with self._lock:
            self._scans[key] = scan
            self._scans.move_to_end(key)
            while len(self._scans) > _CACHED_SCANS:
                self._scans.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._scans.pop(key, None)
            for k in [k for k in self._views if k[0] == key]:
                del self._views[k]

    def encoded_view(self, study_id: int, view: str, dtype: str) -> EncodedView:
        """One view's bytes, raw and gzip-compressed, made once and kept (a few dozen views).

        ``dtype`` ``"uint16"`` gives uint16 counts when every count is a whole number from 0
        to 65535 (half the bytes of float32), else float32; ``"float32"`` always float32.
        """
        with self.session() as s:
            key = get_study(s, study_id).key
        with self._lock:
            hit = self._views.get((key, view, dtype))
            if hit is not None:
                self._views.move_to_end((key, view, dtype))
                return hit
            making = self._making.setdefault((key, view, dtype), threading.Lock())
        with making:  # one thread encodes a view; the others asking for it wait for it
            with self._lock:
                hit = self._views.get((key, view, dtype))
            if hit is not None:
                return hit
            encoded = self._encode(study_id, view, dtype, key)
            with self._lock:
                self._views[(key, view, dtype)] = encoded
                self._making.pop((key, view, dtype), None)
                while len(self._views) > _CACHED_VIEWS:
                    self._views.popitem(last=False)
            return encoded

    def _encode(self, study_id: int, view: str, dtype: str, key: str) -> EncodedView:
        arr = view_pixels(self, study_id, view)
        if dtype == "uint16" and arr.size and np.all(arr >= 0) and np.all(arr <= 65535) \
                and np.array_equal(arr, np.round(arr)):
            out = np.ascontiguousarray(arr, dtype="<u2")
        else:
            out = arr
        raw = out.tobytes()
        return EncodedView(raw, gzip.compress(raw, compresslevel=6, mtime=0),
                           "uint16" if out.dtype.itemsize == 2 else "float32",
                           int(out.shape[0]), int(out.shape[1]),
                           hashlib.sha256(f"{key}/{view}/{dtype}".encode()).hexdigest()[:32])


@dataclass(frozen=True)
class EncodedView:
    """A view ready to send: raw little-endian bytes, their gzip, dtype, shape and ETag."""

    raw: bytes
    gzipped: bytes
    dtype: str
    rows: int
    cols: int
    etag: str


def read_stored_scan(folder: Path):
    """The Scan of a study folder's ``dicom/`` files, or None when they cannot be read."""
    from mibgscore.io.read import iter_scans

    dicom = folder / "dicom"
    files = sorted(dicom.iterdir()) if dicom.is_dir() else []
    for item in iter_scans(files):
        if not isinstance(item, Exception):
            return item
    return None


def get_study(s: Session, study_id: int) -> Study:
    """The study ``study_id``; ServiceError 404 when there is none (or the number is beyond
    what the database can hold)."""
    if not 0 < study_id < 2**63:
        raise ServiceError("no such study.", 404, "not_found")
    study = s.get(Study, study_id)
    if study is None:
        raise ServiceError("no such study.", 404, "not_found")
    return study


# --- a study's files ---------------------------------------------------------------------------

def save_study_files(store: Store, key: str, scan, sources: list[str],
                     open_source: Callable[[str], IO[bytes]]) -> list[str]:
    """Copy the study's DICOM files and save its views; return the names of the views saved.

    ``sources`` are the labels of the files the scan was read from (a path, or
    ``archive.zip!member``); ``open_source(label)`` opens one for reading.
    """
    folder = store.settings.studies_dir / key / "dicom"
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    for i, label in enumerate(sources):
        with open_source(label) as src, _private(folder / f"{i:03d}.dcm") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    views = dict(scan.views.items())
    with _private(folder.parent / "views.npz") as fh:
        np.savez_compressed(fh, **views)
    return sorted(views)


def _private(path: Path) -> IO[bytes]:
    """A new file open for writing, readable by this user only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def save_maps(store: Store, study: Study, evidence) -> None:
    """Keep the segment maps and the lesion mask of a scoring (uint8, anterior frame)."""
    maps = {}
    for name in MAP_NAMES:
        arr = getattr(evidence, name, None) if evidence is not None else None
        if arr is not None:
            maps[name] = np.asarray(arr).astype(np.uint8)
    if maps:
        with _private(store.study_dir(study) / "maps.npz") as fh:
            np.savez_compressed(fh, **maps)


def remove_study_files(store: Store, key: str) -> None:
    shutil.rmtree(store.settings.studies_dir / key, ignore_errors=True)
    store.forget(key)


def views_present(store: Store, study: Study) -> list[str]:
    path = store.study_dir(study) / "views.npz"
    if not path.exists():
        return []
    with np.load(path) as z:
        return [v for v in ("anterior", "posterior") if v in z.files]


def maps_present(store: Store, study: Study) -> list[str]:
    path = store.study_dir(study) / "maps.npz"
    if not path.exists():
        return []
    with np.load(path) as z:
        return list(z.files)


def load_maps(store: Store, study: Study) -> dict[str, np.ndarray] | None:
    """The study's saved maps by name, or None before it is scored."""
    path = store.study_dir(study) / "maps.npz"
    if not path.exists():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def view_pixels(store: Store, study_id: int, view: str) -> np.ndarray:
    """One view, float32 counts, in the anterior orientation (posterior mirrored)."""
    with store.session() as s:
        study = get_study(s, study_id)
    path = store.study_dir(study) / "views.npz"
    with np.load(path) as z:
        if view not in z.files:
            raise ServiceError(f"this study has no {view} view.", 404, "not_found")
        return np.ascontiguousarray(z[view], dtype="<f4")


def map_pixels(store: Store, study_id: int, name: str) -> np.ndarray:
    """A segment map or the lesion mask, uint8, anterior orientation."""
    with store.session() as s:
        study = get_study(s, study_id)
    path = store.study_dir(study) / "maps.npz"
    if not path.exists():
        raise ServiceError("this study has no maps.", 404, "not_found")
    with np.load(path) as z:
        if name not in z.files:
            raise ServiceError(f"this study has no {name}.", 404, "not_found")
        return np.ascontiguousarray(z[name], dtype=np.uint8)


# --- study keys --------------------------------------------------------------------------------

KEY_LENGTH = 64
"""A study key is ``mibgscore.io.keys.study_key``: SHA-256 hex, all 64 characters stored."""


def rekey_old_studies(store: Store) -> int:
    """Give studies imported under the former 16-character key their ``study_key``.

    Their stored DICOM files are read again and the study folder renamed, so that importing the
    same study again finds it. A study whose files cannot be read keeps its old key. Returns
    the number of studies re-keyed.
    """
    with store.session() as s:
        old = [(st.id, st.key) for st in s.scalars(
            select(Study).where(func.length(Study.key) != KEY_LENGTH))]
    done = 0
    for study_id, key in old:
        folder = store.settings.studies_dir / key
        scan = read_stored_scan(folder)
        if scan is None:
            logger.warning("study %s keeps its old key: its files cannot be read", key[:8])
            continue
        new = study_key(scan)
        with store.session() as s, s.begin():
            if s.scalar(select(Study.id).where(Study.key == new)) is not None:
                logger.warning("study %s keeps its old key: study %s is the same study",
                               key[:8], new[:8])
                continue
            s.get(Study, study_id).key = new
            s.flush()
            if folder.exists():  # last: a failed rename rolls the key back
                folder.rename(store.settings.studies_dir / new)
        store.forget(key)
        done += 1
    if done:
        logger.info("%d studies re-keyed with SHA-256 study keys", done)
    return done
