"""The exception family: the CLI and the app catch MibgscoreError, and only this."""

from __future__ import annotations

from pathlib import Path


class MibgscoreError(Exception):
    """Base of every error a person can act on.

    Parameters
    ----------
    message : str
        One sentence: what is wrong, and the way out if there is one.
    path : str or Path, optional
        The file the error is about; prefixed to the message when given.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = message
        text = message if path is None else f"{Path(path).name}: {message}"
        super().__init__(text)


class InputError(MibgscoreError):
    """The user's file or data is wrong (CLI exit code 2)."""


class NotDicomError(InputError):
    """The file is not DICOM."""


class UnsupportedScanError(InputError):
    """DICOM, but not a scan this program can score (CT, spot views, one view missing...)."""


class WrongTracerError(InputError):
    """The study used another tracer than 123I/131I-MIBG (a bone scan, say)."""


class DecoderCrashError(InputError):
    """The file's pixel data crashed, exhausted or hung the decoding worker: set it aside
    (quarantine) and never read it again in a loop."""


class ReadingsFileError(MibgscoreError):
    """A reference-readings CSV/Excel file is wrong."""


class SchemeError(MibgscoreError):
    """A segment table is inconsistent."""


class ModelError(MibgscoreError):
    """An adapted model folder cannot be used, or an adaptation cannot be run on these data
    (too few studies, readings that match no scan...)."""


class ServiceError(MibgscoreError):
    """The web application refuses a request: one sentence, an HTTP status and a short code.

    Parameters
    ----------
    message : str
        What is wrong, and the way out if there is one.
    status : int
        HTTP status of the answer (400 by default; 404, 409, 413...).
    code : str
        Machine-readable reason (``"not_found"``, ``"conflict"``, ``"locked"``...).
    extra : dict, optional
        More fields of the JSON answer (the study's current version after a conflict, say).
    path : str or Path, optional
        The file the error is about, as for every error of the family.
    """

    def __init__(self, message: str, status: int = 400, code: str = "bad_request",
                 extra: dict | None = None, *, path: str | Path | None = None) -> None:
        super().__init__(message, path)
        self.message = str(self)
        self.status = status
        self.code = code
        self.extra = dict(extra or {})


class BusyError(ServiceError):
    """The server's work queue is full: HTTP 503 with a Retry-After header."""

    def __init__(self, message: str, retry_after_seconds: int = 5) -> None:
        super().__init__(message, 503, "busy")
        self.retry_after = int(retry_after_seconds)


def crash_log_path() -> Path:
    """The crash log: in ``$MIBGSCORE_LOG_DIR`` when set, else in a folder only this user can
    open (``$XDG_STATE_HOME/mibgscore``, ``~/.local/state/mibgscore``, or as a last resort
    ``mibgscore-<uid>`` in the temporary folder), created with mode 0700."""
    import os
    import tempfile

    candidates: list[tuple[Path, bool]] = []  # (folder, ours to make private)
    if os.environ.get("MIBGSCORE_LOG_DIR"):
        candidates.append((Path(os.environ["MIBGSCORE_LOG_DIR"]), False))
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    candidates.append((Path(state) / "mibgscore", True))
    candidates.append((Path(tempfile.gettempdir()) / f"mibgscore-{os.getuid()}", True))
    for folder, private in candidates:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if folder.stat().st_uid != os.getuid():  # someone else's folder: never there
                continue
            if private:
                folder.chmod(0o700)
            return folder / "mibgscore-crash.log"
        except OSError:
            continue
    raise OSError("no private folder for the crash log")


def write_crash_log(exc: BaseException) -> Path:
    """Append ``exc``'s traceback to the crash log (mode 0600); return the log's path."""
    import os
    import traceback

    path = crash_log_path()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
        fh.write("\n")
    return path
