"""docs/benchmark.md: every phantom's headline side by side, from the pages' JSON files.

    .venv/bin/python benchmarks/summary.py [--before DIR] [--speed FILE]

``--before DIR`` adds the previous scorer's figures on the same seeds (``benchmark_<phantom>.json``
files written by ``benchmarks/harness.py --scorer ...`` on that version); ``--speed FILE`` adds
the table ``benchmarks/speed.py --out FILE`` wrote.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHANTOMS = ("sim", "phantom2", "phantom3")
ROWS = [  # (label, key, format, target)
    ("SIOPEN total ICC(A,1)", "icc", "{:.3f}", ">= 0.98"),
    ("SIOPEN total MAE", "mae", "{:.2f}", "<= 1.5"),
    ("Bland-Altman bias", "bias", "{:+.2f}", ""),
    ("pooled quadratic-weighted kappa", "kappa", "{:.3f}", ">= 0.90"),
    ("<= 3 / > 3 agreement", "cut3", "{:.1%}", ">= 97 %"),
    ("normal scans scored 0", "normal0", "{:.1%}", ">= 95 %"),
    ("whole-bone segments graded >= 5", "whole5", "{:.1%}", ">= 90 %"),
    ("Curie total ICC(A,1)", "curie_icc", "{:.3f}", ">= 0.97"),
]


def _load(folder: Path, phantom: str) -> dict | None:
    for name in (f"benchmark_{phantom}.json", f"before_{phantom}.json"):
        p = folder / name
        if p.is_file():
            return json.loads(p.read_text(encoding="utf-8"))
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, default=None)
    ap.add_argument("--speed", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmark.md")
    a = ap.parse_args()
    now = {p: _load(ROOT / "docs", p) for p in PHANTOMS}
    before = {p: _load(a.before, p) for p in PHANTOMS} if a.before else {}
    lines = ["# Benchmark summary", "",
             "Every phantom scored by the networks and focus verifier that never saw it (leave one",
             "phantom out, docs/learned.md), 200 studies each on reporting seeds never used while",
             "developing. Each page starts with its own command; `bash benchmarks/run_all.sh`",
             "regenerates them, and this page is",
             "", "    .venv/bin/python benchmarks/summary.py"
             + (f" --before {a.before}" if a.before else "")
             + (f" --speed {a.speed}" if a.speed else ""), ""]
    head = "| measure | target | " + " | ".join(
        f"[{p}](benchmark_{p}.md)" + (" before | now" if before.get(p) else "")
        for p in PHANTOMS) + " |"
    cols = sum(2 if before.get(p) else 1 for p in PHANTOMS)
    lines += [head, "|---|---|" + "---|" * cols]
    for label, key, fmt, target in ROWS:
        cells = []
        for p in PHANTOMS:
            if before.get(p):
                cells.append(fmt.format(before[p]["headline"][key]))
            h = now[p]["headline"] if now.get(p) else None
            cells.append("n/a" if h is None or h.get(key) is None else fmt.format(h[key]))
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")
    lines.append("")
    for p in PHANTOMS:
        if now.get(p):
            models = ", ".join(f"{m['name']} {m['version']} (sha256 {m['sha256'][:12]})"
                               for m in now[p]["models"])
            lines.append(f"- {p}: {models}; seeds {now[p]['seeds'][0]}-{now[p]['seeds'][-1]}")
    if before:
        lines += ["", "*before*: the previous version (git 4f19197, network v3 trained on the "
                  "simulator alone, no verifier) on the same seeds. On the simulator it is not "
                  "shown: that network was trained on the simulator, so its figures there are "
                  "not leave-one-phantom-out."]
    if a.speed and a.speed.is_file():
        lines += ["", "## Speed (one core, reading included)", "", a.speed.read_text().strip()]
    a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
