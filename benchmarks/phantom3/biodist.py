"""Normal 123I-MIBG distribution at about 24 h, in a child.

Sources: Bombardieri et al., EANM procedure guidelines for 131I/123I-MIBG scintigraphy, EJNMMI
2010;37:2436-2446; Olivier et al., Guidelines for radioiodinated MIBG scintigraphy in children,
EJNMMI 2003;30:B45-B50; Paltiel et al., Radiology 1994;190:117-121 (normal variants in
children); Bonnin et al., J Nucl Med 1994;35:803-810 (normal distribution, 123I-MIBG);
Okuyama et al., J Nucl Med 2002;43:1234-1240 (brown adipose tissue); Gelfand, Semin Nucl Med
1993;23:231-242. Concentrations are per unit volume, relative to blood/soft tissue = 1, chosen
so that the projected images rank as in those series: liver, bladder and salivary glands the
brightest normal structures; myocardium moderate and variable; spleen, nasopharynx, lacrimal
glands and bowel moderate to faint and variable; lungs, kidneys and adrenals faint; bone not
seen at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import growth as g
from .anatomy import Body
from .shapes import Chain, Ellipsoid, Shape, Shell, smooth_noise


@dataclass
class Item:
    label: str
    shapes: list[Shape]
    conc: float
    at: tuple[float, float]
    mod: Callable | None = None
    record: bool = True


def lungs(body: Body) -> list[Ellipsoid]:
    lm, H = body.lm, body.H
    yT, v_t, cage, D = lm["yT"], lm["v_t"], lm["cage"], lm["D_ch"]
    dome_r = yT[9] - 0.3 * v_t
    out = []
    for s in (-1, 1):
        apex = lm["y_sh"] - 0.012 * H
        base = dome_r + (0.5 * v_t if s > 0 else 0.0) + 0.015 * H
        out.append(Ellipsoid(s * 0.5 * cage, 0.5 * (apex + base), 0.5 * D, 0.46 * cage,
                             0.5 * (base - apex), 0.38 * D))
    return out


def normal_uptake(body: Body, rng: np.random.Generator) -> tuple[list[Item], dict]:
    lm, H, age = body.lm, body.H, body.age
    hp = lm["head_pt"]
    tilt = lm["tilt"]
    hh, hw, had, ff = lm["hh"], lm["hw"], lm["had"], lm["ff"]
    yT, v_t = lm["yT"], lm["v_t"]
    cage, D = lm["cage"], body.D
    items: list[Item] = []
    info: dict = {}
    U = rng.uniform

    # ---- head and neck ------------------------------------------------------------------
    par = U(8, 22)
    sub = par * U(0.6, 1.1)
    for s in (-1, 1):
        c = hp(s * 0.42 * hw, hh * (1 - 0.42 * ff))
        items.append(Item("salivary_glands", [Ellipsoid(c[0], c[1], 0.45 * had, 0.1 * hw,
                                                        0.15 * ff * hh / 0.45 * 0.9,
                                                        0.13 * had, tilt)],
                           par * U(0.85, 1.15), c))
        c = hp(s * 0.25 * hw, hh * (1 + 0.02 * ff))
        items.append(Item("salivary_glands", [Ellipsoid(c[0], c[1], 0.55 * had, 0.085 * hw,
                                                        0.06 * hh, 0.08 * had, tilt)],
                           sub * U(0.85, 1.15), c))
    c = hp(0, hh * (1 - 0.6 * ff))
    items.append(Item("nasopharynx", [Ellipsoid(c[0], c[1], 0.6 * had, 0.06 * hw, 0.09 * hh,
                                                0.1 * had, tilt)], U(2.5, 8), c))
    if rng.random() < 0.6:
        for s in (-1, 1):
            c = hp(s * 0.3 * hw, hh * (1 - 0.86 * ff))
            items.append(Item("lacrimal_glands", [Ellipsoid(c[0], c[1], 0.8 * had, 0.04 * hw,
                                                            0.03 * hh, 0.04 * had)],
                               U(3, 10), c))
    blocked = rng.random() > 0.15
    info["thyroid_blocked"] = blocked
    if not blocked:
        cthy = U(5, 25)
        y = lm["y_notch"] - 0.016 * H
        for s in (-1, 1):
            c = (s * 0.011 * H, y)
            items.append(Item("thyroid", [Ellipsoid(c[0], c[1], lm["z_neck"] + 0.4 * 0.3 * hw,
                                                    0.007 * H, 0.014 * H, 0.007 * H)],
                               cthy * U(0.8, 1.2), c))

    # ---- thorax ---------------------------------------------------------------------------
    for e in lungs(body):
        items.append(Item("lungs", [e], U(0.2, 0.7), (e.cx, e.cy)))
    myo = U(3, 10) if rng.random() > 0.1 else U(0.6, 1.8)
    yc = yT[8] - 0.2 * v_t
    hs = U(0.85, 1.15)
    ax = 0.24 * cage * hs
    az = min(0.24 * cage, 0.3 * lm["D_ch"])
    heart = Ellipsoid(U(0.17, 0.27) * cage, yc, 0.6 * D(yc), ax, 0.36 * cage * hs, az,
                      -U(0.6, 0.95))
    items.append(Item("myocardium", [Shell(heart, 0.3 * ax)], myo, (heart.cx, heart.cy)))
    info["myocardium"] = myo

    # ---- abdomen --------------------------------------------------------------------------
    dome = yT[9] - 0.3 * v_t
    Lh = g.frac(g.LIVER_HEIGHT, age) * H * U(0.85, 1.2)
    Wl = body.W(dome + 0.4 * Lh)
    liver_c = U(6, 12)
    rl = Ellipsoid(-0.42 * Wl, dome + 0.47 * Lh, 0.52 * D(dome + 0.4 * Lh), 0.5 * Wl,
                   0.5 * Lh, 0.35 * D(dome + 0.4 * Lh), math.radians(U(10, 25)))
    ll = Ellipsoid(0.12 * Wl, dome + 0.26 * Lh, 0.62 * D(dome), 0.42 * Wl, 0.25 * Lh,
                   0.22 * D(dome), math.radians(-U(8, 20)))
    nz = smooth_noise(rng, (-Wl, Wl, dome, dome + Lh * 1.2), U(18, 40))
    het = U(0.08, 0.2)
    items.append(Item("liver", [rl, ll], liver_c, (rl.cx, rl.cy),
                      mod=lambda X, Y, nz=nz, het=het: np.clip(1 + het * nz(X, Y), 0.5, 1.6)))
    info["liver"] = liver_c
    ys = dome + 0.5 * v_t + 0.18 * Lh
    sp = Ellipsoid(0.68 * Wl, ys, 0.35 * D(ys), 0.2 * Wl, 0.28 * Lh * U(0.8, 1.1),
                   0.16 * D(ys), math.radians(-30))
    items.append(Item("spleen", [sp], U(2, 6), (sp.cx, sp.cy)))
    kl = g.frac(g.KIDNEY_LENGTH, age) * H * U(0.9, 1.1)
    kc = U(0.5, 1.5)
    for s in (-1, 1):
        top = yT[12] + (0.6 if s < 0 else 0.0) * v_t
        c = (s * (0.5 * lm["W_L"] + 0.018 * H + 0.2 * kl), top + 0.5 * kl)
        items.append(Item("kidneys", [Ellipsoid(c[0], c[1], 0.3 * D(c[1]), 0.22 * kl,
                                                0.5 * kl, 0.17 * kl, s * 0.25)], kc, c))
        if rng.random() < 0.15:
            items.append(Item("kidneys", [Ellipsoid(c[0] - s * 0.08 * kl, c[1], 0.32 * D(c[1]),
                                                    0.07 * kl, 0.1 * kl, 0.06 * kl)],
                               U(5, 15), c, record=False))
        if rng.random() < 0.3:
            a = (s * (0.5 * lm["W_L"] + 0.012 * H), top - 0.05 * kl)
            items.append(Item("adrenals", [Ellipsoid(a[0], a[1], 0.35 * D(a[1]), 0.1 * kl,
                                                     0.12 * kl, 0.06 * kl)], U(2, 5), a))
    items += bowel(body, rng, info)
    items += bladder_and_urine(body, rng, info)

    # ---- brown fat, injection site --------------------------------------------------------
    p_bat = 0.14 if age < 8 else 0.28
    if rng.random() < p_bat:
        cb = U(3, 9)
        where = [w for w in ("supraclavicular", "neck", "paravertebral", "axillary")
                 if rng.random() < {"supraclavicular": 0.95, "neck": 0.5, "paravertebral": 0.4,
                                    "axillary": 0.25}[w]]
        info["brown_fat"] = where
        ysh, Wsh = lm["y_sh"], lm["W_sh"]
        for s in (-1, 1):
            blobs = []
            for w in where:
                n = int(rng.integers(3, 7))
                for _ in range(n):
                    if w == "supraclavicular":
                        p = (s * U(0.3, 0.65) * Wsh, ysh + U(-0.02, 0.015) * H, 0.6 * D(ysh))
                    elif w == "neck":
                        p = (s * U(0.15, 0.35) * hw, ysh - U(0.005, 0.03) * H, 0.4 * D(ysh))
                    elif w == "paravertebral":
                        y = U(yT[1], yT[9])
                        p = (s * U(0.9, 1.5) * lm["W_L"], y, 0.15 * D(y))
                    else:
                        p = (s * 0.85 * Wsh, ysh + U(0.03, 0.06) * H, 0.45 * D(ysh))
                    r = U(0.006, 0.012) * H
                    blobs.append(Ellipsoid(p[0], p[1], p[2], r * U(0.8, 1.4), r, r * 0.7,
                                           U(0, 3)))
            for e in blobs:
                items.append(Item("brown_fat", [e], cb * U(0.6, 1.3), (e.cx, e.cy)))
    if rng.random() < 0.22:
        s = int(rng.choice([-1, 1]))
        side = "right" if s < 0 else "left"
        where = str(rng.choice(["hand", "wrist", "antecubital", "ankle", "foot"],
                               p=[0.35, 0.22, 0.25, 0.08, 0.1]))
        p = {"hand": lm[f"hand_{side}"], "wrist": lm[f"wrist_{side}"],
             "antecubital": lm[f"antecubital_{side}"], "ankle": lm[f"ankle_{side}"],
             "foot": lm[f"foot_{side}"]}[where]
        r = U(0.004, 0.009) * H
        items.append(Item("injection_site", [Ellipsoid(p[0], p[1], p[2] + r, r * U(1, 2.2), r,
                                                       r * 0.8)], U(10, 80), (p[0], p[1])))
        info["injection_site"] = f"{where} {side}"
    return items, info


def bowel(body: Body, rng: np.random.Generator, info: dict) -> list[Item]:
    lm, H, D = body.lm, body.H, body.D
    yL, yT = lm["yL"], lm["yT"]
    W = lm["W_w"]
    pattern = str(rng.choice(["none", "colon", "caecum", "small_bowel", "rectal", "mixed"],
                             p=[0.22, 0.25, 0.16, 0.14, 0.11, 0.12]))
    info["bowel"] = pattern
    if pattern == "none":
        return []
    U = rng.uniform
    r = 0.012 * H
    y_cae = lm["y_crest"] + 0.02 * H
    y_sig = lm["y_S1"] + 0.02 * H
    segs = {
        "ascending": [(-0.62 * W, y_cae), (-0.64 * W, yL[2]), (-0.58 * W, yL[1] - 0.3 * lm["v_l"])],
        "transverse": [(-0.55 * W, yL[1] - 0.3 * lm["v_l"]), (-0.2 * W, yL[3]),
                       (0.2 * W, yL[3] + U(-0.5, 1) * lm["v_l"]), (0.58 * W, yT[12])],
        "descending": [(0.6 * W, yT[12]), (0.66 * W, yL[3]), (0.6 * W, lm["y_crest"] + 0.01 * H)],
        "sigmoid": [(0.6 * W, lm["y_crest"] + 0.01 * H), (0.3 * W, y_sig - 0.01 * H),
                    (0.05 * W, y_sig + 0.01 * H)],
        "rectum": [(0.02 * W, y_sig + 0.005 * H), (0.0, lm["y_coccyx"] + 0.01 * H)],
    }
    zf = {"ascending": 0.45, "transverse": 0.75, "descending": 0.45, "sigmoid": 0.5,
          "rectum": 0.28}
    take = {
        "colon": ["ascending", "transverse", "descending", "sigmoid", "rectum"],
        "caecum": [],
        "small_bowel": [],
        "rectal": ["sigmoid", "rectum"] if rng.random() < 0.5 else ["rectum"],
        "mixed": ["ascending", "transverse"],
    }[pattern]
    out = []
    cb = U(1.5, 8)
    for name in take:
        if pattern == "colon" and rng.random() < 0.2:
            continue
        pts = [(x, y, zf[name] * D(y)) for x, y in segs[name]]
        nz = smooth_noise(rng, (-W, W, yT[10], lm["y_coccyx"] + 0.05 * H), U(25, 50))
        out.append(Item("bowel", [Chain(pts, [r * U(0.8, 1.2)] * len(pts), 0.9)], cb,
                        pts[len(pts) // 2][:2],
                        mod=lambda X, Y, nz=nz: np.clip(0.8 + 0.7 * nz(X, Y), 0.0, 2.0)))
    if pattern in ("caecum", "mixed"):
        c = (-0.55 * W, y_cae + U(-0.01, 0.01) * H)
        out.append(Item("bowel", [Ellipsoid(c[0], c[1], 0.5 * D(c[1]), 1.5 * r, 1.8 * r,
                                            1.3 * r, U(0, 3))], cb * U(1, 2), c))
    if pattern in ("small_bowel", "mixed"):
        for _ in range(int(rng.integers(3, 8))):
            x, y = U(-0.45, 0.45) * W, U(yL[2], lm["y_hip"] - 0.01 * H)
            pts = []
            ang = U(0, 2 * math.pi)
            for _ in range(int(rng.integers(3, 6))):
                pts.append((x, y, 0.62 * D(y)))
                ang += U(-1.5, 1.5)
                x = float(np.clip(x + 0.02 * H * math.cos(ang), -0.6 * W, 0.6 * W))
                y += 0.02 * H * math.sin(ang)
            out.append(Item("bowel", [Chain(pts, [0.6 * r] * len(pts), 0.9)], cb * U(0.6, 1.4),
                            pts[0][:2]))
    return out


def bladder_and_urine(body: Body, rng: np.random.Generator, info: dict) -> list[Item]:
    lm, H, D = body.lm, body.H, body.D
    U = rng.uniform
    out = []
    fill = float(rng.choice([U(0.0, 0.08), U(0.08, 0.5), U(0.5, 1.15)], p=[0.15, 0.45, 0.4]))
    vol = fill * g.bladder_capacity_ml(body.age) * 1000.0   # mm^3
    info["bladder_ml"] = round(vol / 1000.0, 1)
    if vol > 1500:
        k = (vol / (4 / 3 * math.pi * 1.1 * 0.9 * 0.85)) ** (1 / 3)
        ax, ay, az = 1.1 * k, 0.9 * k, 0.85 * k
        y = lm["y_pubis"] + 0.006 * H - ay
        c = (U(-0.01, 0.01) * H, y)
        dpel = D(lm["y_hip"])
        out.append(Item("bladder", [Ellipsoid(c[0], c[1], max(0.55 * dpel, az + 2), ax, ay, az)],
                        U(12, 60), c))
    if rng.random() < 0.15:
        n = int(rng.integers(1, 4))
        for _ in range(n):
            where = rng.random()
            if where < 0.5:
                p = (U(-0.03, 0.03) * H, lm["y_cr"] + U(-0.005, 0.02) * H, 0.3 * D(lm["y_cr"]))
            elif where < 0.8:
                s = int(rng.choice([-1, 1]))
                th = lm["thigh_right" if s < 0 else "thigh_left"]
                p = (th[0] + U(-0.02, 0.02) * H, th[1] + U(-0.05, 0.05) * H, 2 * th[2])
            else:
                p = (U(-0.05, 0.05) * H, lm["y_hip"] - U(0.0, 0.04) * H, D(lm["y_hip"]) + 1)
            r = U(0.003, 0.01) * H
            out.append(Item("contamination", [Ellipsoid(p[0], p[1], p[2], r * U(1, 2), r,
                                                        U(1, 3), U(0, 3))], U(20, 150),
                            (p[0], p[1])))
    return out


def tumour_items(body: Body, rng: np.random.Generator, n_nodes: int) -> tuple[list[Item],
                                                                                list[dict]]:
    """A MIBG-avid soft-tissue primary (adrenal, abdominal, thoracic, pelvic or cervical) and
    its nodes. Returns items and the soft-tissue site list."""
    lm, H, D = body.lm, body.H, body.D
    U = rng.uniform
    yT, yL = lm["yT"], lm["yL"]
    site = str(rng.choice(["adrenal_right", "adrenal_left", "abdominal", "thoracic", "pelvic",
                           "cervical"], p=[0.26, 0.24, 0.2, 0.15, 0.1, 0.05]))
    W = lm["W_w"]
    size = U(0.02, 0.055) * H
    if site.startswith("adrenal"):
        s = -1 if site.endswith("right") else 1
        c = (s * (0.3 * W + 0.3 * size), yT[12] + U(-0.5, 1.0) * lm["v_t"])
        z = 0.4 * D(c[1])
    elif site == "abdominal":
        c = (U(-0.25, 0.25) * W, U(yL[1], yL[4]))
        z = 0.45 * D(c[1])
    elif site == "thoracic":
        s = int(rng.choice([-1, 1]))
        c = (s * (0.5 * lm["W_L"] + 0.4 * size), U(yT[3], yT[10]))
        size *= 0.8
        z = 0.25 * D(c[1])
    elif site == "pelvic":
        c = (U(-0.15, 0.15) * W, lm["y_S1"] + U(0.01, 0.03) * H)
        size *= 0.8
        z = 0.35 * D(c[1])
    else:
        s = int(rng.choice([-1, 1]))
        c = (s * 0.25 * lm["hw"], lm["y_sh"] - U(0.01, 0.025) * H)
        size *= 0.5
        z = lm["z_neck"]
    ct = U(6, 25)
    a = size / 2
    prim = Ellipsoid(c[0], c[1], z, a * U(0.8, 1.2), a * U(0.8, 1.2), min(a, 0.35 * D(c[1])),
                     U(0, 3))
    nz = smooth_noise(rng, (c[0] - a * 2, c[0] + a * 2, c[1] - a * 2, c[1] + a * 2), a * 0.8)
    necrosis = U(0, 0.6)

    def mod(X, Y, nz=nz, c=c, a=a, necrosis=necrosis):
        rr = np.hypot(X - c[0], Y - c[1]) / a
        return np.clip((1 + 0.35 * nz(X, Y)) * (1 - necrosis * np.exp(-2 * rr * rr)), 0.1, 2)

    items = [Item("soft_tissue_tumour", [prim], ct, c, mod=mod)]
    sites = [{"site": site, "x": c[0], "y": c[1]}]
    chains = {
        "adrenal_right": [(-0.1 * W, yL[2]), (-0.05 * W, yL[4])],
        "adrenal_left": [(0.1 * W, yL[2]), (0.05 * W, yL[4])],
        "abdominal": [(0.0, yL[2]), (0.1 * W, yL[5])],
        "thoracic": [(0.15 * lm["cage"], yT[4]), (-0.15 * lm["cage"], yT[7])],
        "pelvic": [(0.3 * W, lm["y_S1"]), (-0.3 * W, lm["y_S1"])],
        "cervical": [(0.3 * lm["hw"], lm["y_sh"] - 0.02 * H), (0.3 * lm["hw"], lm["y_sh"])],
    }[site]
    for i in range(n_nodes):
        (x1, y1), (x2, y2) = chains
        t = (i + 0.5) / max(n_nodes, 1)
        p = (x1 + t * (x2 - x1) + U(-0.01, 0.01) * H, y1 + t * (y2 - y1) + U(-0.015, 0.015) * H)
        if i == n_nodes - 1 and rng.random() < 0.3:
            s = 1 if rng.random() < 0.7 else -1     # left supraclavicular (Virchow) node
            p = (s * 0.5 * lm["W_sh"], lm["y_sh"] + 0.005 * H)
        r = U(0.006, 0.013) * H
        zz = 0.45 * D(p[1])
        items.append(Item("nodes", [Ellipsoid(p[0], p[1], zz, r, r * U(0.8, 1.3), r)],
                          ct * U(0.5, 1.1), p))
        sites.append({"site": f"node_{site}_{i + 1}", "x": p[0], "y": p[1]})
    return items, sites
