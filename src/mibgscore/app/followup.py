"""Follow-up: a study compared with the same patient's prior study, segment by segment, and
each lesion of the prior scan paired with its counterpart (persisting, resolved, new)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mibgscore.app.db import LOCKED, Study
from mibgscore.app.schemes import SCHEME_NAMES, Schemes
from mibgscore.app.storage import Store, get_study, load_maps
from mibgscore.app.studies import prior_of, summary
from mibgscore.app.users import user_names
from mibgscore.errors import ServiceError
from mibgscore.grading.rules import response


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
        out["lesions"] = pair_lesions(store, prior, study)
        return out


def _compare(prior: dict[str, int], current: dict[str, int], schemes: Schemes, name: str
             ) -> dict[str, Any]:
    rows = [{"segment": k, "prior": prior[k], "current": current[k],
             "change": current[k] - prior[k]} for k in Schemes.keys(name)]
    ta, tb = schemes.grades(name, prior).total, schemes.grades(name, current).total
    return {"segments": rows, "prior_total": ta, "current_total": tb, "change": tb - ta,
            "change_percent": None if ta == 0 else round(100.0 * (tb - ta) / ta, 1),
            "response": response(ta, tb)}


PAIR_MIN_MM = 25.0
PAIR_SHARE = 0.2
"""Two foci of one segment on two scans are the same lesion when their places, measured within
the segment's extent on each scan, are less than max(PAIR_MIN_MM, PAIR_SHARE x the segment's
diagonal) apart."""


def _active(store: Store, study: Study) -> list[dict[str, Any]]:
    from mibgscore.app.scoring import lesion_list

    return [x for x in lesion_list(study, store) if not x["rejected"]]


def _boxes(store: Store, study: Study) -> dict[str, tuple[float, float, float, float]]:
    """Each SIOPEN segment's extent on the scan: (top, left, height, width) in mm."""
    maps = load_maps(store, study) or {}
    smap = maps.get("siopen_map")
    out = {}
    if smap is None:
        return out
    sr, sc = study.spacing_row_mm, study.spacing_col_mm
    for i, key in enumerate(store.schemes.siopen.keys):
        rr, cc = (smap == i + 1).nonzero()
        if len(rr):
            out[key] = (rr.min() * sr, cc.min() * sc, max(1.0, (rr.max() - rr.min() + 1) * sr),
                        max(1.0, (cc.max() - cc.min() + 1) * sc))
    return out


def _place(x: dict[str, Any], box, study: Study) -> tuple[float, float]:
    """A lesion's place within its segment's extent (0-1 down and across), or in mm."""
    r, c = x["row"] * study.spacing_row_mm, x["col"] * study.spacing_col_mm
    if box is None:
        return r, c
    return (r - box[0]) / box[2], (c - box[1]) / box[3]


def pair_lesions(store: Store, prior: Study, current: Study) -> dict[str, Any]:
    """Each lesion of ``prior`` paired with its counterpart on ``current``, segment by segment.

    Diffuse involvement of a segment pairs with diffuse involvement of the same segment; foci
    pair nearest first by their place within the segment (a scan's positioning differs, so
    places are measured within the segment's extent on each scan); then a focus left over
    pairs with diffuse involvement left over in the same segment (diffuse disease that shrank
    to a focus, or a focus that spread: ``change`` says which). Unpaired prior lesions have
    resolved, unpaired current ones are new.

    Returns
    -------
    dict
        ``pairs``: ``{"segment", "kind", "status", "prior", "current", "distance_mm",
        "change"}``
        (``prior``/``current``: ``{"id", "row", "col"}`` or None), with a ``tag`` (A, B, ...)
        per persisting pair; ``segments``: per SIOPEN key the counts ``persisting``,
        ``resolved``, ``new``; ``total``: the same over all segments.
    """
    a, b = _active(store, prior), _active(store, current)
    box_a, box_b = _boxes(store, prior), _boxes(store, current)
    pairs: list[dict[str, Any]] = []
    for key in Schemes.keys("siopen"):
        pa = [x for x in a if x["siopen"] == key]
        pb = [x for x in b if x["siopen"] == key]
        pairs += _pair_segment(key, pa, pb, prior, current, box_a.get(key), box_b.get(key))
    tag = 0
    for p in pairs:
        if p["status"] == "persisting":
            p["tag"] = _tag(tag)
            tag += 1
    segments = {key: {st: sum(1 for p in pairs if p["segment"] == key and p["status"] == st)
                      for st in ("persisting", "resolved", "new")}
                for key in Schemes.keys("siopen")}
    total = {st: sum(v[st] for v in segments.values()) for st in ("persisting", "resolved",
                                                                   "new")}
    return {"pairs": pairs, "segments": segments, "total": total}


def _tag(i: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _ref(x: dict[str, Any] | None) -> dict[str, int] | None:
    return None if x is None else {"id": x["id"], "row": x["row"], "col": x["col"]}


def _pair_segment(key: str, pa: list, pb: list, prior: Study, current: Study,
                  box_a, box_b) -> list[dict[str, Any]]:
    """Greedy nearest-first pairing of one segment's lesions: same kind first, then a focus
    with diffuse involvement."""
    scale = None
    if box_a is not None and box_b is not None:
        scale = ((box_a[2] + box_b[2]) / 2, (box_a[3] + box_b[3]) / 2)
    limit = PAIR_MIN_MM if scale is None else max(
        PAIR_MIN_MM, PAIR_SHARE * (scale[0] ** 2 + scale[1] ** 2) ** 0.5)

    def distance(x, y) -> float:
        (u1, v1) = _place(x, box_a if scale else None, prior)
        (u2, v2) = _place(y, box_b if scale else None, current)
        if scale:
            return (((u1 - u2) * scale[0]) ** 2 + ((v1 - v2) * scale[1]) ** 2) ** 0.5
        return ((u1 - u2) ** 2 + (v1 - v2) ** 2) ** 0.5

    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for same in (True, False):
        cand = []
        for i, x in enumerate(pa):
            for j, y in enumerate(pb):
                if i in used_a or j in used_b or (x["kind"] == y["kind"]) != same:
                    continue
                d = distance(x, y)
                if "diffuse" in (x["kind"], y["kind"]) or d <= limit:
                    cand.append((d, i, j))
        for d, i, j in sorted(cand):
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            x, y = pa[i], pb[j]
            out.append({"segment": key, "kind": y["kind"], "status": "persisting",
                        "prior": _ref(x), "current": _ref(y), "distance_mm": round(d, 1),
                        "change": None if same else f"{x['kind']} -> {y['kind']}"})
    out += [{"segment": key, "kind": x["kind"], "status": "resolved", "prior": _ref(x),
             "current": None, "distance_mm": None, "change": None}
            for i, x in enumerate(pa) if i not in used_a]
    out += [{"segment": key, "kind": y["kind"], "status": "new", "prior": None,
             "current": _ref(y), "distance_mm": None, "change": None}
            for j, y in enumerate(pb) if j not in used_b]
    return out
