"""Follow-up: a study compared with the same patient's prior study, segment by segment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mibgscore.app.db import LOCKED, Study
from mibgscore.app.schemes import SCHEME_NAMES, Schemes
from mibgscore.app.storage import Store, get_study
from mibgscore.app.studies import summary
from mibgscore.app.users import user_names
from mibgscore.errors import ServiceError
from mibgscore.grading.rules import response


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


def followup(store: Store, study_id: int) -> dict[str, Any]:
    """Comparison with the patient's prior study: grades, change per segment, response."""
    with store.session() as s:
        study = get_study(s, study_id)
        prior = prior_of(s, study)
        if prior is None:
            raise ServiceError("this patient has no earlier scored study to compare with.",
                               404, "no_prior")
        if not study.siopen:
            raise ServiceError("this study is not scored yet.", 409, "not_scored")
        names = user_names(s)
        out: dict[str, Any] = {"current": summary(study, names, store.schemes),
                               "prior": summary(prior, names, store.schemes),
                               "prior_signed": prior.status in LOCKED,
                               "current_signed": study.status in LOCKED}
        out["interval_days"] = (dt.date.fromisoformat(study.study_date)
                                - dt.date.fromisoformat(prior.study_date)).days
        for scheme in SCHEME_NAMES:
            out[scheme] = _compare(getattr(prior, scheme), getattr(study, scheme),
                                   store.schemes, scheme)
        return out


def _compare(prior: dict[str, int], current: dict[str, int], schemes: Schemes, name: str
             ) -> dict[str, Any]:
    rows = [{"segment": k, "prior": prior[k], "current": current[k],
             "change": current[k] - prior[k]} for k in Schemes.keys(name)]
    ta, tb = schemes.grades(name, prior).total, schemes.grades(name, current).total
    return {"segments": rows, "prior_total": ta, "current_total": tb, "change": tb - ta,
            "change_percent": None if ta == 0 else round(100.0 * (tb - ta) / ta, 1),
            "response": response(ta, tb)}
