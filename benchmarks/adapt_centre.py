"""Does adaptation help a centre, and does it say so honestly? (issue 11; docs/adapt.md)

For each centre (benchmarks/centre.py): write ``--n-train`` studies with the centre's readings,
run ``mibgscore.adapt.run.adapt`` on them, then score ``--n-test`` other studies of the same
centre with the shipped and the adapted model and compare with the centre's readings. The
"no harm" centre is the simulator itself, read by its own truth (studies drawn like the
training data).

    .venv/bin/python benchmarks/adapt_centre.py --out docs/adapt_benchmark.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from centre import CentreHabits, write_centre  # noqa: E402

from mibgscore.adapt.evidence import regrade, study_evidence  # noqa: E402
from mibgscore.adapt.model import load_model  # noqa: E402
from mibgscore.adapt.run import AdaptOptions, adapt  # noqa: E402
from mibgscore.anatomy.scheme import SIOPEN_KEYS  # noqa: E402
from mibgscore.io.read import read_scan  # noqa: E402
from mibgscore.pipeline import score  # noqa: E402
from mibgscore.validation.stats import icc, weighted_kappa  # noqa: E402

CENTRES = {
    "medium-energy": {"camera": "medium-energy", "habits": CentreHabits()},
    "low-count-lehr": {"camera": "low-count-lehr", "habits": CentreHabits()},
    "no-harm": {"camera": "simulator", "habits": CentreHabits(0.5, 0.5, 0.95)},
}
"""The centres: two cameras with the elbow/knee split and 85 % whole-bone habit, and the
simulator read by its own rules (no difference to learn)."""


def _figures(test: np.ndarray, ref: np.ndarray) -> dict[str, Any]:
    t, r = test.sum(axis=1).astype(float), ref.sum(axis=1).astype(float)
    normal = r == 0
    return {"mae": float(np.abs(t - r).mean()),
            "segment_error": float(np.abs(test - ref).sum(axis=1).mean()),
            "weighted_kappa": weighted_kappa(test.ravel().astype(int), ref.ravel().astype(int),
                                             max_grade=6),
            "icc_a1": icc(np.stack([t, r], axis=1), "A,1").value,
            "normals_scored_0": float((t[normal] == 0).mean()) if normal.any() else None,
            "threshold_3_agreement": float(((t > 3) == (r > 3)).mean())}


def run_centre(name: str, work: Path, *, n_train: int, n_test: int, seed: int,
               workers: int = 2) -> dict[str, Any]:
    """Adapt on ``n_train`` studies of centre ``name`` and measure on ``n_test`` others."""
    spec = CENTRES[name]
    train, test = work / f"{name}-train", work / f"{name}-test"
    t0 = time.perf_counter()
    kw = {"habits": spec["habits"], "camera": spec["camera"]}
    ref_train = write_centre(train, n_train, seed, patients=max(2, int(n_train * 0.82)), **kw)
    ref_test = write_centre(test, n_test, seed + 1_000_000, **kw)
    model_dir = work / f"{name}-model"
    metrics = adapt([train], ref_train, model_dir,
                    options=AdaptOptions(seed=0, workers=workers, name=f"centre {name}"))
    model = load_model(model_dir)
    reading = {r["study_uid"]: [int(r[k]) for k in SIOPEN_KEYS]
               for r in csv.DictReader(ref_test.open())}
    before, after, ref = [], [], []
    for f in sorted(test.glob("case_*.dcm")):
        scan = read_scan(f)
        result = score(scan)
        ev = study_evidence(result)
        grades = regrade(ev, model.siopen_scheme, model.params.calibration)
        before.append([result.siopen[k] for k in SIOPEN_KEYS])
        after.append([grades[k] for k in SIOPEN_KEYS])
        ref.append(reading[scan.study.study_uid])
    ref_a = np.array(ref)
    out = {"centre": name, "n_train": n_train, "n_test": n_test, "seed": seed,
           "cross_validated": metrics["cross_validated"],
           "learning_curve": metrics["learning_curve"], "fitted": metrics["fitted"],
           "unseen": {"before": _figures(np.array(before), ref_a),
                      "after": _figures(np.array(after), ref_a)},
           "seconds_adapt": metrics["seconds"], "seconds": round(time.perf_counter() - t0, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", nargs="+", default=list(CENTRES), choices=list(CENTRES))
    ap.add_argument("--n-train", type=int, default=110)
    ap.add_argument("--n-test", type=int, default=80)
    ap.add_argument("--seed", type=int, default=76_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="docs/adapt_benchmark.json")
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(a.centres):
            r = run_centre(name, Path(tmp), n_train=a.n_train, n_test=a.n_test,
                           seed=a.seed + 10_000_000 * i, workers=a.workers)
            results.append(r)
            b, c = r["unseen"]["before"], r["unseen"]["after"]
            print(f"{name}: unseen MAE {b['mae']:.2f} -> {c['mae']:.2f}, segment error "
                  f"{b['segment_error']:.2f} -> {c['segment_error']:.2f}, kappa "
                  f"{b['weighted_kappa']:.3f} -> {c['weighted_kappa']:.3f}, ICC "
                  f"{b['icc_a1']:.3f} -> {c['icc_a1']:.3f}, normals 0 "
                  f"{b['normals_scored_0']} -> {c['normals_scored_0']}; cross-validated MAE "
                  f"{r['cross_validated']['after']['mae']:.2f} ({r['seconds']} s)", flush=True)
    Path(a.out).write_text(json.dumps({"command": " ".join(sys.argv), "results": results},
                                      indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
