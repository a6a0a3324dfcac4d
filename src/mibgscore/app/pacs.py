"""The web application's PACS work: connections, search and import, and sending the signed
reading (the verified SR and the PDF as Encapsulated PDF) through the persistent outbox.

Credentials are stored by reference only (``env:NAME`` or ``file:/path`` of a file of mode
0600, see ``mibgscore.pacs.credentials``): never in clear in the database, never logged.
Nothing here runs, and signing is unchanged, while no PACS connection is configured.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

import pydicom
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from mibgscore.app.db import Base, Study, utcnow
from mibgscore.app.storage import Store
from mibgscore.errors import ServiceError
from mibgscore.pacs.credentials import check_reference
from mibgscore.pacs.node import connect, earlier_mibg_studies, find_studies, retrieve_nm
from mibgscore.pacs.outbox import Outbox
from mibgscore.pacs.types import PacsConfig, PacsError, StoreReport, StudyQuery

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
"""How often the sender looks for due items (each item waits its own backoff)."""


class PacsConnection(Base):
    """A configured PACS (the secret by reference only)."""

    __tablename__ = "pacs_connections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    protocol: Mapped[str] = mapped_column(String(16), default="dicomweb")
    url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    auth: Mapped[str] = mapped_column(String(16), default="none")
    username: Mapped[str | None] = mapped_column(String(128), nullable=True)
    secret_ref: Mapped[str | None] = mapped_column(String(512), nullable=True)
    ca_bundle: Mapped[str | None] = mapped_column(String(512), nullable=True)
    host: Mapped[str | None] = mapped_column(String(256), nullable=True)
    port: Mapped[int] = mapped_column(Integer, default=104)
    called_aet: Mapped[str] = mapped_column(String(16), default="ANY-SCP")
    our_aet: Mapped[str] = mapped_column(String(16), default="MIBGSCORE")
    our_port: Mapped[int] = mapped_column(Integer, default=0)
    send_results: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PacsSent(Base):
    """One signing of a study to send: the SR and the PDF put in the outbox for it."""

    __tablename__ = "pacs_sent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"),
                                          index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("pacs_connections.id",
                                                          ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    built_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    build_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sr_outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pdf_outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


TABLES = [PacsConnection.__table__, PacsSent.__table__]

_FIELDS = ("name", "protocol", "url", "auth", "username", "secret_ref", "ca_bundle", "host",
           "port", "called_aet", "our_aet", "our_port", "send_results")


def connection_config(row: PacsConnection) -> PacsConfig:
    """The ``PacsConfig`` of a stored connection."""
    return PacsConfig(
        protocol=row.protocol, url=row.url, auth=row.auth, username=row.username,
        secret=row.secret_ref, ca_bundle=row.ca_bundle, host=row.host, port=row.port or 104,
        called_aet=row.called_aet, our_aet=row.our_aet, our_port=row.our_port or 0,
        retrieve="move" if row.our_port else "get", name=row.name)


def connection_dict(row: PacsConnection) -> dict[str, Any]:
    """A connection as the settings page shows it (the secret's reference, not the secret)."""
    return {"id": row.id, **{k: getattr(row, k) for k in _FIELDS}}


def _pacs_error(exc: PacsError) -> ServiceError:
    return ServiceError(str(exc), 502, "pacs")


class PacsService:
    """Connections, search, import and the sender thread of one web application."""

    def __init__(self, store: Store, import_paths) -> None:
        self.store = store
        self.import_paths = import_paths
        engine = store.sessions.kw["bind"]
        Base.metadata.create_all(engine, tables=TABLES)
        self.outbox = Outbox(engine)
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if self.outbox.pending() or self._unbuilt():
            self.start()

    # --- connections ---------------------------------------------------------------------
    def connections(self) -> list[dict[str, Any]]:
        with self.store.session() as s:
            return [connection_dict(r) for r in s.scalars(select(PacsConnection)
                                                          .order_by(PacsConnection.id))]

    def add_connection(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add a connection; ServiceError 400 with the reason when a value is wrong."""
        values = {k: values.get(k) for k in _FIELDS if values.get(k) not in (None, "")}
        try:
            if values.get("secret_ref"):
                check_reference(values["secret_ref"])
            if not values.get("name"):
                raise ValueError("it needs a name")
            row = PacsConnection(**values)
            connection_config(row)
        except (ValueError, TypeError) as exc:
            raise ServiceError(f"this PACS connection cannot be used: {exc}.") from None
        with self.store.session() as s, s.begin():
            if s.scalar(select(PacsConnection).where(PacsConnection.name == row.name)):
                raise ServiceError(f"a PACS connection named {row.name!r} exists already.", 409,
                                   "exists")
            s.add(row)
            s.flush()
            return connection_dict(row)

    def delete_connection(self, connection_id: int) -> None:
        with self.store.session() as s, s.begin():
            row = s.get(PacsConnection, connection_id)
            if row is None:
                raise ServiceError("no such PACS connection.", 404, "not_found")
            s.delete(row)

    def _connection(self, connection_id: int | None = None) -> PacsConnection | None:
        """The connection ``connection_id``, or the first one (None when none is set)."""
        with self.store.session() as s:
            if connection_id is not None:
                row = s.get(PacsConnection, connection_id)
                if row is None:
                    raise ServiceError("no such PACS connection.", 404, "not_found")
                return row
            return s.scalars(select(PacsConnection).order_by(PacsConnection.id)).first()

    def _config(self, connection_id: int | None = None) -> PacsConfig:
        row = self._connection(connection_id)
        if row is None:
            raise ServiceError("no PACS is configured; an administrator adds one under "
                               "PACS settings.", 409, "no_pacs")
        return connection_config(row)

    def test_connection(self, connection_id: int) -> dict[str, Any]:
        """C-ECHO (DIMSE) or a one-study QIDO search (DICOMweb): ok and milliseconds, or the
        sentence saying what failed."""
        config = self._config(connection_id)
        try:
            seconds = connect(config).echo()
        except PacsError as exc:
            return {"ok": False, "message": str(exc)}
        return {"ok": True, "message": f"{config.label} answered in {seconds * 1000:.0f} ms.",
                "ms": round(seconds * 1000)}

    # --- search and import ---------------------------------------------------------------
    def search(self, query: StudyQuery) -> list[dict[str, Any]]:
        """The PACS's NM studies, each with whether it is imported here and its status."""
        config = self._config()
        try:
            studies = find_studies(config, query)
        except PacsError as exc:
            raise _pacs_error(exc) from None
        uids = [s.study_uid for s in studies]
        with self.store.session() as s:
            local = {st.study_uid: st for st in s.scalars(
                select(Study).where(Study.study_uid.in_(uids)))} if uids else {}
        out = []
        for info in studies:
            st = local.get(info.study_uid)
            out.append({**info.to_dict(), "study_id": st.id if st else None,
                        "status": st.status if st else None})
        return out

    def import_studies(self, study_uids: list[str], user_id: int, *, with_prior: bool = True
                       ) -> dict[str, Any]:
        """Retrieve and import studies (and, with ``with_prior``, the patient's earlier MIBG
        studies); the import report and the ids of the studies asked for."""
        config = self._config()
        node = connect(config)
        wanted, asked, errors = [], set(study_uids), []
        try:
            for uid in study_uids:
                found = node.find(StudyQuery(study_uid=uid))
                if not found:
                    errors.append(f"the PACS has no NM study {uid}.")
                    continue
                wanted.append(uid)
                if with_prior:
                    wanted += [p.study_uid for p in earlier_mibg_studies(config, found[0])]
        except PacsError as exc:
            raise _pacs_error(exc) from None
        with self.store.session() as s:
            here = set(s.scalars(select(Study.study_uid).where(Study.study_uid.in_(wanted))))
        report: dict[str, Any] = {"imported": [], "duplicates": [], "errors": errors}
        for uid in dict.fromkeys(wanted):
            if uid in here:
                continue
            with tempfile.TemporaryDirectory(dir=self.store.settings.data_dir) as tmp:
                try:
                    retrieve_nm(node, uid, Path(tmp) / "study")
                except PacsError as exc:
                    report["errors"].append(str(exc))
                    continue
                got = self.import_paths([("pacs", Path(tmp) / "study")], user_id)
            for key in ("imported", "duplicates", "errors"):
                report[key] += getattr(got, key)
        with self.store.session() as s:
            ids = {st.study_uid: st.id for st in s.scalars(
                select(Study).where(Study.study_uid.in_(wanted)))}
        report["studies"] = [ids[u] for u in study_uids if u in ids]
        report["priors"] = [ids[u] for u in dict.fromkeys(wanted)
                            if u in ids and u not in asked]
        return report

    # --- sending the signed reading ------------------------------------------------------
    def reading_signed(self, study_id: int) -> None:
        """Queue the signed reading of ``study_id`` for the PACS (nothing without one)."""
        row = self._connection()
        if row is None or not row.send_results:
            return
        with self.store.session() as s, s.begin():
            s.add(PacsSent(study_id=study_id, connection_id=row.id))
        self.start()
        self._kick.set()

    def _unbuilt(self) -> list[int]:
        with self.store.session() as s:
            return list(s.scalars(select(PacsSent.id).where(PacsSent.built_at.is_(None))
                                  .order_by(PacsSent.id)))

    def _previous(self, s, job: PacsSent) -> tuple[pydicom.Dataset | None, ...]:
        """The SR and PDF last built for the study (an amendment replaces them)."""
        last = s.scalars(select(PacsSent).where(
            PacsSent.study_id == job.study_id, PacsSent.id < job.id,
            PacsSent.built_at.is_not(None)).order_by(PacsSent.id.desc())).first()
        if last is None:
            return None, None
        out = []
        for item_id in (last.sr_outbox_id, last.pdf_outbox_id):
            payload = self.outbox.payload(item_id) if item_id else None
            out.append(pydicom.dcmread(io.BytesIO(payload)) if payload else None)
        return tuple(out)

    def build(self, job_id: int) -> None:
        """Make the SR and the Encapsulated PDF of one signing and put them in the outbox."""
        from mibgscore.app.exports import reading_report
        from mibgscore.report.encapsulated import encapsulated_pdf
        from mibgscore.report.pdf import reading_pdf
        from mibgscore.report.sr import reading_sr

        with self.store.session() as s:
            job = s.get(PacsSent, job_id)
            previous_sr, previous_pdf = self._previous(s, job)
            study_id, destination = job.study_id, f"connection:{job.connection_id}"
        try:
            report, _scan, study = reading_report(self.store, study_id)
            files = sorted((self.store.study_dir(study) / "dicom").iterdir())
            source = pydicom.dcmread(files[0], stop_before_pixels=True)
            sr = reading_sr(report, source, previous=previous_sr)
            pdf = encapsulated_pdf(reading_pdf(report), report, source, previous=previous_pdf)
        except Exception as exc:  # kept on the row, shown with a retry button
            logger.exception("the results of study %d could not be made", study_id)
            with self.store.session() as s, s.begin():
                s.get(PacsSent, job_id).build_error = (
                    f"the results could not be made ({type(exc).__name__}).")
            return
        sr_id = self.outbox.put(destination, sr, "sr")
        pdf_id = self.outbox.put(destination, pdf, "pdf")
        with self.store.session() as s, s.begin():
            row = s.get(PacsSent, job_id)
            row.sr_outbox_id, row.pdf_outbox_id = sr_id, pdf_id
            row.built_at, row.build_error = utcnow(), None

    def _send(self, destination: str, datasets) -> StoreReport:
        connection_id = int(destination.split(":", 1)[1])
        row = self._connection(connection_id)
        return connect(connection_config(row)).store(datasets)

    def work_once(self) -> int:
        """Build what was signed, then try what is due; the number of instances sent."""
        with self._lock:
            for job_id in self._unbuilt():
                self.build(job_id)
            try:
                return self.outbox.deliver(self._send)
            except ServiceError as exc:  # the connection was deleted meanwhile
                logger.warning("outbox: %s", exc.message)
                return 0

    def status(self, study_id: int) -> dict[str, Any]:
        """How the study's signed results went: ``state`` (``none``, ``waiting``, ``sent``,
        ``error``), when sent, the error sentence, and each instance."""
        with self.store.session() as s:
            jobs = list(s.scalars(select(PacsSent).where(PacsSent.study_id == study_id)
                                  .order_by(PacsSent.id)))
        if not jobs:
            return {"state": "none", "configured": self._connection() is not None,
                    "items": []}
        last = jobs[-1]
        if last.build_error:
            return {"state": "error", "error": last.build_error, "items": [],
                    "configured": True}
        ids = [i for i in (last.sr_outbox_id, last.pdf_outbox_id) if i]
        items = self.outbox.items(ids) if ids else []
        states = {i.state for i in items}
        state = "waiting" if not items else "sent" if states == {"sent"} else \
            "error" if "error" in states else "waiting"
        errors = [i.last_error for i in items if i.last_error]
        sent = [i.sent_at for i in items if i.sent_at]
        return {"state": state, "configured": True, "error": errors[0] if errors else None,
                "sent_at": max(sent).isoformat() + "Z" if state == "sent" else None,
                "items": [i.to_dict() for i in items]}

    def retry(self, study_id: int) -> dict[str, Any]:
        """Try the study's unsent results now (the retry button); its status after."""
        with self.store.session() as s, s.begin():
            jobs = list(s.scalars(select(PacsSent).where(PacsSent.study_id == study_id)))
            for job in jobs:
                job.build_error = None
            ids = [i for j in jobs for i in (j.sr_outbox_id, j.pdf_outbox_id) if i]
        self.outbox.retry_now(ids)
        self.work_once()
        return self.status(study_id)

    # --- the sender thread ---------------------------------------------------------------
    def start(self) -> None:
        """Start the sender thread (once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name="mibgscore-pacs-outbox",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.work_once()
            except Exception:  # the sender must keep running
                logger.exception("PACS outbox round failed")
            self._kick.wait(RETRY_SECONDS)
            self._kick.clear()


def attach_pacs(app, svc) -> PacsService:
    """Create the PACS service of ``create_app`` and include its routes."""
    from mibgscore.app.routes.pacs import router

    service = PacsService(svc.store, svc.importer.import_paths)
    svc.store.pacs = service  # the sign hook (readings.sign) finds it here
    app.state.pacs = service
    app.include_router(router)
    return service


def reading_signed(store: Store, study_id: int) -> None:
    """The sign hook: queue the signed reading for the PACS, when one is configured."""
    service = getattr(store, "pacs", None)
    if service is None:
        return
    try:
        service.reading_signed(study_id)
    except Exception:  # the signature stands; the study shows no sending, and is logged
        logger.exception("the signed reading of study %d could not be queued", study_id)


__all__ = ["PacsConnection", "PacsSent", "PacsService", "attach_pacs", "reading_signed"]
