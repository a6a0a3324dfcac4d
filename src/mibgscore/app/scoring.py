"""Automatic scoring of imported studies: one at a time, in a background thread.

The scorer is ``mibgscore.pipeline.score`` with the segment tables in use (``Store.schemes``),
so a centre's table changes the web application's grades exactly as it changes `score`'s.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from mibgscore.app.db import Event, Study, utcnow
from mibgscore.app.schemes import Schemes
from mibgscore.app.storage import Store, save_maps
from mibgscore.errors import MibgscoreError

logger = logging.getLogger(__name__)

Scorer = Callable[[Any], Any]
"""``scorer(scan) -> ScoreResult``."""


def pipeline_scorer(schemes: Schemes) -> Scorer:
    """``mibgscore.pipeline.score`` with the SIOPEN and Curie tables of ``schemes``."""

    def score(scan):
        from mibgscore.pipeline import score

        return score(scan, siopen_scheme=schemes.siopen, curie_scheme=schemes.curie)

    return score


def score_study(store: Store, study_id: int, scorer: Scorer | None = None) -> None:
    """Score one study and store the automatic grades (the reader's grades start from them)."""
    scorer = scorer or pipeline_scorer(store.schemes)
    with store.session() as s, s.begin():
        study = s.get(Study, study_id)
        if study is None or study.status not in ("new", "scoring", "failed"):
            return
        study.status = "scoring"
    t0 = time.perf_counter()
    try:
        result = scorer(store.scan(study))
    except Exception as exc:  # a failed scoring must not stop the queue
        logger.exception("study %s: scoring failed", study.key[:8])
        msg = str(exc) if isinstance(exc, MibgscoreError) else type(exc).__name__
        with store.session() as s, s.begin():
            st = s.get(Study, study_id)
            st.status = "failed"
            st.error = f"automatic scoring failed ({msg})."
        return
    auto = result.to_dict()
    save_maps(store, study, getattr(result, "evidence", None))
    with store.session() as s, s.begin():
        st = s.get(Study, study_id)
        st.auto = auto
        st.auto_siopen_total = int(auto["siopen"]["total"])
        st.siopen = dict(auto["siopen"]["segments"])
        st.curie = dict(auto["curie"]["segments"])
        st.scored_at = utcnow()
        st.status = "scored"
        st.error = None
        st.version += 1
        s.add(Event(study_id=st.id, user_id=None, action="scored",
                    detail={"siopen_total": st.auto_siopen_total,
                            "curie_total": int(auto["curie"]["total"]),
                            "seconds": round(time.perf_counter() - t0, 2)},
                    version=st.version))
    logger.info("study %s scored in %.1f s", study.key[:8], time.perf_counter() - t0)


class ScoringQueue:
    """Scores studies one at a time in a background thread; reports progress per study."""

    def __init__(self, store: Store, scorer: Scorer | None = None) -> None:
        self.store = store
        self.scorer = scorer
        self._q: queue.Queue[int | None] = queue.Queue()
        self._pending: list[int] = []
        self._running: tuple[int, float] | None = None
        self._durations: list[float] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="mibgscore-scoring",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, study_id: int) -> None:
        with self._lock:
            if study_id in self._pending:
                return
            self._pending.append(study_id)
        self._q.put(study_id)

    def _work(self) -> None:
        while True:
            sid = self._q.get()
            if sid is None:
                return
            t0 = time.monotonic()
            with self._lock:
                self._running = (sid, t0)
            try:
                score_study(self.store, sid, self.scorer)
            finally:
                with self._lock:
                    self._running = None
                    if sid in self._pending:
                        self._pending.remove(sid)
                    self._durations = (self._durations + [time.monotonic() - t0])[-20:]

    def progress(self, study_id: int) -> dict[str, Any] | None:
        """``{"state": "queued"|"scoring", "position": n, "fraction": 0-1}`` or None."""
        with self._lock:
            if self._running and self._running[0] == study_id:
                typical = (sum(self._durations) / len(self._durations)
                           if self._durations else 20.0)
                frac = min(0.95, (time.monotonic() - self._running[1]) / max(typical, 0.5))
                return {"state": "scoring", "position": 0, "fraction": round(frac, 2)}
            if study_id in self._pending:
                return {"state": "queued", "position": self._pending.index(study_id),
                        "fraction": 0.0}
        return None

    def idle(self) -> bool:
        with self._lock:
            return not self._pending and self._running is None


def submitter(store: Store, scoring: ScoringQueue, *, background: bool) -> Callable[[int], None]:
    """``submit(study_id)``: queue the study (``background``), or score it at once."""

    def submit(study_id: int) -> None:
        if background:
            scoring.submit(study_id)
        else:
            score_study(store, study_id, scoring.scorer)

    return submit
