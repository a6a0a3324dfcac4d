"""The report's pictures: each view clean, with the reader's final grades on their segments."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np

from mibgscore.anatomy.scheme import SIOPEN_KEYS
from mibgscore.io.types import Scan
from mibgscore.report.types import ViewPicture

GRADE_COLOUR = "#c00000"
"""Outline and number of a segment graded above 0."""

HEIGHT_PX = 720
"""Height of each view picture in pixels (about 180 dpi at the report's 100 mm)."""


def render_views(scan: Scan, siopen: dict[str, int], siopen_map: np.ndarray | None = None,
                 *, body_box_from: object | None = None, keys: tuple[str, ...] = SIOPEN_KEYS,
                 height_px: int = HEIGHT_PX) -> tuple[ViewPicture, ...]:
    """Draw each view of ``scan`` with the final SIOPEN grades written on their segments.

    No automatic lesion marks, findings or tables: the picture shows the image and what the
    reader decided. Each segment graded above 0 is outlined in red and its grade written at
    its innermost point; segments graded 0 are left unmarked. The posterior view is mirrored
    back left-right (``scan.posterior`` is stored in the anterior orientation), so that it is
    seen from behind as acquired.

    Parameters
    ----------
    scan : Scan
        The scan that was read.
    siopen : dict of str to int
        Final SIOPEN grades by segment key.
    siopen_map : ndarray of shape (rows, cols), int, optional
        SIOPEN segment labels in the anterior frame (``i + 1`` is ``keys[i]``, 0 outside);
        without it the views are drawn without grades.
    body_box_from : object, optional
        The automatic result (or its evidence holder) whose body outline crops the views;
        the counts decide otherwise.
    keys : tuple of str
        Segment key of each label of ``siopen_map``.
    height_px : int
        Height of each picture in pixels.

    Returns
    -------
    tuple of ViewPicture
        Anterior first, then posterior, for the views the scan has.
    """
    from PIL import Image, ImageDraw
    from scipy import ndimage

    from mibgscore.report.overlay import _crop, _font, _window

    holder = body_box_from if body_box_from is not None else SimpleNamespace(evidence=None)
    crop_of = SimpleNamespace(lesions=[], findings=[],
                              evidence=getattr(holder, "evidence", None))
    r0, r1, c0, c1 = _crop(scan, crop_of)
    sr, sc = scan.spacing_mm
    height = height_px
    width = max(round(height * ((c1 - c0) * sc) / ((r1 - r0) * sr)), 1)
    seg = None
    if siopen_map is not None and np.shape(siopen_map) == scan.shape:
        seg = np.asarray(siopen_map).astype(np.int16)[r0:r1, c0:c1]
    pictures = []
    for view, counts in scan.views.items():
        mirror = view == "posterior"
        part = counts[r0:r1, c0:c1].astype(np.float32)
        grey = 255.0 - 255.0 * np.clip(part / _window(counts), 0.0, 1.0)
        labels = seg
        if mirror:
            grey, labels = grey[:, ::-1], None if seg is None else seg[:, ::-1]
        im = Image.fromarray(grey.astype(np.uint8)).resize((width, height),
                                                           Image.Resampling.LANCZOS)
        im = im.convert("RGB")
        words = []
        if labels is not None:
            shown = np.asarray(Image.fromarray(labels.astype(np.uint8)).resize(
                (width, height), Image.Resampling.NEAREST)).astype(np.int16)
            graded = np.zeros_like(shown)
            for i, key in enumerate(keys):
                if siopen.get(key, 0) > 0:
                    graded[shown == i + 1] = i + 1
            border = (graded > 0) & ((ndimage.maximum_filter(graded, size=3) != graded)
                                     | (ndimage.minimum_filter(graded, size=3) != graded))
            border = ndimage.binary_dilation(border, iterations=1) & (graded > 0)
            rgb = np.asarray(im).copy()
            rgb[border] = (192, 0, 0)
            im = Image.fromarray(rgb)
            for i, key in enumerate(keys):
                inside = graded == i + 1
                if not inside.any():
                    continue
                depth = ndimage.distance_transform_edt(inside)
                y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
                words.append((int(x), int(y), str(siopen[key])))
        draw = ImageDraw.Draw(im)
        for x, y, text in words:
            draw.text((x, y), text, font=_font(max(height // 28, 12), bold=True, mono=False),
                      fill=GRADE_COLOUR, anchor="mm", stroke_width=3, stroke_fill="white")
        marks = ("L", "R") if mirror else ("R", "L")
        side = _font(max(height // 30, 12), bold=True, mono=False)
        draw.text((6, 4), marks[0], font=side, fill="#333333", anchor="la")
        draw.text((width - 6, 4), marks[1], font=side, fill="#333333", anchor="ra")
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
        pictures.append(ViewPicture(view, buf.getvalue(), graded=labels is not None))
    return tuple(pictures)
