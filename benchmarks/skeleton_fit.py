"""Accuracy and speed of the fitted skeleton against simulated ground truth.

Prints, over simulated studies, the Dice overlap of fitted and true SIOPEN (and Curie) segment
maps, the landmark errors in mm, and the time of find_body + fit_skeleton; optionally renders
fitted-versus-true outlines.

    .venv/bin/python benchmarks/skeleton_fit.py --n 50 --seed 1000
    .venv/bin/python benchmarks/skeleton_fit.py --n 4 --render docs/images
    .venv/bin/python benchmarks/skeleton_fit.py --bone-scan docs/images/skeleton_on_bone_scan.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.scheme import load_scheme
from mibgscore.anatomy.skeleton import fit_skeleton

# fitted landmark name -> simulator keypoint name, where they differ
ALIASES = {"sternal_notch": "sternum_top"}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two bool masks (NaN when both are empty)."""
    s = a.sum() + b.sum()
    return float(2 * (a & b).sum() / s) if s else float("nan")


def lesion_agreement(seg: np.ndarray, keys: tuple[str, ...], lesions: list[tuple[int, int, str]],
                     radius_px: float) -> tuple[int, int]:
    """(lesions whose point falls in the true segment on ``seg``, lesions counted).

    A point outside the fitted bone takes the nearest fitted bone within ``radius_px``.
    """
    from scipy import ndimage as ndi

    _, (ir, ic) = ndi.distance_transform_edt(seg == 0, return_indices=True)
    dist = np.hypot(ir - np.arange(seg.shape[0])[:, None], ic - np.arange(seg.shape[1])[None])
    good = 0
    for r, c, key in lesions:
        r = int(np.clip(r, 0, seg.shape[0] - 1))
        c = int(np.clip(c, 0, seg.shape[1] - 1))
        label = seg[ir[r, c], ic[r, c]] if dist[r, c] <= radius_px else 0
        good += bool(label) and keys[label - 1] == key
    return good, len(lesions)


def evaluate(seed: int, *, use_age: bool) -> dict:
    """Fit one simulated study and compare it with its truth."""
    from mibgscore.simulate import simulate_study

    study = simulate_study(seed)
    scan, truth = study.scan, study.truth
    t0 = time.perf_counter()
    body = find_body(scan)
    age = scan.patient.age_years if use_age else None
    height = scan.patient.height_cm if use_age else None
    sk = fit_skeleton(body, age_years=age, height_cm=height)
    seconds = time.perf_counter() - t0
    out: dict = {"seed": seed, "seconds": seconds, "age": truth.age_years,
                 "confidence": sk.confidence, "flipped": body.flipped_rows}
    labels, position = sk.bone_labels, sk.bone_position
    if body.flipped_rows:
        labels, position = labels[::-1], position[::-1]
    for name in ("siopen", "curie"):
        scheme = load_scheme(name)
        fit = scheme.segment_map(labels, position)
        true = scheme.segment_map(truth.bone_labels, truth.bone_position)
        out[name] = {seg.key: dice(fit == i + 1, true == i + 1)
                     for i, seg in enumerate(scheme.segments) if not seg.soft_tissue}
    out["bone_dice"] = dice(labels > 0, truth.bone_labels > 0)
    scheme = load_scheme("siopen")
    fit = scheme.segment_map(labels, position)
    out["lesions"] = lesion_agreement(fit, scheme.keys,
                                      [(le.row, le.col, le.siopen) for le in truth.lesions
                                       if le.kind == "focal"], 10.0 / scan.spacing_mm[0])
    err = {}
    bias = {}
    sr, sc = scan.spacing_mm
    rows = body.shape[0]
    for name, (r, c) in sk.landmarks.items():
        key = ALIASES.get(name, name)
        if key not in truth.keypoints:
            continue
        if body.flipped_rows:
            r = rows - 1 - r
        tr, tc = truth.keypoints[key]
        err[key] = float(np.hypot((r - tr) * sr, (c - tc) * sc))
        bias[key] = (float((r - tr) * sr), float((c - tc) * sc))
    out["landmarks_mm"] = err
    out["bias_mm"] = bias
    out["study"] = study
    out["skeleton"] = sk
    out["body"] = body
    return out


def evaluate_phantom2(seed: int) -> dict:
    """Fit one case of the independent phantom2 simulator (bone map only, no positions)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from phantom2 import generate_case

    case = generate_case(seed)
    scan = case.scan
    t0 = time.perf_counter()
    body = find_body(scan)
    sk = fit_skeleton(body, age_years=scan.patient.age_years, height_cm=scan.patient.height_cm)
    seconds = time.perf_counter() - t0
    labels = sk.bone_labels[::-1] if body.flipped_rows else sk.bone_labels
    true = case.bone_labels.astype(np.int16)
    out: dict = {"seed": seed, "seconds": seconds, "age": scan.patient.age_years,
                 "confidence": sk.confidence,
                 "flip_ok": body.flipped_rows == bool(case.truth["meta"]["feet_first"]),
                 "pose": "/".join(case.truth["meta"]["arm_pose"])}
    scheme = load_scheme("curie")  # whole bones only: no position map needed
    fit = scheme.segment_map(labels)
    tru = scheme.segment_map(true)
    out["curie"] = {seg.key: dice(fit == i + 1, tru == i + 1)
                    for i, seg in enumerate(scheme.segments) if not seg.soft_tissue}
    out["bone_dice"] = dice(labels > 0, true > 0)
    siopen = load_scheme("siopen")
    pos = sk.bone_position[::-1] if body.flipped_rows else sk.bone_position
    out["lesions"] = lesion_agreement(
        siopen.segment_map(labels, pos), siopen.keys,
        [(le["row"], le["col"], le["siopen"]) for le in case.truth["lesions"]
         if le["kind"] == "focal"], 10.0 / scan.spacing_mm[0])
    return out


def _figure(figsize: tuple[float, float]):
    """A matplotlib Figure on its own Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def render(result: dict, path: Path) -> None:
    """Anterior view, inverted grey, fitted (solid) and true (dotted) SIOPEN outlines."""
    import matplotlib
    from skimage.segmentation import find_boundaries

    study, sk, body = result["study"], result["skeleton"], result["body"]
    scheme = load_scheme("siopen")
    view = body.anterior if body.anterior is not None else body.posterior
    fit = sk.segment_map(scheme)
    true = scheme.segment_map(study.truth.bone_labels, study.truth.bone_position)
    if body.flipped_rows:
        true = true[::-1]
    rows = np.flatnonzero(body.mask.any(axis=1))
    r0, r1 = max(0, rows[0] - 10), min(body.shape[0], rows[-1] + 10)
    cmap = matplotlib.colormaps["tab20"]
    fig = _figure((7, 7 * (r1 - r0) / body.shape[1] / 2 + 0.6))
    axes = fig.subplots(1, 2)
    for ax, seg, title in ((axes[0], fit, "fitted"), (axes[1], true, "true")):
        ax.imshow(-np.clip(view[r0:r1], 0, np.percentile(view, 99.0)), cmap="gray")
        rgba = np.zeros(seg[r0:r1].shape + (4,))
        bd = find_boundaries(seg[r0:r1], mode="inner") & (seg[r0:r1] > 0)
        rgba[bd] = cmap((seg[r0:r1][bd] - 1) % 20)
        ax.imshow(rgba)
        ax.set_title(f"{title} (seed {result['seed']}, {result['age']:.1f} y)", fontsize=8)
        ax.axis("off")
    for r, c in sk.landmarks.values():
        axes[0].plot(c, r - r0, ".", color="red", ms=2)
    for r, c in study.truth.keypoints.values():
        if body.flipped_rows:
            r = body.shape[0] - 1 - r
        axes[1].plot(c, r - r0, ".", color="blue", ms=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def render_bone_scan(path: Path) -> dict:
    """Fit the skeleton to JPEG-LL.dcm (a real 99mTc bone scan) and draw it on the image."""
    import matplotlib
    from matplotlib.patches import Patch
    from pydicom.data import get_testdata_file
    from skimage.segmentation import find_boundaries

    from mibgscore.io.read import read_scan

    scan = read_scan(get_testdata_file("JPEG-LL.dcm"), force=True, allow_single_view=True)
    body = find_body(scan)
    sk = fit_skeleton(body)
    view = body.anterior if body.anterior is not None else body.posterior
    scheme = load_scheme("siopen")
    seg = sk.segment_map(scheme)
    rows = np.flatnonzero(body.mask.any(axis=1))
    r0, r1 = max(0, rows[0] - 10), min(body.shape[0], rows[-1] + 10)
    cmap = matplotlib.colormaps["tab20"]
    fig = _figure((8.5, 2 * 4.2 * (r1 - r0) / body.shape[1] / 2 + 0.5))
    axes = fig.subplots(1, 2)
    grey = -np.clip(view[r0:r1], 0, np.percentile(view[body.mask], 99.5))
    axes[0].imshow(grey, cmap="gray")
    axes[0].set_title("JPEG-LL.dcm (99mTc bone scan)", fontsize=8)
    axes[1].imshow(grey, cmap="gray")
    thick = find_boundaries(seg[r0:r1], mode="inner") & (seg[r0:r1] > 0)
    rgba = np.zeros(thick.shape + (4,))
    rgba[thick] = cmap((seg[r0:r1][thick] - 1) % 20)
    axes[1].imshow(rgba, interpolation="nearest")
    axes[1].set_title("fitted skeleton from the outline only", fontsize=8)
    for ax in axes:
        ax.axis("off")
    handles = [Patch(color=cmap(i % 20), label=s.key) for i, s in enumerate(scheme.segments)]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=100)
    counts = body.counts
    inside = counts[sk.bone_mask].mean()
    outside = counts[body.mask & ~sk.bone_mask].mean()
    return {"bone_counts": float(inside), "soft_tissue_counts": float(outside),
            "ratio": float(inside / outside)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1000, help="first seed")
    ap.add_argument("--no-age", action="store_true", help="do not pass age/height to the fit")
    ap.add_argument("--render", type=Path, default=None,
                    help="folder for skeleton_fit_sim_<seed>.png images")
    ap.add_argument("--bone-scan", type=Path, default=None,
                    help="render the fit on JPEG-LL.dcm to this PNG and stop")
    ap.add_argument("--phantom2", action="store_true",
                    help="use the independent phantom2 simulator (Curie segments, whole bones)")
    args = ap.parse_args()
    if args.phantom2:
        rows = [evaluate_phantom2(seed) for seed in range(args.seed, args.seed + args.n)]
        for r in rows:
            mean = np.nanmean(list(r["curie"].values()))
            print(f"seed {r['seed']}: age {r['age']:4.1f} y, pose {r['pose']:14s} bone Dice "
                  f"{r['bone_dice']:.3f}, Curie mean Dice {mean:.3f}, orientation "
                  f"{'ok' if r['flip_ok'] else 'WRONG'}", flush=True)
        print(f"\nphantom2, {len(rows)} cases, seeds {args.seed}-{args.seed + args.n - 1}")
        print(f"orientation right in {sum(r['flip_ok'] for r in rows)}/{len(rows)}")
        print(f"bone Dice (any bone): median {np.median([r['bone_dice'] for r in rows]):.3f}")
        good, total = np.sum([r["lesions"] for r in rows], axis=0)
        print(f"focal lesions whose point falls in their true SIOPEN segment on the fitted "
              f"skeleton (10 mm reach): {good}/{total} = {good / max(total, 1):.1%}")
        print("\nCURIE segment Dice        median   p10    mean")
        for k in rows[0]["curie"]:
            v = np.array([r["curie"][k] for r in rows], float)
            v = v[np.isfinite(v)]
            print(f"  {k:28s} {np.median(v):.3f}  {np.percentile(v, 10):.3f}  {v.mean():.3f}")
        t = np.array([r["seconds"] for r in rows])
        print(f"\nfind_body + fit_skeleton: median {np.median(t) * 1000:.0f} ms")
        return
    if args.bone_scan is not None:
        res = render_bone_scan(args.bone_scan)
        print(f"JPEG-LL.dcm: mean counts in fitted bone {res['bone_counts']:.1f}, in the rest "
              f"of the body {res['soft_tissue_counts']:.1f} (ratio {res['ratio']:.2f})")
        return
    results = []
    for seed in range(args.seed, args.seed + args.n):
        res = evaluate(seed, use_age=not args.no_age)
        if args.render is not None:
            args.render.mkdir(parents=True, exist_ok=True)
            render(res, args.render / f"skeleton_fit_sim_{seed}.png")
        for k in ("study", "skeleton", "body"):
            res.pop(k)
        results.append(res)
        print(f"seed {seed}: age {res['age']:4.1f} y, bone Dice {res['bone_dice']:.3f}, "
              f"SIOPEN mean Dice {np.nanmean(list(res['siopen'].values())):.3f}, "
              f"conf {res['confidence']:.2f}, {res['seconds'] * 1000:.0f} ms", flush=True)
    print()
    print(f"{len(results)} studies, seeds {args.seed}-{args.seed + args.n - 1}, "
          f"age/height {'not ' if args.no_age else ''}given")
    print(f"bone Dice (any bone): median {np.median([r['bone_dice'] for r in results]):.3f}")
    good, total = np.sum([r["lesions"] for r in results], axis=0)
    print(f"focal lesions whose point falls in their true SIOPEN segment on the fitted "
          f"skeleton (10 mm reach): {good}/{total} = {good / max(total, 1):.1%}")
    for scheme in ("siopen", "curie"):
        print(f"\n{scheme.upper()} segment Dice        median   p10    mean")
        keys = results[0][scheme].keys()
        for k in keys:
            v = np.array([r[scheme][k] for r in results], float)
            v = v[np.isfinite(v)]
            print(f"  {k:28s} {np.median(v):.3f}  {np.percentile(v, 10):.3f}  {v.mean():.3f}")
    print("\nlandmark error (mm)          median   p90    max   row bias  col bias (patient-right)")
    names = sorted({k for r in results for k in r["landmarks_mm"]})
    for k in names:
        v = np.array([r["landmarks_mm"][k] for r in results if k in r["landmarks_mm"]])
        b = np.array([r["bias_mm"][k] for r in results if k in r["bias_mm"]])
        print(f"  {k:28s} {np.median(v):6.1f} {np.percentile(v, 90):6.1f} {v.max():6.1f}"
              f"  {np.median(b[:, 0]):+7.1f}  {np.median(b[:, 1]):+7.1f}")
    t = np.array([r["seconds"] for r in results])
    print(f"\nfind_body + fit_skeleton: median {np.median(t) * 1000:.0f} ms, "
          f"max {t.max() * 1000:.0f} ms")


if __name__ == "__main__":
    main()
