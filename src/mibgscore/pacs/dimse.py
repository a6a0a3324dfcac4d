"""A PACS over DIMSE (pynetdicom): C-ECHO, C-FIND, C-MOVE to our own AE or C-GET, C-STORE."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydicom.dataset import Dataset

from mibgscore.pacs._storage import STORAGE_CLASSES, instance_name, write_durably
from mibgscore.pacs._studies import STUDY_FIELDS, study_info
from mibgscore.pacs.types import PacsConfig, PacsError, StoreReport, StudyInfo, StudyQuery

logger = logging.getLogger(__name__)

FIND = "1.2.840.10008.5.1.4.1.2.2.1"   # Study Root Query/Retrieve - FIND
MOVE = "1.2.840.10008.5.1.4.1.2.2.2"   # Study Root Query/Retrieve - MOVE
GET = "1.2.840.10008.5.1.4.1.2.2.3"    # Study Root Query/Retrieve - GET
VERIFICATION = "1.2.840.10008.1.1"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _ae(config: PacsConfig):
    from pynetdicom import AE

    ae = AE(ae_title=config.our_aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = config.timeout_seconds
    ae.connection_timeout = config.timeout_seconds
    return ae


def _reachable(host: str, port: int, timeout: float) -> bool:
    """Whether a TCP connection to ``host:port`` opens (pynetdicom reports a refused
    connection as an aborted association)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class DimseNode:
    """One PACS reached over DIMSE."""

    def __init__(self, config: PacsConfig) -> None:
        self.config = config

    @property
    def where(self) -> str:
        return f"the PACS {self.config.label}"

    @contextmanager
    def _association(self, ae, **kwargs) -> Iterator:
        c = self.config
        assoc = ae.associate(c.host, int(c.port), ae_title=c.called_aet, **kwargs)
        if not assoc.is_established:
            if assoc.is_rejected:
                raise PacsError(f"{self.where} refused the association (does it know our AE "
                                f"title {c.our_aet}, and is its AE title {c.called_aet}?).")
            if assoc.is_aborted and _reachable(c.host, int(c.port), c.timeout_seconds):
                raise PacsError(f"{self.where} aborted the association.")
            raise PacsError(f"cannot connect to {self.where} (is it running, and are the "
                            "host and port right?).")
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()

    def _status(self, status, what: str) -> int:
        if status is None or "Status" not in status:
            raise PacsError(f"{self.where} did not answer the {what} in time (or the "
                            "association was lost).")
        return int(status.Status)

    def echo(self) -> float:
        """Seconds a C-ECHO took."""
        ae = _ae(self.config)
        ae.add_requested_context(VERIFICATION)
        start = time.perf_counter()
        with self._association(ae) as assoc:
            code = self._status(assoc.send_c_echo(), "C-ECHO")
        if code != 0:
            raise PacsError(f"{self.where} answered the C-ECHO with status 0x{code:04X}.")
        return time.perf_counter() - start

    def _find(self, assoc, identifier: Dataset) -> list[Dataset]:
        out = []
        for status, answer in assoc.send_c_find(identifier, FIND):
            code = self._status(status, "C-FIND")
            if code in (0xFF00, 0xFF01):
                if answer is not None:
                    out.append(answer)
            elif code == 0:
                return out
            else:
                raise PacsError(f"{self.where} stopped the search with status 0x{code:04X} "
                                f"after {len(out)} answers; the list would be partial, try "
                                "again or narrow the search.")
        return out

    def find(self, query: StudyQuery) -> list[StudyInfo]:
        """Studies matching ``query`` at study level, each with its series and the tracer of a
        sample instance per NM series."""
        ident = Dataset()
        ident.QueryRetrieveLevel = "STUDY"
        for keyword in STUDY_FIELDS:
            setattr(ident, keyword, "")
        ident.ModalitiesInStudy = query.modality
        ident.StudyDate = query.date_range() or ""
        ident.PatientID = query.patient_id or ""
        ident.StudyInstanceUID = query.study_uid or ""
        ae = _ae(self.config)
        ae.add_requested_context(FIND)
        out = []
        with self._association(ae) as assoc:
            studies = self._find(assoc, ident)[:query.limit]
            for study in studies:
                uid = str(study.get("StudyInstanceUID", ""))
                q = Dataset()
                q.QueryRetrieveLevel = "SERIES"
                q.StudyInstanceUID = uid
                q.SeriesInstanceUID = q.Modality = q.SeriesDescription = ""
                series = self._find(assoc, q)
                samples = []
                for s in series:
                    if s.get("Modality") != query.modality:
                        continue
                    q = Dataset()
                    q.QueryRetrieveLevel = "IMAGE"
                    q.StudyInstanceUID = uid
                    q.SeriesInstanceUID = str(s.SeriesInstanceUID)
                    q.SOPInstanceUID = ""
                    q.RadiopharmaceuticalInformationSequence = []
                    samples += self._find(assoc, q)[:1]
                out.append(study_info(study, series, samples))
        return out

    def _store_handler(self, folder: Path, counts: dict[str, int]):
        from pynetdicom import evt

        def on_store(event) -> int:
            try:
                sop = str(event.request.AffectedSOPInstanceUID)
                write_durably(folder / instance_name(sop), event.encoded_dataset())
            except OSError:
                logger.exception("cannot write a retrieved instance")
                return 0xA700
            counts["received"] += 1
            return 0x0000

        return (evt.EVT_C_STORE, on_store)

    def retrieve(self, study_uid: str, folder: Path, series_uids: Sequence[str] | None = None
                 ) -> list[Path]:
        """Write the instances of the study (of ``series_uids`` only, when given) into
        ``folder``: C-MOVE to our AE (a storage SCP listening on ``our_port`` meanwhile), or
        C-GET when configured or ``our_port`` is 0."""
        folder.mkdir(parents=True, exist_ok=True)
        idents = []
        for uid in series_uids if series_uids is not None else [None]:
            ident = Dataset()
            ident.QueryRetrieveLevel = "STUDY" if uid is None else "SERIES"
            ident.StudyInstanceUID = study_uid
            if uid is not None:
                ident.SeriesInstanceUID = uid
            idents.append(ident)
        counts = {"received": 0}
        handler = self._store_handler(folder, counts)
        for ident in idents:
            if self.config.retrieve == "get" or not self.config.our_port:
                self._get(ident, handler)
            else:
                self._move(ident, handler)
        paths = sorted(folder.glob("*.dcm"))
        logger.info("retrieved %d instances over DIMSE", counts["received"])
        return paths

    def _responses(self, responses, what: str) -> None:
        last = None
        for status, _ in responses:
            code = self._status(status, what)
            last = status
            if code not in (0xFF00, 0x0000, 0xB000):
                raise PacsError(f"{self.where} ended the {what} with status 0x{code:04X} "
                                f"({int(status.get('NumberOfFailedSuboperations', 0) or 0)} "
                                "instances failed).")
        if last is None:
            raise PacsError(f"{self.where} gave no answer to the {what}.")

    def _move(self, ident: Dataset, handler) -> None:
        from pynetdicom import AE

        c = self.config
        scp = AE(ae_title=c.our_aet)
        scp.network_timeout = scp.dimse_timeout = c.timeout_seconds
        for uid in STORAGE_CLASSES:
            scp.add_supported_context(uid)
        bind = "127.0.0.1" if c.host in _LOOPBACK else "0.0.0.0"
        try:
            server = scp.start_server((bind, int(c.our_port)), block=False,
                                      evt_handlers=[handler])
        except OSError as exc:
            raise PacsError(f"cannot listen on port {c.our_port} for the C-MOVE ({exc.strerror})"
                            "; choose another port for our AE.") from None
        try:
            ae = _ae(c)
            ae.add_requested_context(MOVE)
            with self._association(ae) as assoc:
                self._responses(assoc.send_c_move(ident, c.our_aet, MOVE), "C-MOVE")
        finally:
            server.shutdown()

    def _get(self, ident: Dataset, handler) -> None:
        from pynetdicom import build_role

        ae = _ae(self.config)
        ae.add_requested_context(GET)
        for uid in STORAGE_CLASSES:
            ae.add_requested_context(uid)
        roles = [build_role(uid, scp_role=True) for uid in STORAGE_CLASSES]
        with self._association(ae, ext_neg=roles, evt_handlers=[handler]) as assoc:
            self._responses(assoc.send_c_get(ident, GET), "C-GET")

    def store(self, datasets: Sequence[Dataset]) -> StoreReport:
        """Send ``datasets`` with C-STORE; the report lists what the PACS accepted."""
        from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

        ae = _ae(self.config)
        for uid in sorted({str(ds.SOPClassUID) for ds in datasets}):
            ae.add_requested_context(uid, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        report = StoreReport()
        with self._association(ae) as assoc:
            for ds in datasets:
                sop = str(ds.SOPInstanceUID)
                code = self._status(assoc.send_c_store(ds), "C-STORE")
                if code == 0 or 0xB000 <= code <= 0xBFFF:
                    report.stored.append(sop)
                else:
                    report.failed.append(f"{sop}: status 0x{code:04X}")
        return report
