"""Every phantom behind one call: ``load_case(phantom, seed) -> (scan, truth)``.

The truth of every phantom is brought to one schema (plain JSON data, (row, col) in the scan's
anterior pixel grid):

``siopen``, ``curie``
    Grade per segment (project keys).
``siopen_total``, ``curie_total``, ``category``
``siopen_diffuse_fraction``
    Diffuse share of each SIOPEN segment's bone (0 where none).
``lesions``
    Discrete foci: ``{"kind": "focal", "row", "col", "diameter_mm", "siopen", "curie",
    "bone"}`` (plus what the phantom gives, e.g. ``contrast``).
``soft_tissue``
    Soft-tissue tumour sites (empty: none).
``findings``
    Normal uptake and pitfalls whose position is known: ``{"label", "row", "col"}``.
``meta``
    ``age_years``, ``arm_pose`` (right, left), ``abduction_deg`` (right, left), ``feet_first``,
    ``matrix``, ``spacing_rc_mm`` (row, col), ``collimator``, ``counts`` and ``findings``: the
    labels of the normal-uptake structures and pitfalls present (label -> value; for the
    injection site the place, e.g. ``"elbow_right"``, where the phantom says it).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
PHANTOMS: tuple[str, ...] = ("sim", "phantom2", "phantom3")
"""Phantom names, in report order."""
ABDUCTED_DEG = 25.0
"""A simulated arm whose shoulder-wrist line leaves the long axis by more than this is
called abducted (the simulator does not name its poses)."""

if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def available_phantoms() -> tuple[str, ...]:
    """The phantoms that can run here (phantom3 once its package exists)."""
    return tuple(p for p in PHANTOMS
                 if p == "sim" or (BENCH / p / "__init__.py").is_file())


def plain(x: Any) -> Any:
    """``x`` as JSON data (numpy scalars and arrays, tuples, sets and dataclasses unpacked)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist() if x.size <= 64 else f"<array {x.shape}>"
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if hasattr(x, "__dataclass_fields__"):
        return {k: plain(getattr(x, k)) for k in x.__dataclass_fields__}
    return x


def _scan_meta(scan) -> dict:
    acq = scan.acquisition
    return {
        "matrix": [int(scan.shape[0]), int(scan.shape[1])],
        "spacing_rc_mm": [float(scan.spacing_mm[0]), float(scan.spacing_mm[1])],
        "collimator": getattr(acq, "collimator", None),
        "counts": int(float(np.asarray(scan.anterior).sum())),
        "age_years": getattr(scan.patient, "age_years", None),
    }


def _abduction(keypoints: dict, side: str) -> float | None:
    """Angle (deg) of the shoulder-to-wrist line from the body's long axis."""
    sh, wr = keypoints.get(f"shoulder_{side}"), keypoints.get(f"wrist_{side}")
    if sh is None or wr is None:
        return None
    dr, dc = wr[0] - sh[0], wr[1] - sh[1]
    return round(math.degrees(math.atan2(abs(dc), max(dr, 1e-6))), 1)


def sim_truth(truth, scan) -> dict:
    """The schema's truth of a ``mibgscore.simulate`` study (``SimulatedStudy.truth``)."""
    foci = [{"kind": "focal", "row": int(x.row), "col": int(x.col),
             "diameter_mm": None if x.size_mm is None else round(float(x.size_mm), 1),
             "siopen": x.siopen, "curie": x.curie, "bone": x.bone}
            for x in truth.lesions if x.kind == "focal"]
    findings = [{"label": f.label, "row": int(f.row), "col": int(f.col)} for f in truth.findings]
    tumours = [f for f in findings if "tumour" in f["label"] or f["label"].startswith("node")]
    flags: dict[str, Any] = {f["label"]: True for f in findings}
    abd = [_abduction(truth.keypoints, s) for s in ("right", "left")]
    meta = {**_scan_meta(scan), "age_years": round(float(truth.age_years), 2),
            "abduction_deg": abd,
            "arm_pose": ["abducted" if (a or 0) > ABDUCTED_DEG else "side" for a in abd],
            "feet_first": None, "findings": flags}
    return {
        "siopen": dict(truth.siopen), "curie": dict(truth.curie),
        "siopen_total": int(truth.siopen_total), "curie_total": int(truth.curie_total),
        "siopen_diffuse_fraction": {k: float(v) for k, v in truth.siopen_fractions.items()},
        "category": truth.category, "lesions": foci,
        "soft_tissue": tumours, "findings": [f for f in findings if f not in tumours],
        "meta": meta,
    }


def _positions(value: Any) -> list[dict]:
    """Findings with positions from what a phantom gives (list of dicts or Finding-like
    objects, or a dict label -> (row, col) / {"row", "col"} / list of those)."""
    out: list[dict] = []

    def add(label: str, v: Any) -> None:
        if isinstance(v, dict) and "row" in v and "col" in v:
            out.append({"label": str(v.get("label", label)), "row": int(v["row"]),
                        "col": int(v["col"])})
        elif hasattr(v, "row") and hasattr(v, "col"):
            out.append({"label": str(getattr(v, "label", label)), "row": int(v.row),
                        "col": int(v.col)})
        elif (isinstance(v, (list, tuple)) and len(v) == 2
              and all(isinstance(t, (int, float, np.integer, np.floating)) for t in v)):
            out.append({"label": label, "row": int(v[0]), "col": int(v[1])})
        elif isinstance(v, (list, tuple)):
            for w in v:
                add(label, w)

    if isinstance(value, dict):
        for k, v in value.items():
            add(str(k), v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            add(str(v.get("label", v.get("kind", "finding")) if isinstance(v, dict)
                    else getattr(v, "label", "finding")), v)
    return out


def phantom_truth(truth: dict, scan) -> dict:
    """The schema's truth of a phantom2/phantom3 case (their ``case.truth`` dict)."""
    t = plain(truth)
    meta = {**_scan_meta(scan), **(t.get("meta") or {})}
    meta["spacing_rc_mm"] = [float(scan.spacing_mm[0]), float(scan.spacing_mm[1])]
    if not meta.get("arm_pose"):  # phantom3 names one pose for the whole body
        meta["arm_pose"] = meta.get("pose_kind") or meta.get("pose")
    flags = meta.get("findings") or {}
    if isinstance(flags, (list, tuple)):
        flags = {str(f.get("label", f)) if isinstance(f, dict) else str(f): True for f in flags}
    findings = _positions(t.get("findings"))
    for f in findings:
        flags.setdefault(f["label"], True)
    meta["findings"] = {k: v for k, v in flags.items() if v}
    foci = []
    for x in t.get("lesions") or []:
        if x.get("kind", "focal") != "focal":
            continue
        d = x.get("diameter_mm", x.get("size_mm"))
        foci.append({**x, "kind": "focal", "row": int(x["row"]), "col": int(x["col"]),
                     "diameter_mm": None if d is None else float(d)})
    keys = t["siopen"]
    return {
        "siopen": dict(t["siopen"]), "curie": dict(t["curie"]),
        "siopen_total": int(t.get("siopen_total", sum(t["siopen"].values()))),
        "curie_total": int(t.get("curie_total", sum(t["curie"].values()))),
        "siopen_diffuse_fraction": {k: float((t.get("siopen_diffuse_fraction") or {})
                                             .get(k, 0.0)) for k in keys},
        "category": t.get("category", "unknown"), "lesions": foci,
        "soft_tissue": list(t.get("soft_tissue") or []), "findings": findings, "meta": meta,
    }


def load_case(phantom: str, seed: int):
    """``(scan, truth)`` of one case of ``phantom`` (``sim``, ``phantom2``, ``phantom3``)."""
    if phantom == "sim":
        from mibgscore.simulate import simulate_study

        # a quarter of the reporting studies normal (the simulator alone draws fewer)
        st = simulate_study(seed, category="normal" if seed % 4 == 0 else None)
        return st.scan, sim_truth(st.truth, st.scan)
    if phantom in ("phantom2", "phantom3"):
        import importlib

        mod = importlib.import_module(phantom)
        case = mod.generate_case(seed)
        return case.scan, phantom_truth(case.truth, case.scan)
    raise ValueError(f"unknown phantom {phantom!r}; choose from {', '.join(PHANTOMS)}")
