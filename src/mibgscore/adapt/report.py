"""``report.html`` of an adapted model: cross-validated figures before and after, side by
side, the learning curve, and the fitted limits in words."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from mibgscore.anatomy.scheme import SegmentScheme, load_scheme
from mibgscore.grading.calibration import Calibration
from mibgscore.validation._helpers import number_text

ROWS = (("icc_a1", "SIOPEN total ICC(A,1)", 3), ("mae", "SIOPEN total MAE (points)", 2),
        ("bias", "Bland-Altman bias (auto - reference)", 2),
        ("weighted_kappa", "segment grades, pooled quadratic-weighted kappa", 3),
        ("threshold_3_agreement", "≤3 / >3 agreement", 3),
        ("normals_scored_0", "normal studies (reference 0) scored 0", 3))


def _fmt(value: Any, digits: int) -> str:
    return "–" if value is None else number_text(value, digits)


def _curve_png(curve: list[dict[str, Any]], before_mae: float) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.0), dpi=100)
    ax = fig.add_subplot()
    labels = [str(c["n_train"]) for c in curve]
    ax.plot(range(len(curve)), [c["mae"] for c in curve], "o-", label="adapted")
    ax.axhline(before_mae, color="grey", ls="--", label="shipped")
    ax.set_xticks(range(len(curve)), labels)
    ax.set_xlabel("training studies per fold")
    ax.set_ylabel("cross-validated MAE")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _limits_rows(calibration: Calibration, scheme: SegmentScheme) -> str:
    out = []
    for seg in load_scheme("siopen").segments:
        lim = calibration.limits(seg.key)
        focus = ("detector's own" if lim.focus_p is None else f"probability ≥ {lim.focus_p:.2f}")
        out.append(f"<tr><td>{html.escape(seg.name)}</td><td>{focus}</td>"
                   f"<td>{lim.min_fraction:.0%}</td><td>{lim.half:.0%}</td>"
                   f"<td>{lim.whole:.0%}</td></tr>")
    return "\n".join(out)


def render_report(metrics: dict[str, Any], calibration: Calibration,
                  scheme: SegmentScheme) -> str:
    """The self-contained HTML report of an adaptation."""
    cv = metrics["cross_validated"]
    b, a = cv["before"], cv["after"]
    rows = []
    for key, label, digits in ROWS:
        rows.append(f"<tr><td>{label}</td><td>{_fmt(b.get(key), digits)}</td>"
                    f"<td>{_fmt(a.get(key), digits)}</td></tr>")
    ci = (f"{_fmt(b['icc_a1_ci'][0], 3)} to {_fmt(b['icc_a1_ci'][1], 3)}",
          f"{_fmt(a['icc_a1_ci'][0], 3)} to {_fmt(a['icc_a1_ci'][1], 3)}")
    rows.insert(1, f"<tr><td>ICC 95 % CI</td><td>{ci[0]}</td><td>{ci[1]}</td></tr>")
    loa = (f"{_fmt(b['loa'][0], 1)} to {_fmt(b['loa'][1], 1)}",
           f"{_fmt(a['loa'][0], 1)} to {_fmt(a['loa'][1], 1)}")
    rows.insert(4, f"<tr><td>95 % limits of agreement</td><td>{loa[0]}</td>"
                   f"<td>{loa[1]}</td></tr>")
    full = metrics["cross_validated_full"]
    seg_rows = []
    for seg in load_scheme("siopen").segments:
        kb = full["before"]["siopen_segments"]["per_segment"][seg.key]["weighted_kappa"]
        ka = full["after"]["siopen_segments"]["per_segment"][seg.key]["weighted_kappa"]
        seg_rows.append(f"<tr><td>{html.escape(seg.name)}</td><td>{_fmt(kb, 3)}</td>"
                        f"<td>{_fmt(ka, 3)}</td></tr>")
    curve = metrics["learning_curve"]
    curve_rows = "\n".join(f"<tr><td>{c['n_train']}</td><td>{_fmt(c['mae'], 2)}</td>"
                           f"<td>{_fmt(c['icc_a1'], 3)}</td></tr>" for c in curve)
    png = _curve_png(curve, b["mae"]) if curve else ""
    splits = metrics["fitted"]["splits"]
    n_fail = len(metrics["failures"])
    unmatched = metrics["unmatched"]
    model = metrics["model"]
    base = metrics["base_model"]
    table = html.escape(scheme.name)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Adapted model {html.escape(model['name'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:.3em .6em}}
th{{background:#eee}}td:nth-child(n+2){{text-align:right}}</style></head><body>
<h1>Adapted model “{html.escape(model['name'])}”</h1>
<p>{metrics['n_studies']} studies of {metrics['n_patients']} patients, reference reader
<b>{html.escape(str(metrics['reader']))}</b>; patient-grouped {metrics['folds']}-fold
cross-validation, nested (the pull towards the shipped rules, λ, chosen inside each training
fold), seed {metrics['seed']}. Model SHA-256 <code>{model['sha256'][:16]}…</code>, base model
{html.escape(base.get('name', ''))} {html.escape(base.get('version', ''))}.</p>
<h2>How to read this</h2>
<p>Every figure below is measured on studies the limits were not fitted on: each fold's studies
are graded by limits fitted on the other folds. “Shipped” is the model before adaptation on the
same studies. Adopt the adapted model only if it is better on the figures that matter to you;
the learning curve shows whether more studies would still help.</p>
<h2>Agreement with the reference (cross-validated)</h2>
<table><tr><th>measure</th><th>shipped</th><th>adapted</th></tr>
{''.join(rows)}</table>
<h3>Per segment (quadratic-weighted kappa)</h3>
<table><tr><th>segment</th><th>shipped</th><th>adapted</th></tr>{''.join(seg_rows)}</table>
<h2>Learning curve</h2>
<table><tr><th>training studies per fold</th><th>MAE</th><th>ICC(A,1)</th></tr>{curve_rows}</table>
{f'<img alt="learning curve" src="data:image/png;base64,{png}">' if png else ''}
<h2>What was fitted (on all {metrics['n_studies']} studies)</h2>
<p>Limb split: the proximal segments hold the humerus up to {splits['upper']:.0%} of its length
and the femur up to {splits['lower']:.0%} (shipped: 50 %). Segment table: {table}.</p>
<table><tr><th>segment</th><th>a focus counts when</th><th>diffuse from</th><th>grade 5 from</th>
<th>grade 6 above</th></tr>{_limits_rows(calibration, scheme)}</table>
<p>Every grade of the adapted model is still computed from the lesion list: the same foci and
diffuse involvement, counted under these limits.</p>
<h2>Studies</h2>
<p>{n_fail} scan{'s' if n_fail != 1 else ''} could not be scored;
{len(unmatched['scans_without_reading'])} scored scan(s) had no reading;
{len(unmatched['readings_without_scan'])} reading(s) had no scan.</p>
</body></html>
"""
