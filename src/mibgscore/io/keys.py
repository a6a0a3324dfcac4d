"""One key per study, the same in the web application and in batch re-runs."""

from __future__ import annotations

import hashlib

import numpy as np

from mibgscore.io.types import Scan


def study_key(scan: Scan) -> str:
    """Key of a study: SHA-256 (hex) of its Study, Series and SOP Instance UIDs and its pixels.

    The pixels are part of the key, so two exports of the same UIDs with other counts (a
    re-processed study) are two studies, and a study without UIDs still has a stable key.
    """
    h = hashlib.sha256()
    for uid in (scan.study.study_uid or "", scan.study.series_uid or "",
                *sorted(scan.study.sop_instance_uids)):
        h.update(uid.encode())
        h.update(b"\0")
    for name, view in sorted(scan.views.items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(view).tobytes())
    return h.hexdigest()
