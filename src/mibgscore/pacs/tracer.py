"""Is it an MIBG study? From the tracer (Radiopharmaceutical Information Sequence) when it is
there, else from the study and series descriptions."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydicom.dataset import Dataset

MIBG_CODES = frozenset({"395787009", "395789007"})
"""SNOMED CT codes of 123I-MIBG and 131I-MIBG (DICOM CID 25)."""

_MIBG_TEXT = re.compile(r"m?ibg|iobenguan|benzylguanidin", re.IGNORECASE)
_MIBG_WORD = re.compile(r"(?<![a-z])(m?ibg|iobenguan\w*|\w*benzylguanidin\w*)", re.IGNORECASE)


def mentions_mibg(text: str | None) -> bool:
    """Whether a description names MIBG (``MIBG``, ``mIBG``, iobenguane, benzylguanidine).

    Examples
    --------
    >>> mentions_mibg("MIBG WHOLE BODY 24H"), mentions_mibg("Bone scan 99mTc-MDP")
    (True, False)
    """
    return bool(text) and bool(_MIBG_WORD.search(str(text)))


def tracer_of(ds: Dataset) -> bool | None:
    """True when the Radiopharmaceutical Information Sequence (0054,0016) names MIBG (code or
    text), False when it names another tracer, None when the dataset has no tracer."""
    items = ds.get("RadiopharmaceuticalInformationSequence") or []
    said = None
    for item in items:
        codes = [c.get("CodeValue", "") for c in
                 item.get("RadiopharmaceuticalCodeSequence") or []]
        if any(str(c) in MIBG_CODES for c in codes):
            return True
        text = str(item.get("Radiopharmaceutical", "") or "")
        if text and _MIBG_TEXT.search(text):
            return True
        if codes or text:
            said = False
    return said


def mibg_basis(instances: Iterable[Dataset], descriptions: Iterable[str | None]) -> str:
    """``"tracer"`` when an instance's tracer is MIBG, ``"description"`` when no instance names
    a tracer and a description names MIBG, else ``""`` (not MIBG).

    A tracer that is named and is not MIBG (a bone scan) wins over a description.
    """
    named_other = False
    for ds in instances:
        said = tracer_of(ds)
        if said:
            return "tracer"
        named_other = named_other or said is False
    if named_other:
        return ""
    return "description" if any(mentions_mibg(d) for d in descriptions) else ""


def is_mibg_nm(ds: Dataset) -> tuple[bool, str]:
    """Whether one received instance belongs to an MIBG NM study, and why not when not."""
    modality = str(ds.get("Modality", "") or "")
    if modality != "NM":
        return False, f"modality {modality or 'missing'}, not NM"
    basis = mibg_basis([ds], [ds.get("StudyDescription"), ds.get("SeriesDescription")])
    if not basis:
        return False, "the tracer or description is not MIBG"
    return True, basis
