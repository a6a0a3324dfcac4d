"""Reading landmarks off a body silhouette (working grid, head at row 0)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy._proportions import Proportions, age_from_height, proportions

Point = tuple[float, float]
SIDES = ("right", "left")


@dataclass
class Outline:
    """Landmarks and bone outlines read off the silhouette, in working-grid pixels."""

    stature_px: float
    head_width_px: float
    face_top: float
    props: Proportions
    landmarks: dict[str, Point] = field(default_factory=dict)
    cage: dict[str, list[Point]] = field(default_factory=dict)
    scapula: dict[str, list[Point]] = field(default_factory=dict)
    hip_bone: dict[str, list[Point]] = field(default_factory=dict)
    arm: dict[str, list[Point]] = field(default_factory=dict)
    leg: dict[str, list[Point]] = field(default_factory=dict)
    confidence: float = 0.0
    notes: tuple[str, ...] = ()


def _runs(row: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the True runs of a 1-D bool array."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


class RowRuns:
    """The True runs of every row of a mask, found once (rows are visited many times)."""

    def __init__(self, mask: np.ndarray) -> None:
        pad = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
        pad[:, 1:-1] = mask
        d = np.diff(pad, axis=1)
        sr, sc = np.nonzero(d == 1)
        _, ec = np.nonzero(d == -1)
        bounds = np.searchsorted(sr, np.arange(mask.shape[0] + 1))
        self._starts = sc.tolist()
        self._stops = ec.tolist()
        self._bounds = bounds.tolist()
        self.mask = mask

    def __call__(self, r: int) -> list[tuple[int, int]]:
        a, b = self._bounds[r], self._bounds[r + 1]
        return list(zip(self._starts[a:b], self._stops[a:b], strict=True))


def _run_at(row: np.ndarray, col: float) -> tuple[int, int] | None:
    """The run holding ``col``, else the nearest run."""
    runs = _runs(row)
    if not runs:
        return None
    best = min(runs, key=lambda r: 0 if r[0] <= col < r[1] else min(abs(r[0] - col),
                                                                     abs(r[1] - 1 - col)))
    return best


def _runs_at(mask: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, (start, stop) of the run holding ``cols[row]`` or else the nearest run.

    Rows without any body give start == stop.
    """
    nrows, ncols = mask.shape
    idx = np.broadcast_to(np.arange(ncols), mask.shape)
    c = np.clip(np.round(cols).astype(int), 0, ncols - 1)
    r = np.arange(nrows)
    # nearest body pixel to c in each row
    left_true = np.maximum.accumulate(np.where(mask, idx, -1), axis=1)[r, c]
    right_true = np.minimum.accumulate(np.where(mask, idx, ncols)[:, ::-1], axis=1)[:, ::-1][r, c]
    dl = np.where(left_true >= 0, c - left_true, ncols * 2)
    dr = np.where(right_true < ncols, right_true - c, ncols * 2)
    seed = np.where(dl <= dr, left_true, right_true)
    has = mask.any(axis=1)
    seed = np.where(has, np.clip(seed, 0, ncols - 1), 0)
    last_false = np.maximum.accumulate(np.where(~mask, idx, -1), axis=1)[r, seed]
    next_false = np.minimum.accumulate(np.where(~mask, idx, ncols)[:, ::-1], axis=1)[:, ::-1]
    start = last_false + 1
    stop = next_false[r, seed]
    start = np.where(has, start, 0)
    stop = np.where(has, stop, 0)
    return start, stop


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or x.size < 3:
        return x
    return ndi.uniform_filter1d(x.astype(float), size=n, mode="nearest")


def measure_outline(mask: np.ndarray, *, spacing_mm: float, age_years: float | None,
                    height_cm: float | None) -> Outline:
    """Read landmarks off a body mask on the working grid.

    Parameters
    ----------
    mask : ndarray of shape (rows, cols), bool
        Body silhouette, head at row 0.
    spacing_mm : float
        Working-grid pixel size (mm).
    age_years, height_cm : float, optional
        What is known of the child.
    """
    notes: list[str] = []
    conf: list[float] = []
    row_runs = RowRuns(mask)
    rows_any = np.flatnonzero(mask.any(axis=1))
    vertex_r = float(rows_any[0])
    soles_r = float(rows_any[-1] + 1)
    H = max(soles_r - vertex_r, 10.0)
    nrows, ncols = mask.shape
    truncated = rows_any[0] == 0 or rows_any[-1] == nrows - 1
    if truncated:
        notes.append("body touches the image edge: proportions may be off")
    stature_cm = H * spacing_mm / 10.0
    if age_years is None:
        age_years = age_from_height(height_cm if height_cm else stature_cm)
    P = proportions(age_years)
    lm: dict[str, Point] = {}
    conf.append(0.5 if truncated else 1.0)

    # --- body midline: centroid of the central run, trunk rows ---------------------------
    width = mask.sum(axis=1).astype(float)
    cols = np.arange(ncols)
    colsum = (mask * cols).sum(axis=1)
    centroid = np.where(width > 0, colsum / np.maximum(width, 1), np.nan)
    t0 = int(vertex_r + (P.shoulder + 0.05) * H)
    t1 = int(vertex_r + (P.crotch - 0.05) * H)
    trunk = centroid[t0:t1] if t1 > t0 else centroid
    trunk = trunk[np.isfinite(trunk)]
    finite = centroid[np.isfinite(centroid)]
    # a silhouette with no trunk rows where expected (a damaged file): the body's, else the
    # field's middle
    mid0 = float(np.median(trunk)) if trunk.size else (
        float(np.median(finite)) if finite.size else (ncols - 1) / 2.0)
    cleft, cright = _runs_at(mask, np.full(nrows, mid0))
    central = np.where(cright > cleft, 0.5 * (cleft + cright - 1), mid0)
    cwidth = (cright - cleft).astype(float)
    # robust straight midline over the trunk (a tilted child still gives a line)
    rr = np.arange(t0, max(t1, t0 + 2))
    if rr.size > 4:
        cf = np.polyfit(rr, central[rr], 1)
        if not np.isfinite(cf).all() or abs(cf[0]) > 0.15:
            cf = np.array([0.0, np.median(central[rr])])
    else:
        cf = np.array([0.0, mid0])

    def mid(r: float) -> float:
        return float(cf[0] * r + cf[1])

    # --- head and neck -----------------------------------------------------------------
    lo = int(vertex_r + 0.6 * P.head * H)
    hi = int(vertex_r + min(1.5 * P.head, P.shoulder + 0.04) * H)
    sw = _smooth(cwidth, max(1, int(0.012 * H)))
    exp_neck = vertex_r + (P.head + 0.01) * H
    if hi > lo + 2:
        # narrowest row, preferring rows near where the age puts the neck
        ref = max(float(sw[int(vertex_r): lo + 1].max()), 1.0)
        cost = sw[lo:hi] / ref + 2.0 * np.abs(np.arange(lo, hi) - exp_neck) / H
        neck_r = float(lo + int(np.argmin(cost)))
    else:
        neck_r = exp_neck
    head_rows = slice(int(vertex_r), max(int(neck_r), int(vertex_r) + 1))
    head_w = float(sw[head_rows].max()) if neck_r > vertex_r else 0.15 * H
    neck_w = float(sw[int(neck_r)])
    dip = 1.0 - neck_w / max(head_w, 1.0)
    conf.append(float(np.clip(dip / 0.2, 0, 1)))
    expected_chin = vertex_r + P.head * H
    chin_r = vertex_r + 0.93 * (neck_r - vertex_r)
    if abs(chin_r - expected_chin) > 0.35 * P.head * H or dip < 0.08:
        chin_r = 0.5 * (chin_r + expected_chin)
        neck_r = 0.5 * (neck_r + exp_neck)
        notes.append("neck not clear on the outline: head size from age")
    head_c = float(np.nanmedian(central[head_rows])) if neck_r > vertex_r else mid(vertex_r)
    lm["vertex"] = (vertex_r, head_c)
    lm["chin"] = (chin_r, float(central[int(chin_r)]))
    lm["neck"] = (neck_r + 0.3 * (neck_r - chin_r) + 0.01 * H, mid(neck_r))

    # --- shoulders ----------------------------------------------------------------------
    chest_lo = int(neck_r + 0.06 * H)
    chest_hi = int(neck_r + 0.16 * H)
    chest_w = float(np.median(sw[chest_lo:chest_hi])) if chest_hi > chest_lo else head_w * 2
    target = neck_w + 0.8 * (chest_w - neck_w)
    below = np.flatnonzero(sw[int(neck_r):chest_hi] >= target)
    shoulder_r = float(int(neck_r) + below[0]) if below.size else neck_r + 0.05 * H
    shoulder_r = float(np.clip(shoulder_r, neck_r + 0.015 * H, neck_r + 0.1 * H))

    # --- crotch ---------------------------------------------------------------------------
    exp_crotch = vertex_r + P.crotch * H
    gap = np.zeros(nrows, bool)
    k = max(1, int(round(0.015 * H)))
    for r in range(int(vertex_r + 0.35 * H), int(soles_r)):
        c = int(round(mid(r)))
        gap[r] = not mask[r, max(0, c - k): c + k + 1].all()
    crotch_r = None
    for a, b in _runs(gap):
        if b - a >= 0.03 * H and exp_crotch - 0.12 * H <= a <= exp_crotch + 0.15 * H:
            crotch_r = _gap_apex(mask, a, b, mid, H)
            break
    if crotch_r is None:
        crotch_r = exp_crotch
        notes.append("legs not parted on the outline: crotch from age proportions")
        conf.append(0.3)
    else:
        # thighs that touch below the crotch push the parting down: stay near the proportion
        dev = crotch_r - exp_crotch
        conf.append(float(np.clip(1.0 - (abs(dev) / H - 0.04) / 0.08, 0.3, 1.0)))
        crotch_r = exp_crotch + 0.5 * float(np.clip(dev, -0.06 * H, 0.06 * H))
    L = soles_r - crotch_r
    lm["pubis"] = (crotch_r - 0.02 * L, mid(crotch_r))
    Lt = crotch_r - shoulder_r

    # trunk half-width per row from the core
    def trunk_edges(r: float) -> tuple[float, float]:
        ri = int(np.clip(r, 0, nrows - 1))
        run = _run_at(mask[ri], mid(ri)) or (int(mid(ri)) - 1, int(mid(ri)) + 1)
        return float(run[0]), float(run[1] - 1)

    # --- arms -------------------------------------------------------------------------------
    arms_found = 0
    arm: dict[str, list[Point]] = {}
    for side in SIDES:
        sg = -1.0 if side == "right" else 1.0
        a_r = shoulder_r
        ri = int(a_r + 0.02 * H)
        row = mask[ri]
        run = _run_at(row, mid(ri))
        edge = float(run[0] if sg < 0 else run[1] - 1) if run else mid(ri) + sg * 0.1 * H
        acr = (a_r, edge - sg * 0.025 * H)
        lm[f"shoulder_{side}"] = acr
        path, traced = _arm_by_rows(row_runs, acr, sg, mid, soles_r, H, P.arm * H)
        arms_found += traced
        arm[side] = path
        (lm[f"elbow_{side}"], lm[f"wrist_{side}"], lm[f"hand_{side}"],
         lm[f"fingertip_{side}"]) = _arm_points(path, P)
    conf.append(0.6 + 0.2 * arms_found)
    if arms_found < 2:
        notes.append("arms not separated from the trunk: laid along its sides")

    # trunk edges for the cage / pelvis (subtract a hanging arm merged with the trunk)
    lm["sternal_notch"] = (shoulder_r + 0.002 * H, mid(shoulder_r))
    lm["c7"] = (shoulder_r - 0.02 * H, mid(shoulder_r))
    lm["t12"] = (shoulder_r + 0.44 * Lt, mid(shoulder_r + 0.44 * Lt))
    lm["l5"] = (shoulder_r + 0.68 * Lt, mid(shoulder_r + 0.68 * Lt))
    lm["coccyx"] = (shoulder_r + 0.90 * Lt, mid(shoulder_r + 0.90 * Lt))
    lm["xiphoid"] = (shoulder_r + 0.32 * Lt, mid(shoulder_r + 0.32 * Lt))
    lm["iliac_crest"] = (shoulder_r + 0.63 * Lt, mid(shoulder_r + 0.63 * Lt))

    cage: dict[str, list[Point]] = {}
    scap: dict[str, list[Point]] = {}
    hipb: dict[str, list[Point]] = {}
    legs: dict[str, list[Point]] = {}
    for side in SIDES:
        sg = -1.0 if side == "right" else 1.0

        apath = np.asarray(arm[side], float)

        def half(r: float, sg: float = sg, apath: np.ndarray = apath) -> float:
            a, b = trunk_edges(r)
            e = a if sg < 0 else b
            h = abs(e - mid(r))
            # the trunk ends inside the arm where an arm touching the trunk was laid along it
            if apath[0, 0] + 0.04 * H <= r <= apath[-1, 0]:
                ac = float(np.interp(r, apath[:, 0], apath[:, 1]))
                h = min(h, abs(ac - mid(r)) - 0.03 * H)
            # bone, not soft tissue: a wide (obese) trunk or an arm merged with it does not
            # widen the rib cage or pelvis beyond a child's bony proportions
            return float(np.clip(h, 0.04 * H, 0.14 * H))

        # rib cage: rounded outline from the first rib to the lowest rib
        top = shoulder_r + 0.01 * H
        fr = [0.0, 0.08, 0.18, 0.30, 0.42, 0.50]
        wf = [0.5, 0.78, 0.9, 0.92, 0.88, 0.76]
        outer = [(top + a * Lt, mid(top + a * Lt) + sg * b * half(top + a * Lt))
                 for a, b in zip(fr, wf, strict=True)]
        inner_pts = [(top + 0.40 * Lt, mid(top + 0.40 * Lt) + sg * 0.35 * half(top + 0.4 * Lt)),
                     (top + 0.30 * Lt, mid(top) + sg * 0.02 * H), (top, mid(top) + sg * 0.02 * H)]
        cage[side] = outer + inner_pts
        scap[side] = [(shoulder_r, mid(shoulder_r) + sg * 0.35 * half(shoulder_r + 0.05 * Lt)),
                      (shoulder_r + 0.01 * H, lm[f"shoulder_{side}"][1]),
                      (shoulder_r + 0.34 * Lt, mid(shoulder_r) + sg * 0.55 * half(
                          shoulder_r + 0.3 * Lt))]
        # legs: centre line from the crotch to the soles
        cl, lateral = _leg_centre(row_runs, crotch_r, soles_r, sg, mid, 0.11 * H)
        hip_r = crotch_r - 0.09 * L
        thigh_c = _col_at(cl, crotch_r + 0.1 * L)
        thigh_lat = _col_at(lateral, crotch_r + 0.05 * L)
        hip_c = mid(hip_r) + 0.9 * (thigh_c - mid(crotch_r))
        lm[f"hip_{side}"] = (hip_r, hip_c)
        knee_r = crotch_r + 0.40 * L
        ankle_r = soles_r - 0.065 * H
        lm[f"knee_{side}"] = (knee_r, _col_at(cl, knee_r))
        lm[f"ankle_{side}"] = (ankle_r, _col_at(cl, ankle_r))
        lm[f"toe_{side}"] = (soles_r - 1, _col_at(cl, soles_r - 1))
        lm[f"foot_{side}"] = (0.5 * (ankle_r + soles_r - 1), _col_at(cl, 0.5 * (ankle_r + soles_r)))
        # femur: head in the acetabulum, neck out to the greater trochanter, shaft from there
        # to the knee (the anatomical axis slants in towards the knee)
        # greater trochanter: near the level of the head (wide neck-shaft angle in children),
        # lateral to it, inside the thigh's outline
        troch_c = hip_c + sg * 0.045 * H
        if (troch_c - thigh_lat) * sg > -0.015 * H:
            troch_c = thigh_lat - sg * 0.015 * H
        troch = (hip_r + 0.04 * L, troch_c)
        legs[side] = [lm[f"hip_{side}"], troch, lm[f"knee_{side}"]] + [
            q for q in cl if q[0] > knee_r]
        # hip bone: ilium from the crest to the acetabulum, pubis and ischium below
        crest = lm["iliac_crest"][0]
        hw_p = half(hip_r)
        hipb[side] = [
            (crest + 0.03 * Lt, mid(crest) + sg * 0.2 * hw_p),
            (crest - 0.03 * Lt, mid(crest) + sg * 0.55 * hw_p),
            (crest + 0.02 * Lt, mid(crest) + sg * 0.92 * hw_p),
            (hip_r - 0.05 * L, hip_c + sg * 0.45 * abs(hip_c - mid(hip_r))),
            (crotch_r + 0.01 * L, hip_c + sg * 0.1 * abs(hip_c - mid(hip_r))),
            (crotch_r - 0.01 * L, mid(crotch_r) + sg * 0.04 * hw_p),
            (hip_r - 0.01 * L, mid(hip_r) + sg * 0.03 * hw_p),
            (lm["l5"][0] + 0.04 * Lt, mid(crest) + sg * 0.12 * hw_p),
        ]
    return Outline(stature_px=H, head_width_px=head_w, face_top=0.45 + 0.1 * (
        1 - min(age_years, 10) / 10), props=P, landmarks=lm, cage=cage, scapula=scap,
        hip_bone=hipb, arm=arm, leg=legs, confidence=float(np.mean(conf)),
        notes=tuple(notes))


def _col_at(path: list[Point], r: float) -> float:
    pts = np.asarray(path, float)
    return float(np.interp(r, pts[:, 0], pts[:, 1]))


def _leg_centre(row_runs: RowRuns, crotch_r: float, soles_r: float, sg: float, mid,
                max_width: float) -> tuple[list[Point], list[Point]]:
    """Centre line and lateral edge (row, col) of one leg, top to bottom.

    ``max_width`` (pixels) caps the width of a leg's run, measured from its medial edge.
    """
    out: list[Point] = []
    edge: list[Point] = []
    prev = None
    step = max(1, int((soles_r - crotch_r) / 40))
    for r in range(int(crotch_r), int(soles_r), step):
        m = mid(r)
        runs = row_runs(r)
        cand = []
        for a, b in runs:
            if sg < 0:
                a2, b2 = a, min(b, int(np.floor(m)) + 1)
            else:
                a2, b2 = max(a, int(np.ceil(m))), b
            if b2 > a2:
                cand.append((a2, b2))
        if not cand:
            continue
        if prev is None:
            a, b = min(cand, key=lambda q: abs(0.5 * (q[0] + q[1]) - m))
        else:
            a, b = min(cand, key=lambda q: abs(0.5 * (q[0] + q[1] - 1) - prev))
        # a hand resting on the thigh widens its run: keep a leg's width from the medial edge
        if b - a > max_width:
            if sg < 0:
                a = b - int(round(max_width))
            else:
                b = a + int(round(max_width))
        c = 0.5 * (a + b - 1)
        out.append((float(r), c))
        edge.append((float(r), float(a if sg < 0 else b - 1)))
        prev = c
    if len(out) < 2:
        out = [(crotch_r, mid(crotch_r) + sg * 5), (soles_r - 1, mid(soles_r) + sg * 5)]
        edge = [(crotch_r, mid(crotch_r) + sg * 10), (soles_r - 1, mid(soles_r) + sg * 10)]
    pts = np.asarray(out)
    pts[:, 1] = _smooth(pts[:, 1], 3)
    if len(pts) > 14:
        keep = np.unique(np.round(np.linspace(0, len(pts) - 1, 14)).astype(int))
        pts = pts[keep]
    return [(float(a), float(b)) for a, b in pts], edge


def _arm_by_rows(row_runs: RowRuns, acr: Point, sg: float, mid, soles_r: float, H: float,
                 arm_len: float) -> tuple[list[Point], bool]:
    """Trace one arm row by row from the shoulder; (path, True if it stands apart somewhere).

    Where the arm stands apart from the trunk (or the thigh) its run is followed from row to
    row (each run must overlap the one above); where it touches, it is laid just inside the
    outline. The hand ends where a separate arm ends, or at the arm length expected for the
    child's age.
    """
    r_start = int(acr[0] + 0.03 * H)
    r_stop = int(min(soles_r - 1, acr[0] + 1.1 * arm_len))
    half_arm = 0.028 * H
    rows: list[int] = []
    centres: list[float] = []
    n_apart = 0
    prev_c = acr[1]
    prev_run: tuple[int, int] | None = None
    ended = False
    for r in range(r_start, r_stop + 1):
        m = mid(r)
        runs = row_runs(r)
        side_runs = [(a, b) for a, b in runs if (0.5 * (a + b - 1) - m) * sg > 0 or a <= m < b]
        if not side_runs:
            break
        inner = side_runs[-1] if sg < 0 else side_runs[0]
        arm_runs = [q for q in side_runs if q != inner]
        run = None
        if prev_run is not None:
            over = [q for q in arm_runs if q[0] <= prev_run[1] + 1 and q[1] >= prev_run[0] - 1]
            if over:
                run = min(over, key=lambda q: abs(0.5 * (q[0] + q[1] - 1) - prev_c))
            elif not (inner[0] <= prev_run[1] + 1 and inner[1] >= prev_run[0] - 1):
                ended = True  # the separate arm stopped: this was the hand
                break
        elif arm_runs:
            outer = arm_runs[0] if sg < 0 else arm_runs[-1]
            if abs(0.5 * (outer[0] + outer[1] - 1) - prev_c) < 0.06 * H:
                run = outer
        if run is not None:
            c = 0.5 * (run[0] + run[1] - 1)
            n_apart += 1
            prev_run = run
        else:
            edge = inner[0] if sg < 0 else inner[1] - 1
            c = edge - sg * half_arm
            prev_run = None
        rows.append(r)
        centres.append(c)
        prev_c = c
        if not ended and r - acr[0] > 1.05 * arm_len:
            break
    traced = n_apart >= 0.05 * H
    if not rows:
        return [acr, (acr[0] + arm_len, acr[1])], False
    r_arr = np.asarray(rows, float)
    c_arr = np.asarray(centres, float)
    end = acr[0] + arm_len
    if ended and r_arr[-1] - acr[0] > 0.35 * arm_len:
        end = r_arr[-1] + 1
    keep = r_arr <= end
    r_arr, c_arr = r_arr[keep], c_arr[keep]
    if r_arr.size < 2:
        return [acr, (end, acr[1])], traced
    c_arr = _smooth(c_arr, max(1, int(0.02 * H)))
    idx = np.unique(np.round(np.linspace(0, r_arr.size - 1, 10)).astype(int))
    path = [acr] + [(float(r_arr[i]), float(c_arr[i])) for i in idx]
    return path, traced


def _arm_points(path: list[Point], P: Proportions) -> tuple[Point, Point, Point, Point]:
    """Elbow, wrist, hand centre and fingertip along an arm path from the shoulder."""
    pts = np.asarray(path, float)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    tot = cum[-1]

    def at(d: float) -> Point:
        return (float(np.interp(d, cum, pts[:, 0])), float(np.interp(d, cum, pts[:, 1])))

    wrist = (P.humerus + P.forearm) * tot
    return at(P.humerus * tot), at(wrist), at(0.5 * (wrist + tot)), at(tot)


def _gap_apex(mask: np.ndarray, a: int, b: int, mid, H: float) -> float:
    """Row where the gap between the thighs closes, extrapolated from its V shape.

    Thighs often touch just below the crotch; the gap's width grows about linearly below it,
    so a line fitted to the first part of the gap points to its apex.
    """
    stop = min(b, int(a + 0.05 * H))
    rows = np.arange(a, stop)
    if rows.size < 4:
        return float(a)
    cols = np.array([mid(r) for r in rows])
    s, e = _runs_at(~mask[rows], cols)
    w = (e - s).astype(float)
    ok = w > 0
    if ok.sum() < 4:
        return float(a)
    slope, icpt = np.polyfit(rows[ok], w[ok], 1)
    if slope <= 0.05:
        return float(a)
    apex = -icpt / slope
    return float(np.clip(apex, a - 0.03 * H, a))
