"""Exports: one reading as a PDF report, DICOM Comprehensive SR or Encapsulated PDF; all
readings as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import types
from typing import Any

from sqlalchemy import select

from mibgscore.app.db import LOCKED, Event, Study
from mibgscore.app.followup import prior_of
from mibgscore.app.schemes import Schemes
from mibgscore.app.storage import Store, get_study, load_maps
from mibgscore.app.users import user_names
from mibgscore.errors import ServiceError

logger = logging.getLogger(__name__)


def reading_report(store: Store, study_id: int, language: str = "en"):
    """The study's reading as a ``mibgscore.report.types.ReadingReport`` (with its Scan)."""
    from mibgscore.report.types import Amendment, PriorComparison, ReadingReport
    from mibgscore.result import ScoreResult

    with store.session() as s:
        study = get_study(s, study_id)
        if study.auto is None:
            raise ServiceError("this study is not scored yet.", 409, "not_scored")
        names = user_names(s)
        events = list(s.scalars(select(Event).where(Event.study_id == study_id)
                                .order_by(Event.id)))
        prior = prior_of(s, study)
        prior_cmp = None
        if prior is not None and prior.status in LOCKED:
            prior_cmp = PriorComparison(
                study_date=dt.date.fromisoformat(prior.study_date) if prior.study_date
                else None, siopen=dict(prior.siopen), curie=dict(prior.curie),
                study_uid=prior.study_uid)
    scan = store.scan(study)
    result = ScoreResult.from_dict(study.auto)
    amendments = []
    pending: dict[str, Any] | None = None
    for ev in events:
        if ev.action == "amend":
            pending = {"when": ev.at, "who": names.get(ev.user_id or -1, "?"),
                       "reason": ev.detail.get("reason", ""), "what": []}
        elif pending is not None and ev.action in ("grade", "accept_all", "impression"):
            d = ev.detail
            if ev.action == "grade":
                pending["what"].append(f"{d['scheme']} {d['segment']} {d['from']}->{d['to']}")
            else:
                pending["what"].append(ev.action.replace("_", " "))
        elif pending is not None and ev.action == "sign":
            amendments.append(Amendment(
                when=pending["when"].replace(tzinfo=dt.UTC), who=pending["who"],
                what="; ".join(pending["what"]) or "no grade changed",
                reason=pending["reason"]))
            pending = None
    overlay = None
    try:
        from mibgscore.report.overlay import render_overlay

        result_ev = result
        maps = load_maps(store, study)
        if maps is not None:
            result_ev.evidence = types.SimpleNamespace(**maps)
        overlay = render_overlay(scan, result_ev,
                                 schemes=(store.schemes.siopen, store.schemes.curie))
    except Exception:  # an overlay failure must not block the report
        logger.exception("overlay of study %s failed", study.key[:8])
    signed_at = study.signed_at.replace(tzinfo=dt.UTC) if study.signed_at and \
        study.status in LOCKED else None
    reader = names.get(study.signed_by or study.reader_id or -1)
    return ReadingReport.from_scan(
        scan, result, siopen=dict(study.siopen), curie=dict(study.curie),
        impression=study.impression, reader=reader, signed_at=signed_at,
        amendments=tuple(amendments), prior=prior_cmp, overlay_png=overlay,
        language=language if language in ("en", "fr") else "en"), scan, study


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
    """All readings as CSV: one row per study, automatic and final grades per segment."""
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
            w.writerow([st.key, st.study_uid or "", st.patient_id or "", st.study_date or "",
                        st.status, names.get(st.signed_by or st.reader_id or -1, ""),
                        st.signed_at.isoformat() + "Z" if st.signed_at else "",
                        int(edited), total("siopen", sa), total("siopen", st.siopen),
                        total("curie", ca), total("curie", st.curie)]
                       + [sa[k] for k in siopen] + [st.siopen[k] for k in siopen]
                       + [ca[k] for k in curie] + [st.curie[k] for k in curie]
                       + [st.impression.replace("\r", " ")])
    return buf.getvalue()
