"""The tables of one phantom's run (from the workers' records) as Markdown and JSON."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any

import numpy as np

from mibgscore.anatomy.scheme import SIOPEN_KEYS

from . import metrics
from .errors import KINDS, LIMB_KEYS, SUBKINDS

SHORT = {"skull": "skull", "thoracic_cage": "thorax", "spine": "spine", "pelvis": "pelvis",
         "right_upper_limb_proximal": "RUp", "right_upper_limb_distal": "RUd",
         "left_upper_limb_proximal": "LUp", "left_upper_limb_distal": "LUd",
         "right_lower_limb_proximal": "RLp", "right_lower_limb_distal": "RLd",
         "left_lower_limb_proximal": "LLp", "left_lower_limb_distal": "LLd"}

PERCENT = ("cut3", "normal0", "whole5")
"""Headline keys shown as percentages."""


def scored(records: list[dict]) -> list[dict]:
    """The records whose case was generated and scored."""
    return [r for r in records if "auto" in r]


def arrays(records: list[dict]) -> dict[str, np.ndarray]:
    """Truth and automatic totals and segment grades of the scored records."""
    ok = scored(records)
    seg = {w: np.array([[r[w]["siopen"][k] for k in SIOPEN_KEYS] for r in ok], int).reshape(
        len(ok), len(SIOPEN_KEYS)) for w in ("truth", "auto")}
    return {"t_seg": seg["truth"], "a_seg": seg["auto"],
            "t_tot": seg["truth"].sum(1), "a_tot": seg["auto"].sum(1),
            "t_cur": np.array([r["truth"]["curie_total"] for r in ok], int),
            "a_cur": np.array([r["auto"]["curie_total"] for r in ok], int)}


def focal_tables(records: list[dict]) -> dict[str, Any]:
    """Detection by focus size and false foci per scan."""
    ok = scored(records)
    foci: list[tuple[float | None, bool, bool]] = []
    false_all, false_normal = [], []
    for r in ok:
        t, a = r["truth"], r["auto"]
        diffuse_auto = {x["segment"] for x in a["lesions"] if x["kind"] == "diffuse"}
        missed = set(r["match"]["missed"])
        for i, f in enumerate(t["lesions"]):
            foci.append((f.get("diameter_mm"), i not in missed, f["siopen"] in diffuse_auto))
        focal = [x for x in a["lesions"] if x["kind"] == "focal"]
        fr = t["siopen_diffuse_fraction"]
        n_false = sum(1 for j in r["match"]["extra"]
                      if fr.get(focal[j]["segment"], 0.0) == 0 and
                      t["siopen"].get(focal[j]["segment"], 0) < 4)
        false_all.append(n_false)
        if t["siopen_total"] == 0:
            false_normal.append(n_false)
    n_truth = len(foci)
    found = sum(1 for f in foci if f[1])

    def per_scan(v):
        return {"scans": len(v), "mean": float(np.mean(v)) if v else math.nan,
                "total": int(sum(v)), "scans_with_any": int(sum(1 for x in v if x))}

    return {"by_size": metrics.focal_by_size(foci), "n_truth": n_truth, "found": found,
            "sensitivity": found / n_truth if n_truth else math.nan,
            "false_all": per_scan(false_all), "false_normal": per_scan(false_normal)}


def extent_table(records: list[dict]) -> list[dict]:
    """Extent error of segments with diffuse truth, by truth grade."""
    pairs = []
    for r in scored(records):
        t, a = r["truth"], r["auto"]
        afr = {x["segment"]: x["fraction"] for x in a["lesions"] if x["kind"] == "diffuse"}
        for k in SIOPEN_KEYS:
            f = t["siopen_diffuse_fraction"].get(k, 0.0)
            if f > 0:
                pairs.append((t["siopen"][k], a["siopen"][k], f, afr.get(k)))
    return metrics.extent_by_grade(pairs)


def error_kinds(records: list[dict]) -> dict[str, Any]:
    """The error-kind table: per (kind, sub-kind) segments, scans, points, eligible."""
    ok = scored(records)
    n_normal = sum(1 for r in ok if r["truth"]["siopen_total"] == 0)
    eligible: Counter = Counter()
    for r in ok:
        t = r["truth"]
        ch = r["errors"]["checks"]
        eligible[SUBKINDS["a"][5]] += bool(ch.get("soft_tissue_truth_none"))
        eligible[SUBKINDS["a"][6]] += ch.get("heart_distance_mm") is not None
        for k in SIOPEN_KEYS:
            g, diffuse = t["siopen"][k], t["siopen_diffuse_fraction"].get(k, 0.0) > 0
            eligible[SUBKINDS["b"][0]] += g == 6
            eligible[SUBKINDS["b"][1]] += g == 5
            eligible["c"] += 1 <= g <= 3 and not diffuse
            eligible[SUBKINDS["d"][0 if "upper" in k else 1]] += k in LIMB_KEYS and g >= 4
            eligible["e"] += g >= 4
            eligible["a"] += g <= 3 and not diffuse
            eligible[SUBKINDS["e"][2]] += g <= 3 and not diffuse
    total_points = int(sum(abs(r["truth"]["siopen"][k] - r["auto"]["siopen"][k])
                           for r in ok for k in SIOPEN_KEYS))
    rows = []
    for kind, subs in SUBKINDS.items():
        for sub in subs:
            ev = [(r, e) for r in ok for e in r["errors"]["events"]
                  if e["kind"] == kind and e["sub"] == sub]
            scale = "scans" if sub in SUBKINDS["a"][5:] else "segments"
            elig = eligible.get(sub, eligible.get(kind, 0))
            on_segments = sub not in SUBKINDS["a"][5:] and kind != "d"
            points = int(sum(e["points"] for _, e in ev))
            rows.append({
                "kind": kind, "name": KINDS[kind], "sub": sub, "count": len(ev), "unit": scale,
                "scans": len({r["seed"] for r, _ in ev}),
                "normal_scans": len({r["seed"] for r, _ in ev
                                     if r["truth"]["siopen_total"] == 0}),
                "points": points if on_segments else None,
                "points_share": points / total_points if on_segments and total_points else None,
                "curie_points": points if sub == SUBKINDS["a"][5] else None,
                "eligible": elig, "rate": len(ev) / elig if elig else None})
    near = Counter(e.get("near") or "none within 30 mm" for r in ok if r["truth"]["findings"]
                   for e in r["errors"]["events"] if e["kind"] == "a"
                   and e["segment"] in SIOPEN_KEYS)
    heart = [r["errors"]["checks"]["heart_distance_mm"] for r in ok
             if r["errors"]["checks"].get("heart_distance_mm") is not None]
    limbs = [(r, e) for r in ok for e in r["errors"]["events"] if e["kind"] == "d"]
    return {"rows": rows, "total_points": total_points, "normal_scans": n_normal,
            "near": dict(near.most_common()), "heart_mm": heart,
            "heart_within": sum(1 for d in heart if d <= 40.0),
            "limb_lost": [{"seed": r["seed"], "segment": e["segment"], "truth": e["truth"],
                           "auto": e["auto"], "pose": _pose(r["truth"])} for r, e in limbs]}


def _pose(truth: dict) -> str:
    m = truth.get("meta") or {}
    pose = m.get("arm_pose")
    abd = m.get("abduction_deg")
    p = "/".join(str(x) for x in pose) if isinstance(pose, (list, tuple)) else str(pose or "?")
    if isinstance(abd, (list, tuple)) and abd:
        p += " (" + "/".join("?" if x is None else f"{float(x):.0f}" for x in abd) + " deg)"
    return p


def worst(records: list[dict], k: int) -> list[dict]:
    """The ``k`` scored records with the largest |auto - truth| SIOPEN total, worst first
    (ties: the larger summed absolute segment error first)."""
    def badness(r: dict) -> tuple:
        t, a = r["truth"]["siopen"], r["auto"]["siopen"]
        return (-abs(r["auto"]["siopen_total"] - r["truth"]["siopen_total"]),
                -sum(abs(t[s] - a[s]) for s in SIOPEN_KEYS), r["seed"])

    return sorted(scored(records), key=badness)[:k]


def summarise(records: list[dict]) -> dict[str, Any]:
    """Every table of the page, as data."""
    with warnings.catch_warnings():  # kappa of a segment with one grade only: NaN, said so
        warnings.simplefilter("ignore")
        return _summarise(records)


def _summarise(records: list[dict]) -> dict[str, Any]:
    ar = arrays(records)
    h = metrics.headline(ar["t_tot"], ar["a_tot"], ar["t_seg"], ar["a_seg"], ar["t_cur"],
                         ar["a_cur"])
    return {
        "headline": h, "targets": metrics.target_results(h),
        "per_segment": metrics.per_segment(ar["t_seg"], ar["a_seg"], SIOPEN_KEYS),
        "confusion": metrics.confusion(ar["t_seg"], ar["a_seg"]).tolist(),
        "focal": focal_tables(records), "extent": extent_table(records),
        "errors": error_kinds(records),
        "crashes": [{"seed": r["seed"], "stage": r["stage"], "error": r["error"]}
                    for r in records if r.get("error")],
    }


# Markdown

def fmt(v: Any, nd: int = 3) -> str:
    """A number for a table (n/a for None and NaN)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.{nd}f}"


def pct(v: Any) -> str:
    """A share as a percentage (n/a for None and NaN)."""
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f} %"


def goal_text(t: metrics.Target) -> str:
    """A target as written in the tables (shares as percentages)."""
    return f"{t.op} {pct(t.goal) if t.key in PERCENT else t.goal}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "pass" if ok else "**FAIL**"


def headline_md(s: dict) -> list[str]:
    """Section 1: the headline table with targets."""
    h, tg = s["headline"], s["targets"]
    lo, hi = h["icc_ci"]
    clo, chi = h["curie_icc_ci"]
    klo, khi = h["kappa_ci"]
    value = {
        "icc": f"{fmt(h['icc'])} (95 % CI {fmt(lo)} to {fmt(hi)})",
        "mae": fmt(h["mae"], 2),
        "kappa": f"{fmt(h['kappa'])} (95 % CI {fmt(klo)} to {fmt(khi)}, bootstrap over "
                 "studies)",
        "cut3": f"{pct(h['cut3'])} (sensitivity {pct(h['cut3_sensitivity'])}, specificity "
                f"{pct(h['cut3_specificity'])})",
        "normal0": f"{pct(h['normal0'])} ({h['normal_zero']} of {h['normal_n']})",
        "whole5": f"{pct(h['whole5'])} ({h['whole_ge5']} of {h['whole_n']})",
        "curie_icc": f"{fmt(h['curie_icc'])} (95 % CI {fmt(clo)} to {fmt(chi)})",
    }
    out = ["| measure | value | target | met |", "|---|---|---|---|"]
    for t in metrics.TARGETS:
        out.append(f"| {t.label} | {value[t.key]} | {goal_text(t)} | {_verdict(tg[t.key])} |")
        if t.key == "mae":
            out.append(f"| Bland-Altman bias (auto - truth) | {fmt(h['bias'], 2)} | | |")
            out.append(f"| Bland-Altman 95 % limits of agreement | {fmt(h['loa'][0], 2)} to "
                       f"{fmt(h['loa'][1], 2)} | | |")
        if t.key == "kappa":
            out.append(f"| segment grades, exact agreement | {pct(h['segment_exact'])} | | |")
    out.append(f"| Curie total MAE | {fmt(h['curie_mae'], 2)} | | |")
    return out


def segments_md(s: dict) -> list[str]:
    """Section 2: per-segment kappa, bias, MAE."""
    out = ["| segment | truth mean | auto mean | bias | MAE | exact | weighted kappa |",
           "|---|---|---|---|---|---|---|"]
    for p in s["per_segment"]:
        out.append(f"| {p['segment']} | {fmt(p['truth_mean'], 2)} | {fmt(p['auto_mean'], 2)} | "
                   f"{fmt(p['bias'], 2)} | {fmt(p['mae'], 2)} | {pct(p['exact'])} | "
                   f"{fmt(p['kappa'])} |")
    return out


def confusion_md(s: dict) -> list[str]:
    """Section 3: truth rows x automatic columns."""
    m = s["confusion"]
    out = ["| truth \\ auto | " + " | ".join(str(g) for g in range(len(m))) + " | n |",
           "|---" * (len(m) + 2) + "|"]
    for g, row in enumerate(m):
        cells = [f"**{v}**" if j == g else str(v) for j, v in enumerate(row)]
        out.append(f"| {g} | " + " | ".join(cells) + f" | {sum(row)} |")
    return out


def focal_md(s: dict) -> list[str]:
    """Section 4: detection by focus diameter, false foci per scan."""
    f = s["focal"]
    out = [f"Truth foci {f['n_truth']}, found {f['found']} ({pct(f['sensitivity'])}): an "
           f"automatic focus within {metrics.MATCH_MM:g} mm (one-to-one, nearest first).", "",
           "| focus diameter | truth foci | found | sensitivity | missed, in a segment graded "
           "diffuse |", "|---|---|---|---|---|"]
    for b in f["by_size"]:
        out.append(f"| {b['bin']} | {b['n']} | {b['found']} | {pct(b['sensitivity'])} | "
                   f"{b['missed_in_diffuse']} |")
    out += ["", "| false foci (automatic, matching no truth focus, in segments without "
                "truth diffuse disease or > 3 foci) | scans | per scan | total | scans with "
                "any |", "|---|---|---|---|---|"]
    for name, v in (("all scans", f["false_all"]), ("normal scans", f["false_normal"])):
        out.append(f"| {name} | {v['scans']} | {fmt(v['mean'], 2)} | {v['total']} | "
                   f"{v['scans_with_any']} |")
    return out


def extent_md(s: dict) -> list[str]:
    """Section 5: extent error by truth grade."""
    out = ["Segments whose truth has diffuse involvement, by truth grade.", "",
           "| truth grade | segments | mean auto grade | graded exactly | graded >= 5 | graded "
           "lower | truth diffuse fraction | auto diffuse fraction |",
           "|---|---|---|---|---|---|---|---|"]
    for e in s["extent"]:
        if not e["n"]:
            out.append(f"| {e['truth_grade']} | 0 | | | | | | |")
            continue
        out.append(f"| {e['truth_grade']} | {e['n']} | {fmt(e['auto_mean'], 2)} | "
                   f"{pct(e['exact'])} | {pct(e['ge5'])} | {pct(e['lower'])} | "
                   f"{fmt(e['truth_fraction'], 2)} | {fmt(e['auto_fraction'], 2)} |")
    return out


def errors_md(s: dict) -> list[str]:
    """Section 6: the error-kind table."""
    e = s["errors"]
    out = ["Each segment graded wrong has one primary kind (a, b, c, e: their points add up to "
           f"the {e['total_points']} points of absolute segment error); (d) overlaps them. "
           "*rate*: of the segments (scans) where the kind can happen: (a) truth 0-3 "
           "discrete; (b) truth 6 / 5; (c) truth 1-3 discrete; (d) limb segments with truth "
           ">= 4; (e) truth >= 4 (the neighbour row: truth 0-3 discrete); soft tissue: scans "
           "without a truth soft-tissue tumour; heart: scans where truth and result both have "
           "one. A lesion is *unexplained* (kind a) when it is a focus farther than 20 mm from "
           "every truth focus, or diffuse in a segment without diffuse truth and none beside "
           "it.", "",
           "| kind | where / how | count | unit | scans | normal scans | points (share) | "
           "rate |", "|---|---|---|---|---|---|---|---|"]
    for r in e["rows"]:
        pts = ("" if r["points"] is None else f"{r['points']} ({pct(r['points_share'])})")
        if r["curie_points"] is not None:
            pts = f"{r['curie_points']} Curie"
        out.append(f"| ({r['kind']}) {r['name']} | {r['sub']} | {r['count']} | {r['unit']} | "
                   f"{r['scans']} | {r['normal_scans']} | {pts} | "
                   f"{pct(r['rate'])} of {r['eligible']} |")
    hm = e["heart_mm"]
    out += ["", f"Heart: the automatic heart finding lies within 40 mm of the truth heart in "
                f"{e['heart_within']} of {len(hm)} scans where both exist"
                + (f" (median distance {np.median(hm):.0f} mm)." if hm else ".")]
    if e["near"]:
        out += ["", "Kind (a) segments by the truth normal-uptake finding nearest to the "
                    "unexplained lesion (where the phantom gives positions): "
                + ", ".join(f"{k} {v}" for k, v in e["near"].items()) + "."]
    if e["limb_lost"]:
        out += ["", "Limbs lost (kind d):", "", "| seed | segment | truth | auto | arm pose "
                "(right/left, abduction) |", "|---|---|---|---|---|"]
        out += [f"| {x['seed']} | {x['segment']} | {x['truth']} | {x['auto']} | {x['pose']} |"
                for x in e["limb_lost"]]
    return out


def _kinds_of(r: dict) -> str:
    c = Counter(e["kind"] for e in r["errors"]["events"])
    return " ".join(f"{k}x{v}" for k, v in sorted(c.items())) or "-"


def worst_md(rows: list[dict], images: dict[int, str]) -> list[str]:
    """Section 7: the worst studies with per-segment truth/auto and their overlays."""
    if not rows:
        return ["None shown (--worst 0, or no case scored)."]
    out = ["Per segment: truth/auto, in the order " + ", ".join(SHORT.values()) + ".", "",
           "| # | seed | category | age | matrix, pixel | arm pose (right/left, abduction) | "
           "truth | auto | segments | error kinds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for j, r in enumerate(rows, start=1):
        t, a, m = r["truth"], r["auto"], r["truth"]["meta"]
        segs = " ".join(f"{t['siopen'][k]}/{a['siopen'][k]}" for k in SIOPEN_KEYS)
        age = m.get("age_years")
        mat = m.get("matrix") or ["?", "?"]
        sp = m.get("spacing_rc_mm") or [math.nan]
        ff = ", feet first" if m.get("feet_first") else ""
        out.append(f"| {j} | {r['seed']} | {t['category']} | {fmt(age, 1)} | "
                   f"{mat[0]}x{mat[1]}, {sp[0]:.2f} mm{ff} | {_pose(t)} | {t['siopen_total']} | "
                   f"{a['siopen_total']} | {segs} | {_kinds_of(r)} |")
    out.append("")
    for j, r in enumerate(rows, start=1):
        if r["seed"] in images:
            out += [f"![worst {j}: seed {r['seed']}]({images[r['seed']]})", ""]
    return out


def crashes_md(s: dict) -> list[str]:
    """The cases the generator or scorer crashed on (findings of the benchmark)."""
    if not s["crashes"]:
        return ["None: every case was generated and scored."]
    return [f"- seed {c['seed']} ({c['stage']}): {c['error']}" for c in s["crashes"]]


def render(s: dict, header: list[str], worst_rows: list[dict], images: dict[int, str]
           ) -> str:
    """The whole page."""
    parts = [*header, "", "## 1. Headline", "", *headline_md(s), "",
             "## 2. Per segment", "", *segments_md(s), "",
             "## 3. Confusion matrix of SIOPEN segment grades", "",
             "Rows: truth grade; columns: automatic grade; diagonal in bold.", "",
             *confusion_md(s), "",
             "## 4. Focal detection", "", *focal_md(s), "",
             "## 5. Extent error by truth grade", "", *extent_md(s), "",
             "## 6. Error kinds", "", *errors_md(s), "",
             f"## 7. The {len(worst_rows)} worst studies (|auto - truth| SIOPEN total)", "",
             *worst_md(worst_rows, images), "",
             "## Crashes", "", *crashes_md(s), ""]
    return "\n".join(parts)


def jsonable(x: Any) -> Any:
    """NaN and infinities as None, numpy as Python, recursively."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x
