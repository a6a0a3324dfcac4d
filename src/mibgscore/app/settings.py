"""Runtime settings of the web application: one frozen object, built by `mibgscore serve`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SEGMENTS_VARIABLE = "MIBGSCORE_SEGMENTS"
"""Environment variable naming a centre's segment tables (paths separated by ``os.pathsep``)."""

MODEL_VARIABLE = "MIBGSCORE_MODEL"
"""Environment variable naming the model folder the server scores with at start."""


@dataclass(frozen=True)
class AppSettings:
    """What the web application needs to run.

    Attributes
    ----------
    data_dir : Path
        Holds the SQLite database (unless ``database_url`` is given), the imported DICOM files,
        the cached views and scores, and the session secret.
    database_url : str or None
        SQLAlchemy URL (``postgresql+psycopg://...``); None means SQLite in ``data_dir``.
    max_upload_mb : float
        Largest accepted upload (one request, all files together), in MiB.
    max_zip_files : int
        Most members accepted in one uploaded zip.
    import_dir : Path or None
        A folder watched for new DICOM files (polled every ``import_poll_seconds``).
    login_failures_per_minute : int
        Failed logins allowed per minute for one user name (from any address); one client
        address may fail four times as often (whatever names it tries).
    session_hours : float
        Lifetime of a login session.
    secure_cookies : bool
        Mark the session cookie Secure: set it whenever the browsers reach the server over
        HTTPS (behind a TLS proxy), or the cookie could leak over plain HTTP.
    forwarded_allow_ips : tuple of str
        Addresses or networks of the reverse proxies whose ``X-Forwarded-For`` is believed
        (the client address for login throttling); empty: never believed.
    import_workers, import_queue : int
        Threads importing uploads, and uploads allowed to wait for one; more get HTTP 503
        with Retry-After.
    hash_workers, hash_queue : int
        The same for password checks (argon2id, about 0.1-0.3 s of CPU each).
    score_in_background : bool
        Score imported studies in a worker thread (False: at once, for tests).
    segments : tuple of Path
        A centre's SIOPEN and/or Curie segment tables (TOML, at most one per scheme), used
        to score and to read instead of the bundled ones; empty: the bundled tables.
    model : Path or None
        The model folder (``mibgscore adapt``) the server scores with at start; None: the
        model last activated on the Models page, else the shipped one (``app.models``).
    """

    data_dir: Path
    database_url: str | None = None
    max_upload_mb: float = 200.0
    max_zip_files: int = 2000
    import_dir: Path | None = None
    import_poll_seconds: float = 5.0
    login_failures_per_minute: int = 5
    session_hours: float = 12.0
    secure_cookies: bool = False
    forwarded_allow_ips: tuple[str, ...] = ()
    import_workers: int = 1
    import_queue: int = 4
    hash_workers: int = 1
    hash_queue: int = 16
    score_in_background: bool = True
    segments: tuple[Path, ...] = ()
    model: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **arguments
                         ) -> AppSettings:
        """Settings from ``arguments``, then ``MIBGSCORE_*`` variables, then the defaults.

        An argument given as None is looked up in ``environ`` (``os.environ`` by default):
        ``segments`` in ``MIBGSCORE_SEGMENTS``, one or two TOML paths separated by
        ``os.pathsep``; ``model`` in ``MIBGSCORE_MODEL``.
        """
        environ = os.environ if environ is None else environ
        given = {k: v for k, v in arguments.items() if v is not None}
        if "segments" not in given and environ.get(SEGMENTS_VARIABLE):
            given["segments"] = [p for p in environ[SEGMENTS_VARIABLE].split(os.pathsep) if p]
        if "model" not in given and environ.get(MODEL_VARIABLE):
            given["model"] = environ[MODEL_VARIABLE]
        if "model" in given:
            given["model"] = Path(given["model"])
        if "segments" in given:
            given["segments"] = tuple(Path(p) for p in given["segments"])
        if isinstance(given.get("forwarded_allow_ips"), str):
            given["forwarded_allow_ips"] = tuple(
                x.strip() for x in given["forwarded_allow_ips"].split(",") if x.strip())
        return cls(**given)

    def prepare_data_dir(self) -> None:
        """Create the data folder and its studies folder private to this user (mode 0700),
        and the SQLite database file (when it is the database) with mode 0600."""
        for folder in (Path(self.data_dir), self.studies_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)
        if not self.database_url:
            db = Path(self.data_dir) / "mibgscore.sqlite3"
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o600))
            db.chmod(0o600)

    @property
    def url(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'mibgscore.sqlite3').resolve()}"

    @property
    def studies_dir(self) -> Path:
        """Folder of the imported studies (one sub-folder per study key)."""
        return Path(self.data_dir) / "studies"

    def secret_key(self) -> str:
        """The session-signing secret, created once per data folder (file mode 0600)."""
        path = Path(self.data_dir) / "secret_key"
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
        return key
