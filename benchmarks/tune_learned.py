"""Threshold search for the learned lesion map on DEVELOPMENT cases (never benchmark seeds).

    .venv/bin/python benchmarks/tune_learned.py N SOURCE GRID [SHOW]

N cases; SOURCE ``sim`` (mibgscore.simulate seeds 8000 + i, categories in turn) or ``p2``
(benchmarks/phantom2 seeds 5000 + i; its benchmark uses seeds 0-99); GRID a Python tuple of
value tuples for (diffuse_p, focal_p, snap_mm, focal_min_mm, diffuse_snap_mm,
veto_normal_uptake, lone_extremity_is_injection); SHOW the index
of a grid entry whose wrong cases are listed. Example (docs/learned.md):

    .venv/bin/python benchmarks/tune_learned.py 80 sim \
        "((0.8,0.9),(0.6,0.7),(6.0,),(12.0,),(6.0,),(False,),(True,))"
"""

from __future__ import annotations

import ast
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.scheme import SIOPEN_KEYS, load_scheme
from mibgscore.anatomy.skeleton import fit_skeleton
from mibgscore.grading.segments import bone_units, grade_siopen
from mibgscore.lesions.learned import LearnedParams, find_lesions_learned, predict
from mibgscore.simulate import simulate_study
from mibgscore.uptake.images import working_views
from mibgscore.uptake.normal import find_normal_uptake
from mibgscore.validation.stats import icc

CATEGORIES = ("normal", "limited", "moderate", "extensive")


def prepare(n: int, source: str) -> list[tuple]:
    """Stages 1-2 and the network's prediction of each development case (once)."""
    siopen = load_scheme("siopen")
    cases = []
    for i in range(n):
        if source == "sim":
            st = simulate_study(8000 + i, category=CATEGORIES[i % 4])
            scan, truth = st.scan, [st.truth.siopen[k] for k in SIOPEN_KEYS]
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from phantom2 import generate_case

            c = generate_case(5000 + i)
            scan, truth = c.scan, [c.truth["siopen"][k] for k in SIOPEN_KEYS]
        body = find_body(scan)
        sk = fit_skeleton(body, age_years=scan.patient.age_years,
                          height_cm=scan.patient.height_cm)
        views, bones = working_views(body), sk.on(body.grid)
        uptake = find_normal_uptake(views, bones)
        smap = bones.segment_map(siopen)
        units = bone_units(bones.labels, bones.position, body.grid.pixel_mm)
        cases.append((views, bones, smap, units, predict(body), uptake.mask, truth))
    return cases


def grades(case: tuple, lp: LearnedParams):
    """SIOPEN grades of one prepared case with thresholds ``lp``, and its lesions."""
    siopen = load_scheme("siopen")
    views, bones, smap, units, pred, veto, _ = case
    les = find_lesions_learned(views, bones, params=lp, prediction=pred, normal_uptake=veto)
    idx = [int(smap[x.bone_row, x.bone_col]) - 1 for x in les.focal]
    ev = grade_siopen(siopen, smap, les.diffuse, idx, [x.confidence for x in les.focal], units)
    return [e.grade for e in ev], les, idx, ev


def evaluate(cases: list[tuple], lp: LearnedParams) -> dict:
    auto = np.array([grades(c, lp)[0] for c in cases])
    truth = np.array([c[-1] for c in cases])
    a, t = auto.sum(1), truth.sum(1)
    kappa = cohen_kappa_score(auto.ravel(), truth.ravel(), weights="quadratic")
    normal0 = float(np.mean(a[t == 0] == 0)) if (t == 0).any() else float("nan")
    return {"icc": round(float(icc(np.column_stack([a, t]), "A,1").value), 3),
            "mae": round(float(np.abs(a - t).mean()), 2),
            "bias": round(float((a - t).mean()), 2), "kappa": round(float(kappa), 3),
            "cut": round(float(np.mean((a > 3) == (t > 3))), 3),
            "normal0": round(normal0, 3), "exact": round(float(np.mean(auto == truth)), 3)}


def main() -> None:
    n, source = int(sys.argv[1]), sys.argv[2]
    t0 = time.time()
    cases = prepare(n, source)
    print(f"prepared {n} {source} cases in {time.time() - t0:.0f} s", flush=True)
    grid = [LearnedParams(diffuse_p=dp, focal_p=fp, snap_mm=sn, focal_min_mm=fm,
                          diffuse_snap_mm=ds, veto_normal_uptake=v,
                          lone_extremity_is_injection=x)
            for dp, fp, sn, fm, ds, v, x in itertools.product(*ast.literal_eval(sys.argv[3]))]
    for lp in grid:
        print(lp, evaluate(cases, lp), flush=True)
    if len(sys.argv) > 4:
        lp = grid[int(sys.argv[4])]
        for k, case in enumerate(cases):
            g, les, idx, ev = grades(case, lp)
            if g != case[-1]:
                foci = [(SIOPEN_KEYS[i], round(x.confidence, 2))
                        for i, x in zip(idx, les.focal, strict=True)]
                diff = {e.key: round(e.diffuse_fraction, 2) for e in ev if e.diffuse_fraction}
                print(k, "truth", case[-1], "auto", g, "foci", foci, "diffuse", diff)


if __name__ == "__main__":
    main()
