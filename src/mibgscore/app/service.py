"""The reading workflow as functions over the database: import, scoring, edits, sign-off, follow-up.

Every function takes a ``Store`` (database sessions plus the data folder) and returns plain data;
the routes only translate HTTP to these calls. Errors a person can act on are ``ServiceError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.app.db import LOCKED, Event, Study, User, utcnow
from mibgscore.app.settings import AppSettings
from mibgscore.errors import MibgscoreError
from mibgscore.grading.rules import response

logger = logging.getLogger(__name__)

GRADE_MAX = {"siopen": 6, "curie": 3}
KEYS = {"siopen": SIOPEN_KEYS, "curie": CURIE_KEYS}


class ServiceError(Exception):
    """An error the user can act on, with its HTTP status and a machine-readable code."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_request",
                 extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.extra = extra or {}


def study_log_key(study: Study) -> str:
    """Short key for log lines (never a patient attribute)."""
    return study.key[:8]


@dataclass
class Store:
    """Database sessions and the data folder."""

    settings: AppSettings
    sessions: sessionmaker
    _scans: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self) -> Session:
        return self.sessions()

    def study_dir(self, study: Study) -> Path:
        return self.settings.studies_dir / study.key

    # --- cached scans -------------------------------------------------------------------
    def scan(self, study: Study):
        """The study's Scan, read again from its stored DICOM files when not cached."""
        with self._lock:
            if study.key in self._scans:
                self._scans.move_to_end(study.key)
                return self._scans[study.key]
        from mibgscore.io.read import iter_scans

        files = sorted((self.study_dir(study) / "dicom").iterdir())
        scan = None
        for item in iter_scans(files):
            if not isinstance(item, Exception):
                scan = item
                break
        if scan is None:
            raise ServiceError("the stored DICOM files of this study cannot be read again.",
                               500, "storage")
        self.remember(study.key, scan)
        return scan

    def remember(self, key: str, scan) -> None:
        with self._lock:
            self._scans[key] = scan
            self._scans.move_to_end(key)
            while len(self._scans) > 8:
                self._scans.popitem(last=False)


# --- users -------------------------------------------------------------------------------------

def add_user(store: Store, username: str, password: str, role: str = "reader",
             language: str = "en") -> User:
    """Create a user (or reset the password, role and language of an existing one)."""
    from mibgscore.app.security import ROLES, hash_password

    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ServiceError("a user name is 1-80 characters without spaces.")
    if role not in ROLES:
        raise ServiceError(f"role {role!r} is not one of {', '.join(ROLES)}.")
    if len(password) < 8:
        raise ServiceError("a password needs at least 8 characters.")
    if language not in ("en", "fr"):
        raise ServiceError("language must be en or fr.")
    with store.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, password_hash=hash_password(password), role=role,
                        language=language)
            s.add(user)
        else:
            user.password_hash = hash_password(password)
            user.role = role
            user.language = language
            user.active = True
        s.flush()
        s.expunge(user)
    return user


def user_names(s: Session) -> dict[int, str]:
    return {u.id: u.username for u in s.scalars(select(User))}


# --- import ----------------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What an import did: new study ids, studies already there, files refused (one line each)."""

    imported: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "duplicates": self.duplicates, "errors": self.errors}


def unpack_upload(files: Iterable[tuple[str, Path]], work: Path, *, max_bytes: int,
                  max_zip_files: int) -> tuple[list[Path], list[str]]:
    """Turn uploaded files (zips opened) into a flat list of candidate DICOM files in ``work``.

    Member names are never used as paths (each is written as ``NNNNN.dcm``), so a zip cannot
    write outside ``work``; the uncompressed size of all members is capped at ``max_bytes``.
    """
    out: list[Path] = []
    errors: list[str] = []
    total = 0
    n = 0
    for name, path in files:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.infolist() if not m.is_dir()]
                if len(members) > max_zip_files:
                    errors.append(f"{name}: holds {len(members)} files; at most "
                                  f"{max_zip_files} are accepted in one zip.")
                    continue
                size = sum(m.file_size for m in members)
                if total + size > max_bytes:
                    errors.append(f"{name}: unpacks to {size / 2**20:.0f} MiB, over the "
                                  f"upload limit of {max_bytes / 2**20:.0f} MiB.")
                    continue
                for m in members:
                    base = Path(m.filename).name
                    if base.startswith(".") or base.lower() in ("dicomdir",):
                        continue
                    n += 1
                    target = work / f"{n:05d}.dcm"
                    with zf.open(m) as src, target.open("wb") as dst:
                        copied = 0
                        while chunk := src.read(1 << 20):
                            copied += len(chunk)
                            if copied > m.file_size + 1024:
                                break
                            dst.write(chunk)
                    total += m.file_size
                    out.append(target)
            continue
        with path.open("rb") as fh:
            head = fh.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            errors.append(f"{name}: not a DICOM file (no DICM marker) nor a zip.")
            continue
        n += 1
        target = work / f"{n:05d}.dcm"
        shutil.move(str(path), target)
        out.append(target)
    return out, errors


def _study_key(scan) -> str:
    ident = scan.study.study_uid or ""
    ident += "|" + (scan.study.series_uid or "")
    if not scan.study.study_uid:
        view = scan.anterior if scan.anterior is not None else scan.posterior
        ident += hashlib.sha1(np.ascontiguousarray(view).tobytes()).hexdigest()
    return hashlib.sha1(ident.encode()).hexdigest()[:16]


def _age(scan) -> float | None:
    p = scan.patient
    if p.age_years is not None:
        return float(p.age_years)
    if p.birth_date and scan.study.study_date:
        return round((scan.study.study_date - p.birth_date).days / 365.25, 1)
    return None


def import_files(store: Store, paths: list[Path], user_id: int | None) -> ImportReport:
    """Read DICOM files into studies (one per scan found); copy the files into the data folder."""
    from mibgscore.io.read import iter_scans

    report = ImportReport()
    for item in iter_scans(paths):
        if isinstance(item, MibgscoreError):
            report.errors.append(str(item))
            continue
        if isinstance(item, Exception):
            report.errors.append(f"a file could not be read ({type(item).__name__}).")
            continue
        scan = item
        key = _study_key(scan)
        with store.session() as s, s.begin():
            existing = s.scalar(select(Study).where(Study.key == key))
            if existing is not None:
                report.duplicates.append(existing.id)
                continue
            folder = store.settings.studies_dir / key / "dicom"
            folder.mkdir(parents=True, exist_ok=True)
            sources = sorted({src.file for src in scan.sources.values()} or
                             ({scan.path} if scan.path else set()))
            for i, src in enumerate(sources):
                shutil.copyfile(src, folder / f"{i:03d}.dcm")
            views = {k: v for k, v in scan.views.items()}
            np.savez_compressed(folder.parent / "views.npz", **views)
            p, st = scan.patient, scan.study
            study = Study(
                key=key, study_uid=st.study_uid, patient_id=p.patient_id, patient_name=p.name,
                birth_date=p.birth_date.isoformat() if p.birth_date else None, sex=p.sex,
                age_years=_age(scan),
                study_date=st.study_date.isoformat() if st.study_date else None,
                description=st.description, rows=int(scan.shape[0]), cols=int(scan.shape[1]),
                spacing_row_mm=float(scan.spacing_mm[0]), spacing_col_mm=float(scan.spacing_mm[1]),
                assumptions=list(scan.assumptions), status="new", imported_by=user_id)
            s.add(study)
            s.flush()
            s.add(Event(study_id=study.id, user_id=user_id, action="import",
                        detail={"views": sorted(views)}, version=1))
            report.imported.append(study.id)
            logger.info("study %s imported", key[:8])
        store.remember(key, scan)
    return report


# --- scoring ---------------------------------------------------------------------------------

def _default_scorer(scan):
    from mibgscore.pipeline import score

    return score(scan)


def score_study(store: Store, study_id: int, scorer: Callable | None = None) -> None:
    """Score one study and store the automatic grades (the reader's grades start from them)."""
    scorer = scorer or _default_scorer
    with store.session() as s, s.begin():
        study = s.get(Study, study_id)
        if study is None or study.status not in ("new", "scoring", "failed"):
            return
        study.status = "scoring"
    t0 = time.perf_counter()
    try:
        scan = store.scan(study)
        result = scorer(scan)
    except Exception as exc:  # a failed scoring must not stop the queue
        logger.exception("study %s: scoring failed", study_log_key(study))
        msg = str(exc) if isinstance(exc, MibgscoreError) else type(exc).__name__
        with store.session() as s, s.begin():
            st = s.get(Study, study_id)
            st.status = "failed"
            st.error = f"automatic scoring failed ({msg})."
        return
    auto = result.to_dict()
    ev = getattr(result, "evidence", None)
    maps = {}
    for name in ("siopen_map", "curie_map", "lesion_mask"):
        arr = getattr(ev, name, None) if ev is not None else None
        if arr is not None:
            maps[name] = np.asarray(arr).astype(np.uint8)
    if maps:
        np.savez_compressed(store.study_dir(study) / "maps.npz", **maps)
    with store.session() as s, s.begin():
        st = s.get(Study, study_id)
        st.auto = auto
        st.auto_siopen_total = int(auto["siopen"]["total"])
        st.siopen = dict(auto["siopen"]["segments"])
        st.curie = dict(auto["curie"]["segments"])
        st.scored_at = utcnow()
        st.status = "scored"
        st.error = None
        st.version += 1
        s.add(Event(study_id=st.id, user_id=None, action="scored",
                    detail={"siopen_total": st.auto_siopen_total,
                            "curie_total": int(auto["curie"]["total"]),
                            "seconds": round(time.perf_counter() - t0, 2)},
                    version=st.version))
    logger.info("study %s scored in %.1f s", study_log_key(study), time.perf_counter() - t0)


class ScoringQueue:
    """Scores studies one at a time in a background thread; reports progress per study."""

    def __init__(self, store: Store, scorer: Callable | None = None) -> None:
        import queue

        self.store = store
        self.scorer = scorer
        self._q: queue.Queue[int | None] = queue.Queue()
        self._pending: list[int] = []
        self._running: tuple[int, float] | None = None
        self._durations: list[float] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="mibgscore-scoring",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, study_id: int) -> None:
        with self._lock:
            if study_id in self._pending:
                return
            self._pending.append(study_id)
        self._q.put(study_id)

    def _work(self) -> None:
        while True:
            sid = self._q.get()
            if sid is None:
                return
            t0 = time.monotonic()
            with self._lock:
                self._running = (sid, t0)
            try:
                score_study(self.store, sid, self.scorer)
            finally:
                with self._lock:
                    self._running = None
                    if sid in self._pending:
                        self._pending.remove(sid)
                    self._durations = (self._durations + [time.monotonic() - t0])[-20:]

    def progress(self, study_id: int) -> dict[str, Any] | None:
        """``{"state": "queued"|"scoring", "position": n, "fraction": 0-1}`` or None."""
        with self._lock:
            if self._running and self._running[0] == study_id:
                typical = (sum(self._durations) / len(self._durations)
                           if self._durations else 20.0)
                frac = min(0.95, (time.monotonic() - self._running[1]) / max(typical, 0.5))
                return {"state": "scoring", "position": 0, "fraction": round(frac, 2)}
            if study_id in self._pending:
                return {"state": "queued", "position": self._pending.index(study_id),
                        "fraction": 0.0}
        return None

    def idle(self) -> bool:
        with self._lock:
            return not self._pending and self._running is None


# --- reading -----------------------------------------------------------------------------------

def _get(s: Session, study_id: int) -> Study:
    study = s.get(Study, study_id)
    if study is None:
        raise ServiceError("no such study.", 404, "not_found")
    return study


def _conflict(s: Session, study: Study) -> ServiceError:
    who = user_names(s).get(study.updated_by or -1, "another reader")
    when = study.updated_at.strftime("%H:%M:%S") if study.updated_at else "?"
    return ServiceError(
        f"{who} changed this reading at {when} UTC (now version {study.version}); your change "
        "was not saved. Reload the study to see the current grades, then redo your change.",
        409, "conflict", {"version": study.version, "by": who})


def _change(store: Store, study_id: int, user_id: int, version: int, action: str,
            apply: Callable[[Study], dict], *, allow_locked: bool = False) -> dict[str, Any]:
    """Apply one edit in one transaction, if ``version`` is still the study's version."""
    with store.session() as s, s.begin():
        study = _get(s, study_id)
        if study.auto is None and action not in ("impression",):
            raise ServiceError("this study has no automatic score yet; wait for scoring to "
                               "finish.", 409, "not_scored")
        if study.version != version:
            raise _conflict(s, study)
        if study.status in LOCKED and not allow_locked:
            raise ServiceError("this reading is signed and locked; amend it (with a reason) "
                               "to change it.", 409, "locked")
        detail = apply(study)
        if detail is None:  # nothing changed
            return reading(store, study_id, session=s)
        values = {
            "siopen": study.siopen, "curie": study.curie, "impression": study.impression,
            "status": study.status, "reader_id": study.reader_id, "signed_by": study.signed_by,
            "signed_at": study.signed_at, "amendment_reason": study.amendment_reason,
            "updated_at": utcnow(), "updated_by": user_id, "version": version + 1,
        }
        s.expire(study)
        res = s.execute(update(Study).where(Study.id == study_id, Study.version == version)
                        .values(**values).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            raise _conflict(s, _get(s, study_id))
        s.add(Event(study_id=study_id, user_id=user_id, action=action, detail=detail,
                    version=version + 1))
        s.flush()
        return reading(store, study_id, session=s)


def _start_review(study: Study, user_id: int) -> None:
    if study.status in ("scored", "new", "failed"):
        study.status = "in_review"
    if study.reader_id is None:
        study.reader_id = user_id


def set_grade(store: Store, study_id: int, user_id: int, *, scheme: str, segment: str,
              grade: int, version: int) -> dict[str, Any]:
    """Set the reader's grade of one segment (``scheme`` ``"siopen"`` or ``"curie"``)."""
    if scheme not in KEYS:
        raise ServiceError(f"scheme {scheme!r} is not siopen or curie.")
    if segment not in KEYS[scheme]:
        raise ServiceError(f"segment {segment!r} is not a {scheme} segment.")
    if not isinstance(grade, int) or not 0 <= grade <= GRADE_MAX[scheme]:
        raise ServiceError(f"a {scheme} grade runs from 0 to {GRADE_MAX[scheme]}, not {grade}.")

    def apply(study: Study) -> dict | None:
        grades = dict(getattr(study, scheme))
        old = grades[segment]
        if old == grade:
            return None
        grades[segment] = grade
        setattr(study, scheme, grades)
        _start_review(study, user_id)
        auto = study.auto[scheme]["segments"][segment]
        return {"scheme": scheme, "segment": segment, "from": old, "to": grade, "auto": auto}

    return _change(store, study_id, user_id, version, "grade", apply,
                   allow_locked=False)


def accept_all(store: Store, study_id: int, user_id: int, *, version: int) -> dict[str, Any]:
    """Make every final grade the automatic one."""

    def apply(study: Study) -> dict | None:
        changed = {}
        for scheme in KEYS:
            auto = study.auto[scheme]["segments"]
            cur = getattr(study, scheme)
            diff = {k: [cur[k], auto[k]] for k in KEYS[scheme] if cur[k] != auto[k]}
            if diff:
                changed[scheme] = diff
            setattr(study, scheme, dict(auto))
        _start_review(study, user_id)
        return {"reset": changed}

    return _change(store, study_id, user_id, version, "accept_all", apply)


def set_impression(store: Store, study_id: int, user_id: int, *, text: str, version: int
                   ) -> dict[str, Any]:
    """Save the free-text impression."""
    if len(text) > 10000:
        raise ServiceError("the impression is limited to 10,000 characters.")

    def apply(study: Study) -> dict | None:
        if study.impression == text:
            return None
        old = study.impression
        study.impression = text
        if study.auto is not None:
            _start_review(study, user_id)
        return {"from_length": len(old), "to_length": len(text)}

    return _change(store, study_id, user_id, version, "impression", apply)


def sign(store: Store, study_id: int, user_id: int, *, version: int) -> dict[str, Any]:
    """Sign the reading: it becomes final and locked."""

    def apply(study: Study) -> dict | None:
        if study.status in LOCKED:
            raise ServiceError("this reading is already signed.", 409, "locked")
        amended = study.status == "amending"
        study.status = "amended" if amended else "signed"
        study.signed_by = user_id
        study.signed_at = utcnow()
        if study.reader_id is None:
            study.reader_id = user_id
        edited = [f"{sch}:{k}" for sch in KEYS for k in KEYS[sch]
                  if getattr(study, sch)[k] != study.auto[sch]["segments"][k]]
        return {"siopen_total": sum(study.siopen.values()),
                "curie_total": sum(study.curie.values()),
                "auto_siopen_total": study.auto["siopen"]["total"],
                "edited": edited, "amendment": amended}

    return _change(store, study_id, user_id, version, "sign", apply)


def amend(store: Store, study_id: int, user_id: int, *, reason: str, version: int
          ) -> dict[str, Any]:
    """Reopen a signed reading for an amendment; the reason is kept in the history."""
    reason = reason.strip()
    if len(reason) < 3:
        raise ServiceError("an amendment needs a reason (at least 3 characters).", 400,
                           "reason")

    def apply(study: Study) -> dict | None:
        if study.status not in LOCKED:
            raise ServiceError("only a signed reading can be amended.", 409, "not_signed")
        study.status = "amending"
        study.amendment_reason = reason
        return {"reason": reason, "previous_signed_at": study.signed_at.isoformat()
                if study.signed_at else None}

    return _change(store, study_id, user_id, version, "amend", apply, allow_locked=True)


def delete_study(store: Store, study_id: int, user_id: int) -> None:
    """Delete a study, its files and its history (admin only, checked by the caller)."""
    with store.session() as s, s.begin():
        study = _get(s, study_id)
        key = study.key
        for ev in s.scalars(select(Event).where(Event.study_id == study_id)):
            s.delete(ev)
        s.delete(study)
    shutil.rmtree(store.settings.studies_dir / key, ignore_errors=True)
    logger.info("study %s deleted by user %d", key[:8], user_id)


# --- views of the data -------------------------------------------------------------------------

def _names(s: Session) -> dict[int, str]:
    return user_names(s)


def summary(study: Study, names: dict[int, str]) -> dict[str, Any]:
    """One worklist row."""
    total = sum(study.siopen.values()) if study.siopen else None
    return {
        "id": study.id, "key": study.key, "patient_id": study.patient_id,
        "patient_name": study.patient_name, "age_years": study.age_years, "sex": study.sex,
        "study_date": study.study_date, "description": study.description,
        "status": study.status, "auto_siopen_total": study.auto_siopen_total,
        "siopen_total": total,
        "curie_total": sum(study.curie.values()) if study.curie else None,
        "reader": names.get(study.signed_by or study.reader_id or -1),
        "signed_at": study.signed_at.isoformat() + "Z" if study.signed_at else None,
        "error": study.error, "version": study.version,
    }


def worklist(store: Store, *, q: str = "", status: str = "") -> list[dict[str, Any]]:
    """All studies, newest study date first; ``q`` searches patient ID, name and description."""
    with store.session() as s:
        names = _names(s)
        rows = []
        for st in s.scalars(select(Study).order_by(Study.study_date.desc(), Study.id.desc())):
            if status and st.status != status:
                continue
            if q:
                hay = " ".join(x or "" for x in (st.patient_id, st.patient_name,
                                                 st.description, st.study_date)).lower()
                if q.lower() not in hay:
                    continue
            rows.append(summary(st, names))
        return rows


def reading(store: Store, study_id: int, *, session: Session | None = None) -> dict[str, Any]:
    """The full reading of one study: header, automatic and final grades, lesions, history."""
    s = session or store.session()
    try:
        study = _get(s, study_id)
        names = _names(s)
        out = summary(study, names)
        auto = study.auto
        out.update({
            "rows": study.rows, "cols": study.cols,
            "spacing_mm": [study.spacing_row_mm, study.spacing_col_mm],
            "birth_date": study.birth_date, "assumptions": study.assumptions,
            "auto": auto, "siopen": study.siopen, "curie": study.curie,
            "impression": study.impression, "amendment_reason": study.amendment_reason,
            "signed_by": names.get(study.signed_by or -1),
            "locked": study.status in LOCKED,
            "edited": sorted(f"{sch}:{k}" for sch in KEYS for k in KEYS[sch]
                             if auto and getattr(study, sch)
                             and getattr(study, sch)[k] != auto[sch]["segments"][k]),
            "history": [
                {"at": ev.at.isoformat() + "Z", "user": names.get(ev.user_id or -1, "system"),
                 "action": ev.action, "detail": ev.detail, "version": ev.version}
                for ev in s.scalars(select(Event).where(Event.study_id == study_id)
                                    .order_by(Event.id))],
            "views": views_present(store, study),
            "maps": maps_present(store, study),
        })
        return out
    finally:
        if session is None:
            s.close()


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


def view_pixels(store: Store, study_id: int, view: str) -> np.ndarray:
    """One view, float32 counts, in the anterior orientation (posterior mirrored)."""
    with store.session() as s:
        study = _get(s, study_id)
    path = store.study_dir(study) / "views.npz"
    with np.load(path) as z:
        if view not in z.files:
            raise ServiceError(f"this study has no {view} view.", 404, "not_found")
        return np.ascontiguousarray(z[view], dtype="<f4")


def map_pixels(store: Store, study_id: int, name: str) -> np.ndarray:
    """A segment map or the lesion mask, uint8, anterior orientation."""
    with store.session() as s:
        study = _get(s, study_id)
    path = store.study_dir(study) / "maps.npz"
    if not path.exists():
        raise ServiceError("this study has no maps.", 404, "not_found")
    with np.load(path) as z:
        if name not in z.files:
            raise ServiceError(f"this study has no {name}.", 404, "not_found")
        return np.ascontiguousarray(z[name], dtype=np.uint8)


def prior_of(s: Session, study: Study) -> Study | None:
    """The latest earlier study of the same patient, signed ones first."""
    if not study.patient_id or not study.study_date:
        return None
    earlier = [p for p in s.scalars(select(Study).where(Study.patient_id == study.patient_id,
                                                        Study.id != study.id))
               if p.study_date and p.study_date < study.study_date and p.siopen]
    if not earlier:
        return None
    signed = [p for p in earlier if p.status in LOCKED]
    pool = signed or earlier
    return max(pool, key=lambda p: (p.study_date, p.id))


def followup(store: Store, study_id: int) -> dict[str, Any]:
    """Comparison with the patient's prior study: grades, change per segment, response."""
    with store.session() as s:
        study = _get(s, study_id)
        prior = prior_of(s, study)
        if prior is None:
            raise ServiceError("this patient has no earlier scored study to compare with.",
                               404, "no_prior")
        if not study.siopen:
            raise ServiceError("this study is not scored yet.", 409, "not_scored")
        names = _names(s)
        out: dict[str, Any] = {"current": summary(study, names), "prior": summary(prior, names),
                               "prior_signed": prior.status in LOCKED,
                               "current_signed": study.status in LOCKED}
        days = (dt.date.fromisoformat(study.study_date)
                - dt.date.fromisoformat(prior.study_date)).days
        out["interval_days"] = days
        for scheme in KEYS:
            a, b = getattr(prior, scheme), getattr(study, scheme)
            rows = [{"segment": k, "prior": a[k], "current": b[k], "change": b[k] - a[k]}
                    for k in KEYS[scheme]]
            ta, tb = sum(a.values()), sum(b.values())
            out[scheme] = {
                "segments": rows, "prior_total": ta, "current_total": tb,
                "change": tb - ta,
                "change_percent": None if ta == 0 else round(100.0 * (tb - ta) / ta, 1),
                "response": response(ta, tb),
            }
        return out


def readings_csv(store: Store) -> str:
    """All readings as CSV: one row per study, automatic and final grades per segment."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["study_key", "study_uid", "patient_id", "study_date", "status", "reader",
            "signed_at", "edited", "siopen_total_auto", "siopen_total", "curie_total_auto",
            "curie_total"]
    head += [f"siopen_{k}_auto" for k in SIOPEN_KEYS] + [f"siopen_{k}" for k in SIOPEN_KEYS]
    head += [f"curie_{k}_auto" for k in CURIE_KEYS] + [f"curie_{k}" for k in CURIE_KEYS]
    head += ["impression"]
    w.writerow(head)
    with store.session() as s:
        names = _names(s)
        for st in s.scalars(select(Study).order_by(Study.id)):
            if not st.auto:
                continue
            sa, ca = st.auto["siopen"]["segments"], st.auto["curie"]["segments"]
            edited = any(st.siopen[k] != sa[k] for k in SIOPEN_KEYS) or any(
                st.curie[k] != ca[k] for k in CURIE_KEYS)
            w.writerow([st.key, st.study_uid or "", st.patient_id or "", st.study_date or "",
                        st.status, names.get(st.signed_by or st.reader_id or -1, ""),
                        st.signed_at.isoformat() + "Z" if st.signed_at else "",
                        int(edited), sum(sa.values()), sum(st.siopen.values()),
                        sum(ca.values()), sum(st.curie.values())]
                       + [sa[k] for k in SIOPEN_KEYS] + [st.siopen[k] for k in SIOPEN_KEYS]
                       + [ca[k] for k in CURIE_KEYS] + [st.curie[k] for k in CURIE_KEYS]
                       + [st.impression.replace("\r", " ")])
    return buf.getvalue()


def history_json(store: Store, study_id: int) -> str:
    return json.dumps(reading(store, study_id)["history"], indent=1)
