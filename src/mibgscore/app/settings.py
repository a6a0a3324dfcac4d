"""Runtime settings of the web application: one frozen object, built by `mibgscore serve`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SEGMENTS_VARIABLE = "MIBGSCORE_SEGMENTS"
"""Environment variable naming a centre's segment tables (paths separated by ``os.pathsep``)."""


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
        Failed logins allowed per minute for one client address and user name.
    session_hours : float
        Lifetime of a login session.
    secure_cookies : bool
        Mark the session cookie Secure (behind HTTPS).
    score_in_background : bool
        Score imported studies in a worker thread (False: at once, for tests).
    segments : tuple of Path
        A centre's SIOPEN and/or Curie segment tables (TOML, at most one per scheme), used
        to score and to read instead of the bundled ones; empty: the bundled tables.
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
    score_in_background: bool = True
    segments: tuple[Path, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **arguments
                         ) -> AppSettings:
        """Settings from ``arguments``, then ``MIBGSCORE_*`` variables, then the defaults.

        An argument given as None is looked up in ``environ`` (``os.environ`` by default):
        ``segments`` in ``MIBGSCORE_SEGMENTS``, one or two TOML paths separated by
        ``os.pathsep``.
        """
        environ = os.environ if environ is None else environ
        given = {k: v for k, v in arguments.items() if v is not None}
        if "segments" not in given and environ.get(SEGMENTS_VARIABLE):
            given["segments"] = [p for p in environ[SEGMENTS_VARIABLE].split(os.pathsep) if p]
        if "segments" in given:
            given["segments"] = tuple(Path(p) for p in given["segments"])
        return cls(**given)

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
