"""Render phantom3 cases to PNG: anterior and posterior (gamma display), bone map with truth.

    python -m phantom3.preview OUT_DIR SEED[:CATEGORY] ...   (with benchmarks/ on sys.path)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def render(case, path: str | Path, gamma: float = 0.6, marks: bool = True) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scan, t = case.scan, case.truth
    rows = t["meta"]["scan_rows"]
    ant, post = scan.anterior[:rows], scan.posterior[:rows]
    sy, sx = scan.spacing_mm
    aspect = sy / sx
    fig, axs = plt.subplots(1, 3, figsize=(12, 12 * rows * aspect / (3 * ant.shape[1]) + 1.2))
    for ax, img, name in ((axs[0], ant, "anterior"), (axs[1], post, "posterior (mirrored)")):
        top = np.percentile(img[img > 0], 99.7) if (img > 0).any() else 1
        ax.imshow(np.clip(img / top, 0, 1) ** gamma, cmap="gray_r", aspect=aspect,
                  interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    lab = case.bone_labels[:rows].astype(float)
    lab[lab == 0] = np.nan
    axs[2].imshow((ant + post) ** 0.5, cmap="gray_r", aspect=aspect)
    axs[2].imshow(lab, cmap="tab20", alpha=0.35, aspect=aspect, interpolation="nearest")
    if marks:
        for le in t["lesions"]:
            axs[2].plot(le["col"], le["row"], "o", mfc="none", mec="red", ms=6)
        for s in t["soft_tissue"]:
            axs[2].plot(s["col"], s["row"], "s", mfc="none", mec="blue", ms=6)
    axs[2].set_title("bone map, foci (red), soft tissue (blue)", fontsize=9)
    axs[2].axis("off")
    m = t["meta"]
    fig.suptitle(f"seed {case.seed}: {t['category']} SIOPEN {t['siopen_total']} Curie "
                 f"{t['curie_total']} | {m['age_years']} y {m['sex']} {m['height_cm']} cm | "
                 f"{m['pose']} | {m['collimator']} {m['matrix']} {m['spacing_mm'][0]} mm | "
                 f"{m['disease_pattern']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> None:
    from .case import generate_case

    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for spec in argv[1:]:
        seed, _, cat = spec.partition(":")
        case = generate_case(int(seed), cat or None)
        render(case, out / f"case_{seed}_{case.truth['category']}.png")
        print(out / f"case_{seed}_{case.truth['category']}.png", case.truth["siopen_total"])


if __name__ == "__main__":
    main(sys.argv[1:])
