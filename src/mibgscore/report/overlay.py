"""The overlay PNG: both views, segment outlines, numbered lesions and the grade table."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore import __version__
from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.rules import curie_category, siopen_category
from mibgscore.io.types import Scan
from mibgscore.result import ScoreResult

logger = logging.getLogger(__name__)

SEGMENT_COLOURS = (
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#006d5b",
    "#e377c2", "#7a0177", "#ff7f0e", "#b8860b", "#08306b", "#4d9221",
)
"""Outline colour of SIOPEN segment i (label i + 1); none is red, the lesion colour."""

LESION_COLOUR = "#e00000"
FINDING_COLOUR = "#0050c8"
LOW_CONFIDENCE = 0.7
"""Segments whose grade confidence is below this are flagged for a second look."""

MAX_LISTED = 30
"""Lesions listed under the grade tables (all are drawn)."""

WINDOW_PERCENTILE = 99.5
"""Upper window of each view: this percentile of its counts (black in inverted grey)."""

ORIENTATION_NOTE = ("Anterior: seen from the front, patient's right on the viewer's left. "
                    "Posterior: seen from behind, patient's left on the viewer's left.")
"""The legend line saying which orientation is shown."""


def render_overlay(scan: Scan, result: ScoreResult, path: str | Path | None = None, *,
                   title: str | None = None, low_confidence: float = LOW_CONFIDENCE,
                   table: bool = True) -> bytes:
    """Draw the one-picture summary of a scored scan, as PNG.

    Anterior and posterior side by side at the same scale in inverted grey (each windowed from
    0 to its 99.5th count percentile), SIOPEN segment outlines (from ``result.evidence``
    when present), numbered lesions (focal: circle; diffuse: hatched region), labelled
    findings, R/L markers, and the SIOPEN and Curie grade tables with low-confidence segments
    flagged. The posterior is shown as acquired (seen from behind): ``scan.posterior`` is
    stored mirrored into the anterior orientation, so it and every position on it are
    mirrored back left-right here.

    Parameters
    ----------
    scan : Scan
        The scan that was scored.
    result : ScoreResult
        Its score; lesion and finding positions are (row, col) in the anterior frame.
    path : str or Path, optional
        Where to write the PNG as well.
    title : str, optional
        Heading; the base name of ``result.file`` by default.
    low_confidence : float
        Grade confidence under which a segment is flagged, 0-1.
    table : bool
        Draw the grade tables beside the views (False: the views alone, e.g. for the PDF
        report, which has its own tables).

    Returns
    -------
    bytes
        The PNG file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    siopen_scheme = load_scheme("siopen")
    curie_scheme = load_scheme("curie")
    sr, sc = scan.spacing_mm
    views = scan.views
    box = _crop(scan, result)
    rows, cols = box[1] - box[0], box[3] - box[2]

    # Layout in inches: image panels of equal size, then the table column.
    img_h = 9.0
    img_w = img_h * (cols * sc) / (rows * sr)
    if img_w > 4.0:
        img_w, img_h = 4.0, 4.0 * (rows * sr) / (cols * sc)
    zoom = img_h * 100 / rows  # display pixels per scan pixel
    foot = [f"mibgscore {__version__} - Research use only, not a medical device.",
            *ORIENTATION_NOTE.split(". ", 1)[::-1]]  # bottom line first
    if result.evidence is None:
        foot.append("Segment outlines not available (result without evidence).")
    foot += [f"Warning: {w}" for w in result.warnings[:3]]
    table_w, margin, gap, top = (4.3 if table else 0.0), 0.25, 0.3, 0.75
    bottom = 0.3 + 0.17 * len(foot)
    n = len(views)
    fig_w = margin + n * img_w + (n - 1) * gap + (gap + table_w if table else 0.0) + margin
    fig_h = (max(img_h, 8.6) if table else img_h) + top + bottom
    fig = Figure(figsize=(fig_w, fig_h), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)

    seg_map = _evidence(result.evidence, "siopen_map")
    lesion_mask = _evidence(result.evidence, "lesion_mask")
    keys = tuple(getattr(result.evidence, "siopen_keys", None) or siopen_scheme.keys)
    for i, (view, counts) in enumerate(views.items()):
        left = margin + i * (img_w + gap)
        ax = fig.add_axes((left / fig_w, (fig_h - top - img_h) / fig_h, img_w / fig_w,
                           img_h / fig_h))
        mirror = view == "posterior"
        _draw_view(ax, counts, view, mirror, (sr, sc), box, seg_map, lesion_mask, keys, result,
                   zoom)

    if table:
        tx = (margin + n * (img_w + gap)) / fig_w
        tab = fig.add_axes((tx, bottom / fig_h, table_w / fig_w,
                            (fig_h - top - bottom) / fig_h))
        _draw_tables(tab, result, siopen_scheme, curie_scheme, low_confidence)

    heading = title if title is not None else Path(result.file).name if result.file else ""
    fig.text(margin / fig_w, 1 - 0.3 / fig_h, heading, fontsize=13, weight="bold",
             va="center", ha="left")
    for j, line in enumerate(foot):
        fig.text(margin / fig_w, (0.15 + 0.17 * j) / fig_h, line, fontsize=7, ha="left",
                 va="bottom", color="#a00000" if line.startswith("Warning") else "#444444")

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white",
                pil_kwargs={"compress_level": 3})
    png = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(png)
    return png


def _evidence(evidence: Any, name: str) -> np.ndarray | None:
    """An array of the pipeline's evidence, whether it is an object or a dict."""
    if evidence is None:
        return None
    value = evidence.get(name) if isinstance(evidence, dict) else getattr(evidence, name, None)
    return None if value is None else np.asarray(value)


def _window(counts: np.ndarray) -> float:
    """Upper window: the 99.5th percentile of the non-zero counts (at least 1)."""
    positive = counts[counts > 0]
    if positive.size == 0:
        return 1.0
    return float(max(np.percentile(positive, WINDOW_PERCENTILE), 1e-6))


def _draw_view(ax, counts: np.ndarray, view: str, mirror: bool, spacing: tuple[float, float],
               box: tuple[int, int, int, int], seg_map: np.ndarray | None,
               lesion_mask: np.ndarray | None, keys: tuple[str, ...], result: ScoreResult,
               zoom: float) -> None:
    from matplotlib import patheffects

    rows, cols = counts.shape
    flip = (lambda a: a[:, ::-1]) if mirror else (lambda a: a)
    col_of = (lambda c: cols - 1 - c) if mirror else (lambda c: c)
    aspect = spacing[0] / spacing[1]
    r0, r1, c0, c1 = box
    ax.imshow(flip(counts), cmap="gray_r", vmin=0.0, vmax=_window(counts), aspect=aspect,
              interpolation="antialiased")
    x0, x1 = (cols - c1, cols - c0) if mirror else (c0, c1)
    ax.set_xlim(x0 - 0.5, x1 - 0.5)
    ax.set_ylim(r1 - 0.5, r0 - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]

    if seg_map is not None and seg_map.shape == counts.shape:
        ax.imshow(_outline_rgba(flip(seg_map), thick=zoom < 1.5), aspect=aspect,
                  interpolation="nearest")

    radius_px = 9.0 / zoom  # a focal lesion's ring: 9 display pixels
    for k, lesion in enumerate(result.lesions, start=1):
        c = col_of(lesion.col)
        region = None
        if lesion.kind == "diffuse" and lesion_mask is not None and seg_map is not None \
                and lesion_mask.shape == counts.shape and lesion.segment in keys:
            region = flip(lesion_mask.astype(bool) & (seg_map == keys.index(lesion.segment) + 1))
        if region is not None and region.any():
            _hatch(ax, region)
        else:
            _ring(ax, lesion.row, c, radius_px * (2 if lesion.kind == "diffuse" else 1), aspect,
                  dashed=lesion.kind == "diffuse")
        ax.text(c + radius_px + 2, lesion.row - radius_px * 0.3 / aspect,
                str(k) + ("d" if lesion.kind == "diffuse" else ""), color=LESION_COLOUR,
                fontsize=8, weight="bold", ha="left", va="center", path_effects=halo,
                clip_on=True)

    named = set()
    for f in result.findings:
        c = col_of(f.col)
        ax.plot([c], [f.row], marker="+", color=FINDING_COLOUR, markersize=5, mew=0.8)
        if f.label in named:  # each kind of finding is named once per view
            continue
        named.add(f.label)
        ax.text(c + 4, f.row, f.label.replace("_", " "), color=FINDING_COLOUR, fontsize=6,
                ha="left", va="center", path_effects=halo, clip_on=True)

    left, right = ("L", "R") if mirror else ("R", "L")
    for x, text, ha in ((0.03, left, "left"), (0.97, right, "right")):
        ax.text(x, 0.985, text, transform=ax.transAxes, fontsize=13, weight="bold",
                color="#c00000", ha=ha, va="top", path_effects=halo)
    ax.set_title("POSTERIOR (from behind)" if mirror else view.upper(), fontsize=10,
                 weight="bold", pad=4)


def _hatch(ax, region: np.ndarray) -> None:
    """Hatch a diffuse lesion's pixels and outline them (drawn on their bounding box only)."""
    r_idx, c_idx = np.nonzero(region)
    r0, r1 = max(r_idx.min() - 1, 0), min(r_idx.max() + 2, region.shape[0])
    c0, c1 = max(c_idx.min() - 1, 0), min(c_idx.max() + 2, region.shape[1])
    sub = region[r0:r1, c0:c1].astype(np.float32)
    x, y = np.arange(c0, c1), np.arange(r0, r1)
    filled = ax.contourf(x, y, sub, levels=[0.5, 1.5], colors="none", hatches=["////"])
    filled.set_edgecolor(LESION_COLOUR)  # the hatch colour
    filled.set_linewidth(0.0)
    ax.contour(x, y, sub, levels=[0.5], colors=[LESION_COLOUR], linewidths=0.8)


def _crop(scan: Scan, result: ScoreResult) -> tuple[int, int, int, int]:
    """Rows and columns (r0, r1, c0, c1), anterior frame, holding the body and all marks.

    The body is where the lightly smoothed counts exceed 2 % of the view's upper window;
    the box is widened by 6 % on each side and never cut through a lesion or finding.
    """
    from scipy import ndimage

    rows, cols = scan.shape
    inside = np.zeros(scan.shape, bool)
    for counts in scan.views.values():  # both in the anterior frame
        smooth = ndimage.uniform_filter(counts.astype(np.float32), size=5)
        inside |= smooth > 0.02 * _window(counts)
    if not inside.any():
        return 0, rows, 0, cols
    r_idx = np.nonzero(inside.any(axis=1))[0]
    c_idx = np.nonzero(inside.any(axis=0))[0]
    marks_r = [x.row for x in result.lesions] + [f.row for f in result.findings]
    marks_c = [x.col for x in result.lesions] + [f.col for f in result.findings]
    r0, r1 = min([r_idx[0], *marks_r]), max([r_idx[-1] + 1, *(m + 1 for m in marks_r)])
    c0, c1 = min([c_idx[0], *marks_c]), max([c_idx[-1] + 1, *(m + 1 for m in marks_c)])
    pr, pc = int(0.06 * (r1 - r0)) + 2, int(0.06 * (c1 - c0)) + 4
    r0, r1 = max(r0 - pr, 0), min(r1 + pr, rows)
    c0, c1 = max(c0 - pc, 0), min(c1 + pc, cols)
    return int(r0), int(r1), int(c0), int(c1)


def _outline_rgba(seg_map: np.ndarray, *, thick: bool) -> np.ndarray:
    """RGBA picture of each segment's inner border in the segment's colour (thick: 2 px)."""
    from matplotlib.colors import to_rgba
    from scipy import ndimage

    m = seg_map.astype(np.int16)
    border = (m > 0) & ((ndimage.maximum_filter(m, size=3) != m)
                        | (ndimage.minimum_filter(m, size=3) != m))
    if thick:  # keep the border visible once the view is shrunk to fit
        border = ndimage.binary_dilation(border, iterations=1) & (m > 0)
    palette = np.zeros((len(SEGMENT_COLOURS) + 1, 4), np.float32)
    palette[1:] = [to_rgba(c) for c in SEGMENT_COLOURS]
    rgba = palette[np.clip(m, 0, len(SEGMENT_COLOURS))]
    rgba[~border] = 0.0
    return rgba


def _ring(ax, row: float, col: float, radius: float, aspect: float, *, dashed: bool) -> None:
    from matplotlib.patches import Ellipse

    ax.add_patch(Ellipse((col, row), 2 * radius, 2 * radius / aspect, fill=False,
                         edgecolor=LESION_COLOUR, linewidth=1.4,
                         linestyle="--" if dashed else "-"))


def _draw_tables(ax, result: ScoreResult, siopen_scheme, curie_scheme,
                 low_confidence: float) -> None:
    """The grade tables, one monospace text per row (text is the slow part of a figure)."""
    from matplotlib.patches import Rectangle

    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    n_lines = 12 + 10 + 10 + min(len(result.lesions), MAX_LISTED)
    dy = min(0.024, 0.98 / n_lines)
    y = 0.99
    mono = "DejaVu Sans Mono"

    def line(text: str, x: float = 0.0, size: float = 8.0, **kw: Any) -> None:
        ax.text(x, y, text, fontsize=size, va="top", ha="left", family=mono, **kw)

    line(f"{'SIOPEN (0-6)':<27}{'grade':>6}{'conf.':>7}", size=8.5, weight="bold")
    y -= dy * 1.15
    flagged = 0
    for i, seg in enumerate(siopen_scheme.segments):
        grade = result.siopen[seg.key]
        conf = result.siopen_confidence.get(seg.key, 0.0)
        low = conf < low_confidence
        flagged += low
        if low:
            ax.add_patch(Rectangle((0.0, y - dy * 0.95), 0.98, dy * 0.95, color="#fff2a8",
                                   zorder=0))
        ax.add_patch(Rectangle((0.0, y - dy * 0.78), 0.025, dy * 0.6,
                               color=SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]))
        line(f"{seg.name:<25}{grade:>6}{conf:>7.2f}{'  check' if low else ''}", x=0.04,
             color="#7a4a00" if low else "black")
        y -= dy
    total = result.siopen_total
    line(f"{'SIOPEN total':<14}{f'{total} / 72':>17}{siopen_category(total):>7}", size=8.5,
         weight="bold")
    y -= dy * 1.1
    if flagged:
        line(f"{flagged} segment(s) with confidence < {low_confidence:.2f}: check", size=7,
             color="#7a4a00")
    y -= dy * 1.3

    line(f"{'Curie (0-3)':<27}{'grade':>6}", size=8.5, weight="bold")
    y -= dy * 1.15
    for seg in curie_scheme.segments:
        line(f"{seg.name:<35.35}{result.curie[seg.key]:>2}", x=0.04)
        y -= dy
    total = result.curie_total
    line(f"{'Curie total':<14}{f'{total} / 30':>17}{curie_category(total):>7}", size=8.5,
         weight="bold")
    y -= dy * 1.6

    names = dict(zip(siopen_scheme.keys, (s.name for s in siopen_scheme.segments),
                     strict=True))
    line(f"Lesions ({len(result.lesions)})", size=8.5, weight="bold")
    y -= dy * 1.1
    for k, lesion in enumerate(result.lesions[:MAX_LISTED], start=1):
        what = "focal" if lesion.kind == "focal" or lesion.fraction is None else \
            f"diffuse {100 * lesion.fraction:.0f}%"
        tag = f"{k}{'d' if lesion.kind == 'diffuse' else ''}"
        line(f"{tag:<4}{names.get(lesion.segment, lesion.segment)}: {what}, conf. "
             f"{lesion.confidence:.2f}", size=7.5, color=LESION_COLOUR)
        y -= dy
    if len(result.lesions) > MAX_LISTED:
        line(f"    ... and {len(result.lesions) - MAX_LISTED} more", size=7.5)
