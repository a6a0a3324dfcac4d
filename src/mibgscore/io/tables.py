"""Cells of the CSV files we write, safe to open in a spreadsheet (no formula injection).

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run
as a formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a Patient ID,
``=cmd|' /C calc'!A0`` in an impression): it is written with a leading ``'``, which the
spreadsheet shows as text, and which :func:`unescape_cell` removes when we read it back.
Numbers are left alone (a negative number is not text a person typed).
"""

from __future__ import annotations

from typing import Any

__all__ = ["formula_safe", "safe_row", "unescape_cell"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    Examples
    --------
    >>> formula_safe('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> formula_safe(-3), formula_safe("SIM123")
    (-3, 'SIM123')
    """
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def safe_row(row: dict[str, Any] | list[Any]) -> Any:
    """A CSV row (dict or list) with every text cell passed through :func:`formula_safe`."""
    if isinstance(row, dict):
        return {k: formula_safe(v) for k, v in row.items()}
    return [formula_safe(v) for v in row]


def unescape_cell(text: str) -> str:
    """The text :func:`formula_safe` was given (the ``'`` it added removed)."""
    if text.startswith("'") and text[1:].startswith(_TRIGGERS):
        return text[1:]
    return text
