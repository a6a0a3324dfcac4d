"""Learned lesion map: a small U-Net (ONNX, run with onnxruntime on the CPU) that marks diffuse
marrow involvement, discrete foci and bone on the registered views, snapped onto the fitted
skeleton to give the same :class:`SkeletalLesions` as the hand-made stage.

The network sees the body resampled so that vertex to feet spans ``NET_BODY_ROWS`` rows
(:func:`net_grid`), whatever the child's size and the camera's pixel; its training is
``training/lesion_net.py`` (torch, an optional extra), on simulated studies only.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy.bones import BONES
from mibgscore.anatomy.types import Body, WorkingSkeleton
from mibgscore.lesions._evidence import focus_evidence, local_excess
from mibgscore.lesions._limbs import refine_legs
from mibgscore.lesions.detector import lone_injection_site
from mibgscore.lesions.types import FocalLesion, RejectedFocus, SkeletalLesions
from mibgscore.lesions.verifier import VERIFIER_FILE, FocusVerifier, shipped_verifier
from mibgscore.result import ModelInfo
from mibgscore.uptake.types import NormalUptake, WorkingViews

NET_BODY_ROWS = 384
"""Rows from vertex to feet in the network's grid."""

NET_MARGIN = 12
"""Rows and columns of background kept around the body in the network's grid."""

NET_MULTIPLE = 16
"""The network's grid sides are multiples of this (four 2 x 2 poolings)."""

NET_MAX_COLS = 320
"""Widest network grid (columns); wider fields are cropped about the body's centre."""

CHANNELS = ("diffuse", "focal", "bone")
"""Output channels of the network, in order (sigmoid probabilities)."""

LIMB_LABELS = np.array([i + 1 for i, b in enumerate(BONES)
                        if b.split("_")[0] in ("humerus", "forearm", "hand", "femur", "tibia",
                                               "foot")])
"""Bone labels of the limbs."""

MODEL_FILE = "lesion_net.onnx"
CARD_FILE = "lesion_net.json"


@dataclass(frozen=True)
class NetGrid:
    """Axis-aligned map between the canonical frame (full resolution) and the network's grid.

    Net pixel (i, j) has its centre at canonical (row0 + (i + 0.5) / zoom - 0.5,
    col0 + (j + 0.5) / zoom - 0.5).
    """

    row0: float
    col0: float
    zoom: float
    shape: tuple[int, int]

    def source_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Canonical row and column coordinate of each net row and column."""
        i = (np.arange(self.shape[0]) + 0.5) / self.zoom - 0.5 + self.row0
        j = (np.arange(self.shape[1]) + 0.5) / self.zoom - 0.5 + self.col0
        return i, j

    def to_net(self, row: np.ndarray | float, col: np.ndarray | float):
        """Net (row, col) of canonical (row, col)."""
        return ((np.asarray(row) - self.row0 + 0.5) * self.zoom - 0.5,
                (np.asarray(col) - self.col0 + 0.5) * self.zoom - 0.5)


def net_grid(mask: np.ndarray, jitter: float = 1.0) -> NetGrid:
    """The network grid of a body silhouette (canonical frame, head at row 0).

    ``jitter`` scales the zoom (training augmentation; 1.0 at inference).
    """
    rows = np.nonzero(mask.any(axis=1))[0]
    cols = np.nonzero(mask.any(axis=0))[0]
    if rows.size == 0:
        rows = np.array([0, mask.shape[0] - 1])
        cols = np.array([0, mask.shape[1] - 1])
    length = float(rows[-1] - rows[0] + 1)
    zoom = NET_BODY_ROWS / max(length, 8.0) * jitter
    h = int(math.ceil((length * zoom + 2 * NET_MARGIN) / NET_MULTIPLE) * NET_MULTIPLE)
    width = float(cols[-1] - cols[0] + 1)
    w = int(math.ceil((width * zoom + 2 * NET_MARGIN) / NET_MULTIPLE) * NET_MULTIPLE)
    w = min(w, NET_MAX_COLS)
    centre_r = (rows[0] + rows[-1]) / 2.0
    centre_c = (cols[0] + cols[-1]) / 2.0
    row0 = centre_r + 0.5 - h / (2.0 * zoom)
    col0 = centre_c + 0.5 - w / (2.0 * zoom)
    return NetGrid(row0=float(row0), col0=float(col0), zoom=float(zoom), shape=(h, w))


def resample(image: np.ndarray, grid: NetGrid, order: int = 1) -> np.ndarray:
    """``image`` (canonical frame) on the network grid; smoothed first when shrinking."""
    a = np.asarray(image, dtype=np.float32)
    if order > 0 and grid.zoom < 1.0:
        a = ndi.gaussian_filter(a, 0.45 / grid.zoom, truncate=2.5)
    i, j = grid.source_axes()
    if order == 0:
        ii = np.clip(np.rint(i).astype(np.intp), 0, a.shape[0] - 1)
        jj = np.clip(np.rint(j).astype(np.intp), 0, a.shape[1] - 1)
        out = a[np.ix_(ii, jj)]
        outside = ((i < -0.5) | (i > a.shape[0] - 0.5))[:, None] | \
            ((j < -0.5) | (j > a.shape[1] - 0.5))[None, :]
        return np.where(outside, 0, out).astype(np.float32)
    return _bilinear(a, i, j)


def _bilinear(a: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Separable linear interpolation on a rectilinear grid (0 outside)."""
    out = _interp_axis(a, i, axis=0)
    return _interp_axis(out, j, axis=1)


def _interp_axis(a: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    n = a.shape[axis]
    x0 = np.floor(x).astype(np.intp)
    w = (x - x0).astype(np.float32)
    lo = np.clip(x0, 0, n - 1)
    hi = np.clip(x0 + 1, 0, n - 1)
    valid_lo = ((x0 >= 0) & (x0 < n)).astype(np.float32)
    valid_hi = ((x0 + 1 >= 0) & (x0 + 1 < n)).astype(np.float32)
    wl = (1.0 - w) * valid_lo
    wh = w * valid_hi
    if axis == 0:
        return a[lo] * wl[:, None] + a[hi] * wh[:, None]
    return a[:, lo] * wl[None, :] + a[:, hi] * wh[None, :]


def net_input(body: Body, grid: NetGrid) -> np.ndarray:
    """Network input of shape (3, rows, cols), float32: log counts of the anterior and the
    registered posterior view over their median in the body, and the body silhouette."""
    views = [v for v in (body.anterior, body.posterior) if v is not None]
    ant = body.anterior if body.anterior is not None else views[0]
    post = body.posterior if body.posterior is not None else views[0]
    mask = resample(body.mask.astype(np.float32), grid)
    out = np.empty((3, *grid.shape), dtype=np.float32)
    inside = mask > 0.5
    for k, v in enumerate((ant, post)):
        r = resample(v, grid)
        m = float(np.median(r[inside])) if inside.any() else float(r.mean())
        out[k] = np.log1p(np.maximum(r, 0.0) / max(m, 1e-6))
    out[2] = mask
    return out


def _weights(folder: str | None = None) -> bytes:
    """The network's ONNX bytes: the shipped ones, or ``folder``/lesion_net.onnx."""
    if folder is None:
        return resources.files("mibgscore.lesions").joinpath("models", MODEL_FILE).read_bytes()
    return (Path(folder) / MODEL_FILE).read_bytes()


def _card(folder: str | None = None) -> dict:
    if folder is None:
        text = resources.files("mibgscore.lesions").joinpath("models", CARD_FILE).read_text(
            "utf-8")
    else:
        path = Path(folder) / CARD_FILE
        text = path.read_text(encoding="utf-8") if path.is_file() else "{}"
    return json.loads(text)


@lru_cache(maxsize=4)
def _session(folder: str | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(_weights(folder), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def unavailable_reason() -> str | None:
    """None when the shipped weights and focus verifier are installed and onnxruntime loads
    them, else why not."""
    try:
        _session()
        shipped_verifier()
    except Exception as exc:  # noqa: BLE001 - any failure means this detector cannot run
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return None


def model_available() -> bool:
    """True when the shipped network weights are installed and onnxruntime imports."""
    return unavailable_reason() is None


@lru_cache(maxsize=8)
def model_info(folder: str | None = None, verifier_sha256: str | None = None) -> ModelInfo:
    """Name, version (from the training card) and SHA-256 of the weights file; with a focus
    verifier, the SHA-256 of the network's file followed by the verifier's, and ``+verifier``
    after the version."""
    weights = hashlib.sha256(_weights(folder)).hexdigest()
    version = str(_card(folder).get("version", ""))
    if verifier_sha256 is None:
        return ModelInfo("learned", version, weights)
    both = hashlib.sha256((weights + verifier_sha256).encode()).hexdigest()
    return ModelInfo("learned", f"{version}+verifier", both)


def predict(body: Body, folder: str | None = None) -> tuple[NetGrid, np.ndarray]:
    """Network grid and output probabilities, shape (3, rows, cols): ``CHANNELS``."""
    grid = net_grid(body.mask)
    x = net_input(body, grid)[None]
    sess = _session(folder)
    (logits,) = sess.run(None, {sess.get_inputs()[0].name: x})
    return grid, (1.0 / (1.0 + np.exp(-logits[0]))).astype(np.float32)


@dataclass(frozen=True)
class LearnedParams:
    """Thresholds turning the network's maps into lesions (probabilities 0-1, lengths mm).

    Attributes
    ----------
    diffuse_p : float
        Bone pixels within ``diffuse_snap_mm`` of network diffuse probability above this are
        involved.
    focal_p : float
        Smallest peak of the focus map taken as a focus.
    focal_min_mm : float
        Smallest distance between two foci.
    snap_mm : float
        Largest distance from a network focus to the fitted skeleton.
    diffuse_snap_mm : float
        Largest distance from network diffuse involvement to the fitted skeleton (short: it
        must not spill onto the next bone, femoral head next to the acetabulum say).
    veto_normal_uptake : bool
        Drop foci that peak inside a labelled normal-uptake finding (glands, heart, liver,
        bladder...) when the normal-uptake mask is given.
    lone_extremity_is_injection : bool
        Take a lone focus where tracer is injected (forearm, hand, lower leg, foot, elbow) of
        an otherwise normal skeleton for the injection site.
    extent_p : float
        Diffuse involvement reaches out from where the network passes ``diffuse_p`` to every
        connected pixel above this (hysteresis): the whole extent of the involved bone.
    bone_p : float
        The extent is measured on the bone the network sees (bone probability above this),
        within ``extent_reach_mm`` of the fitted skeleton: involved bone is visible on MIBG,
        so its share of the bone is not biased by where the fitted outline happens to lie.
    extent_reach_mm : float
        How far from the fitted skeleton the network's bone and involvement are taken.
    joint_mm : float
        A limb's involvement is grown only from sure involvement farther than this from the
        trunk's bones (shoulder and hip joints, where the trunk's involvement blurs over).
    verify : bool
        Weigh every candidate focus (the focus map's peaks above ``candidate_p``) with the
        focus verifier (:mod:`mibgscore.lesions.verifier`) and keep those it takes for bone;
        the others are reported as findings.
    candidate_p : float
        Smallest peak of the focus map put to the verifier.
    injection_elsewhere_mm : float
        A lone focus where tracer is injected is kept when the verifier took another
        candidate, farther than this from it, for the injection site: the tracer went in
        elsewhere. (The normal-uptake stage's injection-site findings are not trusted for
        this: on the development scans one on the wrong arm let the real site through.)
    refine_legs : bool
        Move the fitted legs onto the legs the network's bone map shows
        (:func:`mibgscore.lesions._limbs.refine_legs`) before foci and extent are placed.
    spine_share, sternum_spine_mm : float
        A focus over the sternum with less than ``spine_share`` of its excess on the
        anterior view lies in the vertebrae behind it (the nearest spine pixel within
        ``sternum_spine_mm``).
    folder : str or None
        A folder with other weights (``lesion_net.onnx``, its card ``lesion_net.json`` and,
        for verification, ``focus_verifier.json``); None: the shipped ones.
    """

    diffuse_p: float = 0.9
    focal_p: float = 0.6
    focal_min_mm: float = 12.0
    snap_mm: float = 6.0
    diffuse_snap_mm: float = 6.0
    veto_normal_uptake: bool = False
    lone_extremity_is_injection: bool = True
    extent_p: float = 0.5
    bone_p: float = 0.5
    extent_reach_mm: float = 12.0
    joint_mm: float = 12.0
    verify: bool = True
    refine_legs: bool = True
    spine_share: float = 0.45
    sternum_spine_mm: float = 30.0
    candidate_p: float = 0.3
    injection_elsewhere_mm: float = 50.0
    folder: str | None = None


class LearnedDetector:
    """The shipped network's lesion map, snapped onto the fitted skeleton, each candidate
    focus weighed by the focus verifier.

    Parameters
    ----------
    params : LearnedParams, optional
    """

    def __init__(self, params: LearnedParams | None = None) -> None:
        self.params = params if params is not None else LearnedParams()
        self.verifier = None
        if self.params.verify:
            folder = self.params.folder
            self.verifier = (shipped_verifier() if folder is None else
                             FocusVerifier.load(Path(folder) / VERIFIER_FILE))
        self.model = model_info(self.params.folder,
                                None if self.verifier is None else self.verifier.sha256)

    def find(self, views: WorkingViews, skeleton: WorkingSkeleton,
             uptake: NormalUptake) -> SkeletalLesions:
        """Foci and diffuse involvement (see :func:`find_lesions_learned`)."""
        p = self.params
        prediction = predict(views.body, p.folder)
        if self.verifier is None:
            return find_lesions_learned(views, skeleton, params=p, prediction=prediction,
                                        normal_uptake=uptake.mask)
        found = find_lesions_learned(
            views, skeleton, prediction=prediction, normal_uptake=uptake.mask,
            params=replace(p, focal_p=p.candidate_p, lone_extremity_is_injection=False))
        kept, rejected = [], []
        for x in found.focal:
            evidence = focus_evidence(x, views, uptake,
                                      float(skeleton.position[x.bone_row, x.bone_col]))
            q = self.verifier.probability(evidence)
            if q >= self.verifier.threshold:
                kept.append(replace(x, confidence=q))
            else:
                rejected.append(RejectedFocus(x, self.verifier.reason(evidence), q))
        if (p.lone_extremity_is_injection and lone_injection_site(kept, found.diffuse, skeleton)
                and not _injection_elsewhere(kept[0], rejected, views.grid.pixel_mm,
                                             p.injection_elsewhere_mm)):
            rejected.append(RejectedFocus(kept[0], "injection_site", kept[0].confidence))
            kept = []
        return replace(found, focal=tuple(kept), rejected=tuple(rejected))


def _injection_elsewhere(focus: FocalLesion, rejected: list[RejectedFocus], px_mm: float,
                         reach_mm: float) -> bool:
    """Whether the verifier took a candidate farther than ``reach_mm`` from ``focus`` for the
    injection site."""
    sites = [(r.focus.row, r.focus.col) for r in rejected if r.reason == "injection_site"]
    return any(math.hypot(r - focus.row, c - focus.col) * px_mm > reach_mm for r, c in sites)


def find_lesions_learned(views: WorkingViews, skeleton: WorkingSkeleton, *,
                         params: LearnedParams = LearnedParams(),
                         prediction: tuple[NetGrid, np.ndarray] | None = None,
                         normal_uptake: np.ndarray | None = None) -> SkeletalLesions:
    """Foci and diffuse involvement from the network, on the working grid.

    Parameters
    ----------
    views : WorkingViews
        Registered views: the full-resolution canonical ones (``views.body``) feed the
        network, the binned ones measure contrast.
    skeleton : WorkingSkeleton
        Fitted bone labels and positions on the working grid.
    params : LearnedParams
    prediction : (NetGrid, ndarray), optional
        A prediction already made by :func:`predict`.
    normal_uptake : ndarray of shape (rows, cols), bool, optional
        Pixels of labelled normal-uptake findings (stage 3, working grid): a focus peaking
        there is taken as that organ, not bone (``LearnedParams.veto_normal_uptake``).
    """
    body, grid_w = views.body, views.grid
    grid, prob = prediction if prediction is not None else predict(body)
    px_mm = grid_w.pixel_mm
    rows_w, cols_w = skeleton.labels.shape
    # working pixel centres in canonical coordinates, then in net coordinates
    ri, ci = grid.to_net(*grid_w.to_canonical(np.arange(rows_w), np.arange(cols_w)))
    bone_p = _bilinear(prob[2], ri, ci)
    refined = refine_legs(skeleton, bone_p) if params.refine_legs else skeleton
    labels_w = refined.labels
    bone = labels_w > 0

    # diffuse: fitted bone pixels near network-marked involvement
    net_px_mm = float(np.mean(body.spacing_mm)) / grid.zoom
    snap_net = max(0, int(round(params.diffuse_snap_mm / net_px_mm)))
    near = ndi.maximum_filter(prob[0], size=2 * snap_net + 1)
    seeds = (_bilinear(near, ri, ci) >= params.diffuse_p) & bone
    diffuse_map_w = _bilinear(prob[0], ri, ci)
    # in the limbs, extent is measured on the bone the network sees (long bones are thin:
    # a fitted outline a few mm off halves their measured involvement); in the trunk, where
    # organs overlie the bones, on the fitted skeleton
    dist, idx = refined.nearest if bone.any() else (np.full(bone.shape, np.inf), None)
    limb = (np.isin(labels_w[idx], LIMB_LABELS) & (dist * px_mm <= params.extent_reach_mm)
            if idx is not None else np.zeros_like(bone))
    extent_bone = np.where(limb, bone_p >= params.bone_p, bone & ~limb)
    # grown from the limb's own sure involvement, away from the joints with the trunk: the
    # trunk's involvement (blurred over the shoulder and the hip) never spills into a limb
    involved = limb & (diffuse_map_w >= params.extent_p)
    trunk_bone = bone & ~np.isin(labels_w, LIMB_LABELS)
    joint = max(1, int(round(params.joint_mm / px_mm)))
    off_joint = ~ndi.maximum_filter(trunk_bone, size=2 * joint + 1)
    limb_seeds = limb & off_joint & (diffuse_map_w >= params.diffuse_p)
    lab, _ = ndi.label(involved | limb_seeds)
    grown = (np.isin(lab, np.unique(lab[limb_seeds])) & (lab > 0) if limb_seeds.any()
             else limb_seeds)
    diffuse_w = (seeds & ~limb) | (grown & extent_bone)
    nearest_label = labels_w[idx] if idx is not None else None
    extent_bone &= ~_joint_gap(limb & ~off_joint, extent_bone & limb, nearest_label, diffuse_w)
    extent_bone &= ~_detached(extent_bone & limb, nearest_label, diffuse_w)

    # foci: peaks of the focus map, snapped onto the nearest fitted bone pixel
    heat = prob[1]
    sep = max(1, int(round(params.focal_min_mm / net_px_mm)))
    peaks = (heat == ndi.maximum_filter(heat, size=2 * sep + 1)) & (heat >= params.focal_p)
    pr, pc = np.nonzero(peaks)
    order = np.argsort(-heat[pr, pc])
    snap_w = max(1, int(round(params.snap_mm / px_mm)))
    mean_view = _mean_view(views)
    focal: list[FocalLesion] = []
    for k in order:
        i, j = int(pr[k]), int(pc[k])
        r_c = grid.row0 + (i + 0.5) / grid.zoom - 0.5
        c_c = grid.col0 + (j + 0.5) / grid.zoom - 0.5
        r, c = (int(v) for v in grid_w.to_working(r_c, c_c))
        if not (0 <= r < rows_w and 0 <= c < cols_w):
            continue
        if (params.veto_normal_uptake and normal_uptake is not None
                and normal_uptake[r, c]):
            continue
        hit = _nearest_bone(bone, r, c, snap_w)
        if hit is None:
            continue
        br, bc = hit
        radius = _half_max_radius(heat, i, j) / grid.zoom * float(np.mean(body.spacing_mm))
        contrast, z = _contrast(mean_view, r, c, px_mm)
        if labels_w[br, bc] == BONES.index("sternum") + 1:
            br, bc = _behind_the_sternum(views, labels_w, r, c, br, bc, px_mm, params)
        focal.append(FocalLesion(
            row=r, col=c, bone_row=br, bone_col=bc, bone=_bone_name(int(labels_w[br, bc])),
            radius_mm=float(np.clip(radius, 3.0, 15.0)), contrast=contrast, z=z,
            confidence=float(np.clip(heat[i, j], 0.0, 1.0))))
    if params.lone_extremity_is_injection and lone_injection_site(focal, diffuse_w, refined):
        focal = []
    significance = _bilinear(heat, ri, ci).astype(np.float32)
    if idx is None:
        extent_labels = np.zeros(bone.shape, np.int16)
        extent_position = np.full(bone.shape, np.nan, np.float32)
    else:  # each extent pixel counts for its nearest fitted bone
        extent_labels = np.where(extent_bone, labels_w[idx], 0).astype(np.int16)
        extent_position = np.where(extent_bone, refined.position[idx], np.nan).astype(np.float32)
    return SkeletalLesions(focal=tuple(focal), diffuse=diffuse_w, extent_bone=extent_labels,
                           extent_position=extent_position,
                           skeleton=None if refined is skeleton else refined,
                           excess=diffuse_map_w.astype(np.float32),
                           significance=significance, bone_zone=bone)


def _joint_gap(joint: np.ndarray, limb_extent: np.ndarray, nearest_label: np.ndarray | None,
               involved: np.ndarray) -> np.ndarray:
    """Uninvolved bone of a limb at its joint with the trunk, where the limb's involvement
    reaches the joint: there the fitted limb and the network's bone disagree most, so the
    bone counts only where it is involved (a whole femur is not made partial by a misplaced
    femoral head). Where involvement stops short of the joint, that bone counts as usual."""
    out = np.zeros(limb_extent.shape, dtype=bool)
    if nearest_label is None or not (joint & limb_extent).any():
        return out
    rows, cols = np.nonzero(joint)
    box = (slice(max(rows.min() - 3, 0), rows.max() + 4), slice(max(cols.min() - 3, 0),
                                                              cols.max() + 4))
    j, ext, lab, inv = joint[box], limb_extent[box], nearest_label[box], involved[box]
    ring = ndi.binary_dilation(j, iterations=2) & ~j & ext
    for label in np.unique(lab[j & ext]):
        mine = lab == label
        edge = ring & mine
        if edge.any() and (inv & edge).sum() >= 0.5 * edge.sum():
            out[box] |= j & ext & mine & ~inv
    return out


def _detached(limb_extent: np.ndarray, nearest_label: np.ndarray | None,
              involved: np.ndarray) -> np.ndarray:
    """Pieces of a limb bone's measured extent detached from its main piece and uninvolved
    (a hand lying beside the thigh, counted for the femur): not that bone's."""
    out = np.zeros(limb_extent.shape, dtype=bool)
    if nearest_label is None or not limb_extent.any():
        return out
    per_bone = np.where(limb_extent, nearest_label, 0)
    for i, box in enumerate(ndi.find_objects(per_bone)):
        if box is None:
            continue
        pieces, n = ndi.label(per_bone[box] == i + 1)
        if n < 2:
            continue
        sizes = np.bincount(pieces.ravel(), minlength=n + 1)
        sizes[0] = 0
        hit = np.bincount(pieces.ravel(), weights=involved[box].ravel(), minlength=n + 1)
        main = int(np.argmax(sizes))
        drop = [k for k in range(1, n + 1) if k != main and hit[k] == 0]
        out[box] |= np.isin(pieces, drop)
    return out


SPINE_LABELS = np.array([BONES.index(b) + 1 for b in ("cervical_spine", "thoracic_spine",
                                                      "lumbar_spine")])


def _behind_the_sternum(views: WorkingViews, labels: np.ndarray, r: int, c: int, br: int,
                        bc: int, px_mm: float, params: LearnedParams) -> tuple[int, int]:
    """The bone pixel of a focus over the sternum: the sternum's, unless the focus lies deep
    (most of its excess on the posterior view), where the vertebrae behind the sternum are.

    On a planar view the sternum covers the thoracic spine; the two views tell them apart.
    """
    if views.anterior is None or views.posterior is None:
        return br, bc
    ea = max(local_excess(views.anterior, r, c, px_mm)[0], 0.0)
    ep = max(local_excess(views.posterior, r, c, px_mm)[0], 0.0)
    if ea + ep <= 0 or ea / (ea + ep) >= params.spine_share:
        return br, bc
    reach = max(1, int(round(params.sternum_spine_mm / px_mm)))
    r0, r1 = max(0, r - reach), min(labels.shape[0], r + reach + 1)
    c0, c1 = max(0, c - reach), min(labels.shape[1], c + reach + 1)
    rr, cc = np.nonzero(np.isin(labels[r0:r1, c0:c1], SPINE_LABELS))
    if rr.size == 0:
        return br, bc
    k = int(np.argmin((rr + r0 - r) ** 2 + (cc + c0 - c) ** 2))
    return int(rr[k] + r0), int(cc[k] + c0)


def _bone_name(label: int) -> str:
    return BONES[label - 1] if 0 < label <= len(BONES) else "unknown"


def _nearest_bone(bone: np.ndarray, r: int, c: int, radius: int) -> tuple[int, int] | None:
    r0, r1 = max(0, r - radius), min(bone.shape[0], r + radius + 1)
    c0, c1 = max(0, c - radius), min(bone.shape[1], c + radius + 1)
    rr, cc = np.nonzero(bone[r0:r1, c0:c1])
    if rr.size == 0:
        return None
    d = (rr + r0 - r) ** 2 + (cc + c0 - c) ** 2
    k = int(np.argmin(d))
    if d[k] > radius * radius:
        return None
    return int(rr[k] + r0), int(cc[k] + c0)


def _half_max_radius(heat: np.ndarray, i: int, j: int) -> float:
    """Radius (net pixels) of the blob above half the peak around (i, j)."""
    r = 6
    win = heat[max(0, i - r): i + r + 1, max(0, j - r): j + r + 1]
    return math.sqrt(float((win >= heat[i, j] / 2).sum()) / math.pi)


def _mean_view(views: WorkingViews) -> np.ndarray:
    """Arithmetic mean of the binned views present (counts per working pixel)."""
    v = [x for x in (views.anterior, views.posterior) if x is not None]
    return v[0] if len(v) == 1 else (v[0] + v[1]) / 2.0


def _contrast(view: np.ndarray, r: int, c: int, px_mm: float) -> tuple[float, float]:
    """Peak over the median of a ring 15-25 mm around it, minus 1, and in Poisson SDs."""
    excess, level = local_excess(view, r, c, px_mm)
    return excess / level, excess / math.sqrt(max(level, 1.0))
