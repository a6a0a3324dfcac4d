"""Fit the focus verifier: a logistic model that tells bone foci from normal uptake.

The learned detector proposes candidate foci; the verifier weighs each one's evidence
(:mod:`mibgscore.lesions._evidence`: depth from the two views, symmetry, the normal-uptake
finding it lies in) and keeps those likelier bone than not. Candidates are labelled by the
phantoms' truth (a true focus within 20 mm, or a segment with diffuse disease, where a focus
cannot change the grade). One command, seconds once the candidates are extracted:

    .venv/bin/python training/focus_verifier.py --phantoms sim phantom2 phantom3 \\
        --n 300 --out src/mibgscore/lesions/models/focus_verifier.json

``--holdout NAME`` fits on the other phantoms only (leave one phantom out) and reports the
held-out phantom's figures; the shipped verifier is fitted on all of them. Seeds: 41,000,000 +
(never used by the benchmarks or while developing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

SEED0 = 41_000_000
CANDIDATE_P = 0.3
"""Candidates are the focus map's peaks above this (below the shipped focal_p)."""
MATCH_MM = 20.0


def generate(phantom: str, seed: int):
    """(scan, truth grades, truth focal points [(row, col)]) of one phantom case."""
    if phantom == "sim":
        from mibgscore.simulate import simulate_study

        st = simulate_study(seed)
        foci = [(x.row, x.col) for x in st.truth.lesions if x.kind == "focal"]
        return st.scan, dict(st.truth.siopen), foci
    module = __import__(phantom)
    case = module.generate_case(seed)
    foci = [(x["row"], x["col"]) for x in case.truth["lesions"] if x.get("kind") == "focal"]
    return case.scan, dict(case.truth["siopen"]), foci


def candidates(args: tuple[str, int, str | None]) -> dict:
    """Candidate foci of one case with their evidence, segment and truth label."""
    phantom, seed, network = args
    from mibgscore.anatomy.body import find_body
    from mibgscore.anatomy.scheme import SIOPEN_KEYS, load_scheme
    from mibgscore.anatomy.skeleton import fit_skeleton
    from mibgscore.grading.segments import grade_scan
    from mibgscore.lesions._evidence import focus_evidence
    from mibgscore.lesions.learned import LearnedDetector, LearnedParams
    from mibgscore.uptake.images import working_views
    from mibgscore.uptake.normal import find_normal_uptake

    scan, grades, foci = generate(phantom, seed)
    body = find_body(scan)
    skeleton = fit_skeleton(body, age_years=scan.patient.age_years,
                            height_cm=scan.patient.height_cm)
    views, bones = working_views(body), skeleton.on(body.grid)
    uptake = find_normal_uptake(views, bones)
    det = LearnedDetector(LearnedParams(focal_p=CANDIDATE_P, lone_extremity_is_injection=False,
                                        verify=False, folder=network))
    lesions = det.find(views, bones, uptake)
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    diffuse_only = grade_scan(bones, replace(lesions, focal=()), 0, siopen, curie)
    grid = body.grid
    rows = []
    taken: set[int] = set()
    for x in lesions.focal:  # hottest first: greedy matching
        (r, c), = grid.to_original([(x.row, x.col)])
        best, best_d = None, MATCH_MM / scan.spacing_mm[0]
        for k, (tr, tc) in enumerate(foci):
            d = math.hypot(r - tr, c - tc)
            if k not in taken and d <= best_d:
                best, best_d = k, d
        if best is not None:
            taken.add(best)
        seg = int(diffuse_only.siopen_map[x.bone_row, x.bone_col]) - 1
        key = SIOPEN_KEYS[seg] if seg >= 0 else None
        diffuse_truth = key is not None and grades[key] >= 4 and best is None
        position = float(bones.position[x.bone_row, x.bone_col])
        rows.append({"x": focus_evidence(x, views, uptake, position), "real": best is not None,
                     "diffuse_segment": diffuse_truth, "segment": seg,
                     "confidence": x.confidence})
    return {"phantom": phantom, "seed": seed, "grades": [grades[k] for k in SIOPEN_KEYS],
            "fractions": [e.diffuse_fraction for e in diffuse_only.siopen],
            "candidates": rows}


def extract(phantom: str, n: int, seed0: int, workers: int, cache: Path,
            network: str | None = None) -> list[dict]:
    tag = "shipped" if network is None else hashlib.sha256(
        (Path(network) / "lesion_net.onnx").read_bytes()).hexdigest()[:12]
    path = cache / f"candidates_{phantom}_{seed0}_{n}_{tag}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    t0 = time.time()
    with ProcessPoolExecutor(workers) as pool:
        out = list(pool.map(candidates, [(phantom, seed0 + i, network) for i in range(n)],
                            chunksize=4))
    print(f"{phantom}: {n} cases, {sum(len(c['candidates']) for c in out)} candidates, "
          f"{time.time() - t0:.0f} s", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def fit(cases: list[dict], c_reg: float = 1.0) -> dict:
    """Standardised logistic regression on every candidate; returns the JSON model."""
    from sklearn.linear_model import LogisticRegression

    from mibgscore.lesions._evidence import FEATURES

    rows = [r for case in cases for r in case["candidates"] if not r["diffuse_segment"]]
    x = np.array([r["x"] for r in rows])
    y = np.array([r["real"] for r in rows])
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd < 1e-9] = 1.0
    lr = LogisticRegression(C=c_reg, max_iter=2000, class_weight="balanced")
    lr.fit((x - mean) / sd, y)
    return {"features": list(FEATURES), "mean": mean.tolist(), "scale": sd.tolist(),
            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]),
            "threshold": 0.5, "candidates": int(len(y)), "real": int(y.sum())}


def probabilities(model: dict, x: np.ndarray) -> np.ndarray:
    z = (x - np.array(model["mean"])) / np.array(model["scale"])
    return 1.0 / (1.0 + np.exp(-(z @ np.array(model["coef"]) + model["intercept"])))


def segment_grades(case: dict, keep) -> np.ndarray:
    """SIOPEN grades of a case when the candidates ``keep(row)`` selects are its foci."""
    from mibgscore.grading.rules import grade_siopen_segment

    counts = np.zeros(12, int)
    for r in case["candidates"]:
        if r["segment"] >= 0 and keep(r):
            counts[r["segment"]] += 1
    return np.array([grade_siopen_segment(int(n), float(f))
                     for n, f in zip(counts, case["fractions"], strict=True)])


def report(name: str, cases: list[dict], model: dict | None, focal_p: float = 0.6) -> str:
    """Agreement of the totals with and without the verifier on ``cases``."""
    truth = np.array([c["grades"] for c in cases])

    def summary(keep) -> str:
        auto = np.array([segment_grades(c, keep) for c in cases])
        tt, at = truth.sum(1), auto.sum(1)
        normal = tt == 0
        return (f"MAE {np.abs(at - tt).mean():.2f}, exact segments {(auto == truth).mean():.3f}, "
                f"normals 0: {(at[normal] == 0).sum()}/{normal.sum()}, "
                f"<=3/>3 {((tt > 3) == (at > 3)).mean():.3f}")

    lines = [f"{name}: network alone (focal_p {focal_p}): "
             + summary(lambda r: r["confidence"] >= focal_p)]
    if model is not None:
        t = model["threshold"]
        lines.append(f"{name}: with the verifier: "
                     + summary(lambda r: probabilities(model, r["x"][None])[0] >= t))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phantoms", nargs="+", default=["sim", "phantom2", "phantom3"])
    ap.add_argument("--holdout", default=None, help="fit without this phantom and report it")
    ap.add_argument("--n", type=int, default=300, help="cases per phantom")
    ap.add_argument("--seed", type=int, default=SEED0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=ROOT / "training" / "cache")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--network", default=None,
                    help="folder with the network whose candidates are weighed (lesion_net.onnx "
                         "and its card); the shipped one by default")
    a = ap.parse_args()
    data = {p: extract(p, a.n, a.seed, a.workers, a.cache, a.network) for p in a.phantoms}
    train = [c for p, cs in data.items() if p != a.holdout for c in cs]
    model = fit(train)
    model["trained_on"] = {p: a.n for p in a.phantoms if p != a.holdout}
    model["seeds"] = [a.seed, a.seed + a.n - 1]
    model["command"] = " ".join(["training/focus_verifier.py", *sys.argv[1:]])
    for p, cs in data.items():
        tag = "held out" if p == a.holdout else "training"
        print(report(f"{p} ({tag})", cs, model))
    if a.out is not None:
        a.out.write_text(json.dumps(model, indent=1) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
