"""Database: tables, engine, and the versioned schema set-up run at start.

The schema is created with ``metadata.create_all`` and versioned in table ``schema_version``;
each later schema change adds one function to ``MIGRATIONS`` (run in order, once).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4
"""Version of the schema this code writes."""

STATUSES = ("new", "scoring", "scored", "in_review", "signed", "amending", "amended", "failed")
"""Study statuses: new -> scoring -> scored -> in review -> signed (-> amending -> amended)."""

LOCKED = ("signed", "amended")
"""Statuses in which the reading is locked (a change needs an amendment)."""


def utcnow() -> dt.datetime:
    """Now, in UTC, without microseconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


class Base(DeclarativeBase):
    pass


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="reader")
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Study(Base):
    """One imported study and its single reading (automatic score, reader's grades, sign-off)."""

    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # mibgscore.io.keys.study_key: SHA-256 hex, all 64 characters (schema version 3 widened
    # the column; older 16-character keys are replaced at start, see storage.rekey_old_studies)
    key: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    study_uid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True, nullable=True)
    patient_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    birth_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sex: Mapped[str | None] = mapped_column(String(8), nullable=True)
    age_years: Mapped[float | None] = mapped_column(Float, nullable=True)
    study_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    description: Mapped[str | None] = mapped_column(String(256), nullable=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    cols: Mapped[int] = mapped_column(Integer, default=0)
    spacing_row_mm: Mapped[float] = mapped_column(Float, default=1.0)
    spacing_col_mm: Mapped[float] = mapped_column(Float, default=1.0)
    assumptions: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    auto: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    auto_siopen_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scored_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    siopen: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    curie: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    impression: Mapped[str] = mapped_column(Text, default="")
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    amendment_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # schema version 4: the reading's lesion list (automatic lesions, with the reader's
    # rejections, and the lesions the reader added), the reader's segment overrides per
    # scheme, and the per-segment evidence of the automatic scoring (app.scoring)
    lesions: Mapped[list | None] = mapped_column(JSON, nullable=True)
    overrides: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    evidence: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Event(Base):
    """One line of a study's history: who did what, when, from what to what."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"),
                                          index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ModelActivation(Base):
    """One change of the model the server scores with (``app.models``): ``activate`` and
    ``start`` put a model in use, ``rollback`` returns to the one in use before."""

    __tablename__ = "model_activations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    folder: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: shipped model
    action: Mapped[str] = mapped_column(String(16), default="activate")
    activated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


def _v2_session_epoch(conn: Connection) -> None:
    """Version 2: users.session_epoch (logging out ends every session of the user)."""
    conn.execute(text("ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0"))


def _v3_study_key_sha256(conn: Connection) -> None:
    """Version 3: studies.key holds a 64-character SHA-256 key (``mibgscore.io.keys``).

    SQLite does not enforce VARCHAR lengths, so only other databases need the change.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(text('ALTER TABLE studies ALTER COLUMN "key" TYPE VARCHAR(64)'))


def _v4_lesion_list(conn: Connection) -> None:
    """Version 4: studies.lesions, studies.overrides, studies.evidence (JSON, nullable): the
    reading's lesion list and segment overrides, and the automatic per-segment evidence.

    Studies read before version 4 get their lesion list from their automatic lesions at the
    first edit (``app.scoring.lesion_list``).
    """
    have = {c["name"] for c in inspect(conn).get_columns("studies")}
    for column in ("lesions", "overrides", "evidence"):
        if column not in have:  # a table made by create_all at this start has them already
            conn.execute(text(f"ALTER TABLE studies ADD COLUMN {column} JSON"))


MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _v2_session_epoch,
                                                       3: _v3_study_key_sha256,
                                                       4: _v4_lesion_list}
"""Schema changes after version 1: ``MIGRATIONS[n](conn)`` brings version n - 1 to n."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> int:
    """Create the tables if missing and run pending migrations; return the schema version."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(select(SchemaVersion.version).order_by(
            SchemaVersion.version.desc()).limit(1)).first()
        current = row[0] if row else 0
        if current == 0:
            conn.execute(SchemaVersion.__table__.insert().values(version=SCHEMA_VERSION,
                                                                  applied_at=utcnow()))
            return SCHEMA_VERSION
        if current > SCHEMA_VERSION:
            raise RuntimeError(f"the database has schema version {current}, newer than this "
                               f"program's {SCHEMA_VERSION}; upgrade mibgscore.")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](conn)
            conn.execute(SchemaVersion.__table__.insert().values(version=version,
                                                                  applied_at=utcnow()))
            logger.info("database migrated to schema version %d", version)
    return SCHEMA_VERSION


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """Session factory (objects stay readable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
