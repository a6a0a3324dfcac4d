"""File names of what the commands write: one rule for ``score``, ``batch`` and ``validate``."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["overlay_name"]


def overlay_name(file: str, study_uid: str | None) -> str:
    """File name of a study's overlay PNG: the file's stem and a short hash of the study.

    ``mibgscore score --overlay`` and ``mibgscore batch --overlay`` both name overlays so, and
    ``mibgscore validate --overlay`` looks for this name: the same study read from two folders
    with the same file name gets two names, and the same study scored twice one name.

    Parameters
    ----------
    file : str
        The scanned file (``Scan.path``); ``.dcm`` and ``.zip`` are dropped from its name.
    study_uid : str or None
        Study Instance UID (0020,000D); the file stands in for it when absent.

    Returns
    -------
    str
        ``<stem>-<first 8 hex digits of SHA-256 of the UID>.png``.

    Examples
    --------
    >>> overlay_name("/data/case_001.dcm", "1.2.3")
    'case_001-c47f5b18.png'
    """
    tag = hashlib.sha256((study_uid or file).encode()).hexdigest()[:8]
    stem = Path(file).name
    for suffix in (".dcm", ".DCM", ".zip", ".ZIP"):
        stem = stem.removesuffix(suffix)
    return f"{stem or 'study'}-{tag}.png"
