"""A PACS over DICOMweb: QIDO-RS search, WADO-RS retrieve, STOW-RS store (dicomweb-client)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydicom.dataset import Dataset

from mibgscore.pacs._studies import STUDY_FIELDS, study_info
from mibgscore.pacs.credentials import resolve_secret
from mibgscore.pacs.types import PacsConfig, PacsError, StoreReport, StudyInfo, StudyQuery

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _session(config: PacsConfig):
    import requests

    class Session(requests.Session):
        """A session whose CA bundle wins over $REQUESTS_CA_BUNDLE (requests lets the
        environment override ``Session.verify``)."""

        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            out = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if config.ca_bundle:
                out["verify"] = config.ca_bundle
            return out

    session = Session()
    if config.auth == "basic":
        session.auth = (config.username or "", resolve_secret(config.secret or ""))
    elif config.auth == "bearer":
        session.headers["Authorization"] = f"Bearer {resolve_secret(config.secret or '')}"
    if config.ca_bundle:
        if not Path(config.ca_bundle).is_file():
            raise PacsError(f"the CA bundle {config.ca_bundle} does not exist.")
        session.verify = config.ca_bundle
    return session


def _sentence(config: PacsConfig, exc: Exception) -> str:
    """One sentence for a failed request (never the credentials: URLs carry none)."""
    import requests

    where = f"the PACS at {config.label}"
    if isinstance(exc, requests.exceptions.SSLError):
        return (f"{where}: its HTTPS certificate is not trusted; give the certificate "
                "authority's PEM file as the CA bundle.")
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{where} did not answer within {config.timeout_seconds:g} s; try again later."
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {where} (is it running, and is the URL right?)."
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        if code in (401, 403):
            return (f"{where} refused the credentials (HTTP {code}); check the user name and "
                    "the secret.")
        if code == 404:
            return f"{where} has no such resource (HTTP 404); check the DICOMweb URL."
        return f"{where} answered an error (HTTP {code} {exc.response.reason})."
    return f"{where}: {type(exc).__name__}: {exc}"


class DicomWebNode:
    """One PACS reached over DICOMweb."""

    def __init__(self, config: PacsConfig) -> None:
        from dicomweb_client.api import DICOMwebClient

        self.config = config
        self.client = DICOMwebClient(str(config.url).rstrip("/"), session=_session(config),
                                     timeout=config.timeout_seconds)
        self.client.set_http_retry_params(retry=False)  # the outbox retries, with backoff

    def _call(self, what: Callable[[], T]) -> T:
        try:
            return what()
        except PacsError:
            raise
        except Exception as exc:  # requests' and dicomweb-client's errors
            import requests

            if not isinstance(exc, requests.exceptions.RequestException | ValueError):
                raise
            raise PacsError(_sentence(self.config, exc)) from None

    def echo(self) -> float:
        """Seconds a one-study QIDO-RS search took (the DICOMweb "echo")."""
        start = time.perf_counter()
        self._call(lambda: self.client.search_for_studies(limit=1, fields=["StudyInstanceUID"]))
        return time.perf_counter() - start

    def find(self, query: StudyQuery) -> list[StudyInfo]:
        """Studies matching ``query`` (Modalities in Study, Study Date range, Patient ID), each
        with its series and the tracer of a sample instance per NM series."""
        filters: dict[str, Any] = {"ModalitiesInStudy": query.modality}
        if query.date_range():
            filters["StudyDate"] = query.date_range()
        if query.patient_id:
            filters["PatientID"] = query.patient_id
        if query.study_uid:
            filters["StudyInstanceUID"] = query.study_uid
        answers = self._call(lambda: self.client.search_for_studies(
            search_filters=filters, fields=list(STUDY_FIELDS), limit=query.limit))
        out = []
        for answer in answers:
            study = Dataset.from_json(answer)
            uid = str(study.get("StudyInstanceUID", ""))
            series = [Dataset.from_json(s) for s in self._call(
                lambda uid=uid: self.client.search_for_series(
                    uid, fields=["SeriesDescription", "Modality", "SeriesInstanceUID"]))]
            samples = []
            for s in series:
                if s.get("Modality") == query.modality:
                    samples += self._sample(uid, str(s.SeriesInstanceUID))
            out.append(study_info(study, series, samples))
        return out

    def _sample(self, study_uid: str, series_uid: str) -> list[Dataset]:
        """The metadata (WADO-RS, without pixels) of the series' first instance."""
        found = self._call(lambda: self.client.search_for_instances(
            study_uid, series_uid, limit=1, fields=["SOPInstanceUID"]))
        if not found:
            return []
        sop = str(Dataset.from_json(found[0]).SOPInstanceUID)
        meta = self._call(lambda: self.client.retrieve_instance_metadata(
            study_uid, series_uid, sop))
        meta = {tag: v for tag, v in meta.items() if "BulkDataURI" not in v}  # no pixels
        return [Dataset.from_json(meta)]

    def retrieve(self, study_uid: str, folder: Path, series_uids: Sequence[str] | None = None
                 ) -> list[Path]:
        """Write the instances of the study (of ``series_uids`` only, when given) into
        ``folder`` (WADO-RS); return the files."""
        folder.mkdir(parents=True, exist_ok=True)
        if series_uids is None:
            datasets = self._call(lambda: self.client.retrieve_study(study_uid))
        else:
            datasets = []
            for uid in series_uids:
                datasets += self._call(lambda uid=uid: self.client.retrieve_series(study_uid,
                                                                                   uid))
        paths = []
        for ds in datasets:
            path = folder / f"{ds.SOPInstanceUID}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
        logger.info("retrieved %d instances over DICOMweb", len(paths))
        return paths

    def store(self, datasets: Sequence[Dataset]) -> StoreReport:
        """Send ``datasets`` with STOW-RS; the report lists what the PACS accepted."""
        answer = self._call(lambda: self.client.store_instances(list(datasets)))
        report = StoreReport()
        for item in answer.get("ReferencedSOPSequence", []) or []:
            report.stored.append(str(item.ReferencedSOPInstanceUID))
        for item in answer.get("FailedSOPSequence", []) or []:
            report.failed.append(f"{item.get('ReferencedSOPInstanceUID', '?')}: failure "
                                 f"reason {item.get('FailureReason', '?')}")
        if not answer.get("ReferencedSOPSequence") and not report.failed:
            report.stored = [str(ds.SOPInstanceUID) for ds in datasets]
        return report
