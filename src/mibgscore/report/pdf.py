"""The reading report as HTML (one Jinja2 template) and as PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
from functools import cache
from typing import Any

from mibgscore.anatomy.scheme import SegmentScheme, load_scheme
from mibgscore.report._labels import LABELS
from mibgscore.report.types import Amendment, ReadingReport, ViewPicture
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
        ``curie_rows`` (name, final, changed_from, prior, change), the final totals (one per
        score: no automatic total is shown), ``siopen_category_text`` and
        ``curie_category_text`` (the category in words with its paper), ``prior``,
        ``pictures`` and ``prior.pictures`` (data URI and caption per view), ``status``,
        ``draft``, ``edited_note``, ``reader``, ``amendments`` (one sentence each),
        ``automatic_model`` (the line naming the model that proposed the grades, or None),
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
            before = None if auto_grades is None or not edited[k] else auto_grades[k]
            out.append({
                "key": k, "name": seg.name_in(lang), "final": final[k], "edited": edited[k],
                "changed_from": None if before is None
                else t["changed_from"].format(before=before),
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
    segments = t["segments_1"] if n_edited == 1 else t["segments_n"].format(n=n_edited)
    if auto is None and report.edited is None:
        edited_note = t["no_automatic"]
    elif not report.is_signed:  # a draft never says the proposal was accepted
        edited_note = t["draft_edit"].format(segments=segments) if n_edited \
            else t["draft_no_edit"]
    elif n_edited:
        edited_note = t["edited_yes"].format(segments=segments)
    else:
        edited_note = t["edited_no"]

    p, s = report.patient, report.study
    age = None if p.age_years is None else f"{p.age_years:.1f} {t['years']}".replace(
        ".", "," if lang == "fr" else ".")
    study_date = _date(s.study_date, lang) or "-"
    prior_ctx = None
    if prior is not None:
        prior_date = _date(prior.study_date, lang) or "-"
        prior_ctx = {
            "date": prior_date,
            "siopen_total": prior.siopen_total, "curie_total": prior.curie_total,
            "siopen_change": _signed(report.siopen_total - prior.siopen_total)
            if prior.siopen_total is not None else None,
            "curie_change": _signed(report.curie_total - prior.curie_total)
            if prior.curie_total is not None else None,
            "siopen_response": t.get(report.siopen_response or "", report.siopen_response),
            "curie_response": t.get(report.curie_response or "", report.curie_response),
            "per_segment": prior.siopen is not None,
            "curie_per_segment": prior.curie is not None,
            "pictures": _pictures(prior.pictures, t, prior_date, t["prior_caption"]),
        }
    names = {"siopen": {g.key: g.name_in(lang) for g in siopen_scheme.segments},
             "curie": {g.key: g.name_in(lang) for g in curie_scheme.segments}}
    return {
        "lang": lang, "t": t,
        "institution": report.institution,
        "patient": {"id": p.patient_id or "-", "name": _person_name(p.name) or "-",
                    "birth_date": _date(p.birth_date, lang) or "-", "sex": p.sex or "-",
                    "age": age or "-"},
        "study": {"date": study_date, "description": s.description or "-",
                  "accession": s.accession_number or "-", "uid": s.study_uid or "-"},
        "siopen_rows": siopen_rows, "curie_rows": curie_rows,
        "siopen_total": report.siopen_total, "curie_total": report.curie_total,
        "siopen_max_total": siopen_scheme.max_total, "curie_max_total": curie_scheme.max_total,
        "siopen_category_text": category_words(siopen_scheme, report.siopen_total, lang),
        "curie_category_text": category_words(curie_scheme, report.curie_total, lang),
        "edited_note": edited_note, "is_edited": n_edited > 0,
        "prior": prior_ctx,
        "pictures": _pictures(report.pictures, t, study_date, t["caption"]),
        "pictures_graded": all(pic.graded for pic in report.pictures),
        "status": report.status, "status_text": t[report.status],
        "draft": not report.is_signed,
        "reader": _person_name(report.reader, given_first=True) or "-",
        "signed_at": _datetime(report.signed_at, lang) if report.signed_at else None,
        "impression": report.impression.strip(),
        "amendments": [amendment_words(a, lang, names) for a in report.amendments],
        "software": f"mibgscore {report.software_version}",
        "automatic_model": None if auto is None else model_line(auto.model, t["automatic_score"]),
        "generated": _datetime(report.created_at, lang),
    }


def category_words(scheme: SegmentScheme, total: int, language: str = "en") -> str | None:
    """The clinical category of a total in words, with the paper of its cut-off.

    Parameters
    ----------
    scheme : SegmentScheme
        The table whose ``category_cutoff`` and ``category_reference`` apply.
    total : int
        The final total.
    language : str
        ``"en"`` or ``"fr"``.

    Returns
    -------
    str or None
        None when the table has no cut-off.

    Examples
    --------
    >>> from mibgscore.anatomy.scheme import load_scheme
    >>> category_words(load_scheme("siopen"), 20)
    'SIOPEN > 3: unfavourable at diagnosis and after induction chemotherapy (Ladenstein 2018)'
    >>> category_words(load_scheme("curie"), 2, "fr")
    "Curie ≤ 2 : favorable après la chimiothérapie d'induction (Yanik 2013)"
    """
    cutoff = scheme.category_cutoff
    if cutoff is None:
        return None
    t = LABELS[language]
    side = "above" if total > cutoff else "below"
    text = t.get(f"category_{side}_{scheme.name.lower()}", t[f"category_{side}"])
    return text.format(scheme=scheme.name, cutoff=cutoff,
                       ref=short_reference(scheme.category_reference))


def short_reference(reference: str) -> str:
    """``"Ladenstein et al., Eur J ... 2018;45:292"`` as ``"Ladenstein 2018"``.

    Examples
    --------
    >>> short_reference("Yanik et al., J Nucl Med 2013;54:541-548")
    'Yanik 2013'
    """
    author = reference.split(",")[0].replace(" et al.", "").strip()
    year = re.search(r"\b(19|20)\d\d\b", reference)
    return f"{author} {year.group(0)}".strip() if year else author


def amendment_words(amendment: Amendment, language: str = "en",
                    names: dict[str, dict[str, str]] | None = None) -> str:
    """One amendment as a sentence: what changed, by whom, when, and why.

    Examples
    --------
    >>> import datetime as dt
    >>> from mibgscore.report.types import GradeChange
    >>> a = Amendment(dt.datetime(2026, 12, 6, 10, 31), "Dr Anne Martin", reason="second look",
    ...               changes=(GradeChange("siopen", "skull", 5, 0),))
    >>> amendment_words(a)
    'Skull (SIOPEN) changed from 5 to 0 by Dr Anne Martin, 2026-12-06 10:31: reason: second look'
    """
    t = LABELS[language]
    if names is None:
        names = {k: {g.key: g.name_in(language) for g in load_scheme(k).segments}
                 for k in ("siopen", "curie")}
    parts = [t["grade_change"].format(
        segment=names[c.scheme][c.segment], scheme="SIOPEN" if c.scheme == "siopen" else "Curie",
        before=c.before, after=c.after) for c in amendment.changes]
    for other in (x.strip() for x in amendment.what.split(";")):
        if other:
            parts.append(t.get(f"changed_{other.replace(' ', '_')}", other))
    what = t["and"].join(parts) or t["no_grade_changed"]
    template = t["amendment"] if amendment.reason.strip() else t["amendment_no_reason"]
    return template.format(what=what, who=_person_name(amendment.who, given_first=True) or "-",
                           when=_datetime(amendment.when, language),
                           reason=amendment.reason.strip())


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
        The reading; its ``pictures`` (and the prior's) are embedded when present.

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


def _person_name(name: str | None, *, given_first: bool = False) -> str | None:
    """A DICOM PN as words; plain text as it is.

    Patients (``given_first=False``) keep the family name first, as PACS show them
    (``DOE^JANE`` as ``DOE JANE``); physicians read given name first, with their prefix
    (``Martin^Anne^^Dr`` as ``Dr Anne Martin``).
    """
    if not name:
        return None
    if "^" not in name:
        return name.strip()
    parts = (name.split("=")[0].split("^") + [""] * 5)[:5]
    family, given, middle, prefix, suffix = (x.strip() for x in parts)
    if given_first:
        order = (prefix, given, middle, family, suffix)
    else:
        order = (family, given, middle)
    return " ".join(x for x in order if x)


def _pictures(pictures: tuple[ViewPicture, ...], t: dict[str, str], date: str,
              caption: str) -> list[dict[str, str]]:
    """Each picture as a data URI with its caption in words (view and date)."""
    return [{"src": "data:image/png;base64," + base64.b64encode(pic.png).decode(),
             "caption": caption.format(view=t[pic.view], date=date), "view": pic.view}
            for pic in pictures]
