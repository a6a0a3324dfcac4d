"""Painting bones as simple shapes (thick polylines, polygons, ellipses) on a label image."""

from __future__ import annotations

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, DRAW_ORDER, LONG_BONES

Point = tuple[float, float]


class BoneCanvas:
    """Collects one shape per bone, then paints them in ``DRAW_ORDER``.

    Coordinates are (row, col) in pixels of the output grid.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self._shapes: dict[str, list[tuple[np.ndarray, np.ndarray | None, tuple[int, int]]]] = {}

    # each shape is stored as (mask in bbox, position in bbox or None, (row0, col0))
    def _add(self, bone: str, m: np.ndarray, pos: np.ndarray | None, origin: tuple[int, int]
             ) -> None:
        if m.any():
            self._shapes.setdefault(bone, []).append((m, pos, origin))

    def _box(self, rmin: float, rmax: float, cmin: float, cmax: float
             ) -> tuple[int, int, int, int] | None:
        r0 = max(0, int(np.floor(rmin)))
        r1 = min(self.shape[0], int(np.ceil(rmax)) + 1)
        c0 = max(0, int(np.floor(cmin)))
        c1 = min(self.shape[1], int(np.ceil(cmax)) + 1)
        if r1 <= r0 or c1 <= c0:
            return None
        return r0, r1, c0, c1

    def polyline(self, bone: str, points: list[Point], widths: list[float]) -> None:
        """A thick polyline; ``widths`` (full width, px) given at each point, linear between.

        For long bones the position map runs 0 at the first point to 1 at the last, by length.
        """
        pts = np.asarray(points, dtype=np.float64)
        w = np.asarray(widths, dtype=np.float64)
        if len(pts) < 2:
            return
        seg = np.diff(pts, axis=0)
        seglen = np.hypot(seg[:, 0], seg[:, 1])
        total = float(seglen.sum())
        if total <= 0:
            return
        cum = np.concatenate([[0.0], np.cumsum(seglen)])
        half = w.max() / 2 + 1
        box = self._box(pts[:, 0].min() - half, pts[:, 0].max() + half,
                        pts[:, 1].min() - half, pts[:, 1].max() + half)
        if box is None:
            return
        r0, r1, c0, c1 = box
        best = np.full((r1 - r0, c1 - c0), np.inf)
        pos = np.zeros(best.shape)
        inside = np.zeros(best.shape, bool)
        for i in range(len(seg)):
            h = max(w[i], w[i + 1]) / 2 + 1
            sb = self._box(min(pts[i, 0], pts[i + 1, 0]) - h, max(pts[i, 0], pts[i + 1, 0]) + h,
                           min(pts[i, 1], pts[i + 1, 1]) - h, max(pts[i, 1], pts[i + 1, 1]) + h)
            if sb is None:
                continue
            a0, a1, b0, b1 = sb
            rr = np.arange(a0, a1, dtype=np.float64)[:, None]
            cc = np.arange(b0, b1, dtype=np.float64)[None, :]
            d2 = max(seglen[i] ** 2, 1e-9)
            t = ((rr - pts[i, 0]) * seg[i, 0] + (cc - pts[i, 1]) * seg[i, 1]) / d2
            t = np.clip(t, 0.0, 1.0)
            dist = np.hypot(rr - (pts[i, 0] + t * seg[i, 0]), cc - (pts[i, 1] + t * seg[i, 1]))
            width = w[i] + t * (w[i + 1] - w[i])
            sl = (slice(a0 - r0, a1 - r0), slice(b0 - c0, b1 - c0))
            closer = dist < best[sl]
            best[sl] = np.where(closer, dist, best[sl])
            pos[sl] = np.where(closer, (cum[i] + t * seglen[i]) / total, pos[sl])
            inside[sl] |= dist <= width / 2
        self._add(bone, inside, pos.astype(np.float32) if bone in LONG_BONES else None, (r0, c0))

    def polygon(self, bone: str, points: list[Point]) -> None:
        """A filled polygon (vertices in order)."""
        pts = np.asarray(points, dtype=np.float64)
        box = self._box(pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())
        if box is None:
            return
        r0, r1, c0, c1 = box
        rr, cc = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        inside = np.zeros(rr.shape, bool)
        n = len(pts)
        for i in range(n):
            (ya, xa), (yb, xb) = pts[i], pts[(i + 1) % n]
            if ya == yb:
                continue
            cond = (ya > rr) != (yb > rr)
            xcross = xa + (rr - ya) * (xb - xa) / (yb - ya)
            inside ^= cond & (cc < xcross)
        self._add(bone, inside, None, (r0, c0))

    def ellipse(self, bone: str, centre: Point, radii: Point, *, rows: tuple[float, float] |
                None = None) -> None:
        """A filled ellipse with (row, col) radii, optionally clipped to a band of rows."""
        (yc, xc), (ry, rx) = centre, radii
        if ry <= 0 or rx <= 0:
            return
        box = self._box(yc - ry, yc + ry, xc - rx, xc + rx)
        if box is None:
            return
        r0, r1, c0, c1 = box
        rr, cc = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        inside = ((rr - yc) / ry) ** 2 + ((cc - xc) / rx) ** 2 <= 1.0
        if rows is not None:
            inside &= (rr >= rows[0]) & (rr <= rows[1])
        self._add(bone, inside, None, (r0, c0))

    def region(self, bone: str, mask: np.ndarray) -> None:
        """An arbitrary full-frame mask."""
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        self._add(bone, mask[r0:r1, c0:c1].copy(), None, (int(r0), int(c0)))

    def render(self, clip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Paint the bones in ``DRAW_ORDER``.

        Parameters
        ----------
        clip : ndarray of bool, optional
            Keep bone only inside this mask (the body).

        Returns
        -------
        labels : ndarray of shape (rows, cols), int16
        position : ndarray of shape (rows, cols), float32, NaN outside long bones
        """
        labels = np.zeros(self.shape, np.int16)
        position = np.full(self.shape, np.nan, np.float32)
        for bone in DRAW_ORDER:
            lab = BONE_LABEL[bone]
            for m, pos, (r0, c0) in self._shapes.get(bone, []):
                h, w = m.shape
                sl = (slice(r0, r0 + h), slice(c0, c0 + w))
                sub = labels[sl]
                sub[m] = lab
                psub = position[sl]
                if pos is not None:
                    psub[m] = pos[m]
                else:
                    psub[m] = np.nan
        if clip is not None:
            labels[~clip] = 0
            position[~clip] = np.nan
        return labels, position
