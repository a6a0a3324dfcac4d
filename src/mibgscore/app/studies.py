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

READ = ("in_review", "signed", "amending", "amended")
"""Statuses in which a reader has read the study (its final score is the reader's)."""

TODO = {"new": "wait", "scoring": "wait", "failed": "failed", "scored": "read",
        "in_review": "sign", "amending": "sign_amendment", "signed": "", "amended": ""}
"""What a study needs next, by status (the worklist's "to do" column)."""

_WORK_ORDER = {"read": 0, "sign": 1, "sign_amendment": 2, "wait": 3, "failed": 4, "": 5}


def display_name(name: str | None) -> str | None:
    """A DICOM Person Name (``Family^Given^Middle^Prefix^Suffix``) as "Family, Given Middle".

    Examples
    --------
    >>> display_name("Followup^Demo")
    'Followup, Demo'
    >>> display_name("DUPONT^Jean^Paul"), display_name("Solo")
    ('DUPONT, Jean Paul', 'Solo')
    """
    if not name:
        return name
    parts = [p.strip() for p in name.split("=")[0].split("^")]
    family = parts[0]
    given = " ".join(p for p in parts[1:3] if p)
    return f"{family}, {given}" if family and given else family or given or name


def summary(study: Study, names: dict[int, str], schemes: Schemes) -> dict[str, Any]:
    """One worklist row; totals through ``schemes``, the segment tables in use.

    ``siopen_total`` and ``curie_total`` are the reading's current totals; ``read`` says
    whether a reader has read the study (before that the totals are the automatic ones);
    ``todo`` what it needs next (:data:`TODO`).
    """

    def total(name: str) -> int | None:
        grades = getattr(study, name)
        return schemes.grades(name, grades).total if grades else None

    return {
        "id": study.id, "key": study.key, "patient_id": study.patient_id,
        "patient_name": study.patient_name, "display_name": display_name(study.patient_name),
        "age_years": study.age_years, "sex": study.sex,
        "study_date": study.study_date, "description": study.description,
        "status": study.status, "auto_siopen_total": study.auto_siopen_total,
        "siopen_total": total("siopen"),
        "curie_total": total("curie"),
        "reader": names.get(study.signed_by or study.reader_id or -1),
        "signed_at": study.signed_at.isoformat() + "Z" if study.signed_at else None,
        "error": study.error, "version": study.version,
        "read": study.status in READ, "todo": TODO.get(study.status, ""),
    }


def worklist(store: Store, *, q: str = "", status: str = "") -> list[dict[str, Any]]:
    """All studies, what needs doing first (to read, to sign, to finish amending, scoring,
    failed, done), then newest study date first; ``q`` searches patient ID, name, description
    and date. ``prior_id`` names the study a follow-up comparison would use (None: none)."""
    with store.session() as s:
        names = user_names(s)
        rows = []
        studies = list(s.scalars(select(Study).order_by(Study.study_date.desc(),
                                                        Study.id.desc())))
        studies.sort(key=lambda st: _WORK_ORDER[TODO.get(st.status, "")])
        for st in studies:
            if status and st.status != status:
                continue
            if q:
                hay = " ".join(x or "" for x in (st.patient_id, st.patient_name,
                                                 st.description, st.study_date)).lower()
                if q.lower() not in hay:
                    continue
            row = summary(st, names, store.schemes)
            prior = prior_of(s, st)
            row["prior_id"] = prior.id if prior is not None else None
            rows.append(row)
        return rows


def prior_of(s: Session, study: Study) -> Study | None:
    """The latest earlier study of the same patient, signed ones first."""
    if not study.patient_id or not study.study_date:
        return None
    earlier = [p for p in s.scalars(select(Study).where(Study.patient_id == study.patient_id,
                                                        Study.id != study.id))
               if p.study_date and p.study_date < study.study_date and p.siopen]
    if not earlier:
        return None
    signed = [p for p in earlier if p.status in LOCKED]
    pool = signed or earlier
    return max(pool, key=lambda p: (p.study_date, p.id))


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
        out.update(_lesion_state(store, study))
        prior = prior_of(s, study)
        out.update({
            "prior_id": prior.id if prior is not None else None,
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


def _lesion_state(store: Store, study: Study) -> dict[str, Any]:
    """The lesion list, overrides, the grades of the lesion list alone, and each SIOPEN
    segment's confidence and check flag (confidence under ``report.overlay.LOW_CONFIDENCE``)."""
    from mibgscore.app.scoring import lesion_list, overrides_of, regrade
    from mibgscore.report.overlay import LOW_CONFIDENCE

    if study.auto is None:
        return {"lesions": [], "overrides": overrides_of(study), "overridden": {},
                "computed": None, "confidence": {}, "check": [],
                "check_below": LOW_CONFIDENCE}
    lesions = lesion_list(study, store)
    overrides = overrides_of(study)
    res = regrade(study.auto, study.evidence, lesions, overrides, store.schemes)
    conf = study.auto["siopen"].get("confidence") or {}
    return {"lesions": lesions, "overrides": overrides, "overridden": res["overridden"],
            "computed": res["computed"], "confidence": conf,
            "check": [k for k in Schemes.keys("siopen") if conf.get(k, 1.0) < LOW_CONFIDENCE],
            "check_below": LOW_CONFIDENCE}


def history(s: Session, study_id: int, names: dict[int, str]) -> list[dict[str, Any]]:
    """The study's events, oldest first: when, who, what, and the version it made."""
    return [{"at": ev.at.isoformat() + "Z", "user": names.get(ev.user_id or -1, "system"),
             "action": ev.action, "detail": ev.detail, "version": ev.version}
            for ev in s.scalars(select(Event).where(Event.study_id == study_id)
                                .order_by(Event.id))]


def history_json(store: Store, study_id: int) -> str:
    return json.dumps(reading(store, study_id)["history"], indent=1)


def diffuse_runs(store: Store, study_id: int) -> dict[str, Any]:
    """The automatic diffuse involvement of a study as runs ``[row, first col, last col,
    label]`` (label i + 1: SIOPEN segment i; anterior frame), with its ``rows`` and ``cols``."""
    import numpy as np

    from mibgscore.app.scoring import load_diffuse_map

    with store.session() as s:
        study = get_study(s, study_id)
    labels = load_diffuse_map(store, study)
    if labels is None:
        return {"rows": study.rows, "cols": study.cols, "runs": []}
    runs = []
    for r in np.nonzero(labels.any(axis=1))[0]:
        line = labels[r]
        edges = np.flatnonzero(np.diff(np.concatenate(([0], line, [0]))) != 0)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if line[a]:
                runs.append([int(r), int(a), int(b - 1), int(line[a])])
    return {"rows": int(labels.shape[0]), "cols": int(labels.shape[1]), "runs": runs}
