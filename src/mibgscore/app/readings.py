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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mibgscore.app.db import LOCKED, Event, Study, utcnow
from mibgscore.app.schemes import SCHEME_NAMES, Schemes
from mibgscore.app.storage import Store, get_study, remove_study_files
from mibgscore.app.studies import reading
from mibgscore.app.users import user_names
from mibgscore.errors import ServiceError

logger = logging.getLogger(__name__)

MAX_IMPRESSION = 10000
"""Longest free-text impression, in characters."""


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


def set_grade(store: Store, study_id: int, user_id: int, *, scheme: str, segment: str,
              grade: int, version: int) -> dict[str, Any]:
    """Set the reader's grade of one segment (``scheme`` ``"siopen"`` or ``"curie"``)."""
    if scheme not in SCHEME_NAMES:
        raise ServiceError(f"scheme {scheme!r} is not siopen or curie.")
    if segment not in Schemes.keys(scheme):
        raise ServiceError(f"segment {segment!r} is not a {scheme} segment.")
    top = store.schemes.max_grade(scheme)
    if not isinstance(grade, int) or not 0 <= grade <= top:
        raise ServiceError(f"a {scheme} grade runs from 0 to {top}, not {grade}.")

    def apply(study: Study) -> dict | None:
        grades = dict(getattr(study, scheme))
        old = grades[segment]
        if old == grade:
            return None
        grades[segment] = grade
        setattr(study, scheme, grades)
        _start_review(study, user_id)
        auto = study.auto[scheme]["segments"][segment]
        return {"scheme": scheme, "segment": segment, "from": old, "to": grade, "auto": auto}

    return _change(store, study_id, user_id, version, "grade", apply, allow_locked=False)


def accept_all(store: Store, study_id: int, user_id: int, *, version: int) -> dict[str, Any]:
    """Make every final grade the automatic one."""

    def apply(study: Study) -> dict | None:
        changed = {}
        for scheme in SCHEME_NAMES:
            auto = study.auto[scheme]["segments"]
            cur = getattr(study, scheme)
            diff = {k: [cur[k], auto[k]] for k in Schemes.keys(scheme) if cur[k] != auto[k]}
            if diff:
                changed[scheme] = diff
            setattr(study, scheme, dict(auto))
        _start_review(study, user_id)
        return {"reset": changed}

    return _change(store, study_id, user_id, version, "accept_all", apply)


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

    return _change(store, study_id, user_id, version, "sign", apply)


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
