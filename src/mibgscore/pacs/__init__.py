"""Work with a PACS over DICOMweb and DIMSE: find, retrieve, score, store, listen."""

from mibgscore.pacs.node import PacsNode, connect, earlier_mibg_studies, find_studies
from mibgscore.pacs.types import PacsConfig, PacsError, StoreReport, StudyInfo, StudyQuery

__all__ = ["PacsConfig", "PacsError", "PacsNode", "StoreReport", "StudyInfo", "StudyQuery",
           "connect", "earlier_mibg_studies", "find_studies"]
