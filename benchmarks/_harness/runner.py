"""One case generated, scored and classified, as plain data (what a pool worker runs)."""

from __future__ import annotations

import importlib
import time
import traceback
from functools import cache
from pathlib import Path
from typing import Any

from .errors import classify_errors
from .metrics import match_foci
from .phantoms import _positions, load_case, plain

DEFAULT_SCORER = "mibgscore.pipeline:score"


@cache
def make_scorer(scorer: str = DEFAULT_SCORER, lesions: str = "auto", model: str | None = None):
    """A callable ``scan -> ScoreResult``.

    ``scorer`` is ``module:function``; the project's ``mibgscore.pipeline:score`` is called
    with ``ScoreParams(lesion_method=lesions)`` (and, with ``model``, the learned detector's
    weights from that folder: ``LearnedParams(folder=model)``), any other with the scan alone.
    """
    mod, _, attr = scorer.partition(":")
    fn = getattr(importlib.import_module(mod), attr or "score")
    if scorer == DEFAULT_SCORER:
        from mibgscore.pipeline import ScoreParams

        lesion_params = None
        if model is not None:
            from mibgscore.lesions.learned import LearnedParams

            lesion_params = LearnedParams(folder=model)
        params = ScoreParams(lesion_method=lesions, lesion_params=lesion_params)
        return lambda scan: fn(scan, params=params)
    return fn


def auto_data(result) -> dict:
    """The automatic score as plain data (the fields the tables use)."""
    model = getattr(result, "model", None)
    return {
        "siopen": dict(result.siopen), "curie": dict(result.curie),
        "siopen_total": int(result.siopen_total), "curie_total": int(result.curie_total),
        "lesions": [{"segment": x.segment, "kind": x.kind, "row": int(x.row), "col": int(x.col),
                     "fraction": x.fraction, "confidence": float(x.confidence)}
                    for x in result.lesions],
        "findings": _positions(list(result.findings)),
        "warnings": list(result.warnings),
        "model": model.to_dict() if hasattr(model, "to_dict") else plain(model),
    }


def run_case(phantom: str, seed: int, scorer: str = DEFAULT_SCORER,
             lesions: str = "auto", model: str | None = None) -> dict[str, Any]:
    """Generate case ``seed`` of ``phantom``, score it and classify its errors.

    A crash of the generator or the scorer is returned in ``error`` (with ``stage``), not
    raised: it is a finding of the benchmark.
    """
    rec: dict[str, Any] = {"phantom": phantom, "seed": int(seed), "error": None, "stage": None}
    t0 = time.perf_counter()
    try:
        scan, truth = load_case(phantom, seed)
    except Exception as exc:
        rec.update(error=f"{type(exc).__name__}: {exc}", stage="generate",
                   trace=traceback.format_exc(limit=4))
        return rec
    rec["truth"] = truth
    rec["seconds_generate"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        result = make_scorer(scorer, lesions, model)(scan)
    except Exception as exc:
        rec.update(error=f"{type(exc).__name__}: {exc}", stage="score",
                   trace=traceback.format_exc(limit=4))
        return rec
    rec["seconds_score"] = time.perf_counter() - t1
    rec["auto"] = auto_data(result)
    focal = [x for x in result.lesions if x.kind == "focal"]
    matched, missed, extra = match_foci(truth["lesions"], focal,
                                        truth["meta"]["spacing_rc_mm"])
    rec["match"] = {"matched": {str(i): j for i, j in matched.items()}, "missed": missed,
                    "extra": extra}
    try:
        rec["errors"] = classify_errors(truth, result)
    except Exception as exc:  # the harness' own bug must not hide the case either
        rec["errors"] = {"events": [], "checks": {}}
        rec.update(error=f"classifier {type(exc).__name__}: {exc}", stage="classify",
                   trace=traceback.format_exc(limit=4))
    return rec


def render_case(phantom: str, seed: int, path: str, title: str, scorer: str = DEFAULT_SCORER,
                lesions: str = "auto", model: str | None = None) -> str | None:
    """Score case ``seed`` again and write its overlay PNG to ``path``; the error or None."""
    from mibgscore.report.overlay import render_overlay

    try:
        scan, _ = load_case(phantom, seed)
        result = make_scorer(scorer, lesions, model)(scan)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        render_overlay(scan, result, path, title=title)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
