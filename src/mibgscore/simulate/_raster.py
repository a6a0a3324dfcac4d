"""Drawing shapes given in body coordinates (mm) onto the scan's pixel grid.

Body coordinates: ``y`` runs from the vertex (0) towards the feet, ``x`` towards the viewer's
right on the anterior view, i.e. towards the patient's LEFT; so the patient's right side has
negative ``x``. A ``Canvas`` places the body on the grid with a rotation and an offset.
"""

from __future__ import annotations

import math

import numpy as np

Window = tuple[slice, slice]


class Canvas:
    """The pixel grid and the placement of the body on it.

    Parameters
    ----------
    shape : tuple of int
        (rows, cols) of the views.
    spacing_mm : float
        Square pixel size.
    origin : tuple of float
        (row, col) of the body point y = 0, x = 0 (vertex, midline).
    angle_deg : float
        Rotation of the body in the image plane (positive: feet towards the viewer's right).
    """

    def __init__(self, shape: tuple[int, int], spacing_mm: float, origin: tuple[float, float],
                 angle_deg: float) -> None:
        self.shape = shape
        self.sp = float(spacing_mm)
        self.r0, self.c0 = origin
        t = math.radians(angle_deg)
        self.cos, self.sin = math.cos(t), math.sin(t)
        rows = (np.arange(shape[0], dtype=np.float32) - self.r0) * self.sp
        cols = (np.arange(shape[1], dtype=np.float32) - self.c0) * self.sp
        self._dy = rows[:, None]
        self._dx = cols[None, :]

    def to_pixel(self, y: float, x: float) -> tuple[float, float]:
        """(row, col) of the body point (y, x) in mm."""
        dy = self.cos * y + self.sin * x
        dx = -self.sin * y + self.cos * x
        return self.r0 + dy / self.sp, self.c0 + dx / self.sp

    def to_body(self, row: float, col: float) -> tuple[float, float]:
        """Body point (y, x) in mm of the pixel (row, col)."""
        dy = (row - self.r0) * self.sp
        dx = (col - self.c0) * self.sp
        return self.cos * dy - self.sin * dx, self.sin * dy + self.cos * dx

    def window(self, ymin: float, ymax: float, xmin: float, xmax: float
               ) -> tuple[Window, np.ndarray, np.ndarray] | None:
        """Pixel window covering a body-coordinate box, and the body coordinates of its pixels.

        Returns None when the box lies outside the grid.
        """
        corners = [self.to_pixel(y, x) for y in (ymin, ymax) for x in (xmin, xmax)]
        rs = [c[0] for c in corners]
        cs = [c[1] for c in corners]
        r_lo = max(int(math.floor(min(rs))) - 1, 0)
        r_hi = min(int(math.ceil(max(rs))) + 2, self.shape[0])
        c_lo = max(int(math.floor(min(cs))) - 1, 0)
        c_hi = min(int(math.ceil(max(cs))) + 2, self.shape[1])
        if r_lo >= r_hi or c_lo >= c_hi:
            return None
        dy = self._dy[r_lo:r_hi]
        dx = self._dx[:, c_lo:c_hi]
        y = self.cos * dy - self.sin * dx
        x = self.sin * dy + self.cos * dx
        return (slice(r_lo, r_hi), slice(c_lo, c_hi)), y, x

    def ellipse(self, cy: float, cx: float, ry: float, rx: float, angle_deg: float = 0.0
                ) -> tuple[Window, np.ndarray] | None:
        """Normalised squared radius q (q <= 1 inside) of an ellipse, on its window.

        ``ry``, ``rx`` are the semi-axes before rotation by ``angle_deg`` (positive turns the
        ``y`` axis towards ``+x``).
        """
        r = max(ry, rx)
        win = self.window(cy - r, cy + r, cx - r, cx + r)
        if win is None:
            return None
        sl, y, x = win
        t = math.radians(angle_deg)
        c, s = math.cos(t), math.sin(t)
        u = (y - cy) * c + (x - cx) * s
        v = -(y - cy) * s + (x - cx) * c
        q = (u / max(ry, 1e-3)) ** 2 + (v / max(rx, 1e-3)) ** 2
        return sl, q

    def capsule(self, p0: tuple[float, float], p1: tuple[float, float], r0: float, r1: float
                ) -> tuple[Window, np.ndarray, np.ndarray] | None:
        """Tapered capsule from p0 (radius r0) to p1 (radius r1).

        Returns the window, the distance from the axis divided by the local radius (<= 1
        inside), and the position t along the axis (0 at p0, 1 at p1, clipped).
        """
        r = max(r0, r1)
        win = self.window(min(p0[0], p1[0]) - r, max(p0[0], p1[0]) + r,
                          min(p0[1], p1[1]) - r, max(p0[1], p1[1]) + r)
        if win is None:
            return None
        sl, y, x = win
        ay, ax = p1[0] - p0[0], p1[1] - p0[1]
        n2 = ay * ay + ax * ax
        t = ((y - p0[0]) * ay + (x - p0[1]) * ax) / max(n2, 1e-6)
        t = np.clip(t, 0.0, 1.0)
        d = np.hypot(y - (p0[0] + t * ay), x - (p0[1] + t * ax))
        rad = r0 + (r1 - r0) * t
        return sl, d / np.maximum(rad, 1e-3), t

    def polygon(self, points: list[tuple[float, float]]) -> tuple[Window, np.ndarray] | None:
        """Mask of a polygon given as (y, x) vertices in mm, on its window."""
        from skimage.draw import polygon as draw_polygon

        px = np.array([self.to_pixel(y, x) for y, x in points])
        r_lo = max(int(math.floor(px[:, 0].min())), 0)
        r_hi = min(int(math.ceil(px[:, 0].max())) + 1, self.shape[0])
        c_lo = max(int(math.floor(px[:, 1].min())), 0)
        c_hi = min(int(math.ceil(px[:, 1].max())) + 1, self.shape[1])
        if r_lo >= r_hi or c_lo >= c_hi:
            return None
        rr, cc = draw_polygon(px[:, 0] - r_lo, px[:, 1] - c_lo, (r_hi - r_lo, c_hi - c_lo))
        mask = np.zeros((r_hi - r_lo, c_hi - c_lo), dtype=bool)
        mask[rr, cc] = True
        return (slice(r_lo, r_hi), slice(c_lo, c_hi)), mask


def along(p0: tuple[float, float], p1: tuple[float, float], t: float) -> tuple[float, float]:
    """The point a share ``t`` of the way from p0 to p1."""
    return p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])


def unit(angle_deg: float, side: int) -> tuple[float, float]:
    """Direction (dy, dx) pointing footwards, turned ``angle_deg`` away from the midline.

    ``side`` is -1 for the patient's right (negative x), +1 for the left.
    """
    t = math.radians(angle_deg)
    return math.cos(t), side * math.sin(t)
