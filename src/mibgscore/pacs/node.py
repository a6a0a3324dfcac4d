"""One PACS node, whatever the protocol: echo, find, retrieve, store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydicom.dataset import Dataset

from mibgscore.pacs.types import PacsConfig, StoreReport, StudyInfo, StudyQuery


class PacsNode(Protocol):
    """What ``DicomWebNode`` and ``DimseNode`` both do; every failure is a ``PacsError``."""

    config: PacsConfig

    def echo(self) -> float: ...

    def find(self, query: StudyQuery) -> list[StudyInfo]: ...

    def retrieve(self, study_uid: str, folder: Path,
                 series_uids: Sequence[str] | None = None) -> list[Path]: ...

    def store(self, datasets: Sequence[Dataset]) -> StoreReport: ...


def connect(config: PacsConfig) -> PacsNode:
    """The node ``config`` describes (nothing is sent until it is used)."""
    if config.protocol == "dicomweb":
        from mibgscore.pacs.dicomweb import DicomWebNode

        return DicomWebNode(config)
    from mibgscore.pacs.dimse import DimseNode

    return DimseNode(config)


def find_studies(config: PacsConfig, query: StudyQuery = StudyQuery()) -> list[StudyInfo]:
    """NM studies (by default) matching ``query``, newest first, MIBG ones marked.

    Raises
    ------
    PacsError
        The PACS cannot be reached, refuses, or stops answering.
    """
    studies = connect(config).find(query)
    return sorted(studies, key=lambda s: (s.study_date is not None, s.study_date, s.study_uid),
                  reverse=True)


def earlier_mibg_studies(config: PacsConfig, study: StudyInfo) -> list[StudyInfo]:
    """The patient's MIBG studies before ``study`` (for the follow-up comparison), oldest
    first."""
    if not study.patient_id:
        return []
    found = connect(config).find(StudyQuery(patient_id=study.patient_id))
    return sorted((s for s in found if s.mibg and s.study_uid != study.study_uid
                   and s.study_date and study.study_date and s.study_date < study.study_date),
                  key=lambda s: s.study_date)


def retrieve_nm(node: PacsNode, study_uid: str, folder: Path) -> list[Path]:
    """Retrieve the NM series of a study (not the results stored beside them) into
    ``folder``; the files written.

    Raises
    ------
    PacsError
        The PACS has no NM series in that study, or fails.
    """
    from mibgscore.pacs.types import PacsError

    found = node.find(StudyQuery(study_uid=study_uid))
    series = [s["series_uid"] for st in found for s in st.series if s["modality"] == "NM"]
    if not series:
        raise PacsError(f"{node.config.label} holds no NM series in study {study_uid}.")
    return node.retrieve(study_uid, folder, series)
