"""The reading of a study as a state machine: grade edits, impression, sign-off, amendment.

new -> scoring -> scored -> in_review -> signed (-> amending -> amended); signed and amended
readings are locked. Every change names the version it was made on, and is refused (409, with
who changed the reading meanwhile) when that is no longer the study's version: two readers
never overwrite each other. Each change is one transaction and one line of the history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mibgscore.app.db import LOCKED, Event, Study, utcnow
from mibgscore.app.schemes import SCHEME_NAMES, Schemes
from mibgscore.app.scoring import (
    REJECT_REASONS,
    lesion_list,
    overrides_of,
    regrade,
)
from mibgscore.app.storage import Store, get_study, load_maps, remove_study_files
from mibgscore.app.studies import reading
from mibgscore.app.users import user_names
from mibgscore.errors import ServiceError

logger = logging.getLogger(__name__)

MAX_IMPRESSION = 10000
"""Longest free-text impression, in characters."""

MAX_BONE_DISTANCE_MM = 15.0
"""A focus the reader adds further than this from the fitted skeleton is refused."""

MAX_STROKES = 2000
"""Most brush dabs in one painted diffuse region."""


def _conflict(s: Session, study: Study) -> ServiceError:
    who = user_names(s).get(study.updated_by or -1, "another reader")
    when = study.updated_at.strftime("%H:%M:%S") if study.updated_at else "?"
    return ServiceError(
        f"{who} changed this reading at {when} UTC (now version {study.version}); your change "
        "was not saved. Reload the study to see the current grades, then redo your change.",
        409, "conflict", {"version": study.version, "by": who})


def _change(store: Store, study_id: int, user_id: int, version: int, action: str,
            apply: Callable[[Study], dict | None], *, allow_locked: bool = False
            ) -> dict[str, Any]:
    """Apply one edit in one transaction, if ``version`` is still the study's version."""
    with store.session() as s, s.begin():
        study = get_study(s, study_id)
        if study.auto is None and action not in ("impression",):
            raise ServiceError("this study has no automatic score yet; wait for scoring to "
                               "finish.", 409, "not_scored")
        if study.version != version:
            raise _conflict(s, study)
        if study.status in LOCKED and not allow_locked:
            raise ServiceError("this reading is signed and locked; amend it (with a reason) "
                               "to change it.", 409, "locked")
        detail = apply(study)
        if detail is None:  # nothing changed
            return reading(store, study_id, session=s)
        values = {
            "siopen": study.siopen, "curie": study.curie, "impression": study.impression,
            "lesions": study.lesions, "overrides": study.overrides,
            "status": study.status, "reader_id": study.reader_id, "signed_by": study.signed_by,
            "signed_at": study.signed_at, "amendment_reason": study.amendment_reason,
            "updated_at": utcnow(), "updated_by": user_id, "version": version + 1,
        }
        s.expire(study)
        res = s.execute(update(Study).where(Study.id == study_id, Study.version == version)
                        .values(**values).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            raise _conflict(s, get_study(s, study_id))
        s.add(Event(study_id=study_id, user_id=user_id, action=action, detail=detail,
                    version=version + 1))
        s.flush()
        return reading(store, study_id, session=s)


def _start_review(study: Study, user_id: int) -> None:
    if study.status in ("scored", "new", "failed"):
        study.status = "in_review"
    if study.reader_id is None:
        study.reader_id = user_id


def _regrade(store: Store, study: Study, lesions: list[dict[str, Any]],
             overrides: dict[str, dict[str, int]]) -> dict[str, dict[str, list[int]]]:
    """Store the lesion list and overrides and both scores recomputed from them; return the
    grades that changed, ``{scheme: {key: [from, to]}}``."""
    res = regrade(study.auto, study.evidence, lesions, overrides, store.schemes)
    changes = {}
    for name in SCHEME_NAMES:
        old = getattr(study, name) or {}
        diff = {k: [old.get(k), v] for k, v in res[name].items() if old.get(k) != v}
        if diff:
            changes[name] = diff
        setattr(study, name, dict(res[name]))
    study.lesions = lesions
    study.overrides = overrides
    return changes


def _in_segment(x: dict[str, Any], scheme: str, key: str) -> bool:
    if scheme == "siopen":
        return x["siopen"] == key or key in (x.get("siopen_fractions") or {})
    return x.get("curie") == key or key in (x.get("curie_share") or {}) or key in (
        x.get("curie_fractions") or {})


def set_grade(store: Store, study_id: int, user_id: int, *, scheme: str, segment: str,
              grade: int, version: int) -> dict[str, Any]:
    """Set the reader's grade of one segment (``scheme`` ``"siopen"`` or ``"curie"``).

    Grade 0 says the segment has no abnormal uptake: its lesions are rejected
    (``not_abnormal``), and both scores recompute from the lesion list. Any other grade that
    differs from the lesion list's is an override of that segment (marked overridden; a SIOPEN
    override also sets the Curie segment of the same bones, ``scoring.regrade``); the grade
    the lesion list gives clears the override.
    """
    if scheme not in SCHEME_NAMES:
        raise ServiceError(f"scheme {scheme!r} is not siopen or curie.")
    if segment not in Schemes.keys(scheme):
        raise ServiceError(f"segment {segment!r} is not a {scheme} segment.")
    top = store.schemes.max_grade(scheme)
    if not isinstance(grade, int) or not 0 <= grade <= top:
        raise ServiceError(f"a {scheme} grade runs from 0 to {top}, not {grade}.")

    def apply(study: Study) -> dict | None:
        old = (getattr(study, scheme) or {})[segment]
        lesions = lesion_list(study, store)
        overrides = overrides_of(study)
        overrides[scheme].pop(segment, None)
        rejected, restored = [], []
        for x in lesions:
            if not _in_segment(x, scheme, segment):
                continue
            if grade == 0 and not x["rejected"]:
                x["rejected"] = "not_abnormal"
                rejected.append(x["id"])
            elif grade > 0 and x["rejected"] == "not_abnormal":  # undo an earlier 0
                x["rejected"] = None
                restored.append(x["id"])
        res = regrade(study.auto, study.evidence, lesions, overrides, store.schemes)
        if res[scheme][segment] != grade:
            overrides[scheme][segment] = grade
        if old == grade and not rejected and not restored and \
                overrides == overrides_of(study):
            return None
        changes = _regrade(store, study, lesions, overrides)
        _start_review(study, user_id)
        auto = study.auto[scheme]["segments"][segment]
        return {"scheme": scheme, "segment": segment, "from": old, "to": grade, "auto": auto,
                "overridden": segment in overrides[scheme], "rejected": rejected,
                "restored": restored, "changes": changes}

    return _change(store, study_id, user_id, version, "grade", apply, allow_locked=False)


def accept_all(store: Store, study_id: int, user_id: int, *, version: int) -> dict[str, Any]:
    """Make every final grade the automatic one: the automatic lesion list, no override."""

    def apply(study: Study) -> dict | None:
        changed = {}
        for scheme in SCHEME_NAMES:
            auto = study.auto[scheme]["segments"]
            cur = getattr(study, scheme)
            diff = {k: [cur[k], auto[k]] for k in Schemes.keys(scheme) if cur[k] != auto[k]}
            if diff:
                changed[scheme] = diff
            setattr(study, scheme, dict(auto))
        lesions = lesion_list(study, store)
        undone = [x["id"] for x in lesions if x["source"] != "auto" or x["rejected"]]
        kept = [dict(x, rejected=None) for x in lesions if x["source"] == "auto"]
        study.lesions = kept
        study.overrides = {name: {} for name in SCHEME_NAMES}
        _start_review(study, user_id)
        return {"reset": changed, "lesions_undone": undone}

    return _change(store, study_id, user_id, version, "accept_all", apply)


def edit_lesion(store: Store, study_id: int, user_id: int, *, lesion_id: int,
                rejected: str | None, version: int) -> dict[str, Any]:
    """Reject a lesion with a reason (:data:`scoring.REJECT_REASONS`), or restore it
    (``rejected=None``); both scores recompute."""
    if rejected is not None and rejected not in REJECT_REASONS:
        raise ServiceError(f"a lesion is rejected as {', '.join(REJECT_REASONS)}; "
                           f"not {rejected!r}.")

    def apply(study: Study) -> dict | None:
        lesions = lesion_list(study, store)
        found = [x for x in lesions if x["id"] == lesion_id]
        if not found:
            raise ServiceError(f"this study has no lesion {lesion_id}.", 404, "not_found")
        x = found[0]
        if x["rejected"] == rejected:
            return None
        before = x["rejected"]
        x["rejected"] = rejected
        overrides = overrides_of(study)
        changes = _regrade(store, study, lesions, overrides)
        _start_review(study, user_id)
        return {"lesion": lesion_id, "kind": x["kind"], "source": x["source"],
                "segment": x["siopen"], "from": before, "to": rejected, "changes": changes}

    return _change(store, study_id, user_id, version, "lesion", apply)


def _segment_at(maps: dict[str, np.ndarray], store: Store, row: int, col: int,
                spacing_mm: float) -> tuple[str, str | None]:
    """SIOPEN and Curie keys of the bone pixel nearest (row, col), within
    :data:`MAX_BONE_DISTANCE_MM`."""
    smap = maps.get("siopen_map")
    if smap is None:
        raise ServiceError("this study has no segment map; grade the segment directly.", 409,
                           "no_map")
    if not (0 <= row < smap.shape[0] and 0 <= col < smap.shape[1]):
        raise ServiceError(f"row {row}, column {col} is outside the image "
                           f"({smap.shape[0]} x {smap.shape[1]}).")
    reach = max(1, int(round(MAX_BONE_DISTANCE_MM / max(spacing_mm, 0.1))))
    r0, c0 = max(0, row - reach), max(0, col - reach)
    win = smap[r0:row + reach + 1, c0:col + reach + 1]
    rr, cc = np.nonzero(win)
    if not len(rr):
        raise ServiceError(f"that point is more than {MAX_BONE_DISTANCE_MM:.0f} mm from the "
                           "fitted skeleton; grade the segment directly.", 400, "not_bone")
    d = (rr + r0 - row) ** 2 + (cc + c0 - col) ** 2
    k = int(np.argmin(d))
    if d[k] > reach * reach:
        raise ServiceError(f"that point is more than {MAX_BONE_DISTANCE_MM:.0f} mm from the "
                           "fitted skeleton; grade the segment directly.", 400, "not_bone")
    r, c = int(rr[k] + r0), int(cc[k] + c0)
    siopen = store.schemes.siopen.keys[int(smap[r, c]) - 1]
    cmap = maps.get("curie_map")
    curie = None
    if cmap is not None and cmap[r, c] > 0:
        curie = store.schemes.curie.keys[int(cmap[r, c]) - 1]
    return siopen, curie


def add_focus(store: Store, study_id: int, user_id: int, *, row: int, col: int,
              version: int) -> dict[str, Any]:
    """Add a focus the software missed, at (row, col) of the anterior frame: it counts in the
    segments (SIOPEN and Curie) of the nearest bone pixel."""

    def apply(study: Study) -> dict | None:
        maps = load_maps(store, study) or {}
        siopen, curie = _segment_at(maps, store, row, col, min(study.spacing_row_mm,
                                                                 study.spacing_col_mm))
        lesions = lesion_list(study, store)
        lid = max((x["id"] for x in lesions), default=0) + 1
        lesions.append({"id": lid, "kind": "focal", "row": int(row), "col": int(col),
                        "siopen": siopen, "curie": curie, "fraction": None,
                        "confidence": 1.0, "source": "reader", "rejected": None,
                        "by": user_id})
        changes = _regrade(store, study, lesions, overrides_of(study))
        _start_review(study, user_id)
        return {"lesion": lid, "kind": "focal", "source": "reader", "segment": siopen,
                "row": int(row), "col": int(col), "to": "added", "changes": changes}

    return _change(store, study_id, user_id, version, "lesion", apply)


def painted_mask(shape: tuple[int, int], strokes: list[list[float]]) -> np.ndarray:
    """Pixels covered by brush dabs ``[row, col, radius]`` (anterior frame, pixels)."""
    mask = np.zeros(shape, bool)
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    for row, col, radius in strokes:
        rad = max(1.0, float(radius))
        r0, r1 = max(0, int(row - rad)), min(shape[0], int(row + rad) + 2)
        c0, c1 = max(0, int(col - rad)), min(shape[1], int(col + rad) + 2)
        if r0 >= r1 or c0 >= c1:
            continue
        mask[r0:r1, c0:c1] |= ((rr[r0:r1] - row) ** 2 + (cc[:, c0:c1] - col) ** 2
                               <= rad * rad)
    return mask


def add_diffuse(store: Store, study_id: int, user_id: int, *, strokes: list[list[float]],
                version: int) -> dict[str, Any]:
    """Add a diffuse region the reader painted (brush dabs ``[row, col, radius]``): its share
    of each segment's bone, in both schemes, as ``grading.segments.diffuse_fractions``
    measures it (under 12 % of a segment does not count)."""
    from mibgscore.grading.segments import diffuse_fractions

    if not strokes or len(strokes) > MAX_STROKES or any(len(x) != 3 for x in strokes):
        raise ServiceError(f"a painted region is 1 to {MAX_STROKES} dabs [row, col, radius].")

    def apply(study: Study) -> dict | None:
        maps = load_maps(store, study) or {}
        if "siopen_map" not in maps:
            raise ServiceError("this study has no segment map; grade the segment directly.",
                               409, "no_map")
        mask = painted_mask(maps["siopen_map"].shape, strokes)
        fractions = {}
        for name in SCHEME_NAMES:
            smap = maps.get(f"{name}_map")
            if smap is None:
                fractions[name] = {}
                continue
            keys = store.schemes[name].keys
            frac = diffuse_fractions(smap, mask, len(keys))
            fractions[name] = {k: round(float(f), 4) for k, f in zip(keys, frac, strict=True)
                               if f > 0}
        if not fractions["siopen"]:
            raise ServiceError("the painted region covers less than 12 % of any segment's "
                               "bone; paint more of it, or grade the segment directly.", 400,
                               "too_small")
        main = max(fractions["siopen"], key=fractions["siopen"].get)
        rows, cols = np.nonzero(mask)
        lesions = lesion_list(study, store)
        lid = max((x["id"] for x in lesions), default=0) + 1
        lesions.append({"id": lid, "kind": "diffuse", "row": int(np.median(rows)),
                        "col": int(np.median(cols)), "siopen": main,
                        "curie": max(fractions["curie"], key=fractions["curie"].get)
                        if fractions["curie"] else None,
                        "fraction": fractions["siopen"][main], "confidence": 1.0,
                        "source": "reader", "rejected": None, "by": user_id,
                        "siopen_fractions": fractions["siopen"],
                        "curie_fractions": fractions["curie"],
                        "strokes": [[round(float(v), 1) for v in x] for x in strokes]})
        changes = _regrade(store, study, lesions, overrides_of(study))
        _start_review(study, user_id)
        return {"lesion": lid, "kind": "diffuse", "source": "reader", "segment": main,
                "fractions": fractions["siopen"], "to": "added", "changes": changes}

    return _change(store, study_id, user_id, version, "lesion", apply)


def set_impression(store: Store, study_id: int, user_id: int, *, text: str, version: int
                   ) -> dict[str, Any]:
    """Save the free-text impression."""
    if len(text) > MAX_IMPRESSION:
        raise ServiceError("the impression is limited to 10,000 characters.")

    def apply(study: Study) -> dict | None:
        if study.impression == text:
            return None
        old = study.impression
        study.impression = text
        if study.auto is not None:
            _start_review(study, user_id)
        return {"from_length": len(old), "to_length": len(text)}

    return _change(store, study_id, user_id, version, "impression", apply)


def sign(store: Store, study_id: int, user_id: int, *, version: int) -> dict[str, Any]:
    """Sign the reading: it becomes final and locked."""

    def apply(study: Study) -> dict | None:
        if study.status in LOCKED:
            raise ServiceError("this reading is already signed.", 409, "locked")
        amended = study.status == "amending"
        study.status = "amended" if amended else "signed"
        study.signed_by = user_id
        study.signed_at = utcnow()
        if study.reader_id is None:
            study.reader_id = user_id
        edited = [f"{sch}:{k}" for sch in SCHEME_NAMES for k in Schemes.keys(sch)
                  if getattr(study, sch)[k] != study.auto[sch]["segments"][k]]
        return {"siopen_total": store.schemes.grades("siopen", study.siopen).total,
                "curie_total": store.schemes.grades("curie", study.curie).total,
                "auto_siopen_total": study.auto["siopen"]["total"],
                "edited": edited, "amendment": amended}

    signed = _change(store, study_id, user_id, version, "sign", apply)
    from mibgscore.app.pacs import reading_signed  # sent to the PACS, when one is configured

    reading_signed(store, study_id)
    return signed


def amend(store: Store, study_id: int, user_id: int, *, reason: str, version: int
          ) -> dict[str, Any]:
    """Reopen a signed reading for an amendment; the reason is kept in the history."""
    reason = reason.strip()
    if len(reason) < 3:
        raise ServiceError("an amendment needs a reason (at least 3 characters).", 400,
                           "reason")

    def apply(study: Study) -> dict | None:
        if study.status not in LOCKED:
            raise ServiceError("only a signed reading can be amended.", 409, "not_signed")
        study.status = "amending"
        study.amendment_reason = reason
        return {"reason": reason, "previous_signed_at": study.signed_at.isoformat()
                if study.signed_at else None}

    return _change(store, study_id, user_id, version, "amend", apply, allow_locked=True)


def delete_study(store: Store, study_id: int, user_id: int) -> None:
    """Delete a study, its files and its history (admin only, checked by the caller)."""
    with store.session() as s, s.begin():
        study = get_study(s, study_id)
        key = study.key
        for ev in s.scalars(select(Event).where(Event.study_id == study_id)):
            s.delete(ev)
        s.delete(study)
    remove_study_files(store, key)
    logger.info("study %s deleted by user %d", key[:8], user_id)
