"""Anatomical reference lines read off a fitted bone map (canonical frame, head up)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL


@dataclass(frozen=True)
class Frame:
    """Rows and columns of the trunk's landmarks, in pixels of the canonical frame.

    Columns grow towards the patient's left (the anterior view's orientation).
    """

    head_top: float
    face_top: float
    neck: float
    thorax_top: float
    thorax_bottom: float
    pelvis_top: float
    pelvis_bottom: float
    midline: float
    trunk_half_width: float
    spine_half_width: float

    def midline_at(self, row: float) -> float:
        """Midline column at ``row`` (a straight vertical line in this version)."""
        return self.midline


def _rows_of(labels: np.ndarray, names: tuple[str, ...]) -> tuple[float, float] | None:
    ids = [BONE_LABEL[n] for n in names]
    rows = np.nonzero(np.isin(labels, ids).any(axis=1))[0]
    if rows.size == 0:
        return None
    return float(rows[0]), float(rows[-1])


def trunk_frame(bone_labels: np.ndarray, body: np.ndarray) -> Frame:
    """Landmarks of the trunk from the bone map, falling back on body proportions.

    Parameters
    ----------
    bone_labels : ndarray of shape (rows, cols), int
        Fitted bone map (``BONE_LABEL``), canonical frame.
    body : ndarray of shape (rows, cols), bool
        Body outline.
    """
    rows_body = np.nonzero(body.any(axis=1))[0]
    top = float(rows_body[0]) if rows_body.size else 0.0
    bottom = float(rows_body[-1]) if rows_body.size else float(body.shape[0] - 1)
    height = max(bottom - top, 10.0)

    def pick(names: tuple[str, ...], default: tuple[float, float]) -> tuple[float, float]:
        found = _rows_of(bone_labels, names)
        return found if found is not None else default

    head = pick(("cranium", "facial_bones", "mandible"), (top, top + 0.14 * height))
    mandible = pick(("mandible", "facial_bones"), (top + 0.09 * height, top + 0.14 * height))
    thorax = pick(("ribs_right", "ribs_left"), (top + 0.2 * height, top + 0.38 * height))
    clav = pick(("clavicle_right", "clavicle_left"), (thorax[0], thorax[0]))
    pelvis = pick(("hip_bone_right", "hip_bone_left", "sacrum"),
                  (top + 0.45 * height, top + 0.55 * height))
    spine_ids = [BONE_LABEL[n] for n in ("cervical_spine", "thoracic_spine", "lumbar_spine")]
    spine = np.isin(bone_labels, spine_ids)
    if spine.any():
        cols = np.nonzero(spine)[1]
        midline = float(np.median(cols))
        widths = spine.sum(axis=1)
        spine_half = float(np.median(widths[widths > 0])) / 2.0
    else:
        cols = np.nonzero(body)[1]
        midline = float(np.median(cols)) if cols.size else body.shape[1] / 2.0
        spine_half = 0.04 * height
    t0, t1 = int(thorax[0]), int(max(thorax[1], thorax[0] + 1))
    widths = body[t0:t1].sum(axis=1)
    trunk_half = (float(np.median(widths)) / 2.0 if widths.size and widths.max() > 0
                  else 0.1 * height)
    face_top = head[0] + 0.5 * (mandible[1] - head[0])
    return Frame(
        head_top=head[0],
        face_top=face_top,
        neck=mandible[1],
        thorax_top=min(thorax[0], clav[0]),
        thorax_bottom=thorax[1],
        pelvis_top=pelvis[0],
        pelvis_bottom=pelvis[1],
        midline=midline,
        trunk_half_width=max(trunk_half, 5.0),
        spine_half_width=max(spine_half, 2.0),
    )
