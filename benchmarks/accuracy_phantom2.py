"""Out-of-distribution accuracy of ``mibgscore.pipeline.score`` on the independent phantom2.

Generates N phantom scans (benchmarks/phantom2: its own anatomy, physiology and camera, no code
shared with ``mibgscore.simulate``), scores each, and writes agreement with the phantom truth
(ICC(A,1), MAE, Bland-Altman, weighted kappa, cut-off agreement, per-segment table, worst
cases and their figures) to docs/benchmark_phantom2.md.

    .venv/bin/python benchmarks/accuracy_phantom2.py --n 100 --seed 0
    .venv/bin/python benchmarks/accuracy_phantom2.py --n 3 --out /tmp/p2.md --images /tmp/p2
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phantom2 import generate_case  # noqa: E402

from mibgscore.anatomy.scheme import SIOPEN_KEYS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHORT = {"skull": "skull", "thoracic_cage": "thorax", "spine": "spine", "pelvis": "pelvis",
         "right_upper_limb_proximal": "RUp", "right_upper_limb_distal": "RUd",
         "left_upper_limb_proximal": "LUp", "left_upper_limb_distal": "LUd",
         "right_lower_limb_proximal": "RLp", "right_lower_limb_distal": "RLd",
         "left_lower_limb_proximal": "LLp", "left_lower_limb_distal": "LLd"}
MATCH_MM = 20.0
METHOD = """## The phantom

- **Patients**: 6 months to 17 years, stature 60-185 cm from an own table of medians by age
  (+-6 %), head height 24.5 % of stature at 6 months to 13 % at 17 years, sitting-height ratio
  0.665 to 0.52; thin, average and obese builds (soft-tissue width x0.8-1.45); arms by the side,
  abducted 20-45 deg (less where the hands would leave a 600 mm field), forearms on the
  belly or hands over the thighs (15 % asymmetric); legs
  together or apart (3-10 deg); scoliosis, in-plane tilt, child anywhere in the field; 15 % feet
  first (rows flipped).
- **Bones** (project names): 24 vertebral blocks along a curved spine, 2 x 12 Bezier ribs
  (10 reaching the front), sternum, S-shaped clavicles, triangular scapulae, fan-shaped iliac
  wings with an ischio-pubic ring, triangular sacrum, skull ellipse with a separate face and a
  horseshoe mandible, long bones as tubes with wide epiphyses/metaphyses (femoral head, neck,
  trochanter; radius and ulna, tibia and fibula drawn separately), hands with fingers, feet.
  Long bones carry a 0 (proximal) - 1 (distal) position, so truth segments come from
  `load_scheme("siopen"/"curie").segment_of/segment_map` and grades from `grading.rules`.
- **Normal uptake** (relative to liver): parotid and submandibular glands, nasopharynx,
  lacrimal glands (50 %), left-ventricular ring, faint lungs, two-lobed textured liver, spleen,
  faint kidneys, patchy colon and small-bowel loops, bladder of variable filling (0.4-8 x
  liver), soft tissue 2-5 %; thyroid (15 %), adrenals (20 %), brown fat supraclavicular and
  paravertebral (15 %), urine contamination on the skin (12 %), injection site at elbow, wrist,
  hand or ankle (20 %), primary soft-tissue tumour (adrenal, thoracic, pelvic; 45 % of abnormal
  scans, 10 % of normal ones) with a nodal mass sometimes. No normal bone uptake.
- **Skeletal disease**: 30 % normal, 30 % SIOPEN 1-5, 40 % above 5 (35 % of these a diffuse
  marrow pattern); discrete foci 5-25 mm (smaller in small children), peak 1.2-10 x what lies
  over them after blur (foci that would need > 15 x liver are not drawn), kept > 1.2 FWHM + 4 mm
  apart and off the mid-shaft split; diffuse involvement of 15-40 %, 58-88 % or 100 % of a
  segment's bone, spreading from the shoulder, elbow, hip or knee in limbs, a run of vertebrae
  in the spine, 2-7 x background.
- **Camera**: anterior and posterior, attenuation exp(-mu d) with mu 0.11-0.14 /cm and depth
  from each source's depth fraction of the local body thickness; collimator FWHM
  sqrt(3.6^2 + (1.6 + 0.068 z)^2) mm (LEHR) or sqrt(3.8^2 + (2.6 + 0.085 z)^2) (ME) in depth
  layers; scatter 15-40 % as two broad Gaussians (18 and 45 mm); LEHR septal penetration as a
  six-spoke star (2-7 % of counts); 256 x 1024 (70 %) or 512 x 2048, 1.2-4 mm pixels, 0.2-4 M
  counts in the anterior view, Poisson noise; the posterior view drawn mirrored (patient's right
  on the viewer's left, as `Scan` requires)."""


def icc_a1(x: np.ndarray, y: np.ndarray) -> float:
    """ICC(A,1), two-way random effects, absolute agreement (McGraw & Wong 1996)."""
    try:
        from mibgscore.validation.stats import icc

        return float(icc(np.column_stack([x, y]), "A,1").value)
    except ImportError:
        pass
    d = np.column_stack([x, y]).astype(float)
    n, k = d.shape
    gm = d.mean()
    msr = k * ((d.mean(axis=1) - gm) ** 2).sum() / (n - 1)
    msc = n * ((d.mean(axis=0) - gm) ** 2).sum() / (k - 1)
    sse = ((d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + gm) ** 2).sum()
    mse = sse / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    return float((msr - mse) / den) if den > 0 else float("nan")


def kappa(a: np.ndarray, b: np.ndarray, max_grade: int = 6) -> float:
    """Quadratic-weighted Cohen kappa over grades 0..max_grade (NaN when undefined)."""
    import warnings

    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = cohen_kappa_score(a, b, weights="quadratic", labels=list(range(max_grade + 1)))
    return float(v)


def run_case(seed: int, score) -> dict:
    """Generate and score one case; returns truth, automatic grades and matching."""
    case = generate_case(seed)
    t0 = time.perf_counter()
    try:
        res = score(case.scan)
        err = None
    except Exception as exc:  # a crash is a finding of the benchmark, not its end
        res, err = None, f"{type(exc).__name__}: {exc}"
    sec = time.perf_counter() - t0
    out = {"seed": seed, "case": case, "result": res, "error": err, "seconds": sec,
           "truth": case.truth}
    if res is None:
        return out
    s = case.scan.spacing_mm[0]
    auto_f = [les for les in res.lesions if les.kind == "focal"]
    truth_f = case.truth["lesions"]
    used: set[int] = set()
    missed = []
    for tl in truth_f:
        best, bd = None, MATCH_MM / s
        for j, al in enumerate(auto_f):
            d = math.hypot(al.row - tl["row"], al.col - tl["col"])
            if j not in used and d <= bd:
                best, bd = j, d
        if best is None:
            missed.append(tl)
        else:
            used.add(best)
    out["missed"] = missed
    out["false_focal"] = [al for j, al in enumerate(auto_f) if j not in used]
    return out


def _fmt(v: float, nd: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"


def summarise(rows: list[dict]) -> tuple[str, list[dict]]:
    """Markdown body (metrics and tables) and the worst cases, worst first."""
    ok = [r for r in rows if r["result"] is not None]
    t_tot = np.array([r["truth"]["siopen_total"] for r in ok])
    a_tot = np.array([r["result"].siopen_total for r in ok])
    t_cur = np.array([r["truth"]["curie_total"] for r in ok])
    a_cur = np.array([r["result"].curie_total for r in ok])
    t_seg = np.array([[r["truth"]["siopen"][k] for k in SIOPEN_KEYS] for r in ok])
    a_seg = np.array([[r["result"].siopen[k] for k in SIOPEN_KEYS] for r in ok])
    d = a_tot - t_tot
    bias, sd = float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0
    normal = t_tot == 0
    cut_t, cut_a = t_tot > 3, a_tot > 3
    lines = []
    lines.append("| metric | value |\n|---|---|")
    metrics = [
        ("cases scored / generated", f"{len(ok)} / {len(rows)}"),
        ("SIOPEN total ICC(A,1)", _fmt(icc_a1(t_tot, a_tot))),
        ("SIOPEN total MAE", _fmt(float(np.abs(d).mean()), 2)),
        ("Bland-Altman bias (auto - truth)", _fmt(bias, 2)),
        ("Bland-Altman 95 % limits", f"{bias - 1.96 * sd:.2f} to {bias + 1.96 * sd:.2f}"),
        ("segment kappa (quadratic, pooled)", _fmt(kappa(t_seg.ravel(), a_seg.ravel()))),
        ("segment exact agreement", _fmt(float((t_seg == a_seg).mean()))),
        ("total exact agreement", _fmt(float((d == 0).mean()))),
        ("<=3 / >3 agreement", _fmt(float((cut_t == cut_a).mean()))),
        (">3 sensitivity", _fmt(float(cut_a[cut_t].mean()) if cut_t.any() else float("nan"))),
        ("<=3 specificity", _fmt(float((~cut_a[~cut_t]).mean()) if (~cut_t).any()
                                 else float("nan"))),
        ("normal scans (truth 0) scored 0", f"{int((a_tot[normal] == 0).sum())} / "
                                            f"{int(normal.sum())}"),
        ("Curie total ICC(A,1)", _fmt(icc_a1(t_cur, a_cur))),
        ("Curie total MAE", _fmt(float(np.abs(a_cur - t_cur).mean()), 2)),
        ("seconds per scan (score)", _fmt(float(np.mean([r["seconds"] for r in ok])), 2)),
    ]
    lines += [f"| {k} | {v} |" for k, v in metrics]
    errors = [r for r in rows if r["error"]]
    if errors:
        lines.append("\nCrashes:\n")
        lines += [f"- seed {r['seed']}: {r['error']}" for r in errors]

    lines.append("\n### By truth category\n")
    lines.append("| category | n | truth mean | auto mean | bias | MAE |\n"
                 "|---|---|---|---|---|---|")
    for cat in ("normal", "limited", "extensive"):
        m = np.array([r["truth"]["category"] == cat for r in ok])
        if m.any():
            lines.append(f"| {cat} | {int(m.sum())} | {t_tot[m].mean():.1f} | "
                         f"{a_tot[m].mean():.1f} | {d[m].mean():+.2f} | "
                         f"{np.abs(d[m]).mean():.2f} |")

    lines.append("\n### Per segment\n")
    lines.append("| segment | truth mean | auto mean | bias | MAE | exact | kappa | over | under |"
                 "\n|---|---|---|---|---|---|---|---|---|")
    for j, k in enumerate(SIOPEN_KEYS):
        t, a = t_seg[:, j], a_seg[:, j]
        lines.append(f"| {k} | {t.mean():.2f} | {a.mean():.2f} | {(a - t).mean():+.2f} | "
                     f"{np.abs(a - t).mean():.2f} | {(a == t).mean():.2f} | "
                     f"{_fmt(kappa(t, a), 2)} | {(a > t).mean():.2f} | {(a < t).mean():.2f} |")
    lines.append("\n*over / under*: share of scans where the automatic grade is higher / lower.")

    lines.append("\n### Focal lesions (matched within 20 mm)\n")
    n_truth = sum(len(r["truth"]["lesions"]) for r in ok)
    n_miss = sum(len(r["missed"]) for r in ok)
    n_fp = sum(len(r["false_focal"]) for r in ok)
    lines.append(f"Truth foci {n_truth}, found {n_truth - n_miss} "
                 f"({(n_truth - n_miss) / max(n_truth, 1):.0%}); automatic foci matching no "
                 f"truth focus: {n_fp}.\n")
    lines.append("| segment | truth foci | missed | false foci (on normal-scan share) |"
                 "\n|---|---|---|---|")
    for k in SIOPEN_KEYS:
        nt = sum(1 for r in ok for tl in r["truth"]["lesions"] if tl["siopen"] == k)
        nm = sum(1 for r in ok for tl in r["missed"] if tl["siopen"] == k)
        nf = sum(1 for r in ok for al in r["false_focal"] if al.segment == k)
        nfn = sum(1 for r in ok if r["truth"]["siopen_total"] == 0
                  for al in r["false_focal"] if al.segment == k)
        lines.append(f"| {k} | {nt} | {nm} | {nf} ({nfn} on normal scans) |")
    sizes = [(tl["diameter_mm"], tl in r["missed"]) for r in ok for tl in r["truth"]["lesions"]]
    if sizes:
        lines.append("\n| focus diameter | n | missed |\n|---|---|---|")
        for lo, hi in ((0, 8), (8, 12), (12, 18), (18, 99)):
            sel = [m for dm, m in sizes if lo <= dm < hi]
            if sel:
                lines.append(f"| {lo}-{hi} mm | {len(sel)} | {np.mean(sel):.0%} |")

    conts = [(tl.get("contrast", float("nan")), tl in r["missed"]) for r in ok
             for tl in r["truth"]["lesions"]]
    if conts:
        lines.append("\n| focus contrast (blurred peak / what lies beneath) | n | missed |"
                     "\n|---|---|---|")
        for lo, hi in ((0, 2), (2, 4), (4, 8), (8, 1e9)):
            sel = [m for cv, m in conts if lo <= cv < hi]
            if sel:
                lines.append(f"| {lo}-{hi if hi < 1e9 else 'up'} | {len(sel)} | "
                             f"{np.mean(sel):.0%} |")

    lines.append("\n### By acquisition and patient\n")
    lines.append("| subgroup | n | bias | MAE |\n|---|---|---|---|")
    groups = {
        "matrix 256x1024": lambda r: r["truth"]["meta"]["matrix"][1] == 256,
        "matrix 512x2048": lambda r: r["truth"]["meta"]["matrix"][1] == 512,
        "feet first (rows flipped)": lambda r: r["truth"]["meta"]["feet_first"],
        "age < 2 y": lambda r: r["truth"]["meta"]["age_years"] < 2,
        "age >= 10 y": lambda r: r["truth"]["meta"]["age_years"] >= 10,
        "arms abducted": lambda r: "abducted" in r["truth"]["meta"]["arm_pose"],
        "hands on belly or thighs": lambda r: bool({"belly", "thighs"}
                                                   & set(r["truth"]["meta"]["arm_pose"])),
        "LEHR (septal penetration)": lambda r: r["truth"]["meta"]["collimator"] == "LEHR",
        "counts < 500 k": lambda r: r["truth"]["meta"]["counts"] < 5e5,
        "soft-tissue tumour": lambda r: bool(r["truth"]["soft_tissue"]),
        "brown fat": lambda r: "brown_fat" in r["truth"]["meta"]["findings"],
        "urine contamination": lambda r: "urine_contamination" in r["truth"]["meta"]["findings"],
        "thyroid": lambda r: "thyroid" in r["truth"]["meta"]["findings"],
        "injection site": lambda r: "injection" in r["truth"]["meta"]["findings"],
    }
    for name, f in groups.items():
        m = np.array([bool(f(r)) for r in ok])
        if m.any():
            lines.append(f"| {name} | {int(m.sum())} | {d[m].mean():+.2f} | "
                         f"{np.abs(d[m]).mean():.2f} |")
    order = np.argsort(-np.abs(d), kind="stable")
    worst = [ok[i] for i in order[:10]]
    lines.append("\n### The 10 worst cases\n")
    lines.append("Per segment: truth/auto, in the order " + ", ".join(SHORT.values()) + ".\n")
    lines.append("| seed | age | matrix | pose | category | truth | auto | segments |"
                 "\n|---|---|---|---|---|---|---|---|")
    for r in worst:
        m = r["truth"]["meta"]
        segs = " ".join(f"{r['truth']['siopen'][k]}/{r['result'].siopen[k]}"
                        for k in SIOPEN_KEYS)
        lines.append(f"| {r['seed']} | {m['age_years']:.1f} | {m['matrix'][1]}, "
                     f"{m['spacing_mm']:.1f} mm{', feet first' if m['feet_first'] else ''} | "
                     f"{'/'.join(m['arm_pose'])} | {r['truth']['category']} | "
                     f"{r['truth']['siopen_total']} | {r['result'].siopen_total} | {segs} |")
    return "\n".join(lines), worst


def _write_dicom(case, folder: Path) -> None:
    """Write one case as NM DICOM plus ``<name>.truth.json``."""
    import json

    from mibgscore.io.write import write_nm

    folder.mkdir(parents=True, exist_ok=True)
    name = f"phantom2_{case.seed:05d}"
    write_nm(case.scan, folder / f"{name}.dcm")
    (folder / f"{name}.truth.json").write_text(json.dumps(case.truth, indent=1),
                                               encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmark_phantom2.md")
    ap.add_argument("--lesions", default="auto", choices=("auto", "learned", "classic"),
                    help="lesion stage (ScoreParams.lesion_method)")
    ap.add_argument("--images", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--examples", action="store_true",
                    help="also render one normal, limited and extensive case")
    ap.add_argument("--dicom", type=Path, default=None,
                    help="also write each case as NM DICOM (write_nm) with its truth JSON")
    args = ap.parse_args(argv)
    from functools import partial

    from mibgscore.pipeline import ScoreParams, lesion_method
    from mibgscore.pipeline import score as score_scan

    method = lesion_method(ScoreParams(lesion_method=args.lesions))
    score = partial(score_scan, params=ScoreParams(lesion_method=method))
    from phantom2.render import render_case

    t0 = time.perf_counter()
    rows = []
    for i in range(args.n):
        rows.append(run_case(args.seed + i, score))
        r = rows[-1]
        if args.dicom is not None:
            _write_dicom(r["case"], args.dicom)
        auto = r["result"].siopen_total if r["result"] is not None else f"crash ({r['error']})"
        print(f"seed {r['seed']}: truth {r['truth']['siopen_total']}, auto {auto}", flush=True)
    body, worst = summarise(rows)
    command = (f".venv/bin/python benchmarks/accuracy_phantom2.py --n {args.n} "
               f"--seed {args.seed}" + (" --examples" if args.examples else "")
               + (f" --lesions {args.lesions}" if args.lesions != "auto" else "")
               + (f" --out {args.out.relative_to(ROOT)}" if args.out.is_relative_to(ROOT)
                  and args.out != ROOT / "docs" / "benchmark_phantom2.md" else ""))
    figs = []
    for j, r in enumerate(worst[:3], start=1):
        tag = "" if method == "learned" else f"_{method}"
        p = render_case(r["case"], args.images / f"phantom2{tag}_worst_{j}.png", result=r["result"],
                        title=(f"seed {r['seed']}: truth {r['truth']['siopen_total']}, auto "
                               f"{r['result'].siopen_total}  (red o truth focus, blue square "
                               "soft-tissue tumour, green x automatic focus)"))
        figs.append(p)
    if args.examples:
        for cat in ("normal", "limited", "extensive"):
            r = next((x for x in rows if x["truth"]["category"] == cat), None)
            if r is not None:
                render_case(r["case"], args.images / f"phantom2_{cat}.png",
                            title=f"phantom2 seed {r['seed']}: {cat}, SIOPEN "
                                  f"{r['truth']['siopen_total']}")
    md = [
        "# phantom2: out-of-distribution benchmark of the automatic score",
        "",
        "phantom2 (`benchmarks/phantom2/`) is a second paediatric 123I-MIBG phantom written "
        "independently of `mibgscore.simulate`: its own proportions by age, bones built from "
        "blocks, arcs, fans and tubes with wide metaphyses, its own biodistribution, "
        "attenuation, collimator law, scatter, septal penetration and noise. Truth grades "
        "come from the lesions drawn, through the project's segment tables and grading rules.",
        "",
        METHOD,
        "",
        f"Command (run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{time.perf_counter() - t0:.0f} s):",
        "",
        f"    {command}",
        "",
        f"Lesion stage: {method} (`ScoreParams.lesion_method`).",
        "",
        "## Results",
        "",
        body,
        "",
        "## The 3 worst cases",
        "",
    ]
    for p in figs:
        rel = Path("images") / p.name
        md.append(f"![{p.stem}]({rel.as_posix()})\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(md) + "\n", encoding="utf-8")
    print(body)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
