"""Figures of phantom cases: anterior and posterior side by side, inverted grey, truth marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _display(view: np.ndarray, sat: float) -> np.ndarray:
    from scipy import ndimage

    v = ndimage.gaussian_filter(view, 0.6)
    body = v[v > 0.5 * np.median(v[v > 0])] if (v > 0).any() else v
    top = float(np.percentile(body, sat)) if body.size else 1.0
    return np.clip(v / max(top, 1e-6), 0, 1) ** 0.8


def render_case(case, path: str | Path, *, result=None, title: str = "",
                sat: float = 95.0) -> Path:
    """Write a PNG of ``case`` (a Phantom2Case), optionally with an automatic result's grades.

    Truth focal lesions are red circles, soft-tissue tumour sites blue squares; automatic
    focal lesions, when ``result`` is given, green crosses.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scan = case.scan
    from scipy import ndimage

    sm = ndimage.uniform_filter(scan.anterior, 9)
    rows = np.nonzero((sm > 0.15 * np.median(sm[sm > 0])).sum(axis=1) > 2)[0]
    r0, r1 = (int(rows.min()), int(rows.max()) + 1) if rows.size else (0, scan.shape[0])
    pad = int(0.03 * scan.shape[0])
    r0, r1 = max(0, r0 - pad), min(scan.shape[0], r1 + pad)
    fig, axs = plt.subplots(1, 2, figsize=(7, 7 * (r1 - r0) / scan.shape[1] / 2 + 1.2))
    for ax, name in zip(axs, ("anterior", "posterior"), strict=True):
        ax.imshow(_display(scan.views[name], sat)[r0:r1], cmap="gray_r", vmin=0, vmax=1,
                  interpolation="nearest", extent=(0, scan.shape[1], r1, r0))
        for les in case.truth["lesions"]:
            ax.plot(les["col"], les["row"], "o", mfc="none", mec="red", ms=9, mew=0.8)
        for st in case.truth["soft_tissue"]:
            ax.plot(st["col"], st["row"], "s", mfc="none", mec="dodgerblue", ms=11, mew=0.8)
        if result is not None:
            for les in result.lesions:
                if les.kind == "focal":
                    ax.plot(les.col, les.row, "x", color="limegreen", ms=7, mew=1.2)
        ax.set_title(f"{name} (patient's right on the left)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
