"""The validation report: one self-contained HTML page (plots embedded), optionally a PDF.

Rendering only: the values come from :mod:`~mibgscore.validation.cohort`, the measures from
:mod:`~mibgscore.validation.stats`. The plots are drawn on matplotlib's Agg canvas through the
object-oriented API, so no global backend is switched and no pyplot state is kept.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.validation._helpers import number_text
from mibgscore.validation.cohort import paired_values

logger = logging.getLogger(__name__)

SIOPEN_NAMES = {
    "skull": "Skull", "thoracic_cage": "Thoracic cage", "spine": "Spine", "pelvis": "Pelvis",
    "right_upper_limb_proximal": "R upper limb, proximal",
    "right_upper_limb_distal": "R upper limb, distal",
    "left_upper_limb_proximal": "L upper limb, proximal",
    "left_upper_limb_distal": "L upper limb, distal",
    "right_lower_limb_proximal": "R lower limb, proximal",
    "right_lower_limb_distal": "R lower limb, distal",
    "left_lower_limb_proximal": "L lower limb, proximal",
    "left_lower_limb_distal": "L lower limb, distal",
}
CURIE_NAMES = {
    "head": "Head", "cervical_thoracic_spine": "Cervical + thoracic spine",
    "ribs_sternum": "Ribs, sternum", "lumbar_sacral_spine": "Lumbar + sacral spine",
    "pelvis": "Pelvis", "upper_arms": "Upper arms", "forearms_hands": "Forearms, hands",
    "thighs": "Thighs", "legs_feet": "Legs, feet", "soft_tissue": "Soft tissue",
}


def _figure(figsize: tuple[float, float]):
    """A matplotlib Figure on its own Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _file_png(path: str | Path, max_width: int = 900) -> str | None:
    """A PNG file as a data URI, shrunk to ``max_width`` pixels to keep the report light."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.width > max_width:
                im = im.resize((max_width, round(im.height * max_width / im.width)),
                               Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, format="PNG", optimize=True)
    except (OSError, UnidentifiedImageError):
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _scatter_and_bland_altman(cohort, key: str, title: str, top: int, block: dict) -> str:
    t, r = paired_values(cohort, key)
    fig = _figure((10, 4.2))
    ax1, ax2 = fig.subplots(1, 2)
    pairs, counts = np.unique(np.stack([r, t], axis=1), axis=0, return_counts=True)
    ax1.plot([0, top], [0, top], color="0.6", lw=1, ls="--", label="identity (perfect agreement)")
    ax1.scatter(pairs[:, 0], pairs[:, 1], s=18 + 14 * (counts - 1), color="#1f5f99", alpha=0.7,
                edgecolor="white", linewidth=0.5)
    ax1.set_xlim(-0.5, top + 0.5)
    ax1.set_ylim(-0.5, top + 0.5)
    ax1.set_aspect("equal")
    ax1.set_xlabel(f"{title} - {cohort.reference}")
    ax1.set_ylabel(f"{title} - {cohort.test}")
    ax1.set_title(f"{title}: {cohort.test} vs {cohort.reference}\n(marker area ~ number of "
                  "studies)", fontsize=10)
    ax1.legend(loc="upper left", fontsize=8, frameon=False)
    ax1.grid(alpha=0.25)
    mean = (t + r) / 2
    diff = t - r
    pts, cnt = np.unique(np.stack([mean, diff], axis=1), axis=0, return_counts=True)
    ax2.scatter(pts[:, 0], pts[:, 1], s=18 + 14 * (cnt - 1), color="#1f5f99", alpha=0.7,
                edgecolor="white", linewidth=0.5)
    bias = block.get("bias")
    loa = block.get("loa") or [None, None]
    if bias is not None:
        ax2.axhline(bias, color="#c0392b", lw=1.4, label=f"bias {bias:+.2f}")
    for v, name in zip(loa, ("lower", "upper"), strict=True):
        if v is not None:
            ax2.axhline(v, color="#c0392b", lw=1, ls="--",
                        label=f"95 % limits of agreement ({v:+.2f})" if name == "lower"
                        else f"({v:+.2f})")
    ax2.axhline(0, color="0.6", lw=0.8)
    ax2.set_xlabel(f"mean of {cohort.test} and {cohort.reference}")
    ax2.set_ylabel(f"{cohort.test} - {cohort.reference}")
    ax2.set_title(f"{title}: Bland-Altman plot", fontsize=10)
    ax2.legend(loc="upper left", fontsize=8, frameon=False)
    ax2.grid(alpha=0.25)
    fig.tight_layout()
    return _png(fig)


def _confusion_grid(seg_block: dict, names: dict[str, str], max_grade: int, cohort,
                    ncols: int) -> str:
    keys = list(seg_block["per_segment"])
    nrows = int(np.ceil(len(keys) / ncols))
    size = 2.0 + 0.1 * max(0, max_grade - 3)  # room for the grades: SIOPEN 2.3, Curie 2.0
    fig = _figure((size * ncols, (size + 0.35) * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys, strict=False):
        block = seg_block["per_segment"][key]
        m = np.asarray(block["confusion"], dtype=float)
        shown = np.log1p(m)
        ax.imshow(shown, cmap="Blues", origin="lower", vmin=0, vmax=max(np.log1p(m.max()), 1))
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if m[i, j]:
                    ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if shown[i, j] > 0.6 * shown.max() else "black")
        kappa = block["weighted_kappa"]
        ax.set_title(f"{names.get(key, key)}\nkappa {kappa:.2f}" if kappa is not None
                     else names.get(key, key), fontsize=7.5)
        ax.set_xticks(range(max_grade + 1))
        ax.set_yticks(range(max_grade + 1))
        ax.tick_params(labelsize=6, length=2)
    fig.supxlabel(f"grade by {cohort.test}", fontsize=9)
    fig.supylabel(f"grade by {cohort.reference}", fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.6 / fig.get_figheight(),
                        top=1 - 0.45 / fig.get_figheight(), wspace=0.3, hspace=0.6)
    return _png(fig)


def _kappa_forest(seg_block: dict, names: dict[str, str]) -> str:
    keys = list(seg_block["per_segment"])
    fig = _figure((6.5, 0.32 * len(keys) + 1.0))
    ax = fig.subplots()
    for i, key in enumerate(keys):
        b = seg_block["per_segment"][key]
        k, ci = b["weighted_kappa"], b["weighted_kappa_ci"]
        y = len(keys) - i
        if ci and ci[0] is not None and ci[1] is not None:
            ax.plot(ci, [y, y], color="#1f5f99", lw=1.5)
        if k is not None:
            ax.plot(k, y, "o", color="#1f5f99", ms=5)
    k = seg_block["weighted_kappa"]
    if k is not None:
        ax.axvline(k, color="#c0392b", lw=1, ls="--", label=f"all segments pooled ({k:.2f})")
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    for x in (0.6, 0.8):
        ax.axvline(x, color="0.85", lw=0.8, zorder=0)
    ax.set_yticks(range(len(keys), 0, -1))
    ax.set_yticklabels([names.get(k, k) for k in keys], fontsize=8)
    ax.set_xlim(min(0.0, ax.get_xlim()[0]), 1.02)
    ax.set_xlabel("quadratic-weighted kappa (95 % bootstrap CI)")
    fig.tight_layout()
    return _png(fig)


def _readers_plot(readers: dict) -> str:
    rows = [(f"{p['a']} vs {p['b']}", p, "#7f8c8d") for p in readers["pairs"]]
    rows += [(f"{p['a']} vs {p['b']}", p, "#1f5f99") for p in readers.get("software_vs_readers",
                                                                           [])]
    fig = _figure((6.5, 0.4 * len(rows) + 1.0))
    ax = fig.subplots()
    for i, (_label, p, color) in enumerate(rows):
        y = len(rows) - i
        ci = p.get("icc_a1_ci") or [None, None]
        if ci[0] is not None and ci[1] is not None:
            ax.plot(ci, [y, y], color=color, lw=1.5)
        if p.get("icc_a1") is not None:
            ax.plot(p["icc_a1"], y, "o", color=color, ms=6)
    ax.set_yticks(range(len(rows), 0, -1))
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.set_xlabel("ICC(A,1) on the SIOPEN total (95 % CI); grey: physician pairs, "
                  "blue: software", fontsize=8)
    lows = [v for _, p, _ in rows for v in ((p.get("icc_a1_ci") or [None])[0], p.get("icc_a1"))
            if v is not None]
    low = min(lows) if lows else 0.0
    span = 1.0 - low
    ax.set_xlim(max(-1.0, low - 0.1 * span - 0.005), 1.0 + 0.04 * span + 0.001)
    ax.axvline(1.0, color="0.7", lw=0.8)
    ax.grid(alpha=0.25, axis="x")
    fig.tight_layout()
    return _png(fig)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    try:
        return number_text(float(value), digits)
    except (TypeError, ValueError):
        return str(value)


def plural(n: Any, one: str, many: str | None = None) -> str:
    """``n`` and the noun it counts: ``1 study``, ``2 studies``, ``0 studies``.

    Examples
    --------
    >>> plural(1, "study", "studies"), plural(3, "pair"), plural(None, "study", "studies")
    ('1 study', '3 pairs', '– studies')
    """
    many = many or f"{one}s"
    if n is None:
        return f"– {many}"
    return f"{n} {one if int(n) == 1 else many}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f} %"


def _ci(pair: Any, digits: int = 2) -> str:
    if not pair or pair[0] is None or pair[1] is None:
        return "–"
    return f"{number_text(pair[0], digits)} to {number_text(pair[1], digits)}"


def _describe_icc(value: float | None) -> str:
    """Koo & Li (J Chiropr Med 2016) wording for an ICC."""
    if value is None:
        return "not estimable"
    if value >= 0.9:
        return "excellent"
    if value >= 0.75:
        return "good"
    if value >= 0.5:
        return "moderate"
    return "poor"


def _describe_kappa(value: float | None) -> str:
    """Landis & Koch (Biometrics 1977) wording for a kappa."""
    if value is None:
        return "not estimable"
    for bound, word in ((0.8, "almost perfect"), (0.6, "substantial"), (0.4, "moderate"),
                        (0.2, "fair"), (0.0, "slight")):
        if value > bound:
            return word
    return "poor"


def _discordant_context(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        segments = []
        for key in SIOPEN_KEYS:
            a, b = row.get(f"{key}_test"), row.get(f"{key}_reference")
            segments.append({"name": SIOPEN_NAMES[key], "test": a, "reference": b,
                             "diff": None if a is None or b is None else a - b})
        curie = []
        for key in CURIE_KEYS:
            a, b = row.get(f"curie_{key}_test"), row.get(f"curie_{key}_reference")
            if a is not None and b is not None:
                curie.append({"name": CURIE_NAMES[key], "test": a, "reference": b,
                              "diff": a - b})
        out.append({**row, "segments": segments, "curie": curie,
                    "overlay_src": _file_png(row["overlay"]) if row.get("overlay") else None})
    return out


def render_html(metrics: dict[str, Any], discordant: list[dict[str, Any]], cohort,
                *, notes: list[str] | None = None, scoring_notes: list[str] | None = None,
                schemes: tuple[SegmentScheme, SegmentScheme] | None = None) -> str:
    """The report as one HTML string, plots embedded as PNG data URIs.

    ``notes`` say how the reference file was read; ``scoring_notes`` what to know about the
    segment tables and models that scored the automatic results; ``schemes`` the SIOPEN and
    Curie tables in use (the bundled ones by default), whose ``max_grade`` and ``max_total``
    bound the plots and the methods' text.
    """
    import jinja2

    from mibgscore import __version__

    siopen, curie = schemes or (load_scheme("siopen"), load_scheme("curie"))
    figures: dict[str, str] = {}
    figures["siopen"] = _scatter_and_bland_altman(cohort, "siopen_total", "SIOPEN total",
                                                  siopen.max_total, metrics["siopen_total"])
    figures["siopen_kappa"] = _kappa_forest(metrics["siopen_segments"], SIOPEN_NAMES)
    figures["siopen_confusion"] = _confusion_grid(metrics["siopen_segments"], SIOPEN_NAMES,
                                                  siopen.max_grade, cohort, 4)
    if metrics.get("curie_total"):
        figures["curie"] = _scatter_and_bland_altman(cohort, "curie_total", "Curie total",
                                                     curie.max_total, metrics["curie_total"])
        figures["curie_kappa"] = _kappa_forest(metrics["curie_segments"], CURIE_NAMES)
        figures["curie_confusion"] = _confusion_grid(metrics["curie_segments"], CURIE_NAMES,
                                                     curie.max_grade, cohort, 5)
    if metrics.get("readers"):
        figures["readers"] = _readers_plot(metrics["readers"])
    text = (resources.files("mibgscore.validation.templates")
            .joinpath("report.html").read_text(encoding="utf-8"))
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=_fmt, pct=_pct, ci=_ci, plural=plural)
    template = env.from_string(text)
    return template.render(
        m=metrics, fig=figures, test=cohort.test, reference=cohort.reference,
        discordant=_discordant_context(discordant), notes=notes or [],
        scoring_notes=scoring_notes or [],
        siopen_names=SIOPEN_NAMES, curie_names=CURIE_NAMES, siopen=siopen, curie=curie,
        icc_words=_describe_icc, kappa_words=_describe_kappa,
        version=__version__, today=dt.date.today().isoformat(),
    )


def write_report(metrics: dict[str, Any], discordant: list[dict[str, Any]], cohort,
                 out_dir: Path, *, pdf: bool = False, notes: list[str] | None = None,
                 scoring_notes: list[str] | None = None,
                 schemes: tuple[SegmentScheme, SegmentScheme] | None = None) -> dict[str, str]:
    """Write ``report.html`` (and ``report.pdf`` with ``pdf``) into ``out_dir``; the keyword
    arguments are :func:`render_html`'s.

    Returns
    -------
    dict
        ``{"report": path, "pdf": path}`` for what was written.
    """
    html = render_html(metrics, discordant, cohort, notes=notes, scoring_notes=scoring_notes,
                       schemes=schemes)
    target = Path(out_dir) / "report.html"
    target.write_text(html, encoding="utf-8")
    outputs = {"report": str(target)}
    if pdf:
        from weasyprint import HTML

        pdf_path = Path(out_dir) / "report.pdf"
        HTML(string=html, base_url=str(out_dir)).write_pdf(pdf_path)
        outputs["pdf"] = str(pdf_path)
    return outputs
