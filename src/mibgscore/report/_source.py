"""Attributes of the source NM instance, with the reading's own values as fallback."""

from __future__ import annotations

from typing import Any

from pydicom import Dataset


def source_value(source: Dataset | None, keyword: str, fallback: Any) -> Any:
    """``source[keyword]`` when present and not empty, else ``fallback``."""
    if source is not None and keyword in source and source[keyword].value not in (None, ""):
        return source[keyword].value
    return fallback


def study_uid_of(source: Dataset | None, study_uid: str | None) -> str:
    """Study Instance UID of the source, else of the reading.

    Raises
    ------
    ValueError
        Neither knows it.
    """
    uid = source_value(source, "StudyInstanceUID", study_uid)
    if not uid:
        raise ValueError("the reading has no Study Instance UID (neither source nor study)")
    return uid
