"""The models the server scores with: the shipped one and the centre's adapted ones.

Adapted models live in the data folder, ``models/<name>/`` (``mibgscore adapt``'s folders,
each read with ``adapt.model.load_model``, so a tampered one shows its refusal and cannot be
activated). The model in use is persisted in table ``model_activations``: ``activate`` (an
administrator) and ``start`` (``serve --model``, or the shipped model when the last one is
refused at start) put a model in use; ``rollback`` returns to the one in use before it, so
repeated roll-backs walk back through the activations.

An adaptation runs in a background thread from the readings signed in the database (each
signed study's final SIOPEN grades, its stored DICOM files) or from an uploaded readings file
(matched to every stored study as ``mibgscore validate`` matches them); one at a time, its
progress polled.

Rescoring a study with the active model replaces its automatic result and keeps the reader's
edits: the segment overrides, the lesions the reader added, and each rejection of an
automatic lesion, carried to the new automatic lesion of the same kind at the same place
(within :data:`SAME_LESION_PX` pixels); a SIOPEN segment the reader graded 0 stays 0. A signed
(or amended) reading is never rescored: amend it first.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mibgscore.adapt.model import SHIPPED, ScoringModel, load_model
from mibgscore.anatomy.scheme import load_schemes
from mibgscore.app.db import LOCKED, Event, ModelActivation, Study, User, utcnow
from mibgscore.app.schemes import Schemes
from mibgscore.app.scoring import (
    lesion_list,
    lesions_of_auto,
    overrides_of,
    pipeline_scorer,
    regrade,
    save_diffuse_map,
    scoring_evidence,
)
from mibgscore.app.storage import Store, get_study, load_maps, save_maps
from mibgscore.errors import MibgscoreError, ModelError, ServiceError

logger = logging.getLogger(__name__)

MODELS_FOLDER = "models"
"""Sub-folder of the data folder holding the adapted models, one folder each."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""An adapted model's name: its folder's name."""

SAME_LESION_PX = 4
"""A reader's rejection carries to a new automatic lesion of the same kind this close (rows
and columns of the anterior view's grid)."""

READINGS_SUFFIXES = (".csv", ".xlsx")
"""Readings files accepted for upload (as ``mibgscore validate``)."""

SIGNED_READER = "signed"
"""Reader name of the readings file built from the signed readings."""

RESCORE_LOCKED = ("this reading is signed: rescoring never changes a signed reading; amend it "
                  "(with a reason) first, then rescore it.")


@functools.lru_cache(maxsize=1)
def shipped_model_info() -> dict[str, str]:
    """``model`` object (name, version, sha256) that the shipped model's results carry."""
    from mibgscore.lesions.registry import resolve_detector

    detector, _ = resolve_detector("auto")
    return detector.model.to_dict()


def model_info(model: ScoringModel) -> dict[str, str]:
    """The ``model`` object the results of ``model`` carry."""
    if model.folder is None:
        return shipped_model_info()
    return dict(model.manifest.get("model") or {})


def _figures(metrics: dict[str, Any], which: str) -> dict[str, Any]:
    """Cross-validated figures of ``metrics.json`` (``before``: the base model, ``after``:
    the adapted one): ICC(A,1) with CI, MAE, weighted kappa, <=3/>3 agreement, normals 0."""
    head = (metrics.get("cross_validated") or {}).get(which) or {}
    full = (metrics.get("cross_validated_full") or {}).get(which) or {}
    threshold = (full.get("threshold_siopen_3") or {}).get("accuracy",
                                                            head.get("threshold_3_agreement"))
    return {"icc_a1": head.get("icc_a1"), "icc_a1_ci": head.get("icc_a1_ci"),
            "mae": head.get("mae"), "weighted_kappa": head.get("weighted_kappa"),
            "threshold_3": threshold, "normals_scored_0": head.get("normals_scored_0")}


@dataclass
class AdaptationJob:
    """One adaptation running in the background, and how far it has got."""

    name: str
    source: str
    started_by: str
    started_at: dt.datetime = field(default_factory=utcnow)
    state: str = "running"  # running, done, failed
    phase: str = "preparing"  # preparing, scoring, fitting, done
    done: int = 0
    total: int = 0
    error: str | None = None
    seconds: float | None = None
    t0: float = field(default_factory=time.monotonic)
    t_scored: float | None = None

    def progress(self, done: int, total: int) -> None:
        """``adapt``'s callback: ``done`` of ``total`` scans scored."""
        self.phase, self.done, self.total = "scoring", done, total
        if done >= total:
            self.phase, self.t_scored = "fitting", time.monotonic()

    def to_dict(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.t0
        fraction, eta = 0.02, None
        if self.state != "running":
            fraction = 1.0 if self.state == "done" else fraction
        elif self.phase == "scoring" and self.total:
            fraction = 0.05 + 0.85 * self.done / self.total
            if self.done:  # the fit takes about a fifth of the scoring
                per_scan = elapsed / self.done
                eta = per_scan * (self.total - self.done) + 0.2 * per_scan * self.total
        elif self.phase == "fitting":
            fraction = 0.92
            scoring = (self.t_scored or self.t0) - self.t0
            eta = max(1.0, 0.2 * scoring - (time.monotonic() - (self.t_scored or self.t0)))
        return {"name": self.name, "source": self.source, "started_by": self.started_by,
                "started_at": self.started_at.isoformat() + "Z", "state": self.state,
                "phase": self.phase, "done": self.done, "total": self.total,
                "fraction": round(fraction, 3),
                "eta_seconds": None if eta is None else round(eta),
                "error": self.error, "seconds": self.seconds}


class ModelService:
    """The model in use, the adapted models of the data folder, adaptations, rescoring.

    Parameters
    ----------
    store : Store
        The application's store (its ``schemes`` follow the active model's SIOPEN table).
    queue : ScoringQueue
        Its ``scorer`` is replaced by the active model's.
    custom_scorer : bool
        ``create_app`` was given a scorer (tests): it keeps scoring whatever is active.

    Raises
    ------
    ModelError
        ``settings.model`` (``serve --model``) cannot be used.
    """

    def __init__(self, store: Store, queue, *, custom_scorer: bool = False) -> None:
        self.store = store
        self.queue = queue
        self.settings = store.settings
        self.base_schemes = store.schemes
        self.custom_scorer = custom_scorer
        self.active: ScoringModel = SHIPPED
        self.warning: str | None = None
        self.job: AdaptationJob | None = None
        self._lock = threading.Lock()
        self._start()

    # --- the model in use ---------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """Where adapted models are kept (``DATA/models``)."""
        return Path(self.settings.data_dir) / MODELS_FOLDER

    def active_label(self) -> str:
        """The active model in words: name (version, SHA-256 begun), e.g. ``shipped
        (4+verifier, dd3034dc7ec0)``."""
        info = model_info(self.active)
        return f"{self.active.name} ({info.get('version', '?')}, {info.get('sha256', '')[:12]})"

    def _start(self) -> None:
        for stale in self.folder.glob(".work-*") if self.folder.is_dir() else ():
            shutil.rmtree(stale, ignore_errors=True)  # an adaptation the last stop cut short
        given = self.settings.model
        if given is not None:
            model = self._usable(load_model(given))
            if self._stack()[-1][1] != str(Path(given).resolve()):
                self._record(model, "start", None)
            self._apply(model)
            return
        name, folder = self._stack()[-1]
        if folder is None:
            self._apply(SHIPPED)
            return
        try:
            self._apply(self._usable(load_model(folder)))
        except ModelError as exc:
            self.warning = (f"the model last activated, {name}, is refused ({exc.reason}); "
                            "the server scores with the shipped model.")
            logger.warning("%s", self.warning)
            self._record(SHIPPED, "start", None)
            self._apply(SHIPPED)

    def _usable(self, model: ScoringModel) -> ScoringModel:
        """``model``, if the server's segment tables allow it (else ModelError)."""
        if model.siopen_scheme is not None and \
                load_schemes(self.settings.segments)[0] is not None:
            raise ModelError("the server reads with a centre's SIOPEN table (--segments) and "
                             "this adapted model carries its own; start the server without "
                             "that table to use the model.", model.folder)
        return model

    def _apply(self, model: ScoringModel) -> None:
        """Score from now on with ``model`` (and read with its SIOPEN table)."""
        schemes = self.base_schemes if model.siopen_scheme is None else Schemes(
            model.siopen_scheme, self.base_schemes.curie)
        self.store.schemes = schemes
        if not self.custom_scorer:
            self.queue.scorer = pipeline_scorer(schemes, None if model.folder is None
                                                else model.params)
        self.active = model
        logger.info("scoring model: %s", model.name)

    def _record(self, model: ScoringModel, action: str, user_id: int | None) -> None:
        with self.store.session() as s, s.begin():
            s.add(ModelActivation(name=model.name, action=action, activated_by=user_id,
                                  folder=None if model.folder is None
                                  else str(Path(model.folder).resolve())))

    def _stack(self) -> list[tuple[str, str | None]]:
        """The models put in use, oldest first, roll-backs undone: ``(name, folder)``, the
        shipped model (folder None) at the bottom."""
        stack: list[tuple[str, str | None]] = [("shipped", None)]
        with self.store.session() as s:
            for row in s.scalars(select(ModelActivation).order_by(ModelActivation.id)):
                if row.action == "rollback":
                    if len(stack) > 1:
                        stack.pop()
                else:
                    stack.append((row.name, row.folder))
        return stack

    def history(self) -> list[dict[str, Any]]:
        """Every activation, newest first."""
        with self.store.session() as s:
            names = {u.id: u.username for u in s.scalars(select(User))}
            return [{"name": r.name, "action": r.action,
                     "at": r.activated_at.isoformat() + "Z",
                     "by": names.get(r.activated_by or -1, "server start")}
                    for r in s.scalars(select(ModelActivation)
                                       .order_by(ModelActivation.id.desc()))]

    def activate(self, key: str, user_id: int) -> dict[str, Any]:
        """Score from now on with the listed model ``key``."""
        entry = self._entry(key)
        if entry["active"]:
            raise ServiceError(f"{entry['name']} is already the active model.", 409, "active")
        model = SHIPPED if entry["folder"] is None else self._usable(
            load_model(entry["folder"]))
        with self._lock:
            self._record(model, "activate", user_id)
            self._apply(model)
        return self.state()

    def rollback(self, user_id: int) -> dict[str, Any]:
        """Return to the model in use before the active one."""
        with self._lock:
            stack = self._stack()
            if len(stack) < 2:
                raise ServiceError("no earlier model to roll back to: the shipped model has "
                                   "been in use from the start.", 409, "no_previous")
            name, folder = stack[-2]
            model = SHIPPED if folder is None else self._usable(load_model(folder))
            with self.store.session() as s, s.begin():
                s.add(ModelActivation(name=name, folder=folder, action="rollback",
                                      activated_by=user_id))
            self._apply(model)
        return self.state()

    # --- the list ---------------------------------------------------------------------------

    def _folders(self) -> list[Path]:
        """The adapted model folders: those in the data folder, then any other one put in
        use (``serve --model``)."""
        here = sorted(p for p in self.folder.iterdir() if p.is_dir() and not
                      p.name.startswith(".")) if self.folder.is_dir() else []
        seen = {str(p.resolve()) for p in here}
        others = []
        for _name, folder in self._stack_all():
            if folder is not None and folder not in seen and Path(folder).is_dir():
                seen.add(folder)
                others.append(Path(folder))
        return here + others

    def _stack_all(self) -> list[tuple[str, str | None]]:
        with self.store.session() as s:
            return [(r.name, r.folder) for r in s.scalars(
                select(ModelActivation).order_by(ModelActivation.id))]

    def _key(self, folder: Path) -> str:
        if folder.parent.resolve() == self.folder.resolve():
            return folder.name
        return "ext-" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]

    def models(self) -> list[dict[str, Any]]:
        """The shipped model, then every adapted model, with its cross-validated figures
        (``before``: the model it was adapted from, ``after``: adapted) or its refusal."""
        active = None if self.active.folder is None else str(Path(self.active.folder).resolve())
        out = [{"key": "shipped", "name": "shipped", "folder": None, "active": active is None,
                "model": shipped_model_info(), "error": None, "figures": None,
                "report": None, "created": None}]
        for folder in self._folders():
            out.append(self._describe(folder, active))
        return out

    def _describe(self, folder: Path, active: str | None) -> dict[str, Any]:
        key = self._key(folder)
        entry: dict[str, Any] = {"key": key, "name": folder.name, "folder": str(folder.resolve()),
                                 "active": str(folder.resolve()) == active, "error": None,
                                 "figures": None, "report": None, "model": None,
                                 "created": None}
        try:
            model = load_model(folder)
        except ModelError as exc:
            entry["error"] = exc.reason
            return entry
        manifest = model.manifest
        try:
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metrics = {}
        entry.update({
            "name": model.name, "model": manifest.get("model"),
            "base_model": manifest.get("base_model"), "created": manifest.get("created"),
            "n_studies": metrics.get("n_studies"), "n_patients": metrics.get("n_patients"),
            "folds": metrics.get("folds"), "reader": metrics.get("reader"),
            "figures": {"before": _figures(metrics, "before"),
                        "after": _figures(metrics, "after")} if metrics else None,
            "report": f"/admin/models/{key}/report.html"
            if (folder / "report.html").is_file() else None})
        return entry

    def _entry(self, key: str) -> dict[str, Any]:
        for entry in self.models():
            if entry["key"] == key:
                return entry
        raise ServiceError(f"no model {key!r} on this server.", 404, "not_found")

    def report_path(self, key: str) -> Path:
        """The report.html of the listed adapted model ``key``."""
        entry = self._entry(key)
        if entry["report"] is None:
            raise ServiceError(f"model {entry['name']} has no report"
                               + (f" ({entry['error']})" if entry["error"] else "") + ".",
                               404, "not_found")
        return Path(entry["folder"]) / "report.html"

    def signed_studies(self) -> list[Study]:
        """Signed (or amended) studies with an automatic score, oldest first."""
        with self.store.session() as s:
            return list(s.scalars(select(Study).where(Study.status.in_(LOCKED),
                                                      Study.auto.is_not(None))
                                  .order_by(Study.id)))

    def state(self) -> dict[str, Any]:
        """Everything the Models page shows."""
        from mibgscore.adapt.run import MIN_STUDIES

        stack = self._stack()
        return {"active": model_info(self.active) | {"label": self.active_label(),
                                                     "name": self.active.name},
                "models": self.models(), "warning": self.warning,
                "previous": stack[-2][0] if len(stack) > 1 else None,
                "history": self.history(), "job": self.job.to_dict() if self.job else None,
                "signed_studies": len(self.signed_studies()), "min_studies": MIN_STUDIES}

    # --- adaptation -------------------------------------------------------------------------

    def _new_model_folder(self, name: str) -> Path:
        if not NAME_PATTERN.fullmatch(name or ""):
            raise ServiceError(f"model name {name!r}: use 1 to 64 letters, digits, '.', '_' "
                               "or '-', starting with a letter or digit.", 422, "invalid")
        if name == "shipped":
            raise ServiceError("'shipped' names the shipped model; choose another name.",
                               422, "invalid")
        target = self.folder / name
        if target.exists():
            raise ServiceError(f"a model named {name} exists already; choose another name.",
                               409, "exists")
        return target

    def _claim(self, job: AdaptationJob) -> None:
        with self._lock:
            if self.job is not None and self.job.state == "running":
                raise ServiceError(f"an adaptation ({self.job.name}, started by "
                                   f"{self.job.started_by}) is already running; wait for it "
                                   "to finish.", 409, "busy")
            self.job = job

    def adapt_from_signed(self, name: str, username: str) -> dict[str, Any]:
        """Start adapting to the signed readings of the database (in the background).

        Raises
        ------
        ModelError
            Fewer signed studies than adaptation needs (the minimum is in the sentence).
        ServiceError
            A bad or taken name; an adaptation already running.
        """
        from mibgscore.adapt.run import MIN_STUDIES

        target = self._new_model_folder(name)
        studies = self.signed_studies()
        if len(studies) < MIN_STUDIES:
            n = len(studies)
            raise ModelError(f"{n} signed stud{'y is' if n == 1 else 'ies are'} in the "
                             f"database; adaptation needs at least {MIN_STUDIES}.")
        job = AdaptationJob(name, f"{len(studies)} signed readings", username)
        self._claim(job)
        with self._preparing(job):
            work = self._work_folder(name)
            readings = write_signed_readings(studies, work / "signed-readings.csv")
            scans = [self.store.study_dir(st) / "dicom" for st in studies]
            self._run(job, scans, readings, target, work)
        return job.to_dict()

    def adapt_from_file(self, name: str, filename: str, content: bytes, username: str
                        ) -> dict[str, Any]:
        """Start adapting to an uploaded readings file, matched to every stored study."""
        target = self._new_model_folder(name)
        base = Path(filename or "").name
        suffix = Path(base).suffix.lower()
        if suffix not in READINGS_SUFFIXES:
            raise ServiceError(f"{base or 'the upload'}: a readings file is CSV or .xlsx.",
                               422, "invalid")
        with self.store.session() as s:
            studies = list(s.scalars(select(Study).order_by(Study.id)))
        if not studies:
            raise ModelError("no study is stored on this server: import the scans first.")
        job = AdaptationJob(name, base, username)
        self._claim(job)
        with self._preparing(job):
            work = self._work_folder(name)
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(base).stem)[:60] or "readings"
            readings = work / f"{safe}{suffix}"
            readings.write_bytes(content)
            scans = [self.store.study_dir(st) / "dicom" for st in studies]
            self._run(job, scans, readings, target, work)
        return job.to_dict()

    @contextlib.contextmanager
    def _preparing(self, job: AdaptationJob):
        """Mark ``job`` failed when its preparation fails (so that another can start)."""
        try:
            yield
        except Exception:
            job.state, job.error = "failed", "the adaptation could not be prepared."
            logger.exception("adaptation %s could not be prepared", job.name)
            raise

    def _work_folder(self, name: str) -> Path:
        work = self.folder / f".work-{name}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, mode=0o700)
        return work

    def _run(self, job: AdaptationJob, scans: list[Path], readings: Path, target: Path,
             work: Path) -> None:
        thread = threading.Thread(target=self._adapt, args=(job, scans, readings, target,
                                                            work),
                                  name=f"mibgscore-adapt-{job.name}", daemon=True)
        thread.start()

    def _adapt(self, job: AdaptationJob, scans: list[Path], readings: Path, target: Path,
               work: Path) -> None:
        from mibgscore.adapt.run import AdaptOptions, adapt

        try:
            adapt(scans, readings, target, options=AdaptOptions(name=job.name),
                  progress=job.progress)
        except MibgscoreError as exc:
            job.error = str(exc)
            job.state = "failed"
        except Exception as exc:  # a bug must not pass silently, nor kill the server
            logger.exception("adaptation %s failed", job.name)
            job.error = (f"internal error while adapting ({type(exc).__name__}); the server "
                         "log has the details.")
            job.state = "failed"
        else:
            job.phase, job.state = "done", "done"
        finally:
            job.seconds = round(time.monotonic() - job.t0, 1)
            shutil.rmtree(work, ignore_errors=True)
        logger.info("adaptation %s %s in %.0f s", job.name, job.state, job.seconds)

    # --- studies and rescoring ----------------------------------------------------------------

    def studies(self) -> list[dict[str, Any]]:
        """Every study with the model that scored it (and whether it is the active one)."""
        active = model_info(self.active).get("sha256")
        with self.store.session() as s:
            rows = list(s.scalars(select(Study).order_by(Study.id.desc())))
        out = []
        for st in rows:
            m = (st.auto or {}).get("model") or {}
            out.append({"id": st.id, "patient_id": st.patient_id, "study_date": st.study_date,
                        "status": st.status, "version": st.version,
                        "locked": st.status in LOCKED,
                        "model": m.get("name") if st.auto else None,
                        "model_sha256": m.get("sha256"),
                        "auto_siopen_total": st.auto_siopen_total,
                        "active_model": bool(m) and m.get("sha256") == active})
        return out

    def rescore(self, study_id: int, user_id: int, version: int) -> dict[str, Any]:
        """Score the study again with the active model; the reader's edits are kept.

        Raises
        ------
        ServiceError
            409: the reading is signed (:data:`RESCORE_LOCKED`), being scored, or changed
            since ``version``; 422: the scan cannot be scored.
        """
        from mibgscore.app.studies import reading

        with self.store.session() as s:
            study = get_study(s, study_id)
        _check_rescorable(study, version)
        schemes, scorer = self.store.schemes, self.queue.scorer or pipeline_scorer(
            self.store.schemes)
        try:
            result = scorer(self.store.scan(study))
        except MibgscoreError as exc:
            raise ServiceError(f"the study cannot be rescored: {exc.reason}", 422,
                               "unscorable") from exc
        auto = result.to_dict()
        evidence, fresh = scoring_evidence(result, schemes)
        with self.store.session() as s, s.begin():
            st = get_study(s, study_id)
            _check_rescorable(st, version)
            save_maps(self.store, st, getattr(result, "evidence", None))
            if evidence is not None:
                save_diffuse_map(self.store, st, result)
            if fresh is None:
                fresh = lesions_of_auto(auto, load_maps(self.store, st), schemes)
            old_model = (st.auto or {}).get("model")
            old_total = st.auto_siopen_total
            lesions, dropped = carry_edits(lesion_list(st, self.store) if st.auto else [],
                                           fresh)
            overrides = overrides_of(st)
            res = regrade(auto, evidence, lesions, overrides, schemes)
            changes = {name: {k: [(getattr(st, name) or {}).get(k), v]
                              for k, v in res[name].items()
                              if (getattr(st, name) or {}).get(k) != v}
                       for name in ("siopen", "curie")}
            st.auto, st.auto_siopen_total = auto, int(auto["siopen"]["total"])
            st.siopen, st.curie = dict(res["siopen"]), dict(res["curie"])
            st.evidence, st.lesions, st.overrides = evidence, lesions, overrides
            st.scored_at = utcnow()
            if st.status == "failed":
                st.status, st.error = "scored", None
            st.version += 1
            st.updated_at, st.updated_by = utcnow(), user_id
            s.add(Event(study_id=st.id, user_id=user_id, action="rescored", version=st.version,
                        detail={"from_model": old_model, "to_model": auto.get("model"),
                                "auto_siopen_total": [old_total, st.auto_siopen_total],
                                "changes": {k: v for k, v in changes.items() if v},
                                "rejections_dropped": dropped}))
        self.store.forget(study.key)
        return reading(self.store, study_id)


def _check_rescorable(study: Study, version: int) -> None:
    if study.status in LOCKED:
        raise ServiceError(RESCORE_LOCKED, 409, "locked")
    if study.status in ("new", "scoring"):
        raise ServiceError("this study is being scored; wait for the scoring to finish.",
                           409, "not_scored")
    if study.version != version:
        raise ServiceError(f"this reading changed meanwhile (now version {study.version}); "
                           "reload it, then rescore.", 409, "conflict",
                           {"version": study.version})


def carry_edits(old: list[dict[str, Any]], fresh: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[int]]:
    """A new automatic lesion list with the reader's edits of ``old`` carried over.

    Each rejected automatic lesion of ``old`` passes its reason to the nearest new automatic
    lesion of the same kind within :data:`SAME_LESION_PX`; a SIOPEN segment whose automatic
    lesions the reader all rejected as ``not_abnormal`` (graded 0) has its new lesions
    rejected so too; the reader's own lesions follow, numbered after the new ones. Returns
    the list and the ids of the rejections that found no new lesion.
    """
    out = [dict(x, rejected=None) for x in fresh]
    autos = [x for x in old if x["source"] == "auto"]
    zeroed = {x["siopen"] for x in autos if x["rejected"] == "not_abnormal"} - {
        x["siopen"] for x in autos if x["rejected"] != "not_abnormal"}
    dropped = []
    for x in autos:
        if not x["rejected"]:
            continue
        near = [(abs(y["row"] - x["row"]) + abs(y["col"] - x["col"]), i)
                for i, y in enumerate(out) if y["kind"] == x["kind"] and y["rejected"] is None
                and max(abs(y["row"] - x["row"]), abs(y["col"] - x["col"])) <= SAME_LESION_PX]
        if near:
            out[min(near)[1]]["rejected"] = x["rejected"]
        elif x["siopen"] not in zeroed:
            dropped.append(x["id"])
    for y in out:
        if y["rejected"] is None and y["siopen"] in zeroed:
            y["rejected"] = "not_abnormal"
    for i, y in enumerate(out):
        y["id"] = i + 1
    added = [dict(x, id=len(out) + j + 1)
             for j, x in enumerate(x for x in old if x["source"] != "auto")]
    return out + added, dropped


def write_signed_readings(studies: list[Study], path: Path) -> Path:
    """A readings file (long form, as ``mibgscore validate`` reads) of the studies' signed
    final SIOPEN grades, reader :data:`SIGNED_READER`."""
    keys = Schemes.keys("siopen")
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_id", "study_date", "study_uid", "reader", *keys, "siopen_total"])
        for st in studies:
            grades = [int(st.siopen[k]) for k in keys]
            w.writerow([st.patient_id or "", st.study_date or "", st.study_uid or "",
                        SIGNED_READER, *grades, sum(grades)])
    return path
