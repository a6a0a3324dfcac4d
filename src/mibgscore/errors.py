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


class ReadingsFileError(MibgscoreError):
    """A reference-readings CSV/Excel file is wrong."""


class SchemeError(MibgscoreError):
    """A segment table is inconsistent."""


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
