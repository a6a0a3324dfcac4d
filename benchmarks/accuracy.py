"""Accuracy of ``mibgscore.pipeline.score`` against simulated ground truth.

Simulates N studies (``mibgscore.simulate``), writes each as DICOM NM and reads it back through
``mibgscore.io`` (unless ``--in-memory``), scores it, and writes the agreement with the truth to
a Markdown table (docs/benchmark.md by default): SIOPEN and Curie total ICC(A,1) with 95 % CI,
MAE, Bland-Altman bias and limits, pooled and per-segment quadratic-weighted kappa, exact-grade
agreement, agreement at SIOPEN <= 3 / > 3 and Curie <= 2 / > 2, the share of normal scans scored
0, and a per-category breakdown.

    .venv/bin/python benchmarks/accuracy.py --n 300 --seed 20261128
    .venv/bin/python benchmarks/accuracy.py --n 3 --seed 1 --out /tmp/acc.md
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"icc": 0.95, "kappa": 0.85, "mae": 2.0, "cut": 0.95, "normal0": 0.90,
           "curie_icc": 0.95}


def _one(args: tuple[int, str | None, bool, str, str]) -> dict:
    """Simulate, (write, read,) score one study; return truth and result as plain data."""
    seed, category, in_memory, tmp, lesions = args
    from mibgscore.pipeline import ScoreParams, score
    from mibgscore.simulate import simulate_study

    st = simulate_study(seed, category=category)
    scan = st.scan
    if not in_memory:
        from mibgscore.io.read import read_scan
        from mibgscore.io.write import write_nm

        path = Path(tmp) / f"case_{seed}.dcm"
        write_nm(st.scan, path)
        scan = read_scan(path)
        path.unlink()
    t0 = time.perf_counter()
    r = score(scan, params=ScoreParams(lesion_method=lesions))
    return {
        "seed": seed, "category": st.truth.category, "seconds": time.perf_counter() - t0,
        "shape": list(scan.shape),
        "truth_siopen": [st.truth.siopen[k] for k in SIOPEN_KEYS],
        "truth_curie": [st.truth.curie[k] for k in CURIE_KEYS],
        "auto_siopen": [r.siopen[k] for k in SIOPEN_KEYS],
        "auto_curie": [r.curie[k] for k in CURIE_KEYS],
        "confidence": [r.siopen_confidence[k] for k in SIOPEN_KEYS],
    }


def _stats():
    from mibgscore.validation import stats

    return stats


def summarise(rows: list[dict]) -> dict:
    """All agreement figures from the per-study rows."""
    stats = _stats()
    ts = np.array([r["truth_siopen"] for r in rows])
    as_ = np.array([r["auto_siopen"] for r in rows])
    tc = np.array([r["truth_curie"] for r in rows])
    ac = np.array([r["auto_curie"] for r in rows])
    conf = np.array([r["confidence"] for r in rows])
    tt, at = ts.sum(1), as_.sum(1)
    tct, act = tc.sum(1), ac.sum(1)
    out: dict = {"n": len(rows)}

    def icc(a, b):
        if len(a) < 3 or np.all(a == a[0]) and np.all(b == b[0]):
            return float("nan"), (float("nan"), float("nan"))
        r = stats.icc(np.column_stack([a, b]), "A,1")
        return r.value, r.ci

    out["icc"], out["icc_ci"] = icc(at, tt)
    out["curie_icc"], out["curie_icc_ci"] = icc(act, tct)
    out["mae"] = float(np.mean(np.abs(at - tt)))
    out["curie_mae"] = float(np.mean(np.abs(act - tct)))
    ba = stats.bland_altman(at, tt)
    out["ba"] = (ba.bias, ba.loa)
    cba = stats.bland_altman(act, tct)
    out["curie_ba"] = (cba.bias, cba.loa)
    out["kappa"] = stats.weighted_kappa(ts.ravel(), as_.ravel(), max_grade=6)
    out["curie_kappa"] = stats.weighted_kappa(tc.ravel(), ac.ravel(), max_grade=3)
    out["exact"] = float(np.mean(ts == as_))
    out["curie_exact"] = float(np.mean(tc == ac))
    out["cut"] = float(np.mean((tt <= 3) == (at <= 3)))
    out["curie_cut"] = float(np.mean((tct <= 2) == (act <= 2)))
    normal = tt == 0
    out["n_normal"] = int(normal.sum())
    out["normal0"] = float(np.mean(at[normal] == 0)) if normal.any() else float("nan")
    cn = tct == 0
    out["curie_normal0"] = float(np.mean(act[cn] == 0)) if cn.any() else float("nan")
    out["per_segment"] = []
    for j, k in enumerate(SIOPEN_KEYS):
        kap = stats.weighted_kappa(ts[:, j], as_[:, j], max_grade=6)
        out["per_segment"].append((k, kap, float(np.mean(ts[:, j] == as_[:, j])),
                                   float(np.mean(np.abs(ts[:, j] - as_[:, j])))))
    out["curie_per_segment"] = []
    for j, k in enumerate(CURIE_KEYS):
        kap = stats.weighted_kappa(tc[:, j], ac[:, j], max_grade=3)
        out["curie_per_segment"].append((k, kap, float(np.mean(tc[:, j] == ac[:, j]))))
    right = (ts == as_).ravel()
    cf = conf.ravel()
    bins = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)]
    out["calibration"] = [(lo, hi, int(((cf >= lo) & (cf < hi)).sum()),
                           float(right[(cf >= lo) & (cf < hi)].mean())
                           if ((cf >= lo) & (cf < hi)).any() else float("nan"))
                          for lo, hi in bins]
    out["categories"] = []
    cats = np.array([r["category"] for r in rows])
    for c in ("normal", "limited", "moderate", "extensive"):
        m = cats == c
        if not m.any():
            continue
        out["categories"].append((c, int(m.sum()), float(np.mean(np.abs(at[m] - tt[m]))),
                                  float(np.mean(at[m] - tt[m])),
                                  float(np.mean((tt[m] <= 3) == (at[m] <= 3))),
                                  float(np.mean(np.abs(act[m] - tct[m])))))
    secs = np.array([r["seconds"] for r in rows])
    out["seconds_median"] = float(np.median(secs))
    return out


def _f(x: float, d: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{d}f}"


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.1f} %"


def markdown(s: dict, command: str, rows: list[dict]) -> str:
    """The benchmark table."""
    ok = {
        "icc": s["icc"] >= TARGETS["icc"], "kappa": s["kappa"] >= TARGETS["kappa"],
        "mae": s["mae"] <= TARGETS["mae"], "cut": s["cut"] >= TARGETS["cut"],
        "normal0": s["normal0"] >= TARGETS["normal0"],
        "curie_icc": s["curie_icc"] >= TARGETS["curie_icc"],
    }

    def mark(key: str) -> str:
        return "met" if ok[key] else "**not met**"

    lines = [
        "# Scoring accuracy on simulated scans",
        "",
        "Made by (from the repository root):",
        "",
        f"    {command}",
        "",
        f"{s['n']} simulated studies (`mibgscore.simulate`, seeds never used while developing), "
        "each written as DICOM NM, read back through `mibgscore.io` and scored by "
        f"`mibgscore.pipeline.score` ({s.get('lesions', 'default')} lesion stage) with no "
        "human input; compared with the simulator's "
        "ground truth. Median scoring time "
        f"{s['seconds_median']:.2f} s per scan on this machine (one-core figures: "
        "`benchmarks/speed.py`, section 'Speed and memory' when appended).",
        "",
        "## Totals",
        "",
        "| measure | SIOPEN (0-72) | target | | Curie (0-30) | target | |",
        "|---|---|---|---|---|---|---|",
        f"| ICC(A,1) [95 % CI] | {_f(s['icc'])} [{_f(s['icc_ci'][0])}, {_f(s['icc_ci'][1])}] "
        f"| >= 0.95 | {mark('icc')} | {_f(s['curie_icc'])} [{_f(s['curie_icc_ci'][0])}, "
        f"{_f(s['curie_icc_ci'][1])}] | >= 0.95 | {mark('curie_icc')} |",
        f"| MAE | {_f(s['mae'], 2)} | <= 2.0 | {mark('mae')} | {_f(s['curie_mae'], 2)} | | |",
        f"| Bland-Altman bias [95 % limits] | {_f(s['ba'][0], 2)} [{_f(s['ba'][1][0], 2)}, "
        f"{_f(s['ba'][1][1], 2)}] | | | {_f(s['curie_ba'][0], 2)} "
        f"[{_f(s['curie_ba'][1][0], 2)}, {_f(s['curie_ba'][1][1], 2)}] | | |",
        f"| pooled quadratic-weighted kappa (segments) | {_f(s['kappa'])} | >= 0.85 | "
        f"{mark('kappa')} | {_f(s['curie_kappa'])} | | |",
        f"| exact-grade agreement (segments) | {_pct(s['exact'])} | | | "
        f"{_pct(s['curie_exact'])} | | |",
        f"| agreement at <= 3 / > 3 (SIOPEN), <= 2 / > 2 (Curie) | {_pct(s['cut'])} | >= 95 % "
        f"| {mark('cut')} | {_pct(s['curie_cut'])} | | |",
        f"| normal scans scored 0 | {_pct(s['normal0'])} (of {s['n_normal']}) | >= 90 % | "
        f"{mark('normal0')} | {_pct(s['curie_normal0'])} | | |",
        "",
        "## Per SIOPEN segment",
        "",
        "| segment | weighted kappa | exact agreement | mean absolute grade error |",
        "|---|---|---|---|",
    ]
    for k, kap, ex, err in s["per_segment"]:
        lines.append(f"| {k} | {_f(kap)} | {_pct(ex)} | {_f(err, 2)} |")
    lines += ["", "## Per Curie segment", "", "| segment | weighted kappa | exact agreement |",
              "|---|---|---|"]
    for k, kap, ex in s["curie_per_segment"]:
        lines.append(f"| {k} | {_f(kap)} | {_pct(ex)} |")
    lines += ["", "## Per category (by the true SIOPEN total)", "",
              "| category | n | SIOPEN MAE | SIOPEN bias | <= 3 / > 3 agreement | Curie MAE |",
              "|---|---|---|---|---|---|"]
    for c, n, m, b, cut, cm in s["categories"]:
        lines.append(f"| {c} | {n} | {_f(m, 2)} | {_f(b, 2)} | {_pct(cut)} | {_f(cm, 2)} |")
    lines += ["", "## Segment confidence calibration", "",
              "Share of segments whose automatic grade equals the truth, by stated confidence.",
              "", "| confidence | segments | grade right |", "|---|---|---|"]
    for lo, hi, n, acc in s["calibration"]:
        lines.append(f"| {lo:.1f}-{min(hi, 1.0):.1f} | {n} | {_pct(acc)} |")
    worst = sorted(rows, key=lambda r: -abs(sum(r["auto_siopen"]) - sum(r["truth_siopen"])))[:8]
    lines += ["", "## Largest total errors", "", "| seed | category | matrix | auto | truth |",
              "|---|---|---|---|---|"]
    for r in worst:
        lines.append(f"| {r['seed']} | {r['category']} | {r['shape'][1]} x {r['shape'][0]} | "
                     f"{sum(r['auto_siopen'])} | {sum(r['truth_siopen'])} |")
    lines.append("")
    return "\n".join(lines)


def _progress(done: int, total: int, t0: float) -> None:
    if done % 25 == 0 or done == total:
        print(f"{done}/{total} scans, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300, help="studies to simulate")
    p.add_argument("--seed", type=int, default=20261128, help="first seed (study i: seed + i)")
    p.add_argument("--category", default=None, help="only this category")
    p.add_argument("--in-memory", action="store_true", help="skip the DICOM round trip")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--lesions", default="auto", choices=("auto", "learned", "classic"),
                   help="lesion stage (ScoreParams.lesion_method)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmark.md")
    args = p.parse_args(argv)
    from mibgscore.pipeline import ScoreParams, lesion_method

    method = lesion_method(ScoreParams(lesion_method=args.lesions))
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", message=".*only one label.*")
    command = "  ".join([".venv/bin/python benchmarks/accuracy.py", f"--n {args.n}",
                         f"--seed {args.seed}"]
                        + ([f"--category {args.category}"] if args.category else [])
                        + (["--in-memory"] if args.in_memory else [])
                        + ([f"--lesions {args.lesions}"] if args.lesions != "auto" else [])
                        + ([f"--out {args.out.relative_to(ROOT)}"]
                           if args.out.is_relative_to(ROOT)
                           and args.out != ROOT / "docs" / "benchmark.md" else [])
                        ).replace("  ", " ")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(args.seed + i, args.category, args.in_memory, tmp, method)
                for i in range(args.n)]
        rows = []
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                for row in pool.map(_one, jobs, chunksize=2):
                    rows.append(row)
                    _progress(len(rows), args.n, t0)
        else:
            for j in jobs:
                rows.append(_one(j))
                _progress(len(rows), args.n, t0)
    s = summarise(rows)
    s["lesions"] = method
    text = markdown(s, command, rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"{s['n']} scans in {time.time() - t0:.0f} s: SIOPEN ICC {_f(s['icc'])}, MAE "
          f"{_f(s['mae'], 2)}, kappa {_f(s['kappa'])}, <=3/>3 {_pct(s['cut'])}, normal->0 "
          f"{_pct(s['normal0'])}; Curie ICC {_f(s['curie_icc'])}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
