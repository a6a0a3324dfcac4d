"""Automatic scoring of imported studies (one at a time, in a background thread), and the
reading's grades recomputed from its lesion list and the reader's segment overrides.

The scorer is ``mibgscore.pipeline.score`` with the segment tables in use (``Store.schemes``),
so a centre's table changes the web application's grades exactly as it changes `score`'s.

Both scores of a reading come from one lesion list (:func:`regrade`): the automatic lesions,
each kept or rejected by the reader with a reason, and the foci and diffuse regions the reader
added. A segment no edit touches keeps its automatic grade; a touched segment is graded again
by ``mibgscore.grading.rules`` from the automatic evidence (foci counted, diffuse share) less
what was rejected plus what was added, in SIOPEN and in Curie alike, so that the two scores
never contradict each other. A grade the reader sets directly is an *override* of that
scheme's segment; a SIOPEN override also overrides the Curie segment made of exactly the same
bones (skull = head, thoracic cage = ribs, sternum, clavicles, scapulae), graded from the
evidence the SIOPEN grade implies (:data:`IMPLIED_BY_SIOPEN`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mibgscore.app.db import Event, Study, utcnow
from mibgscore.app.schemes import SCHEME_NAMES, Schemes
from mibgscore.app.storage import Store, load_maps, save_maps
from mibgscore.errors import MibgscoreError
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment
from mibgscore.grading.segments import MIN_DIFFUSE_FRACTION

logger = logging.getLogger(__name__)

Scorer = Callable[[Any], Any]
"""``scorer(scan) -> ScoreResult``."""


def pipeline_scorer(schemes: Schemes, params: Any = None) -> Scorer:
    """``mibgscore.pipeline.score`` with the SIOPEN and Curie tables of ``schemes`` and the
    options ``params`` (``ScoreParams`` of the model in use, ``app.models``; None: the
    shipped model's)."""

    def score(scan):
        from mibgscore.pipeline import ScoreParams, score

        return score(scan, params=params or ScoreParams(), siopen_scheme=schemes.siopen,
                     curie_scheme=schemes.curie)

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
    evidence, lesions = scoring_evidence(result, store.schemes)
    if evidence is not None:
        save_diffuse_map(store, study, result)
    if lesions is None:
        lesions = lesions_of_auto(auto, load_maps(store, study), store.schemes)
    with store.session() as s, s.begin():
        st = s.get(Study, study_id)
        st.auto = auto
        st.auto_siopen_total = int(auto["siopen"]["total"])
        st.siopen = dict(auto["siopen"]["segments"])
        st.curie = dict(auto["curie"]["segments"])
        st.evidence = evidence
        st.lesions = lesions
        st.overrides = {name: {} for name in SCHEME_NAMES}
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


# --- the lesion list and the grades it gives ---------------------------------------------------

REJECT_REASONS = ("physiological", "artefact", "injection_site", "not_abnormal",
                  "added_in_error")
"""Why a reader rejects a lesion: physiological uptake, artefact (contamination, motion,
collimator), injection site, no abnormal uptake in the segment (the segment graded 0), or a
lesion the reader had added by mistake."""

IMPLIED_BY_SIOPEN: dict[int, tuple[int, float]] = {
    0: (0, 0.0), 1: (1, 0.0), 2: (2, 0.0), 3: (3, 0.0), 4: (4, 0.0), 5: (0, 0.75), 6: (0, 1.0)}
"""The lesions a SIOPEN grade stands for (foci, diffuse share of the bone), by the SIOPEN
rules (Lewington 2017): what a SIOPEN override gives the Curie segment made of the same bones
(grade 4 is "more than three foci"; a diffuse share under 50 % gives the same Curie grade)."""

DIFFUSE_MAP_FILE = "diffuse.npz"
"""A scored study's diffuse involvement in the scan's anterior frame: ``labels`` (uint8),
0 none, i + 1 where SIOPEN segment i is graded on it."""


def scoring_evidence(result: Any, schemes: Schemes
                     ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
    """Per-segment evidence of a scoring and its lesion list, each lesion in both schemes.

    Returns ``(evidence, lesions)``: ``evidence[scheme][key] = {"focal": n, "fraction": f}``
    as graded; each lesion of ``result.lesions`` with its SIOPEN and Curie segments and, for a
    diffuse lesion, ``curie_share``: the Curie diffuse share its region accounts for, by Curie
    segment. ``(None, None)`` when the result carries no pipeline evidence.
    """
    ev = getattr(result, "evidence", None)
    if ev is None or not hasattr(ev, "siopen_segments") or not hasattr(ev, "lesions"):
        return None, None
    siopen, curie = schemes.siopen, schemes.curie
    found = ev.lesions
    fit = found.skeleton if found.skeleton is not None else ev.skeleton.on(ev.body.grid)
    smap, cmap = fit.segment_map(siopen), fit.segment_map(curie)
    if found.extent_bone is None:
        s_ext, c_ext = smap, cmap
    else:
        s_ext = siopen.segment_map(found.extent_bone, found.extent_position)
        c_ext = curie.segment_map(found.extent_bone, found.extent_position)
    evidence = {name: {e.key: {"focal": int(e.focal_count),
                               "fraction": round(float(e.diffuse_fraction), 4)}
                       for e in segs}
                for name, segs in (("siopen", ev.siopen_segments),
                                   ("curie", ev.curie_segments))}
    calibration = getattr(ev, "calibration", None)
    if calibration is not None:  # an adapted model's limits: edits are graded with them too
        for key, seg in evidence["siopen"].items():
            lim = calibration.limits(key)
            seg.update({"min_fraction": lim.min_fraction, "half": lim.half, "whole": lim.whole})
    focal_curie = [int(cmap[x.bone_row, x.bone_col]) - 1 for x in found.focal
                   if smap[x.bone_row, x.bone_col] > 0]
    lesions: list[dict[str, Any]] = []
    n_focal = 0
    for i, x in enumerate(result.lesions):
        item = _lesion(i + 1, x.kind, x.row, x.col, x.segment, None, x.fraction, x.confidence)
        if x.kind == "focal":
            c = focal_curie[n_focal] if n_focal < len(focal_curie) else -1
            n_focal += 1
            item["curie"] = curie.segments[c].key if c >= 0 else None
        else:
            label = siopen.keys.index(x.segment) + 1
            region = found.diffuse & (s_ext == label)
            share = {}
            for j, seg in enumerate(curie.segments):
                in_c = found.diffuse & (c_ext == j + 1)
                frac = evidence["curie"][seg.key]["fraction"]
                if frac > 0 and in_c.any() and (region & in_c).any():
                    share[seg.key] = round(frac * float((region & in_c).sum() / in_c.sum()), 4)
            item["curie_share"] = share
            item["curie"] = max(share, key=share.get) if share else None
        lesions.append(item)
    return evidence, lesions


def save_diffuse_map(store: Store, study: Study, result: Any) -> None:
    """Keep the diffuse involvement of the graded segments, labelled by SIOPEN segment
    (:data:`DIFFUSE_MAP_FILE`), for the viewer to draw as regions."""
    ev = result.evidence
    found, siopen = ev.lesions, store.schemes.siopen
    fit = found.skeleton if found.skeleton is not None else ev.skeleton.on(ev.body.grid)
    s_ext = (fit.segment_map(siopen) if found.extent_bone is None
             else siopen.segment_map(found.extent_bone, found.extent_position))
    graded = [i + 1 for i, e in enumerate(ev.siopen_segments) if e.diffuse_fraction > 0]
    labels = np.where(found.diffuse & np.isin(s_ext, graded), s_ext, 0).astype(np.uint8)
    np.savez_compressed(store.study_dir(study) / DIFFUSE_MAP_FILE,
                        labels=ev.body.grid.to_original_map(labels))


def load_diffuse_map(store: Store, study: Study) -> np.ndarray | None:
    """The study's diffuse-involvement labels (scan frame), or None."""
    path = store.study_dir(study) / DIFFUSE_MAP_FILE
    if not path.exists():
        return None
    with np.load(path) as z:
        return z["labels"]


def _lesion(lid: int, kind: str, row: int, col: int, siopen: str, curie: str | None,
            fraction: float | None, confidence: float, source: str = "auto"
            ) -> dict[str, Any]:
    return {"id": lid, "kind": kind, "row": int(row), "col": int(col), "siopen": siopen,
            "curie": curie, "fraction": fraction, "confidence": confidence,
            "source": source, "rejected": None}


def lesions_of_auto(auto: dict[str, Any], maps: dict[str, np.ndarray] | None,
                    schemes: Schemes) -> list[dict[str, Any]]:
    """The lesion list of a score saved without pipeline evidence (a study scored before
    schema version 4, or a test scorer): each focus's Curie segment is the Curie label nearest
    it on the bone of its SIOPEN segment."""
    out = []
    for i, x in enumerate(auto.get("lesions", [])):
        curie = None
        if maps and "siopen_map" in maps and "curie_map" in maps:
            label = schemes.siopen.keys.index(x["segment"]) + 1
            curie = _nearest_label(maps["curie_map"], maps["siopen_map"] == label,
                                   x["row"], x["col"], schemes.curie.keys)
        item = _lesion(i + 1, x["kind"], x["row"], x["col"], x["segment"], curie,
                       x.get("fraction"), x.get("confidence", 1.0))
        if x["kind"] == "diffuse":
            item["curie_share"] = {curie: 1.0} if curie else {}
        out.append(item)
    return out


def _nearest_label(labels: np.ndarray, where: np.ndarray, row: int, col: int,
                   keys: tuple[str, ...]) -> str | None:
    ok = where & (labels > 0)
    if not ok.any():
        return None
    rr, cc = np.nonzero(ok)
    k = int(np.argmin((rr - row) ** 2 + (cc - col) ** 2))
    lab = int(labels[rr[k], cc[k]])
    return keys[lab - 1] if 0 < lab <= len(keys) else None


def lesion_list(study: Study, store: Store) -> list[dict[str, Any]]:
    """The study's lesion list (a copy), made from its automatic lesions when not stored."""
    if study.lesions is not None:
        return [dict(x) for x in study.lesions]
    if study.auto is None:
        return []
    return lesions_of_auto(study.auto, load_maps(store, study), store.schemes)


def overrides_of(study: Study) -> dict[str, dict[str, int]]:
    """The reader's segment overrides of ``study`` by scheme (a copy)."""
    got = study.overrides or {}
    return {name: dict(got.get(name) or {}) for name in SCHEME_NAMES}


def _changed(x: dict[str, Any]) -> bool:
    """Whether the reader changed this lesion (rejected an automatic one, or added it)."""
    return x["source"] != "auto" or x["rejected"] is not None


def _segments_of(x: dict[str, Any], name: str) -> set[str]:
    if name == "siopen":
        return set(x.get("siopen_fractions") or {}) | ({x["siopen"]} if x["siopen"] else set())
    keys = set(x.get("curie_share") or {}) | set(x.get("curie_fractions") or {})
    return keys | ({x["curie"]} if x.get("curie") else set())


def coincident_segments(schemes: Schemes) -> dict[str, str]:
    """SIOPEN key -> Curie key of the segments made of exactly the same bones."""
    def parts(seg) -> frozenset:
        return frozenset((p.bone, p.start, p.end) for p in seg.parts)

    curie = {parts(seg): seg.key for seg in schemes.curie.segments if not seg.soft_tissue}
    return {seg.key: curie[parts(seg)] for seg in schemes.siopen.segments
            if parts(seg) in curie}


def regrade(auto: dict[str, Any], evidence: dict[str, Any] | None,
            lesions: list[dict[str, Any]], overrides: dict[str, dict[str, int]],
            schemes: Schemes) -> dict[str, Any]:
    """Both scores of a reading from its lesion list and the reader's overrides.

    Parameters
    ----------
    auto : dict
        The automatic score (``ScoreResult.to_dict()``).
    evidence : dict or None
        Per-segment foci and diffuse share as graded (:func:`scoring_evidence`); None: taken
        from the automatic lesions.
    lesions : list of dict
        The lesion list (automatic lesions with ``rejected`` reasons, and reader lesions).
    overrides : dict
        ``{"siopen": {key: grade}, "curie": {key: grade}}`` set directly by the reader.

    Returns
    -------
    dict
        ``siopen``, ``curie`` (final grades by key), ``computed`` (the grades of the lesion
        list alone, by scheme), ``overridden`` (by scheme: key -> ``"reader"`` or
        ``"siopen:<key>"`` for a Curie segment overridden through a SIOPEN override).
    """
    computed = {name: _computed(name, auto, evidence, lesions, schemes)
                for name in SCHEME_NAMES}
    final = {name: dict(computed[name]) for name in SCHEME_NAMES}
    overridden: dict[str, dict[str, str]] = {name: {} for name in SCHEME_NAMES}
    for name in SCHEME_NAMES:
        for key, grade in overrides.get(name, {}).items():
            final[name][key] = int(grade)
            overridden[name][key] = "reader"
    for s_key, c_key in coincident_segments(schemes).items():
        if s_key in overrides.get("siopen", {}) and c_key not in overridden["curie"]:
            count, frac = IMPLIED_BY_SIOPEN.get(final["siopen"][s_key], (4, 0.0))
            final["curie"][c_key] = min(grade_curie_segment(count, frac),
                                        schemes.max_grade("curie"))
            overridden["curie"][c_key] = f"siopen:{s_key}"
    return {"siopen": final["siopen"], "curie": final["curie"], "computed": computed,
            "overridden": overridden}


def _computed(name: str, auto: dict[str, Any], evidence: dict[str, Any] | None,
              lesions: list[dict[str, Any]], schemes: Schemes) -> dict[str, int]:
    """One scheme's grades of the lesion list: automatic where no edit touches a segment."""
    grades = dict(auto[name]["segments"])
    touched = set().union(*(_segments_of(x, name) for x in lesions if _changed(x))) \
        if lesions else set()
    top = schemes.max_grade(name)
    for key in touched & set(grades):
        base = (evidence or {}).get(name, {}).get(key)
        autos = [x for x in lesions if x["source"] == "auto"]
        if base is None:
            base = _base_of_auto(name, key, autos, grades[key])
        count = base["focal"]
        count -= sum(1 for x in autos if x["kind"] == "focal" and x["rejected"]
                     and key in _segments_of(x, name))
        count += sum(1 for x in lesions if x["source"] != "auto" and x["kind"] == "focal"
                     and not x["rejected"] and key in _segments_of(x, name))
        frac = float(base["fraction"])
        for x in autos:
            if x["kind"] != "diffuse" or not x["rejected"]:
                continue
            if name == "siopen" and x["siopen"] == key:
                frac = 0.0  # the segment's one diffuse lesion
            elif name == "curie":  # the Curie share its region accounted for
                frac -= float((x.get("curie_share") or {}).get(key, 0.0))
        frac = frac if frac >= base.get("min_fraction", MIN_DIFFUSE_FRACTION) else 0.0
        for x in lesions:
            painted = x.get(f"{name}_fractions") if x["source"] != "auto" else None
            if painted and not x["rejected"]:
                frac = max(frac, float(painted.get(key, 0.0)))
        if name == "siopen" and "whole" in base:  # the adapted model's limits
            grade = grade_siopen_segment(max(count, 0), min(frac, 1.0), half=base["half"],
                                         whole=base["whole"])
        else:
            rule = grade_siopen_segment if name == "siopen" else grade_curie_segment
            grade = rule(max(count, 0), min(frac, 1.0))
        grades[key] = min(grade, top)
    return grades


def _base_of_auto(name: str, key: str, autos: list[dict[str, Any]], grade: int
                  ) -> dict[str, Any]:
    """A segment's evidence when none was saved: its automatic lesions (a Curie diffuse share
    is taken from the automatic Curie grade: 3 means more than half the segment)."""
    focal = sum(1 for x in autos if x["kind"] == "focal" and key in _segments_of(x, name))
    diffuse = [x for x in autos if x["kind"] == "diffuse" and key in _segments_of(x, name)]
    if name == "siopen":
        frac = max((x["fraction"] or 0.0 for x in diffuse), default=0.0)
    else:
        frac = (0.75 if grade == 3 else 0.3) if diffuse else 0.0
    return {"focal": focal, "fraction": frac}
