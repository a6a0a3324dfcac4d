"""The error kinds a physician names (issue 10), from one (truth dict, result) pair.

Every SIOPEN segment whose automatic grade differs from the truth gets exactly one primary
kind, so that the points of all kinds add up to the summed absolute segment error:

(a) normal uptake scored as bone disease
    truth 0, or truth 1-3 discrete foci with an automatic focus farther than 20 mm from every
    truth focus, graded higher; split by where the unexplained lesions lie (skull and face:
    glands, nasopharynx; pelvis and lumbar spine: bowel, bladder; thoracic cage and thoracic
    spine: brown fat, heart, liver; a limb near the injection site where the truth has one;
    other). Scan-level: a soft-tissue tumour called (Curie soft tissue > 0) where the truth
    has none, and the heart finding more than 40 mm from the truth heart.
(b) diffuse extent under-measured: truth 5 or 6 graded lower.
(c) discrete foci miscounted: truth 1-3 discrete foci graded lower (merged or missed), higher
    but < 4 (extra) or >= 4 (called diffuse).
(e) other: truth >= 4 graded higher, truth 4 graded lower, or truth 0 graded higher where
    every automatic lesion there is disease of a neighbouring segment (a focus within 20 mm of
    a truth focus, or diffuse next to a segment with diffuse truth): put in the wrong segment.

(d) limb lost (an upper or lower limb segment of truth >= 4 graded <= 1) is counted beside
these and overlaps (b) and (e).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mibgscore.anatomy.scheme import SIOPEN_KEYS

from .metrics import MATCH_MM

HEART_MM = 40.0
"""The automatic heart is right when it lies within this distance of the truth heart."""
NEAR_MM = 30.0
"""An unexplained lesion is "near" a truth normal-uptake finding within this distance."""
INJECTION_MM = 60.0
"""An unexplained limb lesion is at the injection site within this distance of it."""

KINDS: dict[str, str] = {
    "a": "normal uptake scored as bone disease",
    "b": "diffuse extent under-measured",
    "c": "discrete foci miscounted",
    "d": "limb lost",
    "e": "other grade errors",
}
SUBKINDS: dict[str, tuple[str, ...]] = {
    "a": ("skull/face (glands, nasopharynx)", "pelvis/lumbar spine (bowel, bladder)",
          "thoracic cage/spine (brown fat, heart, liver)", "limb at the injection site",
          "other site", "soft-tissue tumour called, truth none",
          "heart finding > 40 mm from the truth heart"),
    "b": ("truth 6 graded lower", "truth 5 graded lower"),
    "c": ("merged or missed (auto lower)", "extra (auto higher, < 4)",
          "called diffuse (auto >= 4)"),
    "d": ("upper limb", "lower limb"),
    "e": ("truth >= 4 graded higher", "truth 4 graded lower",
          "truth 0: a neighbour's disease counted here"),
}
A_SKULL, A_PELVIS, A_THORAX, A_INJECTION, A_OTHER, A_SOFT, A_HEART = SUBKINDS["a"]
LIMB_KEYS = tuple(k for k in SIOPEN_KEYS if "_limb_" in k)
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "skull": ("spine",),
    "thoracic_cage": ("spine", "right_upper_limb_proximal", "left_upper_limb_proximal"),
    "spine": ("skull", "thoracic_cage", "pelvis"),
    "pelvis": ("spine", "right_lower_limb_proximal", "left_lower_limb_proximal"),
    **{f"{side}_{limb}_limb_proximal": (f"{side}_{limb}_limb_distal",
                                         "thoracic_cage" if limb == "upper" else "pelvis")
       for side in ("right", "left") for limb in ("upper", "lower")},
    **{f"{side}_{limb}_limb_distal": (f"{side}_{limb}_limb_proximal",)
       for side in ("right", "left") for limb in ("upper", "lower")},
}
"""SIOPEN segments that touch (where a misplaced boundary moves disease across)."""


def _spacing(truth: dict) -> tuple[float, float]:
    meta = truth.get("meta") or {}
    s = meta.get("spacing_rc_mm", meta.get("spacing_mm", 1.0))
    return (float(s[0]), float(s[1])) if isinstance(s, (list, tuple)) else (float(s), float(s))


def _mm(p, q, s) -> float:
    return math.hypot((p[0] - q[0]) * s[0], (p[1] - q[1]) * s[1])


def curie_label_at(result: Any, row: int, col: int) -> str | None:
    """The Curie segment under (row, col) in the result's evidence (5 x 5 neighbourhood when
    the point itself is off bone); None without evidence."""
    ev = getattr(result, "evidence", None)
    cmap = getattr(ev, "curie_map", None)
    keys = getattr(ev, "curie_keys", None)
    if cmap is None or keys is None:
        return None
    r0, c0 = int(np.clip(row, 0, cmap.shape[0] - 1)), int(np.clip(col, 0, cmap.shape[1] - 1))
    v = int(cmap[r0, c0])
    if v == 0:
        win = cmap[max(r0 - 2, 0):r0 + 3, max(c0 - 2, 0):c0 + 3]
        vals = win[win > 0]
        if vals.size == 0:
            return None
        v = int(np.bincount(vals).argmax())
    return str(keys[v - 1])


def _injection(truth: dict) -> tuple[bool, list[tuple[int, int]], list[str]]:
    """Whether the truth has an injection site, its positions and its place names."""
    pos = [(f["row"], f["col"]) for f in truth.get("findings") or []
           if "injection" in str(f.get("label", ""))]
    flags = (truth.get("meta") or {}).get("findings") or {}
    places = [str(v) for k, v in flags.items() if "injection" in str(k) and isinstance(v, str)]
    has = bool(pos) or any("injection" in str(k) for k, v in flags.items() if v)
    return has, pos, places


def _limb_matches_place(segment: str, place: str) -> bool:
    side = "right" if "right" in place else "left" if "left" in place else None
    upper = any(w in place for w in ("elbow", "wrist", "hand", "arm", "finger"))
    lower = any(w in place for w in ("ankle", "foot", "knee", "leg", "toe"))
    if side is not None and not segment.startswith(side):
        return False
    if upper and "upper_limb" not in segment:
        return False
    return not (lower and "lower_limb" not in segment)


def _region(segment: str, lesions: list, truth: dict, result: Any) -> str:
    """Where unexplained lesions lie, as a sub-kind of (a)."""
    if segment in LIMB_KEYS:
        has, pos, places = _injection(truth)
        if has:
            s = _spacing(truth)
            if pos:
                if any(_mm((x.row, x.col), p, s) <= INJECTION_MM for x in lesions for p in pos):
                    return A_INJECTION
            elif not places or any(_limb_matches_place(segment, p) for p in places):
                return A_INJECTION
        return A_OTHER
    if segment == "skull":
        return A_SKULL
    if segment == "pelvis":
        return A_PELVIS
    if segment == "thoracic_cage":
        return A_THORAX
    if segment == "spine":
        labels = [curie_label_at(result, x.row, x.col) for x in lesions]
        if any(lab == "lumbar_sacral_spine" for lab in labels):
            return A_PELVIS
        if any(lab == "cervical_thoracic_spine" for lab in labels):
            return A_THORAX
    return A_OTHER


def _near(lesions: list, truth: dict) -> str | None:
    """Label of the truth normal-uptake finding nearest to any of ``lesions`` within
    ``NEAR_MM`` (None when positions are unknown or none is near)."""
    s = _spacing(truth)
    best, label = NEAR_MM, None
    for f in truth.get("findings") or []:
        for x in lesions:
            d = _mm((x.row, x.col), (f["row"], f["col"]), s)
            if d <= best:
                best, label = d, str(f["label"])
    return label


def _event(kind: str, sub: str, segment: str, t: int, a: int, **extra) -> dict:
    return {"kind": kind, "sub": sub, "segment": segment, "truth": int(t), "auto": int(a),
            "points": abs(int(a) - int(t)), **extra}


def classify_errors(truth: dict, result: Any) -> dict:
    """Error kinds of one scored case.

    Parameters
    ----------
    truth : dict
        Truth in the harness schema (:mod:`.phantoms`).
    result : ScoreResult
        The automatic score; ``evidence`` (optional) places spine lesions at their level.

    Returns
    -------
    dict
        ``events``: one dict per error (``kind`` a-e, ``sub``, ``segment``, ``truth``,
        ``auto``, ``points``; ``near``: the nearest truth normal-uptake label for kind (a)
        where positions are known); ``checks``: ``soft_tissue_truth_none`` (bool),
        ``heart_distance_mm`` (float, or None where the truth or the result has no heart).
    """
    s = _spacing(truth)
    foci = truth.get("lesions") or []
    fracs = truth.get("siopen_diffuse_fraction") or {}
    events: list[dict] = []
    for k in SIOPEN_KEYS:
        t, a = int(truth["siopen"][k]), int(result.siopen[k])
        here = [x for x in result.lesions if x.segment == k]
        diffuse_truth = fracs.get(k, 0.0) > 0 or t >= 4
        beside = any(fracs.get(n, 0.0) > 0 for n in NEIGHBOURS.get(k, ()))
        unexplained = [] if diffuse_truth else [
            x for x in here if (not beside if x.kind == "diffuse" else all(
                _mm((x.row, x.col), (f["row"], f["col"]), s) > MATCH_MM for f in foci))]
        if k in LIMB_KEYS and t >= 4 and a <= 1:
            events.append(_event("d", SUBKINDS["d"][0 if "upper" in k else 1], k, t, a,
                                 primary=False))
        if a == t:
            continue
        if t == 0 and here and not unexplained:
            events.append(_event("e", SUBKINDS["e"][2], k, t, a))
        elif not diffuse_truth and (t == 0 or (a > t and a < 4 and unexplained)):
            lesions = unexplained or here
            events.append(_event("a", _region(k, lesions, truth, result), k, t, a,
                                 near=_near(lesions, truth)))
        elif not diffuse_truth:
            sub = SUBKINDS["c"][0] if a < t else SUBKINDS["c"][2] if a >= 4 else SUBKINDS["c"][1]
            events.append(_event("c", sub, k, t, a))
        elif a < t and t >= 5:
            events.append(_event("b", SUBKINDS["b"][0 if t == 6 else 1], k, t, a))
        else:
            events.append(_event("e", SUBKINDS["e"][0 if a > t else 1], k, t, a))

    checks: dict[str, Any] = {}
    st_truth = int(truth["curie"].get("soft_tissue", 0))
    checks["soft_tissue_truth_none"] = not truth.get("soft_tissue") and st_truth == 0
    st_auto = int(result.curie.get("soft_tissue", 0))
    if checks["soft_tissue_truth_none"] and st_auto > 0:
        events.append(_event("a", A_SOFT, "soft_tissue", 0, st_auto, scale="curie"))
    hearts = [f for f in truth.get("findings") or []
              if any(w in str(f.get("label", "")).lower() for w in ("heart", "myocard"))]
    auto_hearts = [f for f in result.findings if "heart" in f.label.lower()]
    checks["heart_distance_mm"] = None
    if hearts and auto_hearts:
        d = min(_mm((f.row, f.col), (h["row"], h["col"]), s) for f in auto_hearts
                for h in hearts)
        checks["heart_distance_mm"] = round(d, 1)
        if d > HEART_MM:
            events.append(_event("a", A_HEART, "heart", 0, 0, distance_mm=round(d, 1)))
    return {"events": events, "checks": checks}
