"""What the worklist and the viewer show of studies: rows, the full reading, its history."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mibgscore.app.db import LOCKED, Event, Study
from mibgscore.app.schemes import SCHEME_NAMES, Schemes
from mibgscore.app.storage import Store, get_study, maps_present, views_present
from mibgscore.app.users import user_names


def summary(study: Study, names: dict[int, str], schemes: Schemes) -> dict[str, Any]:
    """One worklist row; totals through ``schemes``, the segment tables in use."""

    def total(name: str) -> int | None:
        grades = getattr(study, name)
        return schemes.grades(name, grades).total if grades else None

    return {
        "id": study.id, "key": study.key, "patient_id": study.patient_id,
        "patient_name": study.patient_name, "age_years": study.age_years, "sex": study.sex,
        "study_date": study.study_date, "description": study.description,
        "status": study.status, "auto_siopen_total": study.auto_siopen_total,
        "siopen_total": total("siopen"),
        "curie_total": total("curie"),
        "reader": names.get(study.signed_by or study.reader_id or -1),
        "signed_at": study.signed_at.isoformat() + "Z" if study.signed_at else None,
        "error": study.error, "version": study.version,
    }


def worklist(store: Store, *, q: str = "", status: str = "") -> list[dict[str, Any]]:
    """All studies, newest study date first; ``q`` searches patient ID, name and description."""
    with store.session() as s:
        names = user_names(s)
        rows = []
        for st in s.scalars(select(Study).order_by(Study.study_date.desc(), Study.id.desc())):
            if status and st.status != status:
                continue
            if q:
                hay = " ".join(x or "" for x in (st.patient_id, st.patient_name,
                                                 st.description, st.study_date)).lower()
                if q.lower() not in hay:
                    continue
            rows.append(summary(st, names, store.schemes))
        return rows


def edited_segments(study: Study) -> list[str]:
    """``scheme:segment`` of every final grade that differs from the automatic one."""
    auto = study.auto
    return sorted(f"{sch}:{k}" for sch in SCHEME_NAMES for k in Schemes.keys(sch)
                  if auto and getattr(study, sch)
                  and getattr(study, sch)[k] != auto[sch]["segments"][k])


def model_name(auto: dict | None) -> str | None:
    """Name of what scored the study (``model.name`` of its score JSON); None before scoring,
    ``"unknown"`` for a score saved before results named their model."""
    if auto is None:
        return None
    return str((auto.get("model") or {}).get("name", "unknown"))


def reading(store: Store, study_id: int, *, session: Session | None = None) -> dict[str, Any]:
    """The full reading of one study: header, automatic and final grades, lesions, history."""
    s = session or store.session()
    try:
        study = get_study(s, study_id)
        names = user_names(s)
        out = summary(study, names, store.schemes)
        out.update({
            "rows": study.rows, "cols": study.cols,
            "spacing_mm": [study.spacing_row_mm, study.spacing_col_mm],
            "birth_date": study.birth_date, "assumptions": study.assumptions,
            "auto": study.auto, "model": model_name(study.auto),
            "siopen": study.siopen, "curie": study.curie,
            "impression": study.impression, "amendment_reason": study.amendment_reason,
            "signed_by": names.get(study.signed_by or -1),
            "locked": study.status in LOCKED,
            "edited": edited_segments(study),
            "history": history(s, study_id, names),
            "views": views_present(store, study),
            "maps": maps_present(store, study),
        })
        return out
    finally:
        if session is None:
            s.close()


def history(s: Session, study_id: int, names: dict[int, str]) -> list[dict[str, Any]]:
    """The study's events, oldest first: when, who, what, and the version it made."""
    return [{"at": ev.at.isoformat() + "Z", "user": names.get(ev.user_id or -1, "system"),
             "action": ev.action, "detail": ev.detail, "version": ev.version}
            for ev in s.scalars(select(Event).where(Event.study_id == study_id)
                                .order_by(Event.id))]


def history_json(store: Store, study_id: int) -> str:
    return json.dumps(reading(store, study_id)["history"], indent=1)
