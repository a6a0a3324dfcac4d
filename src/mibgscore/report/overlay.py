"""The overlay PNG: both views, segment outlines, numbered lesions and the grade table."""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore import __version__
from mibgscore.anatomy.grades import Grades
from mibgscore.anatomy.scheme import SegmentScheme, load_scheme
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

WINDOW_PERCENTILE = 99.5
"""Upper window of each view: this percentile of its counts (black in inverted grey)."""

ORIENTATION_NOTE = ("Anterior: seen from the front, patient's right on the viewer's left. "
                    "Posterior: seen from behind, patient's left on the viewer's left.")
"""The legend line saying which orientation is shown."""


def render_overlay(scan: Scan, result: ScoreResult, path: str | Path | None = None, *,
                   title: str | None = None, low_confidence: float = LOW_CONFIDENCE,
                   table: bool = True,
                   schemes: tuple[SegmentScheme, SegmentScheme] | None = None) -> bytes:
    """Draw the one-picture summary of a scored scan, as PNG.

    Anterior and posterior side by side at the same scale in inverted grey (each windowed from
    0 to its 99.5th count percentile) and cropped to the body, SIOPEN segment outlines (from
    ``result.evidence`` when present), numbered lesions (focal: ring; diffuse: hatched
    region), labelled findings, R/L markers, and the SIOPEN and Curie grade tables with
    low-confidence segments flagged. The posterior is shown as acquired (seen from behind):
    ``scan.posterior`` is stored mirrored into the anterior orientation, so it and every
    position on it are mirrored back left-right here.

    The views are drawn by matplotlib's Agg canvas (no pyplot state), the words by Pillow
    (several times faster than matplotlib text).

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
    schemes : tuple of (SegmentScheme, SegmentScheme), optional
        The SIOPEN and Curie tables the scan was scored with (segment names, grade range,
        highest total and cut-off of the tables); the bundled ones by default.

    Returns
    -------
    bytes
        The PNG file (RGB, 100 pixels per inch of the layout).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image, ImageDraw

    sr, sc = scan.spacing_mm
    views = scan.views
    box = _crop(scan, result)
    rows, cols = box[1] - box[0], box[3] - box[2]

    # Layout in inches (100 pixels each): image panels of equal size, then the table column.
    img_h = 9.0
    img_w = img_h * (cols * sc) / (rows * sr)
    if img_w > 4.0:
        img_w, img_h = 4.0, 4.0 * (rows * sr) / (cols * sc)
    zoom = img_h * 100 / rows  # display pixels per scan pixel
    foot = [f"mibgscore {__version__} - Research use only, not a medical device.",
            *(x.strip() for x in ORIENTATION_NOTE.replace(". ", ".|").split("|")[::-1]
              if x.split(":")[0].lower() in scan.views)]
    if result.evidence is None:
        foot.append("Segment outlines not available (result without evidence).")
    foot += [f"Warning: {w}" for w in result.warnings[:3]]
    table_w, margin, gap, top = (4.3 if table else 0.0), 0.25, 0.3, 0.75
    bottom = 0.3 + 0.17 * len(foot)
    n = len(views)
    fig_w = margin + n * img_w + (n - 1) * gap + (gap + table_w if table else 0.0) + margin
    fig_h = (max(img_h, 8.6) if table else img_h) + top + bottom
    fig = Figure(figsize=(fig_w, fig_h), dpi=100, facecolor="white")
    canvas = FigureCanvasAgg(fig)

    seg_map = _evidence(result.evidence, "siopen_map")
    lesion_mask = _evidence(result.evidence, "lesion_mask")
    keys = tuple(getattr(result.evidence, "siopen_keys", None) or load_scheme("siopen").keys)
    labels: list[tuple] = []  # (x, y from the figure's bottom, text, kind) drawn by Pillow
    for i, (view, counts) in enumerate(views.items()):
        left = margin + i * (img_w + gap)
        ax = fig.add_axes((left / fig_w, (fig_h - top - img_h) / fig_h, img_w / fig_w,
                           img_h / fig_h))
        labels += _draw_view(ax, counts, view == "posterior", (sr, sc), box, seg_map,
                             lesion_mask, keys, result, zoom)
        name = "POSTERIOR (from behind)" if view == "posterior" else "ANTERIOR"
        labels.append(((left + img_w / 2) * 100, (fig_h - top) * 100 + 4, name, "title"))
        marks = ("L", "R") if view == "posterior" else ("R", "L")
        labels.append(((left + 0.08) * 100, (fig_h - top) * 100 - 6, marks[0], "side"))
        labels.append(((left + img_w - 0.08) * 100, (fig_h - top) * 100 - 6, marks[1],
                       "side-right"))
    canvas.draw()
    picture = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    draw = ImageDraw.Draw(picture)
    height = picture.size[1]
    for x, y, text, kind in labels:
        _label(draw, x, height - y, text, kind)

    heading = title if title is not None else Path(result.file).name if result.file else ""
    draw.text((margin * 100, 0.3 * 100), heading, font=_font(18, bold=True, mono=False),
              fill="black", anchor="lm")
    for j, line in enumerate(foot):
        draw.text((margin * 100, height - (0.15 + 0.17 * j) * 100), line,
                  font=_font(10, mono=False),
                  fill="#a00000" if line.startswith("Warning") else "#444444", anchor="ls")
    if table:
        x0 = round((margin + n * (img_w + gap)) * 100)
        _draw_tables(draw, (x0, round(top * 100) + 8, round(table_w * 100),
                            height - round(bottom * 100)), result, low_confidence,
                     schemes or (load_scheme("siopen"), load_scheme("curie")))

    buf = io.BytesIO()
    picture.save(buf, format="PNG", compress_level=1)
    png = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(png)
    return png


@cache
def _font(size: int, *, bold: bool = False, mono: bool = True):
    """A Pillow font of ``size`` pixels: DejaVu (shipped with matplotlib)."""
    from matplotlib.font_manager import FontProperties, findfont
    from PIL import ImageFont

    family = "DejaVu Sans Mono" if mono else "DejaVu Sans"
    path = findfont(FontProperties(family=family, weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, size)


def _label(draw, x: float, y: float, text: str, kind: str) -> None:
    """Draw one word at pixel (x, y) (y from the top) in the style of its kind."""
    if kind == "lesion":
        draw.text((x, y), text, font=_font(12, bold=True, mono=False), fill=LESION_COLOUR,
                  anchor="lm", stroke_width=2, stroke_fill="white")
    elif kind == "finding":
        draw.text((x, y), text, font=_font(9, mono=False), fill=FINDING_COLOUR, anchor="lm",
                  stroke_width=2, stroke_fill="white")
    elif kind == "title":
        draw.text((x, y), text, font=_font(14, bold=True, mono=False), fill="black",
                  anchor="md")
    else:  # R/L markers in the views' upper corners
        draw.text((x, y), text, font=_font(19, bold=True, mono=False), fill="#c00000",
                  anchor="ra" if kind == "side-right" else "la", stroke_width=2,
                  stroke_fill="white")


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


def _draw_view(ax, counts: np.ndarray, mirror: bool, spacing: tuple[float, float],
               box: tuple[int, int, int, int], seg_map: np.ndarray | None,
               lesion_mask: np.ndarray | None, keys: tuple[str, ...], result: ScoreResult,
               zoom: float) -> list[tuple]:
    """Draw one view and its marks; return the words to write (figure pixels from bottom)."""
    rows, cols = counts.shape
    flip = (lambda a: a[:, ::-1]) if mirror else (lambda a: a)
    col_of = (lambda c: cols - 1 - c) if mirror else (lambda c: c)
    aspect = spacing[0] / spacing[1]
    r0, r1, c0, c1 = box
    x0, x1 = (cols - c1, cols - c0) if mirror else (c0, c1)
    shown = (slice(r0, r1), slice(x0, x1))  # only the crop is resampled
    extent = (x0 - 0.5, x1 - 0.5, r1 - 0.5, r0 - 0.5)
    ax.imshow(flip(counts)[shown], cmap="gray_r", vmin=0.0, vmax=_window(counts),
              aspect=aspect, interpolation="antialiased", extent=extent)
    ax.set_xlim(x0 - 0.5, x1 - 0.5)
    ax.set_ylim(r1 - 0.5, r0 - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])

    regions = np.zeros(counts.shape, bool)  # diffuse lesions drawn as hatched regions
    ringed = []
    for lesion in result.lesions:
        if lesion.kind == "diffuse" and lesion_mask is not None and seg_map is not None \
                and lesion_mask.shape == counts.shape and lesion.segment in keys:
            region = lesion_mask.astype(bool) & (seg_map == keys.index(lesion.segment) + 1)
            if region.any():
                regions |= region
                continue
        ringed.append(lesion)
    with_maps = seg_map is not None and seg_map.shape == counts.shape
    if with_maps or regions.any():
        rgba = _overlay_rgba(flip(seg_map)[shown] if with_maps else None, flip(regions)[shown],
                             zoom=zoom)
        ax.imshow(rgba, aspect=aspect, interpolation="nearest", extent=extent)

    radius = 9.0  # display pixels of a focal lesion's ring
    for dashed in (False, True):
        some = [x for x in ringed if (x.kind == "diffuse") == dashed]
        if some:
            size = (2 * radius * (2 if dashed else 1) * 0.72) ** 2  # points squared
            ax.scatter([col_of(x.col) for x in some], [x.row for x in some], s=size,
                       facecolors="none", edgecolors=LESION_COLOUR, linewidths=1.4,
                       linestyles="--" if dashed else "-")
    if result.findings:
        ax.scatter([col_of(f.col) for f in result.findings], [f.row for f in result.findings],
                   marker="+", s=25, c=FINDING_COLOUR, linewidths=0.8)

    words = []
    to_px = ax.transData.transform
    x_lo, x_hi = ax.get_window_extent().x0, ax.get_window_extent().x1
    for k, lesion in enumerate(result.lesions, start=1):
        x, y = to_px((col_of(lesion.col), lesion.row))
        x += radius + 3
        if x_lo <= x <= x_hi - 8:
            words.append((x, y + 3, f"{k}{'d' if lesion.kind == 'diffuse' else ''}",
                          "lesion"))
    named = set()
    for f in result.findings:
        if f.label in named:  # each kind of finding is named once per view
            continue
        named.add(f.label)
        x, y = to_px((col_of(f.col), f.row))
        words.append((x + 5, y, f.label.replace("_", " "), "finding"))
    return words


def _crop(scan: Scan, result: ScoreResult) -> tuple[int, int, int, int]:
    """Rows and columns (r0, r1, c0, c1), anterior frame, holding the body and all marks.

    The body is the outline the scoring found (the evidence's body), else where the lightly
    smoothed counts exceed 2 % of the view's upper window (noise in a large field of a small
    child passes that); the box is widened by 6 % on each side and never cut through a
    lesion or finding.
    """
    from scipy import ndimage

    rows, cols = scan.shape
    body = getattr(getattr(result, "evidence", None), "body", None)
    if body is not None and getattr(body, "shape", None) == scan.shape:
        inside = body.grid.to_original_map(body.mask)
    else:
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


def _overlay_rgba(seg_map: np.ndarray | None, regions: np.ndarray, *, zoom: float
                  ) -> np.ndarray:
    """RGBA picture of the segments' inner borders (own colours; 2 px when ``zoom``, display
    pixels per scan pixel, is under 1.5) and of the diffuse lesions (red hatching, border)."""
    from matplotlib.colors import to_rgba
    from scipy import ndimage

    rgba = np.zeros((*regions.shape, 4), np.float32)
    if seg_map is not None:
        m = seg_map.astype(np.int16)
        border = (m > 0) & ((ndimage.maximum_filter(m, size=3) != m)
                            | (ndimage.minimum_filter(m, size=3) != m))
        if zoom < 1.5:  # keep the border visible once the view is shrunk to fit
            border = ndimage.binary_dilation(border, iterations=1) & (m > 0)
        palette = np.zeros((len(SEGMENT_COLOURS) + 1, 4), np.float32)
        palette[1:] = [to_rgba(c) for c in SEGMENT_COLOURS]
        rgba = palette[np.clip(m, 0, len(SEGMENT_COLOURS))]
        rgba[~border] = 0.0
    if regions.any():
        rr, cc = np.indices(regions.shape)
        step = max(3, round(7 / zoom))  # about 7 display pixels between hatch lines
        hatch = regions & ((rr + cc) % step == 0)
        edge = regions & ~ndimage.binary_erosion(regions)
        red = np.array(to_rgba(LESION_COLOUR), np.float32)
        rgba[hatch] = red * np.array([1, 1, 1, 0.8], np.float32)
        rgba[edge] = red
    return rgba


def _draw_tables(draw, frame: tuple[int, int, int, int], result: ScoreResult,
                 low_confidence: float, schemes: tuple[SegmentScheme, SegmentScheme]) -> None:
    """The grade tables and the lesion list, written with Pillow in ``frame`` (x, y, w, bottom)."""
    siopen_scheme, curie_scheme = schemes
    siopen, curie = Grades(siopen_scheme, result.siopen), Grades(curie_scheme, result.curie)
    x0, y, width, bottom = frame
    step = 19
    normal, bold, small = _font(12), _font(12, bold=True), _font(11)

    def line(text: str, *, font=normal, fill: str = "black", dx: int = 0) -> None:
        draw.text((x0 + dx, y), text, font=font, fill=fill, anchor="la")

    line(f"{f'SIOPEN (0-{siopen_scheme.max_grade})':<27}{'grade':>6}{'conf.':>7}", font=bold)
    y += step + 4
    flagged = 0
    for i, seg in enumerate(siopen_scheme.segments):
        grade = result.siopen[seg.key]
        conf = result.siopen_confidence.get(seg.key, 0.0)
        low = conf < low_confidence
        flagged += low
        if low:
            draw.rectangle((x0, y - 3, x0 + width - 10, y + step - 4), fill="#fff2a8")
        draw.rectangle((x0, y + 1, x0 + 10, y + 11),
                       fill=SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)])
        line(f"{seg.name:<25}{grade:>6}{conf:>7.2f}{'  check' if low else ''}", dx=16,
             fill="#7a4a00" if low else "black")
        y += step
    total = f"{siopen.total} / {siopen_scheme.max_total}"
    line(f"{'SIOPEN total':<14}{total:>17}{siopen.category or '':>7}", font=bold)
    y += step
    if flagged:
        line(f"{flagged} segment(s) with confidence < {low_confidence:.2f}: check",
             font=small, fill="#7a4a00")
    y += step + 8

    line(f"{f'Curie (0-{curie_scheme.max_grade})':<27}{'grade':>6}", font=bold)
    y += step + 4
    for seg in curie_scheme.segments:
        line(f"{seg.name:<35.35}{result.curie[seg.key]:>2}", dx=16)
        y += step
    total = f"{curie.total} / {curie_scheme.max_total}"
    line(f"{'Curie total':<14}{total:>17}{curie.category or '':>7}", font=bold)
    y += step + 12

    names = dict(zip(siopen_scheme.keys, (s.name for s in siopen_scheme.segments),
                     strict=True))
    line(f"Lesions ({len(result.lesions)})", font=bold)
    y += step + 2
    room = max((bottom - y) // 16, 1)
    shown = result.lesions if len(result.lesions) <= room else result.lesions[:room - 1]
    for k, lesion in enumerate(shown, start=1):
        what = "focal" if lesion.kind == "focal" or lesion.fraction is None else \
            f"diffuse {100 * lesion.fraction:.0f}%"
        tag = f"{k}{'d' if lesion.kind == 'diffuse' else ''}"
        line(f"{tag:<4}{names.get(lesion.segment, lesion.segment)}: {what}, conf. "
             f"{lesion.confidence:.2f}", font=small, fill=LESION_COLOUR)
        y += 16
    if len(shown) < len(result.lesions):
        line(f"    ... and {len(result.lesions) - len(shown)} more", font=small)
