"""Received instances written to disk: atomically, flushed, under their SOP Instance UID."""

from __future__ import annotations

import os
import re
from pathlib import Path

_UID = re.compile(r"^[0-9.]{1,64}$")

STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.20",       # Nuclear Medicine Image
    "1.2.840.10008.5.1.4.1.1.7",        # Secondary Capture Image
    "1.2.840.10008.5.1.4.1.1.7.4",      # Multi-frame True Color Secondary Capture
    "1.2.840.10008.5.1.4.1.1.88.33",    # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.22",    # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.11",    # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.104.1",    # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.11.1",     # Grayscale Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.2",        # CT Image
    "1.2.840.10008.5.1.4.1.1.128",      # PET Image
    "1.2.840.10008.5.1.4.1.1.4",        # MR Image
)
"""SOP classes our storage SCPs accept (the NM scan, our own results, and what lies beside)."""


def instance_name(sop_uid: str) -> str:
    """A safe file name for an instance: its SOP Instance UID when it is a UID, else a hash."""
    if _UID.match(sop_uid or ""):
        return f"{sop_uid}.dcm"
    import hashlib

    return hashlib.sha256((sop_uid or "").encode()).hexdigest()[:32] + ".dcm"


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, flushed to disk, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
