"""The reading report as HTML (one Jinja2 template) and as PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
from functools import cache
from typing import Any

from mibgscore.anatomy.scheme import load_scheme
from mibgscore.report._labels import LABELS
from mibgscore.report.types import ReadingReport
from mibgscore.result import ModelInfo

logger = logging.getLogger(__name__)

TEMPLATE = "reading.html"


def reading_context(report: ReadingReport) -> dict[str, Any]:
    """Everything the template shows, as plain strings and numbers.

    Parameters
    ----------
    report : ReadingReport
        The reading.

    Returns
    -------
    dict
        ``t`` (labels in the report's language), ``patient``, ``study``, ``siopen_rows`` and
        ``curie_rows`` (name, automatic, final, edited, prior, change), totals, categories,
        ``prior``, ``overlay`` (data URI or None), ``status``, ``signature``, ``amendments``,
        ``automatic_model`` (the line naming the model that scored the study, or None),
        ``siopen_max_total`` and ``curie_max_total`` (the totals' scales, 72 and 30).
    """
    lang = report.language
    siopen_scheme, curie_scheme = load_scheme("siopen"), load_scheme("curie")
    t = dict(LABELS[lang])
    t["siopen_table"] = t["siopen_table"].format(max_grade=siopen_scheme.max_grade)
    t["curie_table"] = t["curie_table"].format(max_grade=curie_scheme.max_grade)
    auto = report.automatic_result
    prior = report.prior

    def rows(scheme: Any, final: dict[str, int], edited: dict[str, bool],
             auto_grades: dict[str, int] | None, prior_grades: dict[str, int] | None
             ) -> list[dict[str, Any]]:
        out = []
        for seg in scheme.segments:
            k = seg.key
            p = None if prior_grades is None else prior_grades[k]
            out.append({
                "key": k, "name": seg.name_in(lang), "final": final[k], "edited": edited[k],
                "automatic": None if auto_grades is None else auto_grades[k],
                "confidence": None if auto is None or scheme is curie_scheme
                else auto.siopen_confidence.get(k),
                "prior": p, "change": None if p is None else _signed(final[k] - p),
            })
        return out

    siopen_rows = rows(siopen_scheme, report.siopen, report.siopen_edited,
                       None if auto is None else auto.siopen,
                       None if prior is None else prior.siopen)
    curie_rows = rows(curie_scheme, report.curie, report.curie_edited,
                      None if auto is None else auto.curie,
                      None if prior is None else prior.curie)
    n_edited = sum(report.siopen_edited.values()) + sum(report.curie_edited.values())
    if auto is None and report.edited is None:
        edited_note = t["no_automatic"]
    elif n_edited:
        edited_note = t["edited_yes"].format(n=n_edited)
    else:
        edited_note = t["edited_no"]

    p, s = report.patient, report.study
    age = None if p.age_years is None else f"{p.age_years:.1f} {t['years']}".replace(
        ".", "," if lang == "fr" else ".")
    prior_ctx = None
    if prior is not None:
        prior_ctx = {
            "date": _date(prior.study_date, lang),
            "siopen_total": prior.siopen_total, "curie_total": prior.curie_total,
            "siopen_change": _signed(report.siopen_total - prior.siopen_total)
            if prior.siopen_total is not None else None,
            "curie_change": _signed(report.curie_total - prior.curie_total)
            if prior.curie_total is not None else None,
            "siopen_response": t.get(report.siopen_response or "", report.siopen_response),
            "curie_response": t.get(report.curie_response or "", report.curie_response),
            "per_segment": prior.siopen is not None,
            "curie_per_segment": prior.curie is not None,
        }
    overlay = None
    if report.overlay_png:
        overlay = "data:image/png;base64," + base64.b64encode(report.overlay_png).decode()
    return {
        "lang": lang, "t": t,
        "institution": report.institution,
        "patient": {"id": p.patient_id or "-", "name": _person_name(p.name) or "-",
                    "birth_date": _date(p.birth_date, lang) or "-", "sex": p.sex or "-",
                    "age": age or "-"},
        "study": {"date": _date(s.study_date, lang) or "-", "description": s.description or "-",
                  "accession": s.accession_number or "-", "uid": s.study_uid or "-"},
        "siopen_rows": siopen_rows, "curie_rows": curie_rows,
        "siopen_total": report.siopen_total, "curie_total": report.curie_total,
        "siopen_max_total": siopen_scheme.max_total, "curie_max_total": curie_scheme.max_total,
        "siopen_auto_total": None if auto is None else auto.siopen_total,
        "curie_auto_total": None if auto is None else auto.curie_total,
        "siopen_category": report.siopen_category, "curie_category": report.curie_category,
        "edited_note": edited_note, "is_edited": n_edited > 0,
        "prior": prior_ctx,
        "overlay": overlay, "overlay_wide": _is_wide(report.overlay_png),
        "status": report.status, "status_text": t[report.status],
        "reader": report.reader or "-",
        "signed_at": _datetime(report.signed_at, lang) if report.signed_at else None,
        "impression": report.impression.strip(),
        "amendments": [{"when": _datetime(a.when, lang), "who": a.who, "what": a.what,
                        "reason": a.reason} for a in report.amendments],
        "software": f"mibgscore {report.software_version}",
        "automatic_model": None if auto is None else model_line(auto.model, t["automatic_score"]),
        "generated": _datetime(report.created_at, lang),
    }


def model_line(model: ModelInfo, label: str = "Automatic score") -> str:
    """One line naming the model that scored a study.

    Examples
    --------
    >>> model_line(ModelInfo("learned", "3", "0123456789abcdef" * 4))
    'Automatic score: learned 3 (sha256 0123456789ab)'
    """
    text = f"{label}: {model.name}"
    if model.version:
        text += f" {model.version}"
    if model.sha256:
        text += f" (sha256 {model.sha256[:12]})"
    return text


def reading_html(report: ReadingReport) -> str:
    """The reading report as one self-contained HTML page (the overlay embedded)."""
    return _environment().get_template(TEMPLATE).render(**reading_context(report))


def reading_pdf(report: ReadingReport) -> bytes:
    """The reading report as PDF (A4), rendered by WeasyPrint from the HTML template.

    Parameters
    ----------
    report : ReadingReport
        The reading; ``overlay_png`` is embedded when present.

    Returns
    -------
    bytes
        The PDF file.
    """
    import weasyprint

    html = reading_html(report)
    pdf = weasyprint.HTML(string=html).write_pdf()
    logger.debug("reading PDF: %d bytes", len(pdf))
    return pdf


@cache
def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("mibgscore.report", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["css_string"] = _css_string
    return env


def _css_string(value: object) -> Any:
    """Text for a CSS string inside <style> (no HTML entities there; quotes and < escaped)."""
    from markupsafe import Markup

    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ")
    return Markup(text.replace("\n", " "))


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n) if n < 0 else "0"


def _date(d: dt.date | None, lang: str) -> str | None:
    if d is None:
        return None
    return d.strftime("%d/%m/%Y") if lang == "fr" else d.isoformat()


def _datetime(t: dt.datetime, lang: str) -> str:
    zone = "" if t.tzinfo is None else " " + (t.tzname() or "")
    fmt = "%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M"
    return t.strftime(fmt) + zone


def _person_name(name: str | None) -> str | None:
    """DICOM PN ``FAMILY^Given`` as ``FAMILY Given``."""
    if not name:
        return None
    return " ".join(part for part in name.split("^") if part)


def _is_wide(png: bytes | None) -> bool:
    """Whether the overlay is wider than 3:4 (it then takes the full width)."""
    if not png:
        return False
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    return w / h > 0.75
