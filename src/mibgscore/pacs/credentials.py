"""Secrets by reference: a password or token is read from an environment variable or a file
only its owner can read, never kept in clear in settings, databases or logs."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from mibgscore.pacs.types import PacsError


def check_reference(ref: str) -> str:
    """``ref`` if it names a secret (``env:NAME`` or ``file:/absolute/path``), else ValueError.

    Examples
    --------
    >>> check_reference("env:PACS_PASSWORD")
    'env:PACS_PASSWORD'
    """
    kind, _, rest = (ref or "").partition(":")
    if kind == "env" and rest and rest.replace("_", "").isalnum():
        return ref
    if kind == "file" and rest and Path(rest).is_absolute():
        return ref
    raise ValueError("a secret is given by reference, as env:VARIABLE or file:/absolute/path "
                     "(a file of mode 0600), never in clear")


def resolve_secret(ref: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret ``ref`` names.

    Raises
    ------
    PacsError
        The variable is not set, the file is missing, or other users can read the file.
    """
    check_reference(ref)
    kind, _, rest = ref.partition(":")
    if kind == "env":
        value = (os.environ if environ is None else environ).get(rest)
        if not value:
            raise PacsError(f"the environment variable {rest} holding the PACS secret is not "
                            "set.")
        return value
    path = Path(rest)
    try:
        mode = path.stat().st_mode
    except OSError:
        raise PacsError(f"the PACS secret file {path} cannot be read.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PacsError(f"the PACS secret file {path} can be read by other users; make it "
                        f"private with chmod 600 {path}.")
    return path.read_text(encoding="utf-8").strip()
