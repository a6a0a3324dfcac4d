"""A quick look at a simulated study: both views in inverted grey, with the truth marked."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from mibgscore.simulate.types import SimulatedStudy


def save_preview(study: SimulatedStudy, path: str | Path, *, marks: bool = True,
                 crop: bool = True) -> None:
    """Render the anterior and posterior views side by side to a PNG.

    Parameters
    ----------
    study : SimulatedStudy
        The study to show.
    path : str or Path
        PNG file to write.
    marks : bool
        Circle the focal lesions and square the centroid of each diffuse lesion (red), and
        print the grades.
    crop : bool
        Show only the body and a small margin.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = study.truth
    r0, c0 = 0, 0
    r1, c1 = study.scan.shape
    if crop:
        rows = np.nonzero(t.body_mask.any(axis=1))[0]
        cols = np.nonzero(t.body_mask.any(axis=0))[0]
        r0, r1 = max(rows.min() - 10, 0), min(rows.max() + 10, r1)
        c0, c1 = max(cols.min() - 10, 0), min(cols.max() + 10, c1)
    fig = Figure(figsize=(6.4, 7.6))  # its own Agg canvas: no pyplot, no global backend
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for ax, name in zip(axes, ("anterior", "posterior"), strict=True):
        img = study.scan.views[name][r0:r1, c0:c1]
        top = float(np.percentile(img[img > 0], 99.3)) if (img > 0).any() else 1.0
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=top, interpolation="bilinear")
        ax.set_title(f"{name} (patient's right on the left)", fontsize=7)
        ax.axis("off")
        if marks:
            for les in t.lesions:
                ax.plot(les.col - c0, les.row - r0, "o" if les.kind == "focal" else "s",
                        mfc="none", mec="red", ms=9, mew=0.6)
    grades = " ".join(f"{k.replace('_limb_', '').replace('upper', 'U').replace('lower', 'L')}"
                      f"={g}" for k, g in t.siopen.items() if g)
    fig.suptitle(f"{t.category}: SIOPEN {t.siopen_total}, Curie {t.curie_total}; "
                 f"{t.age_years:.1f} y, {t.height_cm:.0f} cm, {study.scan.spacing_mm[0]:.2f} mm"
                 f"\n{textwrap.fill(grades, 80)}", fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
