"""The persistent outgoing queue: results wait in a database table until a PACS accepts them.

One row per (destination, SOP Instance UID) holds the DICOM file to send. Sending twice is
harmless (a PACS keeps one instance per SOP Instance UID), so a row is marked sent only once
the PACS has accepted it, and a failed try is retried later with exponential backoff. The
table lives in any SQLAlchemy database: the web application's, or a SQLite file of
``mibgscore pacs listen``; it survives a restart.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from mibgscore.pacs.types import PacsError, StoreReport

logger = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 10.0
BACKOFF_MAX_SECONDS = 3600.0

metadata = MetaData()
outbox_table = Table(
    "pacs_outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("destination", String(128), nullable=False, index=True),
    Column("sop_instance_uid", String(64), nullable=False),
    Column("study_uid", String(64), nullable=False, index=True),
    Column("what", String(32), nullable=False, default=""),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_try_at", DateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("sent_at", DateTime, nullable=True),
    UniqueConstraint("destination", "sop_instance_uid", name="uq_pacs_outbox_instance"),
)
"""Table ``pacs_outbox``: what is to be sent where, and how it went."""

Send = Callable[[str, Sequence[Dataset]], StoreReport]
"""``send(destination, datasets) -> StoreReport``; raises PacsError when the PACS fails."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def backoff_seconds(attempts: int) -> float:
    """Wait before try ``attempts + 1``: 10 s, doubling, at most an hour.

    Examples
    --------
    >>> [backoff_seconds(n) for n in (1, 2, 3, 12)]
    [10.0, 20.0, 40.0, 3600.0]
    """
    return min(BACKOFF_FIRST_SECONDS * 2.0 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class OutboxItem:
    """One queued instance, as the user sees its state (no payload)."""

    id: int
    destination: str
    sop_instance_uid: str
    study_uid: str
    what: str
    attempts: int
    next_try_at: dt.datetime
    last_error: str | None
    sent_at: dt.datetime | None

    @property
    def state(self) -> str:
        """``"sent"``, ``"error"`` (a try failed, another will come) or ``"waiting"``."""
        if self.sent_at is not None:
            return "sent"
        return "error" if self.last_error else "waiting"

    def to_dict(self) -> dict:
        return {"id": self.id, "destination": self.destination,
                "sop_instance_uid": self.sop_instance_uid, "what": self.what,
                "state": self.state, "attempts": self.attempts,
                "next_try_at": self.next_try_at.isoformat() + "Z",
                "error": self.last_error,
                "sent_at": self.sent_at.isoformat() + "Z" if self.sent_at else None}


_ITEM_COLUMNS = [outbox_table.c[name] for name in OutboxItem.__dataclass_fields__]


class Outbox:
    """The queue in ``engine``'s database (table created when missing)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._lock = threading.Lock()

    def put(self, destination: str, ds: Dataset, what: str = "") -> int:
        """Queue ``ds`` for ``destination``; the row's id. The same instance queued again
        replaces a copy not yet sent, and is not sent again once it was."""
        buf = io.BytesIO()
        if "TransferSyntaxUID" not in (getattr(ds, "file_meta", None) or {}):
            from pydicom.dataset import FileMetaDataset
            from pydicom.uid import ExplicitVRLittleEndian

            ds.file_meta = FileMetaDataset()
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(buf, enforce_file_format=True)
        sop = str(ds.SOPInstanceUID)
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(select(outbox_table.c.id, outbox_table.c.sent_at).where(
                outbox_table.c.destination == destination,
                outbox_table.c.sop_instance_uid == sop)).first()
            if row is not None:
                if row.sent_at is None:
                    conn.execute(update(outbox_table).where(outbox_table.c.id == row.id)
                                 .values(payload=buf.getvalue(), next_try_at=now))
                return int(row.id)
            res = conn.execute(insert(outbox_table).values(
                destination=destination, sop_instance_uid=sop,
                study_uid=str(ds.get("StudyInstanceUID", "")), what=what,
                payload=buf.getvalue(), created_at=now, attempts=0, next_try_at=now))
            return int(res.inserted_primary_key[0])

    def items(self, ids: Sequence[int] | None = None, *, study_uid: str | None = None
              ) -> list[OutboxItem]:
        """Rows by id, or of one study, or all; oldest first."""
        q = select(*_ITEM_COLUMNS).order_by(outbox_table.c.id)
        if ids is not None:
            q = q.where(outbox_table.c.id.in_(list(ids)))
        if study_uid is not None:
            q = q.where(outbox_table.c.study_uid == study_uid)
        with self.engine.connect() as conn:
            return [OutboxItem(**row._mapping) for row in conn.execute(q)]

    def payload(self, item_id: int) -> bytes | None:
        """The DICOM file queued as row ``item_id``."""
        with self.engine.connect() as conn:
            return conn.execute(select(outbox_table.c.payload).where(
                outbox_table.c.id == item_id)).scalar()

    def pending(self) -> int:
        """Rows not sent yet."""
        with self.engine.connect() as conn:
            return len(conn.execute(select(outbox_table.c.id).where(
                outbox_table.c.sent_at.is_(None))).all())

    def retry_now(self, ids: Sequence[int]) -> None:
        """Make the unsent rows ``ids`` due at once (the user's retry button)."""
        with self.engine.begin() as conn:
            conn.execute(update(outbox_table).where(
                outbox_table.c.id.in_(list(ids)), outbox_table.c.sent_at.is_(None))
                .values(next_try_at=_now()))

    def deliver(self, send: Send, *, now: dt.datetime | None = None, limit: int = 50) -> int:
        """Try every due row once (one ``send`` per destination); return how many were sent.

        A failure is kept on its rows (``last_error``, one sentence) with the next try after
        :func:`backoff_seconds`; nothing is dropped.
        """
        now = now or _now()
        with self._lock:
            with self.engine.connect() as conn:
                rows = conn.execute(select(outbox_table).where(and_(
                    outbox_table.c.sent_at.is_(None),
                    or_(outbox_table.c.next_try_at <= now))).order_by(outbox_table.c.id)
                    .limit(limit)).all()
            by_destination: dict[str, list] = {}
            for row in rows:
                by_destination.setdefault(row.destination, []).append(row)
            sent = 0
            for destination, group in by_destination.items():
                sent += self._send_group(send, destination, group, now)
            return sent

    def _send_group(self, send: Send, destination: str, rows: list, now: dt.datetime) -> int:
        datasets = [pydicom.dcmread(io.BytesIO(r.payload)) for r in rows]
        try:
            report = send(destination, datasets)
            stored, error = set(report.stored), "; ".join(report.failed) or None
            if error:
                error = f"the PACS refused some instances: {error}"
        except PacsError as exc:
            stored, error = set(), str(exc)
        except Exception as exc:  # a bug or an unexpected answer: kept, retried, logged
            logger.exception("sending to %s failed", destination)
            stored, error = set(), f"sending failed ({type(exc).__name__})."
        with self.engine.begin() as conn:
            for r in rows:
                if r.sop_instance_uid in stored:
                    conn.execute(update(outbox_table).where(outbox_table.c.id == r.id)
                                 .values(sent_at=_now(), last_error=None,
                                         attempts=r.attempts + 1))
                else:
                    wait = dt.timedelta(seconds=backoff_seconds(r.attempts + 1))
                    conn.execute(update(outbox_table).where(outbox_table.c.id == r.id)
                                 .values(attempts=r.attempts + 1, next_try_at=now + wait,
                                         last_error=error or "the PACS did not confirm it."))
        if error:
            logger.warning("outbox: %d of %d instances not sent to %s", len(rows) - len(stored),
                           len(rows), destination)
        return len(stored)
