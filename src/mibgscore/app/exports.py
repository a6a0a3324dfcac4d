"""Exports: one reading as a PDF report, DICOM Comprehensive SR or Encapsulated PDF; all
readings as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from typing import Any

from sqlalchemy import select

from mibgscore.app.db import LOCKED, Event, Study
from mibgscore.app.followup import prior_of
from mibgscore.app.profiles import display_names
from mibgscore.app.schemes import Schemes
from mibgscore.app.storage import Store, get_study, load_maps
from mibgscore.app.users import user_names
from mibgscore.errors import ServiceError
from mibgscore.io.tables import safe_row  # formula-safe cells (issue 14)

logger = logging.getLogger(__name__)


def reading_report(store: Store, study_id: int, language: str = "en"):
    """The study's reading as a ``mibgscore.report.types.ReadingReport`` (with its Scan).

    The report's pictures are the views with the final grades (``report.views``), the prior
    signed study's too when there is one; readers and amending physicians are named by their
    full name (``profiles``); amendments list the grades they changed.
    """
    from mibgscore.report.types import PriorComparison, ReadingReport
    from mibgscore.result import ScoreResult

    with store.session() as s:
        study = get_study(s, study_id)
        if study.auto is None:
            raise ServiceError("this study is not scored yet.", 409, "not_scored")
        names = display_names(s)
        events = list(s.scalars(select(Event).where(Event.study_id == study_id)
                                .order_by(Event.id)))
        prior = prior_of(s, study)
        if prior is not None and prior.status not in LOCKED:
            prior = None
        if prior is not None:
            s.expunge(prior)
    scan = store.scan(study)
    result = ScoreResult.from_dict(study.auto)
    pictures = _pictures(store, study, scan, dict(study.siopen))
    prior_cmp = None
    if prior is not None:
        prior_pictures: tuple = ()
        try:
            prior_pictures = _pictures(store, prior, store.scan(prior), dict(prior.siopen))
        except ServiceError:  # the prior's images are gone: its grades still compare
            logger.warning("prior study %s: images not readable", prior.key[:8])
        prior_cmp = PriorComparison(
            study_date=dt.date.fromisoformat(prior.study_date) if prior.study_date
            else None, siopen=dict(prior.siopen), curie=dict(prior.curie),
            study_uid=prior.study_uid, pictures=prior_pictures)
    signed_at = study.signed_at.replace(tzinfo=dt.UTC) if study.signed_at and \
        study.status in LOCKED else None
    reader = names.get(study.signed_by or study.reader_id or -1)
    return ReadingReport.from_scan(
        scan, result, siopen=dict(study.siopen), curie=dict(study.curie),
        impression=study.impression, reader=reader, signed_at=signed_at,
        amendments=amendments_of(events, names), prior=prior_cmp, pictures=pictures,
        language=language if language in ("en", "fr") else "en"), scan, study


def amendments_of(events: list[Event], names: dict[int, str]) -> tuple:
    """The amendments of a reading from its events: each from "amend" to the next "sign",
    with the grades changed in between (first grade before, last after; unchanged ones
    left out) and what else changed (impression, lesions)."""
    from mibgscore.report.types import Amendment, GradeChange

    out = []
    pending: dict[str, Any] | None = None
    for ev in events:
        d = ev.detail or {}
        if ev.action == "amend":
            pending = {"when": ev.at, "who": names.get(ev.user_id or -1, "?"),
                       "reason": d.get("reason", ""), "grades": {}, "other": []}
        elif pending is None:
            continue
        elif ev.action == "sign":
            changes = tuple(GradeChange(scheme, key, before, after)
                            for (scheme, key), (before, after) in pending["grades"].items()
                            if before != after and before is not None)
            out.append(Amendment(when=pending["when"].replace(tzinfo=dt.UTC),
                                 who=pending["who"], what="; ".join(pending["other"]),
                                 reason=pending["reason"], changes=changes))
            pending = None
        else:
            diff = d.get("changes") or d.get("reset") or {}
            if not diff and ev.action == "grade" and "segment" in d:
                diff = {d["scheme"]: {d["segment"]: [d.get("from"), d.get("to")]}}
            for scheme, per_key in diff.items():
                for key, (before, after) in per_key.items():
                    first = pending["grades"].get((scheme, key), (before, after))[0]
                    pending["grades"][(scheme, key)] = (first, after)
            if ev.action not in ("grade", "accept_all", "lesion", "add_focus") and \
                    ev.action.replace("_", " ") not in pending["other"]:
                pending["other"].append(ev.action.replace("_", " "))
    return tuple(out)


def _pictures(store: Store, study: Study, scan: Any, siopen: dict[str, int]) -> tuple:
    """The study's views with its final SIOPEN grades; none when drawing them fails."""
    from mibgscore.report.views import render_views

    try:
        maps = load_maps(store, study) or {}
        return render_views(scan, siopen, maps.get("siopen_map"),
                            keys=tuple(store.schemes.siopen.keys))
    except Exception:  # a picture failure must not block the report
        logger.exception("pictures of study %s failed", study.key[:8])
        return ()


def pdf(store: Store, study_id: int, language: str = "en") -> tuple[bytes, str]:
    """PDF bytes of the reading and a file name (study key, no patient data)."""
    try:
        from mibgscore.report import reading_pdf
    except ImportError as exc:
        raise ServiceError("the PDF report is not available in this build.", 503,
                           "unavailable") from exc
    report, _scan, study = reading_report(store, study_id, language)
    return reading_pdf(report), f"mibgscore-{study.key}.pdf"


def dicom(store: Store, study_id: int, kind: str, language: str = "en") -> tuple[bytes, str]:
    """DICOM bytes of the SR (``kind="sr"``) or the Encapsulated PDF (``kind="pdf"``)."""
    import pydicom

    try:
        from mibgscore.report import encapsulated_pdf, reading_pdf, reading_sr
    except ImportError as exc:
        raise ServiceError("DICOM exports are not available in this build.", 503,
                           "unavailable") from exc
    report, scan, study = reading_report(store, study_id, language)
    files = sorted((store.study_dir(study) / "dicom").iterdir())
    source = pydicom.dcmread(files[0], stop_before_pixels=True)
    if kind == "sr":
        ds = reading_sr(report, source)
        name = f"mibgscore-{study.key}-sr.dcm"
    else:
        ds = encapsulated_pdf(reading_pdf(report), report, source)
        name = f"mibgscore-{study.key}-report.dcm"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue(), name


def readings_csv(store: Store) -> str:
    """All readings as CSV: one row per scored study, automatic and final grades per segment.

    A study no reader has opened (``status`` scored, no ``reader``) has its automatic grades
    (``*_auto``) and empty final columns (``siopen_<key>``, ``siopen_total``, ``curie_...``),
    so the automatic proposal is never read as a physician's grade; a reading in progress
    (``in_review``, ``amending``) gives the reader's grades so far, and its ``status`` says
    it is not signed (``mibgscore validate`` skips such rows with a warning)."""
    siopen, curie = Schemes.keys("siopen"), Schemes.keys("curie")

    def total(name: str, grades: dict[str, int]) -> int:
        return store.schemes.grades(name, grades).total

    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["study_key", "study_uid", "patient_id", "study_date", "status", "reader",
            "signed_at", "edited", "siopen_total_auto", "siopen_total", "curie_total_auto",
            "curie_total"]
    head += [f"siopen_{k}_auto" for k in siopen] + [f"siopen_{k}" for k in siopen]
    head += [f"curie_{k}_auto" for k in curie] + [f"curie_{k}" for k in curie]
    head += ["impression"]
    w.writerow(head)
    with store.session() as s:
        names = user_names(s)
        for st in s.scalars(select(Study).order_by(Study.id)):
            if not st.auto:
                continue
            sa, ca = st.auto["siopen"]["segments"], st.auto["curie"]["segments"]
            edited = any(st.siopen[k] != sa[k] for k in siopen) or any(
                st.curie[k] != ca[k] for k in curie)
            read = st.status in LOCKED or st.reader_id is not None

            def final(values: list[Any], read: bool = read) -> list[Any]:
                return values if read else [""] * len(values)

            w.writerow(safe_row([st.key, st.study_uid or "", st.patient_id or "",
                                 st.study_date or "",
                        st.status, names.get(st.signed_by or st.reader_id or -1, ""),
                        st.signed_at.isoformat() + "Z" if st.signed_at else "",
                        int(edited) if read else "", total("siopen", sa),
                        *final([total("siopen", st.siopen)]), total("curie", ca),
                        *final([total("curie", st.curie)])]
                       + [sa[k] for k in siopen] + final([st.siopen[k] for k in siopen])
                       + [ca[k] for k in curie] + final([st.curie[k] for k in curie])
                       + [st.impression.replace("\r", " ") if read else ""]))
    return buf.getvalue()


LESION_EDIT_COLUMNS = (
    "study_key", "study_uid", "status", "model", "lesion", "source", "kind", "row", "col",
    "siopen_segment", "curie_segment", "fraction", "confidence", "decision", "reason",
    "reader", "signed_at")
"""Columns of the lesion-edits export: one row per lesion of each scored study."""


def lesion_edits_csv(store: Store) -> str:
    """Every lesion of every scored study and what the reader decided (``kept``,
    ``rejected`` with its reason, ``added``): the centre's future training set. Rows and
    columns are in the anterior frame's pixel grid; ``model`` names what found the lesions."""
    from mibgscore.app.scoring import lesion_list
    from mibgscore.app.studies import model_name

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(LESION_EDIT_COLUMNS)
    with store.session() as s:
        names = user_names(s)
        for st in s.scalars(select(Study).order_by(Study.id)):
            if not st.auto:
                continue
            reader = names.get(st.signed_by or st.reader_id or -1, "")
            signed = st.signed_at.isoformat() + "Z" if st.signed_at else ""
            for x in lesion_list(st, store):
                decision = ("added" if x["source"] != "auto" else "kept") \
                    if not x["rejected"] else "rejected"
                frac = x.get("fraction")
                w.writerow(safe_row([st.key, st.study_uid or "", st.status,
                                     model_name(st.auto), x["id"], x["source"], x["kind"],
                                     x["row"], x["col"], x["siopen"], x.get("curie") or "",
                                     "" if frac is None else frac, x.get("confidence", ""),
                                     decision, x["rejected"] or "", reader, signed]))
    return buf.getvalue()
