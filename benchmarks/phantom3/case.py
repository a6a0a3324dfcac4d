"""generate_case: one synthetic paediatric 123I-MIBG whole-body study and its truth."""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, BONES, DRAW_ORDER, LONG_BONES
from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment
from mibgscore.io.types import Acquisition, Patient, Scan, Study, Tracer

from . import growth
from .anatomy import build_body, draw_pose, limit_abduction
from .biodist import lungs, normal_uptake, tumour_items
from .camera import Projector, draw_camera, sphere_patch, spread, spread_kernel
from .disease import Plan, draw_diffuse, place_foci, plan_disease
from .shapes import Grid, rasterize

F32 = np.float32
CATEGORIES = ("normal", "limited", "extensive")
NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
TRANSFER = {"explicit": "1.2.840.10008.1.2.1", "implicit": "1.2.840.10008.1.2",
            "rle": "1.2.840.10008.1.2.5"}
_NS = uuid.UUID("6f1d3c1e-5b7a-4d6e-9a53-7e0c2f1b9d31")


def uid(seed: int, what: str) -> str:
    """Deterministic DICOM UID under the 2.25 (UUID) root."""
    return "2.25." + str(uuid.uuid5(_NS, f"phantom3/{seed}/{what}").int)


@dataclass(frozen=True, eq=False)
class Phantom3Case:
    """One phantom study: the scan as a reader would return it, and the truth."""

    seed: int
    scan: Scan
    truth: dict
    bone_labels: np.ndarray
    bone_position: np.ndarray
    timings: dict = field(default_factory=dict, compare=False)
    diffuse_mask: np.ndarray | None = field(default=None, compare=False)
    """Bone drawn with diffuse disease, in the scan's frame (training targets)."""


class Scene:
    """Working state shared by the rendering steps."""

    def focus_patch(self, xw, yw, z, rad):
        return sphere_patch(self.proj, xw, yw, z, rad)


def _draw_patient(rng):
    u = rng.random()
    age = (rng.uniform(0.5, 3.0) if u < 0.38 else rng.uniform(3.0, 8.0) if u < 0.78
           else rng.uniform(8.0, 17.0))
    sex = "M" if rng.random() < 0.55 else "F"
    zh = float(np.clip(rng.normal(0, 1), -2.3, 2.3))
    zb = float(np.clip(rng.normal(0.1, 1.0), -2.3, 3.0))
    return float(age), sex, zh, zb


def _up2(a: np.ndarray) -> np.ndarray:
    """Linear 2x upsampling with pixel-centre alignment (counts per small pixel = 1/4)."""
    def ax0(x):
        prev = np.concatenate([x[:1], x[:-1]])
        nxt = np.concatenate([x[1:], x[-1:]])
        out = np.empty((2 * x.shape[0],) + x.shape[1:], x.dtype)
        out[0::2] = 0.75 * x + 0.25 * prev
        out[1::2] = 0.75 * x + 0.25 * nxt
        return out
    return (ax0(ax0(a).T).T * 0.25).astype(F32)


def generate_case(seed: int, category: str | None = None, *,
                  feet_first: bool | None = None) -> Phantom3Case:
    """One deterministic case for ``seed``.

    ``category`` (normal / limited / extensive) is drawn when None; ``feet_first`` overrides
    the drawn orientation (everything else stays the same, so a case and its feet-first twin
    differ only by the row flip).
    """
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"category {category!r}; one of {CATEGORIES}")
    t0 = time.perf_counter()
    seqs = _streams(seed)
    r_cat, r_pat, r_anat, r_cam, r_bio, r_dis, r_noise, r_exp = (np.random.default_rng(s)
                                                                  for s in seqs)
    drawn = str(r_cat.choice(CATEGORIES, p=[0.27, 0.30, 0.43]))
    cat = category or drawn
    age, sex, zh, zb = _draw_patient(r_pat)
    H = growth.stature_cm(age, sex, zh) * 10.0
    bmi_ratio = growth.bmi(age, sex, zb) / float(np.interp(age, growth.AGES,
                                                          growth.BMI_MEDIAN[sex]))
    cam = draw_camera(r_cam)
    big = r_cam.random() < 0.3
    ny, nx = (2048, 512) if big else (1024, 256)
    sp = float(r_cam.uniform(1.1, 1.6) if big else r_cam.choice(
        [2.0, 2.21, 2.26, 2.4, 2.46, 2.54, 2.8, 3.0]) * r_cam.uniform(0.99, 1.01))
    lo, hi = (1.1, 1.6) if big else (2.0, 3.0)
    pose = draw_pose(r_anat, age)
    body = None
    body_seed = int(r_anat.integers(2 ** 32))
    for _ in range(3):
        fw = nx * sp
        limit_abduction(pose, fw / 2 - 30.0, H, age)
        body = build_body(age, sex, H, bmi_ratio, pose, np.random.default_rng(body_seed))
        ext = _extent(body, 0.0)
        need = max((ext[1] - ext[0]) + 40.0, 0) / nx
        if need <= sp:
            break
        sp = min(max(sp, need), hi)
        if need > hi:
            for s in (-1, 1):
                pose.abd[s] = min(pose.abd[s], 4.0)
    sy = sx = sp
    if r_cam.random() < 0.08:
        sy = sp * float(r_cam.uniform(0.96, 1.04))
    sy = round(float(np.clip(sy, lo, hi)), 4)
    sx = round(sx, 4)
    # placement: rotation, off-centre, top margin
    ang = math.radians(float(r_cam.uniform(-4, 4)))
    top = float(r_cam.uniform(15, 70))
    bottom = float(r_cam.uniform(20, 80))
    for attempt in range(2):
        e = _extent(body, ang)
        cy = top - e[2]
        lo_x, hi_x = 12.0 - e[0], nx * sx - 12.0 - e[1]
        if lo_x <= hi_x or attempt:
            break
        ang = 0.0
    mid = 0.5 * (lo_x + hi_x)
    cx = mid + float(r_cam.uniform(-0.6, 0.6)) * max(0.0, 0.5 * (hi_x - lo_x)) \
        if lo_x <= hi_x else mid
    scan_rows = int(min(ny, math.ceil((e[3] + cy + bottom) / sy)))
    f = 2 if big else 1
    grid = Grid(ny, nx, sy, sx, cx, cy, ang)
    gw = Grid(ny // f, nx // f, sy * f, sx * f, cx, cy, ang)
    timings = {"setup": time.perf_counter() - t0}

    # ---- skeleton on the full grid ---------------------------------------------------
    t1 = time.perf_counter()
    rf = {}
    for bone in BONES:
        rf[bone] = rasterize(grid, body.bones[bone], body.axes.get(bone))
    labels = np.zeros((ny, nx), np.uint8)
    pos = np.full((ny, nx), np.nan, F32)
    for bone in DRAW_ORDER:
        R = rf[bone]
        if R is None:
            continue
        m = R.thk > 0
        labels[R.sl][m] = BONE_LABEL[bone]
        pos[R.sl][m] = R.pos[m] if bone in LONG_BONES else np.nan
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    seg_s = siopen.segment_map(labels, pos)
    seg_c = curie.segment_map(labels, pos)
    timings["skeleton"] = time.perf_counter() - t1

    # ---- body, attenuation maps, normal uptake on the working grid --------------------
    t1 = time.perf_counter()
    z_top = np.zeros((gw.ny, gw.nx), F32)
    z_bot = np.full((gw.ny, gw.nx), np.inf, F32)
    T = np.zeros((gw.ny, gw.nx), F32)
    for shp in body.soft:
        R = rasterize(gw, [shp])
        if R is None:
            continue
        m = R.thk > 0
        zt = np.where(m, R.zc + R.thk / 2, 0)
        zb_ = np.where(m, R.zc - R.thk / 2, np.inf)
        z_top[R.sl] = np.maximum(z_top[R.sl], zt)
        z_bot[R.sl] = np.minimum(z_bot[R.sl], zb_)
        T[R.sl] += R.thk
    z_bot[~np.isfinite(z_bot)] = 0
    T = np.minimum(T, np.clip(z_top - z_bot, 0, None))
    lung_top = np.zeros_like(T)
    lung_bot = np.zeros_like(T)
    lung_ch = np.zeros_like(T)
    for e in lungs(body):
        R = rasterize(gw, [e])
        m = R.thk > 0
        lung_top[R.sl] = np.where(m, R.zc + R.thk / 2, lung_top[R.sl])
        lung_bot[R.sl] = np.where(m, R.zc - R.thk / 2, lung_bot[R.sl])
        lung_ch[R.sl] = np.maximum(lung_ch[R.sl], R.thk)
    proj = Projector(gw, cam, z_top, z_bot, lung_top, lung_bot)
    full = (slice(0, gw.ny), slice(0, gw.nx))
    bg = np.clip(T - lung_ch, 0, None)
    proj.add(full, bg, (z_top + z_bot) / 2, np.where(bg > 0, F32(1.0), F32(0.0)))
    items, info = normal_uptake(body, r_bio)
    abnormal = cat != "normal"
    st_sites: list[dict] = []
    if r_bio.random() < (0.62 if abnormal else 0.2):
        ti, st_sites = tumour_items(body, r_bio, int(r_bio.choice([0, 1, 2, 3, 4],
                                                                  p=[0.35, 0.25, 0.2, 0.12,
                                                                     0.08])))
        items += ti
    findings = []
    for it in items:
        R = rasterize(gw, it.shapes)
        if R is None:
            continue
        act = np.full_like(R.thk, it.conc)
        if it.mod is not None:
            X, Y = gw.coords(R.sl[0].start, R.sl[0].stop, R.sl[1].start, R.sl[1].stop)
            act = act * it.mod(X, Y)
        proj.add(R.sl, R.thk, R.zc, act.astype(F32))
        if it.record:
            rr, cc = grid.to_pixel(it.at[0], it.at[1])
            findings.append({"label": it.label, "row": float(rr), "col": float(cc)})
    Pn_a, Pn_p = proj.blur()
    kern = spread_kernel(cam, gw.sy, gw.sx)
    Tn_a = Pn_a + spread(Pn_a, kern)
    Tn_p = Pn_p + spread(Pn_p, kern)
    timings["normal"] = time.perf_counter() - t1

    # ---- skeletal disease ---------------------------------------------------------------
    t1 = time.perf_counter()
    scene = Scene()
    scene.body, scene.grid, scene.gw, scene.cam, scene.proj = body, grid, gw, cam, proj
    scene.siopen, scene.rf, scene.labels, scene.seg_s = siopen, rf, labels, seg_s
    scene.Pn_sum = Tn_a + Tn_p
    n_view = float(np.clip(r_cam.lognormal(math.log(0.9e6), 0.55), 0.3e6, 4.0e6))
    result = None
    for _attempt in range(8):
        plan = plan_disease(r_dis, cat, siopen.keys) if abnormal else Plan("none")
        scene.mask = np.zeros((ny, nx), bool)
        diffuse_info = draw_diffuse(scene, plan, r_dis) if plan.diffuse else []
        if plan.diffuse:
            Pd_a, Pd_p = proj.blur()
            Td_a, Td_p = Pd_a + spread(Pd_a, kern), Pd_p + spread(Pd_p, kern)
        else:
            Td_a = Td_p = np.zeros_like(Tn_a)
        scene.T_sum = Tn_a + Tn_p + Td_a + Td_p
        scene.k = 2 * n_view / float(scene.T_sum.sum())
        scene.F_a = np.zeros_like(Tn_a)
        scene.F_p = np.zeros_like(Tn_a)
        foci = place_foci(scene, plan, r_dis) if plan.foci else []
        truth_s = _grades(siopen, seg_s, scene.mask, foci, curie, seg_c, len(st_sites))
        total = truth_s["siopen_total"]
        got = "normal" if total == 0 else "limited" if total <= 5 else "extensive"
        result = (plan, diffuse_info, foci, truth_s, Td_a, Td_p)
        if got == cat:
            break
    plan, diffuse_info, foci, tr, Td_a, Td_p = result
    if plan.foci:
        F_a = scene.F_a + spread(scene.F_a, kern)
        F_p = scene.F_p + spread(scene.F_p, kern)
    else:
        F_a = F_p = 0.0
    E_a = Tn_a + Td_a + F_a
    E_p = Tn_p + Td_p + F_p
    timings["disease"] = time.perf_counter() - t1

    # ---- counts, noise, orientation -----------------------------------------------------
    t1 = time.perf_counter()
    if f == 2:
        E_a, E_p = _up2(E_a), _up2(E_p)
    k = n_view / (0.5 * float(E_a.sum() + E_p.sum()))
    room = float(r_cam.uniform(0.005, 0.04))
    E_a = E_a * k + room
    E_p = E_p * k + room
    E_a[scan_rows:] = 0
    E_p[scan_rows:] = 0
    ant = r_noise.poisson(E_a).astype(F32)
    post = r_noise.poisson(E_p).astype(F32)
    np.minimum(ant, 65535, out=ant)
    np.minimum(post, 65535, out=post)
    drawn_ff = bool(r_cam.random() < 0.12)
    feet_first = drawn_ff if feet_first is None else bool(feet_first)

    def flip_row(r):
        return float(scan_rows - 1 - r) if feet_first else float(r)

    diffuse = _diffuse_entries(siopen, seg_s, labels, scene.mask, rf)
    diffuse_mask = scene.mask & (labels > 0)
    if feet_first:
        for a in (ant, post, labels, pos, diffuse_mask):
            a[:scan_rows] = a[:scan_rows][::-1].copy()
    timings["counts"] = time.perf_counter() - t1

    # ---- truth ----------------------------------------------------------------------------
    lesions = []
    for q in foci:
        lesions.append({"kind": "focal", "row": flip_row(q["row"]), "col": float(q["col"]),
                        "diameter_mm": q["diameter_mm"], "bone": q["bone"],
                        "position": q["position"],
                        "siopen": siopen.segment_of(q["bone"], q["position"]),
                        "curie": curie.segment_of(q["bone"], q["position"]),
                        "contrast": q["contrast"]})
    soft = []
    for s in st_sites:
        rr, cc = grid.to_pixel(s["x"], s["y"])
        soft.append({"site": s["site"], "row": flip_row(float(rr)), "col": float(cc)})
    for fd in findings:
        fd["row"] = round(flip_row(fd["row"]), 1)
        fd["col"] = round(fd["col"], 1)
    for s in soft:
        s["row"] = round(s["row"], 1)
        s["col"] = round(s["col"], 1)
    export = _export_style(r_exp)
    n_a, n_p = int(ant.sum()), int(post.sum())
    scan_len = scan_rows * sy
    vel = float(r_exp.uniform(1.2, 2.4))
    meta = {
        "age_years": round(age, 2), "sex": sex, "height_cm": round(H / 10, 1),
        "weight_kg": round(body.weight_kg, 1), "bmi_ratio": round(bmi_ratio, 3),
        "pose": pose.description, "pose_kind": pose.kind,
        "abduction_deg": [round(pose.abd[1], 1), round(pose.abd[-1], 1)],
        "elbow_flexion_deg": [round(pose.elbow[1], 1), round(pose.elbow[-1], 1)],
        "legs_apart_deg": round(pose.legs[1] + pose.legs[-1], 1),
        "head_tilt_deg": round(pose.head_tilt, 1),
        "body_rotation_deg": round(math.degrees(ang), 2),
        "feet_first": feet_first, "matrix": [ny, nx], "spacing_mm": [round(sy, 4), round(sx, 4)],
        "scan_rows": scan_rows, "collimator": cam.collimator,
        "counts": {"anterior": n_a, "posterior": n_p},
        "camera": {"manufacturer": cam.manufacturer, "model": cam.model,
                   "body_contour": cam.contour, "gap_ant_mm": round(cam.gap_ant, 1),
                   "scatter_fraction": round(cam.scatter_frac, 3),
                   "energy_window_kev": list(cam.window)},
        "normal_uptake": info, "disease_pattern": plan.pattern,
        "symmetric": plan.symmetric, "diffuse_render": diffuse_info,
        "scan_velocity_mm_s": round(vel, 2), "export": export,
        "generator": "phantom3",
    }
    truth = {**{k2: v for k2, v in tr.items()}, "category": _category(tr["siopen_total"]),
             "lesions": lesions, "diffuse": diffuse, "soft_tissue": soft,
             "findings": findings, "meta": meta}
    study_date = dt.date(2016, 1, 4) + dt.timedelta(days=int(seed) % 3000)
    birth = study_date - dt.timedelta(days=int(age * 365.25))
    patient = Patient(patient_id=f"P3-{seed:06d}", name=f"PHANTOM3^CASE{seed}",
                      birth_date=birth,
                      age_years=round((study_date - birth).days / 365.25, 2), sex=sex,
                      height_cm=round(H / 10, 1) if export["height"] else None,
                      weight_kg=round(body.weight_kg, 1) if export["weight"] else None)
    study = Study(study_uid=uid(seed, "study"), series_uid=uid(seed, "series"),
                  sop_instance_uids=(uid(seed, "sop"),), study_date=study_date,
                  description="MIBG WHOLE BODY 24H", accession_number=f"A3{seed:07d}")
    tracer = Tracer(status="mibg", name="Iobenguane I^123^", isotope="^123^Iodine",
                    code="395787009", how="phantom3 generator")
    acq = Acquisition(sop_class_uid=NM_STORAGE, modality="NM",
                      transfer_syntax_uid=TRANSFER[export["transfer"]],
                      image_type=("ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"),
                      manufacturer=cam.manufacturer, model=cam.model, collimator=cam.collimator,
                      energy_window_kev=cam.window, frame_duration_ms=scan_len / vel * 1000.0,
                      scan_velocity_mm_s=vel, counts_accumulated=n_a + n_p)
    scan = Scan(ant, post, (sy, sx), patient=patient, study=study, tracer=tracer,
                acquisition=acq, assumptions=(), path=None)
    timings["total"] = time.perf_counter() - t0
    return Phantom3Case(int(seed), scan, truth, labels, pos, timings, diffuse_mask)


def generate_cases(n: int, seed: int = 0) -> list[Phantom3Case]:
    """``n`` consecutive cases, seeds ``seed`` ... ``seed + n - 1``."""
    return [generate_case(seed + i) for i in range(n)]


def _category(total: int) -> str:
    return "normal" if total == 0 else "limited" if total <= 5 else "extensive"


def _extent(body, ang):
    xs, ys = [], []
    c, s = math.cos(ang), math.sin(ang)
    for shp in body.soft:
        x0, x1, y0, y1 = shp.box()
        for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
            xs.append(c * x - s * y)
            ys.append(s * x + c * y)
    return min(xs), max(xs), min(ys), max(ys)


def _grades(siopen, seg_s, mask, foci, curie, seg_c, n_soft):
    out = {}
    for scheme, seg, name in ((siopen, seg_s, "siopen"), (curie, seg_c, "curie")):
        counts = dict.fromkeys(scheme.keys, 0)
        for q in foci:
            counts[scheme.segment_of(q["bone"], q["position"])] += 1
        grades, fracs = {}, {}
        area = np.bincount(seg.ravel(), minlength=len(scheme.keys) + 1)
        hit = np.bincount(seg[mask].ravel(), minlength=len(scheme.keys) + 1)
        for i, key in enumerate(scheme.keys):
            fr = float(hit[i + 1] / area[i + 1]) if area[i + 1] else 0.0
            fracs[key] = round(fr, 4)
            if name == "siopen":
                grades[key] = grade_siopen_segment(counts[key], fr)
            elif key == "soft_tissue":
                grades[key] = grade_curie_segment(n_soft)
            else:
                grades[key] = grade_curie_segment(counts[key], fr)
        out[name] = grades
        out[f"{name}_total"] = int(sum(grades.values()))
        out[f"{name}_diffuse_fraction"] = fracs
    return {"siopen": out["siopen"], "curie": out["curie"],
            "siopen_total": out["siopen_total"], "curie_total": out["curie_total"],
            "siopen_diffuse_fraction": out["siopen_diffuse_fraction"],
            "curie_diffuse_fraction": out["curie_diffuse_fraction"]}


def _diffuse_entries(siopen, seg_s, labels, mask, rf):
    """Per (bone, SIOPEN segment): share of its drawn pixels inside the diffuse mask."""
    out = []
    for bone in BONES:
        R = rf.get(bone)
        if R is None:
            continue
        m = mask[R.sl]
        if not m.any():
            continue
        lab = labels[R.sl] == BONE_LABEL[bone]
        seg = seg_s[R.sl]
        for i, key in enumerate(siopen.keys):
            sel = lab & (seg == i + 1)
            n = int(sel.sum())
            hit = int((sel & m).sum())
            if n and hit:
                out.append({"bone": bone, "siopen": key, "fraction": round(hit / n, 4)})
    return out


def _streams(seed: int):
    return np.random.SeedSequence([int(seed), 20240603]).spawn(8)


def export_style(seed: int) -> dict:
    """The DICOM export style of a seed (transfer syntax, code scheme, detector order...),
    without generating the case."""
    return _export_style(np.random.default_rng(_streams(seed)[7]))


def _export_style(rng) -> dict:
    return {
        "transfer": str(rng.choice(["explicit", "implicit", "rle"], p=[0.6, 0.25, 0.15])),
        "codes": str(rng.choice(["SCT", "SRT"], p=[0.5, 0.5])),
        "ant_detector": int(rng.choice([1, 2], p=[0.7, 0.3])),
        "scatter_window": bool(rng.random() < 0.3),
        "height": bool(rng.random() < 0.6),
        "weight": bool(rng.random() < 0.7),
    }
