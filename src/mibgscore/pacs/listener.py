"""`mibgscore pacs listen`: a C-STORE SCP that scores every MIBG study it receives.

Each instance is written to disk (flushed, renamed into place) before it is acknowledged, in
``received/<study key>/``. A study is scored once its instances have arrived: when the
association that brought it ends, or after a quiet period without a new instance (a modality
that keeps its association open). One JSON file per study, ``<study key>.json``, holds the
``mibgscore score --json`` object. Instances that are not NM, or not MIBG, are logged and not
kept. After a restart, studies received but not scored are scored. With a destination,
the preliminary result (SR and overlay) goes into the persistent outbox and is sent back.

Study keys are the first 16 hex digits of the SHA-256 of the Study Instance UID: no patient
data in file names or logs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mibgscore.anatomy.scheme import SegmentScheme
from mibgscore.errors import MibgscoreError
from mibgscore.pacs._storage import STORAGE_CLASSES, instance_name, write_durably
from mibgscore.pacs.dimse import VERIFICATION
from mibgscore.pacs.outbox import Outbox, Send
from mibgscore.pacs.results import Scorer, preliminary_results, score_files
from mibgscore.pacs.tracer import is_mibg_nm
from mibgscore.pacs.types import OUR_AET, PacsError

logger = logging.getLogger(__name__)

SCORED_MARK = ".scored"
"""In a study's folder: the number of instances its last scoring saw."""


def study_folder_key(study_uid: str) -> str:
    """The study key of file names and logs: 16 hex digits of SHA-256(Study Instance UID).

    Examples
    --------
    >>> study_folder_key("1.2.3")
    'c47f5b18b8a430e6'
    """
    return hashlib.sha256(study_uid.encode()).hexdigest()[:16]


@dataclass
class SendBack:
    """Where the preliminary results go: the outbox, a destination name, and how to send."""

    outbox: Outbox
    destination: str
    send: Send
    schemes: tuple[SegmentScheme, SegmentScheme] | None = None


@dataclass
class _Arrivals:
    last: float = 0.0
    associations: set[int] = field(default_factory=set)
    ended: bool = False


class Listener:
    """The storage SCP and its scoring thread.

    Parameters
    ----------
    out_dir : Path
        Where received instances (``received/``) and the JSON results go.
    scorer : callable
        ``scorer(scan) -> ScoreResult``.
    port, aet, bind : int, str, str
        Where to listen and the AE title to answer to (other called AE titles are refused).
    quiet_seconds : float
        A study is complete once no instance came for this long.
    send_back : SendBack, optional
        Send the preliminary SR and overlay back through the outbox.
    """

    def __init__(self, out_dir: Path, scorer: Scorer, *, port: int, aet: str = OUR_AET,
                 bind: str = "0.0.0.0", quiet_seconds: float = 10.0,
                 send_back: SendBack | None = None, force: bool = False) -> None:
        self.out_dir = Path(out_dir)
        self.received = self.out_dir / "received"
        self.scorer, self.port, self.aet, self.bind = scorer, port, aet, bind
        self.quiet_seconds, self.send_back, self.force = quiet_seconds, send_back, force
        self._lock = threading.Lock()
        self._arrivals: dict[str, _Arrivals] = {}
        self._stop = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None
        self.counts = {"stored": 0, "skipped": 0, "scored": 0, "failed": 0}
        self.on_scored: Callable[[str], None] | None = None

    # --- receiving -------------------------------------------------------------------------
    def _on_store(self, event) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        keep, why = is_mibg_nm(ds)
        if not keep:
            with self._lock:
                self.counts["skipped"] += 1
            logger.info("received an instance that is not MIBG NM (%s): not kept", why)
            return 0x0000
        study_uid = str(ds.get("StudyInstanceUID", ""))
        key = study_folder_key(study_uid)
        try:
            write_durably(self.received / key / instance_name(str(ds.SOPInstanceUID)),
                          event.encoded_dataset())
        except OSError:
            logger.exception("cannot write a received instance")
            return 0xA700  # Out of resources: the sender keeps it and may retry
        with self._lock:
            self.counts["stored"] += 1
            arrivals = self._arrivals.setdefault(key, _Arrivals())
            arrivals.last = time.monotonic()
            arrivals.ended = False
            arrivals.associations.add(id(event.assoc))
        return 0x0000

    def _on_end(self, event) -> None:
        with self._lock:
            for arrivals in self._arrivals.values():
                arrivals.associations.discard(id(event.assoc))
                if not arrivals.associations:
                    arrivals.ended = True

    # --- scoring ---------------------------------------------------------------------------
    def _due(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            due = [k for k, a in self._arrivals.items()
                   if (a.ended and not a.associations) or now - a.last >= self.quiet_seconds]
            for k in due:
                del self._arrivals[k]
        return due

    def unscored(self) -> list[str]:
        """Study keys received but not scored with every instance now on disk."""
        out = []
        for folder in sorted(p for p in self.received.glob("*") if p.is_dir()):
            n = len(list(folder.glob("*.dcm")))
            mark = folder / SCORED_MARK
            done = int(mark.read_text() or 0) if mark.exists() else -1
            if n and n != done:
                out.append(folder.name)
        return out

    def score_study(self, key: str) -> None:
        """Score the study ``key`` from its received files; write ``<key>.json``."""
        folder = self.received / key
        files = sorted(folder.glob("*.dcm"))
        try:
            study = score_files(files, self.scorer, force=self.force)
        except MibgscoreError as exc:
            self.counts["failed"] += 1
            logger.warning("study %s not scored: %s", key, exc.reason)
            (folder / SCORED_MARK).write_text(str(len(files)))
            return
        data = json.dumps(study.result.to_dict(), ensure_ascii=False).encode()
        write_durably(self.out_dir / f"{key}.json", data)
        (folder / SCORED_MARK).write_text(str(len(files)))
        self.counts["scored"] += 1
        logger.info("study %s scored: SIOPEN %d, Curie %d", key, study.result.siopen_total,
                    study.result.curie_total)
        if self.send_back is not None:
            sb = self.send_back
            for ds, what in zip(preliminary_results(study, sb.schemes), ("sr", "overlay"),
                                strict=True):
                sb.outbox.put(sb.destination, ds, what)
            self._deliver()
        if self.on_scored is not None:
            self.on_scored(key)

    def _deliver(self) -> None:
        if self.send_back is None:
            return
        try:
            self.send_back.outbox.deliver(self.send_back.send)
        except PacsError as exc:  # kept in the outbox, retried later
            logger.warning("sending back failed: %s", exc)

    def _work(self) -> None:
        last_delivery = 0.0
        while not self._stop.wait(0.2):
            for key in self._due():
                try:
                    self.score_study(key)
                except Exception:  # one study must not stop the listener
                    self.counts["failed"] += 1
                    logger.exception("scoring study %s failed", key)
            if self.send_back is not None and time.monotonic() - last_delivery > 5.0:
                last_delivery = time.monotonic()
                self._deliver()

    # --- life ------------------------------------------------------------------------------
    def start(self) -> None:
        """Listen (in background threads); studies left unscored by a previous run are
        queued first."""
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

        self.received.mkdir(parents=True, exist_ok=True)
        ae = AE(ae_title=self.aet)
        ae.require_called_aet = True
        ae.maximum_associations = 20
        ae.network_timeout = ae.dimse_timeout = ae.acse_timeout = 60
        ae.add_supported_context(VERIFICATION)
        for uid in STORAGE_CLASSES:
            ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
        handlers = [(evt.EVT_C_STORE, self._on_store), (evt.EVT_RELEASED, self._on_end),
                    (evt.EVT_ABORTED, self._on_end), (evt.EVT_CONN_CLOSE, self._on_end)]
        try:
            self._server = ae.start_server((self.bind, self.port), block=False,
                                           evt_handlers=handlers)
        except OSError as exc:
            raise PacsError(f"cannot listen on port {self.port} ({exc.strerror}); choose "
                            "another port with --port.") from None
        with self._lock:
            for key in self.unscored():
                self._arrivals[key] = _Arrivals(ended=True)
        self._thread = threading.Thread(target=self._work, name="mibgscore-listen",
                                        daemon=True)
        self._thread.start()
        logger.info("listening as %s on port %d", self.aet, self.port)

    def stop(self) -> None:
        """Stop listening and scoring (what is on disk and unscored is scored next start)."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=60)
