"""Speed and memory of reading + scoring one scan, on one core.

Simulates K studies of each matrix (256 x 1024 and 512 x 2048), writes them as DICOM NM, then
in a fresh child process pinned to one core (OMP/OPENBLAS/MKL threads = 1) reads and scores
each file, timing read + score per scan, and reports the median and 95th percentile seconds and
the child's peak resident memory (``resource.getrusage``). Appends nothing: prints a Markdown
table (and writes it with ``--out``, or appends it to docs/benchmark.md with ``--append``).

    .venv/bin/python benchmarks/speed.py --k 20
    .venv/bin/python benchmarks/speed.py --k 2 --out /tmp/speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS")


def _child(files: list[str], lesions: str) -> None:
    """Time read + score of each file in this process; print JSON."""
    import resource

    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import ScoreParams
    from mibgscore.pipeline import score as score_scan

    params = ScoreParams(lesion_method=lesions)

    def score(scan):
        return score_scan(scan, params=params)

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    read_scan(files[0])  # warm imports and caches
    score(read_scan(files[0]))
    times, cpu = [], []
    for f in files:
        t0, c0 = time.perf_counter(), time.process_time()
        score(read_scan(f))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"times": times, "cpu": cpu, "peak_mb": peak / 1024.0,
                      "start_mb": base / 1024.0}))


def _measure(files: list[Path], lesions: str) -> dict:
    env = dict(os.environ)
    env.update({v: "1" for v in THREAD_VARS})
    out = subprocess.run([sys.executable, __file__, "--lesions", lesions,
                          "--child", *map(str, files)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=20, help="scans per matrix size")
    p.add_argument("--seed", type=int, default=777000)
    p.add_argument("--out", type=Path, default=None, help="also write the table here")
    p.add_argument("--append", type=Path, default=None,
                   help="append the table as a 'Speed and memory' section to this file")
    p.add_argument("--lesions", default="auto", choices=("auto", "learned", "classic"),
                   help="lesion stage (ScoreParams.lesion_method)")
    p.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        _child(args.child, args.lesions)
        return 0
    from mibgscore.pipeline import ScoreParams, lesion_method

    method = lesion_method(ScoreParams(lesion_method=args.lesions))
    import numpy as np

    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, weights in (("256 x 1024", (1.0, 0.0)), ("512 x 2048", (0.0, 1.0))):
            params = SimulationParams(matrix_weights=weights)
            files = []
            for i in range(args.k):
                st = simulate_study(args.seed + i, params=params)
                f = Path(tmp) / f"{label.replace(' ', '')}_{i}.dcm"
                write_nm(st.scan, f)
                files.append(f)
            m = _measure(files, method)
            t, c = np.array(m["times"]), np.array(m["cpu"])
            rows.append((label, len(t), float(np.median(t)), float(np.percentile(t, 95)),
                         float(np.median(c)), float(np.percentile(c, 95)), m["peak_mb"]))
    cmd = f".venv/bin/python benchmarks/speed.py --k {args.k}" + (
        f" --lesions {args.lesions}" if args.lesions != "auto" else "")
    lines = ["| matrix (cols x rows) | scans | median wall s | p95 wall s | median CPU s | "
             "p95 CPU s | peak memory MB |", "|---|---|---|---|---|---|---|"]
    for label, n, med, p95, cmed, cp95, mem in rows:
        lines.append(f"| {label} | {n} | {med:.3f} | {p95:.3f} | {cmed:.3f} | {cp95:.3f} | "
                     f"{mem:.0f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (f"Read (DICOM) + score per scan ({method} lesion stage), one core, threads = 1; "
            f"made by `{cmd}` "
            f"(machine load average {load:.1f} while measuring: wall time counts waiting for "
            "the core, CPU time does not).\n\n"
            + "\n".join(lines) + "\n")
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    if args.append is not None:
        with args.append.open("a", encoding="utf-8") as fh:
            fh.write("\n## Speed and memory\n\n" + text
                     + "\nTargets: median <= 0.5 s per 256 x 1024 scan including reading the "
                     "DICOM, peak memory <= 500 MB, 512 x 2048 no worse than 4 x.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
