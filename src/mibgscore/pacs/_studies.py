"""Search answers (QIDO JSON or C-FIND datasets) turned into ``StudyInfo``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydicom.dataset import Dataset

from mibgscore.pacs.tracer import mibg_basis
from mibgscore.pacs.types import StudyInfo

STUDY_FIELDS = ("StudyInstanceUID", "PatientID", "PatientName", "StudyDate",
                "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
                "AccessionNumber")
"""Attributes asked of every study found."""


def _date(value) -> dt.date | None:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if text else None
    except ValueError:
        return None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value)


def study_info(study: Dataset, series: Iterable[Dataset], instances: Iterable[Dataset]
               ) -> StudyInfo:
    """One study: its study-level answer, its series and a sample instance per NM series."""
    series = list(series)
    modalities = study.get("ModalitiesInStudy")
    if modalities is None or modalities == "":
        mods: tuple[str, ...] = tuple(sorted({_text(s, "Modality") for s in series} - {""}))
    elif isinstance(modalities, str):
        mods = (modalities,)
    else:
        mods = tuple(str(m) for m in modalities)
    descriptions = [_text(study, "StudyDescription")] + [_text(s, "SeriesDescription")
                                                        for s in series]
    basis = mibg_basis(list(instances), descriptions)
    count = study.get("NumberOfStudyRelatedInstances")
    return StudyInfo(
        study_uid=_text(study, "StudyInstanceUID"), patient_id=_text(study, "PatientID"),
        patient_name=_text(study, "PatientName"), study_date=_date(study.get("StudyDate")),
        description=_text(study, "StudyDescription"), modalities=mods,
        instances=int(count) if count not in (None, "") else None, mibg=bool(basis),
        mibg_basis=basis,
        series=tuple({"series_uid": _text(s, "SeriesInstanceUID"),
                      "modality": _text(s, "Modality"),
                      "description": _text(s, "SeriesDescription")} for s in series))
