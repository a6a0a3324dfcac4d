"""One benchmark harness: any scorer on every phantom, with the same tables (issue 10).

For each phantom (``sim``: ``mibgscore.simulate``; ``phantom2``; ``phantom3``) N cases are
generated from consecutive seeds, scored in a process pool, and compared with the phantom's
truth. Each phantom gets a Markdown page (headline with targets, per segment, confusion matrix,
focal detection by size, extent by grade, error kinds, the worst studies with their overlays)
and a JSON file with the headline numbers. A crash on one case is a finding, not the end.

    .venv/bin/python benchmarks/harness.py --phantom all --n 200 --seed S
    .venv/bin/python benchmarks/harness.py --phantom phantom2 --n 3 --seed 900000 \\
        --out /tmp/b.md --images /tmp/b

``--out`` may hold ``{phantom}``; without it, ``--phantom all`` writes ``<stem>_<phantom>.md``
beside ``--out``, and ``<stem>.md`` itself lists the headline of every phantom side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _harness import metrics, page  # noqa: E402
from _harness.phantoms import PHANTOMS, available_phantoms  # noqa: E402
from _harness.runner import DEFAULT_SCORER, render_case, run_case  # noqa: E402

DEFAULT_OUT = "docs/benchmark_{phantom}.md"
DESCRIPTIONS = {
    "sim": "`mibgscore.simulate.simulate_study(seed)`: the project's own simulator (the one "
           "the scorer was developed on).",
    "phantom2": "`benchmarks/phantom2`: an independent phantom (own anatomy, physiology and "
                "camera; no code shared with `mibgscore.simulate`).",
    "phantom3": "`benchmarks/phantom3`: a third phantom written from published anatomy, growth "
                "charts, MIBG biodistribution and camera physics, independently of the other "
                "two.",
}


def _git() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{' (with uncommitted changes)' if dirty else ''}" if rev else "unknown"


def run_phantom(phantom: str, seeds: list[int], *, workers: int, scorer: str, lesions: str,
                progress: bool = True, model: str | None = None) -> list[dict]:
    """Records of every seed, in seed order (a broken pool is restarted, its case recorded)."""
    todo, records = list(seeds), {}
    while todo:
        try:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(run_case, phantom, s, scorer, lesions, model): s
                           for s in todo}
                for fut in as_completed(futures):
                    s = futures[fut]
                    try:
                        records[s] = fut.result()
                    except BrokenProcessPool:
                        raise
                    except Exception as exc:  # pickling and the like: the case's finding
                        records[s] = {"phantom": phantom, "seed": s, "stage": "worker",
                                      "error": f"{type(exc).__name__}: {exc}"}
                    if progress:
                        _progress(records[s], len(records), len(seeds))
            todo = [s for s in todo if s not in records]
        except BrokenProcessPool:
            pending = [s for s in todo if s not in records]
            if not pending:
                break
            # the first pending case is blamed for the broken pool, the rest are run again
            records[pending[0]] = {"phantom": phantom, "seed": pending[0], "stage": "worker",
                                   "error": "worker process died (BrokenProcessPool)"}
            todo = pending[1:]
    return [records[s] for s in seeds]


def _progress(r: dict, done: int, n: int) -> None:
    if "auto" in r:
        msg = f"truth {r['truth']['siopen_total']}, auto {r['auto']['siopen_total']}"
    else:
        msg = f"crash ({r.get('stage')}: {r.get('error')})"
    print(f"[{done}/{n}] {r['phantom']} seed {r['seed']}: {msg}", flush=True)


def software() -> str:
    """The scorer's software: package version and git commit."""
    import mibgscore

    return f"mibgscore {mibgscore.__version__}, git {_git()}"


def _models(records: list[dict]) -> list[dict]:
    seen: list[dict] = []
    for r in page.scored(records):
        m = r["auto"].get("model") or {}
        if m not in seen:
            seen.append(m)
    return seen


def _model_line(models: list[dict]) -> str:
    if not models:
        return "none (no case was scored)"
    return "; ".join(f"`{m.get('name', '?')}` version {m.get('version', '?')}, sha256 "
                     f"{str(m.get('sha256', ''))[:12] or '?'}" for m in models)


def _out_path(template: str, phantom: str, many: bool) -> Path:
    if "{phantom}" in template:
        p = Path(template.format(phantom=phantom))
    else:
        p = Path(template)
        if many:
            p = p.with_name(f"{p.stem}_{phantom}{p.suffix or '.md'}")
    return p if p.is_absolute() else ROOT / p


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def header_lines(phantom: str, command: str, seeds: list[int], records: list[dict],
                 args: argparse.Namespace, seconds: float) -> list[str]:
    """The page's opening: command, date, software, model, seeds."""
    ok = page.scored(records)
    made = [r for r in records if "truth" in r]
    n_normal = sum(1 for r in made if r["truth"]["siopen_total"] == 0)
    cats: dict[str, int] = {}
    for r in made:
        cats[r["truth"]["category"]] = cats.get(r["truth"]["category"], 0) + 1
    crashed = len(records) - len(ok)
    return [
        f"# Benchmark: {phantom}",
        "",
        "Command:",
        "",
        f"    {command}",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} "
        f"({seconds:.0f} s, {args.workers} workers)",
        f"- software: {software()}",
        f"- scorer: `{args.scorer}`"
        + (f" with `ScoreParams(lesion_method={args.lesions!r})`"
           if args.scorer == DEFAULT_SCORER else "")
        + (f", learned weights from `{args.model}` (leave one phantom out: see "
           "docs/learned.md)" if args.model else ""),
        f"- model: {_model_line(_models(records))}",
        f"- phantom: {DESCRIPTIONS.get(phantom, phantom)}",
        f"- seeds: {seeds[0]}-{seeds[-1]} ({len(seeds)} studies, {len(ok)} scored"
        + (f", **{crashed} crashed** (see Crashes)" if crashed else "")
        + f"; truth total 0 in {n_normal}; categories: "
        + ", ".join(f"{k} {v}" for k, v in sorted(cats.items())) + ")",
    ]


def benchmark(phantom: str, args: argparse.Namespace, command: str, many: bool) -> dict:
    """Run one phantom, write its page, JSON and overlays; return its JSON summary."""
    seeds = list(range(args.seed, args.seed + args.n))
    t0 = time.perf_counter()
    records = run_phantom(phantom, seeds, workers=args.workers, scorer=args.scorer,
                          lesions=args.lesions, progress=not args.quiet, model=args.model)
    summary = page.summarise(records)
    out = _out_path(args.out, phantom, many)
    images_dir = Path(args.images) if Path(args.images).is_absolute() else ROOT / args.images
    worst = page.worst(records, args.worst)
    images: dict[int, str] = {}
    if worst and args.worst > 0:
        jobs = {}
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for k, r in enumerate(worst, start=1):
                png = images_dir / f"benchmark_{phantom}_worst_{k}.png"
                title = (f"{phantom} seed {r['seed']}: truth {r['truth']['siopen_total']}, "
                         f"auto {r['auto']['siopen_total']} (worst {k})")
                jobs[pool.submit(render_case, phantom, r["seed"], str(png), title, args.scorer,
                                 args.lesions, args.model)] = (r["seed"], png)
            for fut in as_completed(jobs):
                seed, png = jobs[fut]
                err = fut.result()
                if err is None:
                    images[seed] = _rel(png, out.parent)
                else:
                    summary["crashes"].append({"seed": seed, "stage": "overlay", "error": err})
    seconds = time.perf_counter() - t0
    header = header_lines(phantom, command, seeds, records, args, seconds)
    text = page.render(summary, header, worst, images)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    h = summary["headline"]
    data = page.jsonable({
        "phantom": phantom, "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "software": software(),
        "scorer": args.scorer, "lesions": args.lesions, "models": _models(records),
        "seeds": [seeds[0], seeds[-1]], "n": len(seeds), "scored": h["n"],
        "headline": h,
        "targets": {t.key: {"label": t.label, "op": t.op, "goal": t.goal,
                            "value": h.get(t.key), "met": summary["targets"][t.key]}
                    for t in metrics.TARGETS},
        "error_kinds": [{k: r[k] for k in ("kind", "sub", "count", "unit", "scans", "points",
                                           "eligible", "rate")}
                        for r in summary["errors"]["rows"]],
        "crashes": summary["crashes"], "worst_seeds": [r["seed"] for r in worst],
        "seconds": seconds, "page": str(out),
    })
    out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if args.cases:
        with out.with_suffix(".cases.jsonl").open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(page.jsonable(r)) + "\n")
    print(f"written {out} and {out.with_suffix('.json').name}", flush=True)
    return data


def overview(results: list[dict], command: str) -> str:
    """One table: the headline of every phantom side by side."""
    lines = ["# Benchmark: every phantom", "", "Command:", "", f"    {command}", "",
             f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}", "",
             "| measure | target | " + " | ".join(r["phantom"] for r in results) + " |",
             "|---|---|" + "---|" * len(results)]
    for t in metrics.TARGETS:
        cells = []
        for r in results:
            v, ok = r["targets"][t.key]["value"], r["targets"][t.key]["met"]
            shown = (page.pct(v) if t.key in page.PERCENT and v is not None
                     else page.fmt(v, 2 if t.key == "mae" else 3))
            cells.append(f"{shown} ({'n/a' if ok is None else 'pass' if ok else 'FAIL'})")
        lines.append(f"| {t.label} | {page.goal_text(t)} | " + " | ".join(cells) + " |")
    lines.append("| studies scored / run | | " + " | ".join(
        f"{r['scored']} / {r['n']}" for r in results) + " |")
    lines += ["", "Pages: " + ", ".join(f"[{r['phantom']}]({Path(r['page']).name})"
                                        for r in results), ""]
    return "\n".join(lines)


def detector_names() -> tuple[str, ...]:
    """The registered lesion detectors (empty when the registry cannot be found: the scorer
    then says what is wrong)."""
    for mod in ("mibgscore.lesions.registry", "mibgscore.lesions.detector"):
        try:
            return tuple(importlib.import_module(mod).detector_names())
        except (ImportError, AttributeError):
            continue
    return ()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phantom", default="all", choices=(*PHANTOMS, "all"),
                    help="which phantom (all: every one that exists here)")
    ap.add_argument("--n", type=int, default=200, help="studies per phantom")
    ap.add_argument("--seed", type=int, default=0, help="first seed (seeds seed..seed+n-1)")
    ap.add_argument("--lesions", default="auto",
                    help="lesion detector (ScoreParams.lesion_method): auto or a registered "
                         "name (mibgscore.lesions.registry.detector_names())")
    ap.add_argument("--scorer", default=DEFAULT_SCORER,
                    help="module:function taking a Scan, returning a ScoreResult")
    ap.add_argument("--workers", type=int, default=2, help="processes")
    ap.add_argument("--model", default=None,
                    help="folder with other learned weights (lesion_net.onnx, its card, "
                         "focus_verifier.json): e.g. a leave-one-phantom-out model")
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="page path; may hold {phantom}; the JSON is written beside it")
    ap.add_argument("--images", default="docs/images", help="folder of the worst overlays")
    ap.add_argument("--worst", type=int, default=5, help="worst studies shown with overlays")
    ap.add_argument("--cases", action="store_true",
                    help="also write every case's truth, score and errors to "
                         "<page>.cases.jsonl")
    ap.add_argument("--quiet", action="store_true", help="no line per case")
    args = ap.parse_args(argv)
    names = detector_names()
    if args.scorer == DEFAULT_SCORER and names and args.lesions not in names:
        ap.error(f"--lesions {args.lesions!r}: choose from {', '.join(names)}")
    if args.n < 1 or args.workers < 1:
        ap.error("--n and --workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(raw)
    command = ".venv/bin/python benchmarks/harness.py " + shlex.join(raw)
    if args.phantom == "all":
        phantoms = list(available_phantoms())
        missing = [p for p in PHANTOMS if p not in phantoms]
        if missing:
            print(f"not available here (skipped): {', '.join(missing)}", flush=True)
    elif args.phantom not in available_phantoms():
        print(f"phantom {args.phantom} is not available here", file=sys.stderr)
        return 2
    else:
        phantoms = [args.phantom]
    many = args.phantom == "all"
    results = [benchmark(p, args, command, many) for p in phantoms]
    if many:
        out = _out_path(args.out, "all", False)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(overview(results, command), encoding="utf-8")
        print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
