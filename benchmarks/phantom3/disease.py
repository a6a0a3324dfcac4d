"""Skeletal disease: plans by category, diffuse marrow involvement and discrete foci.

Neuroblastoma metastasises to red marrow: skull (orbits, skull base), spine, pelvis, proximal
femora and humeri, ribs, and around the knees (metaphyses); diffuse involvement can be
patchy, band-like at the metaphyses, whole-bone, symmetric, or nearly the whole skeleton
(Lewington 2017 figures; Decarolis 2013; Matthay 2010; Brisse et al., Radiology 2001 on
marrow patterns). Grades are never chosen directly: the plan only says where to draw, and the
truth is counted afterwards from the drawn maps with the project's segment tables and rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

from mibgscore.anatomy.bones import BONE_LABEL, LONG_BONES

from .shapes import rasterize, smooth_noise

SIOPEN_WEIGHT = {
    "skull": 1.3, "thoracic_cage": 1.0, "spine": 1.5, "pelvis": 1.4,
    "right_upper_limb_proximal": 0.5, "right_upper_limb_distal": 0.25,
    "left_upper_limb_proximal": 0.5, "left_upper_limb_distal": 0.25,
    "right_lower_limb_proximal": 0.7, "right_lower_limb_distal": 0.55,
    "left_lower_limb_proximal": 0.7, "left_lower_limb_distal": 0.55,
}
BONE_WEIGHT = {"cranium": 1.0, "facial_bones": 0.7, "mandible": 0.35, "sternum": 0.4,
               "clavicle_right": 0.4, "clavicle_left": 0.4, "scapula_right": 0.6,
               "scapula_left": 0.6, "sacrum": 0.8, "hand_right": 0.3, "hand_left": 0.3,
               "foot_right": 0.4, "foot_left": 0.4}
SMALL = {"ribs_right", "ribs_left", "clavicle_right", "clavicle_left", "sternum", "mandible",
         "forearm_right", "forearm_left", "hand_right", "hand_left", "foot_right", "foot_left"}
PAIRS = {"right_upper_limb_proximal": "left_upper_limb_proximal",
         "right_upper_limb_distal": "left_upper_limb_distal",
         "right_lower_limb_proximal": "left_lower_limb_proximal",
         "right_lower_limb_distal": "left_lower_limb_distal"}
LIMBS = tuple(PAIRS) + tuple(PAIRS.values())


@dataclass
class Plan:
    pattern: str
    foci: dict[str, int] = field(default_factory=dict)
    diffuse: dict[str, float] = field(default_factory=dict)   # key -> target share (1 = whole)
    symmetric: bool = False


def _fraction(rng, grade: int) -> float:
    return {4: float(rng.uniform(0.12, 0.4)), 5: float(rng.uniform(0.6, 0.9)), 6: 1.0}[grade]


def _pick(rng, keys, n):
    w = np.array([SIOPEN_WEIGHT[k] for k in keys])
    n = min(n, len(keys))
    return [str(k) for k in rng.choice(keys, size=n, replace=False, p=w / w.sum())]


def _n_foci(rng) -> int:
    return int(rng.choice([1, 2, 3, 4, 5, 6, 7], p=[0.3, 0.24, 0.18, 0.12, 0.08, 0.05, 0.03]))


def plan_disease(rng: np.random.Generator, category: str, keys: tuple[str, ...]) -> Plan:
    keys = list(keys)
    if category == "normal":
        return Plan("none")
    if category == "limited":
        total = int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.22, 0.2, 0.18, 0.15]))
        m = int(rng.integers(1, min(total, 4) + 1))
        cuts = np.sort(rng.choice(np.arange(1, total), size=m - 1, replace=False)) if m > 1 \
            else np.array([], int)
        parts = np.diff(np.concatenate([[0], cuts, [total]])).astype(int)
        parts = [min(int(p), 4) for p in parts]
        plan = Plan("limited")
        for key, p in zip(_pick(rng, keys, len(parts)), parts, strict=False):
            if p == 4 and rng.random() < 0.45:
                plan.diffuse[key] = _fraction(rng, 4)
            else:
                plan.foci[key] = p if p < 4 else int(rng.integers(4, 7))
        return plan
    pattern = str(rng.choice(["multifocal", "diffuse_axial", "metaphyseal", "superscan",
                              "mixed"], p=[0.36, 0.2, 0.16, 0.1, 0.18]))
    plan = Plan(pattern)
    if pattern == "multifocal":
        for key in _pick(rng, keys, int(rng.integers(3, 11))):
            plan.foci[key] = _n_foci(rng)
    elif pattern == "diffuse_axial":
        g = {"spine": int(rng.choice([5, 6], p=[0.4, 0.6])),
             "pelvis": int(rng.choice([4, 5, 6], p=[0.2, 0.5, 0.3])),
             "skull": int(rng.choice([0, 4, 5, 6], p=[0.3, 0.3, 0.25, 0.15])),
             "thoracic_cage": int(rng.choice([0, 4, 5], p=[0.35, 0.4, 0.25]))}
        for k, v in g.items():
            if v:
                plan.diffuse[k] = _fraction(rng, v)
        if rng.random() < 0.6:
            plan.symmetric = True
            for k in ("right_lower_limb_proximal", "right_upper_limb_proximal"):
                if rng.random() < 0.7:
                    f = _fraction(rng, int(rng.choice([4, 5, 6], p=[0.3, 0.45, 0.25])))
                    plan.diffuse[k] = f
                    plan.diffuse[PAIRS[k]] = f
    elif pattern == "metaphyseal":
        plan.symmetric = True
        for k in ("right_lower_limb_distal", "right_lower_limb_proximal",
                  "right_upper_limb_proximal", "right_upper_limb_distal"):
            if rng.random() < {"right_lower_limb_distal": 0.95}.get(k, 0.6):
                f = _fraction(rng, int(rng.choice([4, 5], p=[0.6, 0.4])))
                plan.diffuse[k] = f
                plan.diffuse[PAIRS[k]] = f
        for k in ("spine", "pelvis"):
            if rng.random() < 0.4:
                plan.diffuse[k] = _fraction(rng, int(rng.choice([4, 5, 6])))
    elif pattern == "superscan":
        plan.symmetric = True
        for k in keys:
            if k in PAIRS.values():
                continue
            f = _fraction(rng, int(rng.choice([5, 6], p=[0.55, 0.45])))
            plan.diffuse[k] = f
            if k in PAIRS:
                plan.diffuse[PAIRS[k]] = f
    else:
        dk = _pick(rng, keys, int(rng.integers(1, 4)))
        for k in dk:
            plan.diffuse[k] = _fraction(rng, int(rng.choice([4, 5, 6], p=[0.4, 0.4, 0.2])))
        rest = [k for k in keys if k not in dk]
        for k in _pick(rng, rest, int(rng.integers(2, 7))):
            plan.foci[k] = _n_foci(rng)
    if pattern in ("diffuse_axial", "metaphyseal") and rng.random() < 0.4:
        rest = [k for k in keys if k not in plan.diffuse]
        if rest:
            for k in _pick(rng, rest, int(rng.integers(1, 3))):
                plan.foci[k] = _n_foci(rng)
    return plan


def _parts(scheme, key):
    return next(s for s in scheme.segments if s.key == key).parts


def draw_diffuse(scene, plan: Plan, rng: np.random.Generator) -> list[dict]:
    """Paint the diffuse mask (truth, full grid) and deposit the marrow activity."""
    body, gf, gw = scene.body, scene.grid, scene.gw
    scheme = scene.siopen
    H = body.H
    entries = []
    noises = {}
    for key, frac in plan.diffuse.items():
        idx = scheme.keys.index(key) + 1
        mirror = plan.symmetric and key in LIMBS
        base_key = key if key not in PAIRS.values() else next(k for k, v in PAIRS.items()
                                                              if v == key)
        if mirror and base_key in noises:
            nz, lam = noises[base_key]
        else:
            scale = float(rng.uniform(0.02, 0.045)) * H
            if key == "spine":
                nz = smooth_noise(rng, (-0.05 * H, 0.05 * H, 0, H), scale * 1.2)
            else:
                nz = smooth_noise(rng, (-0.4 * H, 0.4 * H, 0, 1.1 * H), scale)
            lam = float(rng.uniform(0.55, 0.9))
            noises[base_key] = (nz, lam)
        het = smooth_noise(rng, (-0.4 * H, 0.4 * H, 0, 1.1 * H), float(rng.uniform(15, 40)))

        def score(bone, X, Y, pos, key=key, nz=nz, lam=lam, mirror=mirror):
            Xs = np.abs(X) if mirror else X
            if key == "spine":
                return nz(np.zeros_like(Y), Y)
            n = nz(Xs, Y)
            if bone in LONG_BONES and pos is not None:
                return lam * 2.5 * np.abs(pos - 0.5) * 2 + (1 - lam) * n
            if key in LIMBS:
                return lam * 2.5 * 0.35 + (1 - lam) * n
            return n

        # threshold on the visible pixels of the segment (full grid)
        per = []
        for part in _parts(scheme, key):
            R = scene.rf.get(part.bone)
            if R is None:
                continue
            vis = (scene.labels[R.sl] == BONE_LABEL[part.bone]) & (scene.seg_s[R.sl] == idx)
            X, Y = gf.coords(R.sl[0].start, R.sl[0].stop, R.sl[1].start, R.sl[1].stop)
            per.append((part, R, vis, score(part.bone, X, Y, R.pos)))
        allv = np.concatenate([sc[vis] for _, _, vis, sc in per]) if per else np.zeros(0)
        if allv.size == 0:
            continue
        thr = -np.inf if frac >= 0.999 else float(np.quantile(allv, 1.0 - frac))
        for _part, R, vis, sc in per:
            scene.mask[R.sl] |= vis & (sc >= thr)
        # marrow activity on the working grid
        deps = []
        for part in _parts(scheme, key):
            Rw = rasterize(gw, body.bones[part.bone], body.axes.get(part.bone))
            if Rw is None:
                continue
            X, Y = gw.coords(Rw.sl[0].start, Rw.sl[0].stop, Rw.sl[1].start, Rw.sl[1].stop)
            ind = (score(part.bone, X, Y, Rw.pos) >= thr) & (Rw.thk > 0)
            if part.bone in LONG_BONES:
                p = Rw.pos
                ind &= (p >= part.start) & ((p < part.end) | (part.end >= 1.0))
            act = ind * np.clip(1 + 0.3 * het(X, Y), 0.3, 2.0)
            if not act.any():
                continue
            wa, wp, da, dp = scene.proj.weights(Rw.sl, Rw.thk, Rw.zc)
            deps.append((Rw.sl, act.astype(np.float32), wa, wp, da, dp))
        if not deps:
            continue
        num = den = kept = 0.0
        for sl, act, wa, wp, da, _dp in deps:
            dep = (wa + wp) * act
            base = scene.Pn_sum[sl]
            num += float(dep.sum())
            den += float(base[act > 0].sum())
            sd = scene.proj.sigma_px(float(np.mean(da[act > 0])))
            kept += float(gaussian_filter(dep, sd, mode="constant")[act > 0].sum())
        if num <= 0 or den <= 0:
            continue
        target = float(np.clip(rng.lognormal(math.log(1.0), 0.4), 0.55, 3.0))
        if plan.pattern == "superscan":
            target = float(rng.uniform(0.6, 1.4))
        ratio = kept / den
        conc = min(target / max(ratio, 1e-9), 60.0)
        for sl, act, wa, wp, da, dp in deps:
            scene.proj.deposit(sl, act * conc, wa, wp, da, dp)
        entries.append({"key": key, "target_contrast": round(target, 2),
                        "concentration": round(conc, 2)})
    return entries


def place_foci(scene, plan: Plan, rng: np.random.Generator) -> list[dict]:
    """Discrete, visible foci. Each is kept only if it is separated from every other focus and
    from diffuse disease by more than the camera FWHM plus 6 mm (edge to edge), and if its peak
    in the summed views is at least 0.6 x what overlies it with a Rose SNR of at least 6."""
    body, gf, gw = scene.body, scene.grid, scene.gw
    scheme = scene.siopen
    H = body.H
    placed: list[dict] = []
    for key, n in plan.foci.items():
        idx = scheme.keys.index(key) + 1
        cands = []
        for part in _parts(scheme, key):
            R = scene.rf.get(part.bone)
            if R is None:
                continue
            vis = (scene.labels[R.sl] == BONE_LABEL[part.bone]) & (scene.seg_s[R.sl] == idx)
            if part.bone in LONG_BONES:
                p = R.pos
                ok = (p > 0.03) & (p < 0.97)
                if part.bone.startswith(("humerus", "femur")):
                    ok &= np.abs(p - 0.5) > 0.06
                vis &= ok
            rr, cc = np.nonzero(vis)
            if rr.size < 4:
                continue
            w = math.sqrt(rr.size) * BONE_WEIGHT.get(part.bone, 1.0)
            cands.append((part.bone, R, rr + R.r0, cc + R.c0, w))
        if not cands:
            continue
        wts = np.array([c[4] for c in cands])
        wts /= wts.sum()
        made = 0
        tries = 0
        while made < n and tries < 30 * n:
            tries += 1
            bone, R, rr, cc, _ = cands[int(rng.choice(len(cands), p=wts))]
            j = int(rng.integers(rr.size))
            r, c = int(rr[j]), int(cc[j])
            dmax = 30.0 if bone not in SMALL else min(30.0, 0.012 * H + 6)
            diam = float(np.clip(rng.lognormal(math.log(13), 0.45), 5.0, dmax))
            rad = diam / 2
            z = _depth(scene, bone, R, r, c, rad, rng)
            xw, yw = (c + 0.5) * gf.sx, (r + 0.5) * gf.sy
            rw = min(gw.ny - 1, int(yw / gw.sy))
            da = float(scene.proj.zdet[rw] - z)
            dp = float(z + scene.proj.off_post)
            fw = float(scene.cam.fwhm(max(da, dp)))
            if any(math.hypot(xw - q["xw"], yw - q["yw"]) < rad + q["rad"] + max(fw, q["fwhm"])
                   + 6.0 for q in placed):
                continue
            clear = (rad + fw + 6.0)
            rr0, rr1 = int(max(0, r - clear / gf.sy)), int(min(gf.ny, r + clear / gf.sy + 1))
            cc0, cc1 = int(max(0, c - clear / gf.sx)), int(min(gf.nx, c + clear / gf.sx + 1))
            if scene.mask[rr0:rr1, cc0:cc1].any():
                continue
            patch = scene.focus_patch(xw, yw, z, rad)
            if patch is None:
                continue
            sl, fa, fp = patch
            fs = fa + fp
            pk = float(fs.max())
            if pk <= 0:
                continue
            i, jj = np.unravel_index(int(np.argmax(fs)), fs.shape)
            base = float(scene.T_sum[sl][i, jj])
            want = float(np.clip(rng.lognormal(math.log(1.9), 0.5), 0.9, 8.0))
            conc = want * base / pk
            core = fs >= 0.5 * pk
            B = float(scene.T_sum[sl][core].sum())
            snr = conc * float(fs[core].sum()) * math.sqrt(scene.k) / math.sqrt(max(B, 1e-9))
            if snr < 8.0:
                conc *= 8.0 / snr
                want = conc * pk / base
            if conc > 150.0 or want > 10.0:
                continue
            scene.F_a[sl] += conc * fa
            scene.F_p[sl] += conc * fp
            pos = float(R.pos[r - R.r0, c - R.c0]) if bone in LONG_BONES else 0.5
            placed.append({"bone": bone, "row": r, "col": c, "xw": xw, "yw": yw, "rad": rad,
                           "fwhm": fw, "diameter_mm": round(diam, 1), "position": round(pos, 4),
                           "contrast": round(want, 3), "z_mm": round(z, 1),
                           "concentration": round(conc, 1)})
            made += 1
    return placed


def _depth(scene, bone, R, r, c, rad, rng) -> float:
    i, j = r - R.r0, c - R.c0
    zc, t = float(R.zc[i, j]), float(R.thk[i, j])
    if bone == "cranium":
        shell = scene.body.bones["cranium"][0]
        X, Y = scene.grid.coords(r, r + 1, c, c + 1)
        tout, _ = shell.outer.eval(X, Y)
        h = float(tout[0, 0]) / 2
        if h > 3 * shell.wall:
            return zc + (1 if rng.random() < 0.5 else -1) * (h - shell.wall / 2)
        return zc
    half = max(t / 2 - min(rad, t / 2) * 0.5, 0.0)
    return zc + float(rng.uniform(-half, half))
