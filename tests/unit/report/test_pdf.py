"""The reading report: HTML contents (fast) and two WeasyPrint PDFs read back by pdftotext."""

import dataclasses
import datetime as dt
import re
import shutil
import subprocess

import pytest

from mibgscore.anatomy.scheme import SIOPEN_KEYS
from mibgscore.report.pdf import reading_html, reading_pdf
from mibgscore.report.types import Amendment, PriorComparison, ReadingReport

SIGNED = dt.datetime(2025, 5, 18, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def report(case):
    scan, result = case
    prior = {k: 0 for k in SIOPEN_KEYS} | {"skull": 3, "pelvis": 5, "spine": 6}
    return ReadingReport.from_scan(
        scan, result, siopen={**result.siopen, "pelvis": 5}, reader="Dr Anne Martin",
        signed_at=SIGNED, impression="Focal skull and right tibial lesions.",
        prior=PriorComparison(dt.date(2025, 1, 10), prior),
        amendments=(Amendment(SIGNED + dt.timedelta(hours=2), "Dr Anne Martin",
                              "pelvis 4 -> 5", "second look"),))


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         timeout=60, check=True)
    return out.stdout.decode("utf-8")


def test_html_marks_edits_totals_and_response(report):
    html = reading_html(report)
    assert html.count("&#9998; changed by the reader from 4") == 1  # only the pelvis
    assert html.count("&#9998;") == 1
    assert report.siopen_response == "partial"          # 14 -> 7: a 50 % reduction
    assert "partial response (total reduced by 50 % or more)" in html
    assert "DRAFT" not in html and "not signed" not in html
    assert "The reader changed the automatic proposal in 1 segment." in html
    draft = reading_html(dataclasses.replace(report, signed_at=None, amendments=()))
    assert "DRAFT \u2014 not signed" in draft


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) absent")
def test_pdf_in_english_and_french(report, tmp_path):
    pdf = reading_pdf(report)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf, tmp_path)
    for needle in ("PAT-0042", "SIOPEN total", "Research use only", "Dr Anne Martin",
                   "2025-05-18 09:30", "partial response", "second look"):
        assert needle in text, needle
    # one total per score: SIOPEN final 7, prior 14, change -7 (no automatic 6); Curie 4.
    assert re.search(r"^\s*Total\s+7\s+14\s+-7\s*$", text, re.M), text
    assert re.search(r"^\s*Total\s+4\s*$", text, re.M), text
    assert not re.search(r"\b6\s+7\s+14\b", text)
    fr = reading_pdf(dataclasses.replace(report, language="fr", signed_at=None,
                                         amendments=()))
    text_fr = _text(fr, tmp_path)
    for needle in ("PAT-0042", "Total SIOPEN", "ce n'est pas un dispositif",
                   "BROUILLON \u2014 non signé", "17/05/2025", "Bassin"):
        assert needle in text_fr, needle
    # the page footer (a CSS string) carries the statement too, without HTML entities
    assert re.search("n'est pas un dispositif médical \u2014 +mibgscore", text_fr), text_fr


def test_html_of_a_reading_without_automatic_score_or_overlay(case):
    scan, result = case
    report = ReadingReport(patient=scan.patient, study=scan.study, siopen=result.siopen,
                           curie=result.curie, language="fr")
    html = reading_html(report)
    assert "Pas de proposition automatique" in html
    assert "BROUILLON \u2014 non signé" in html
    assert "<img" not in html


def test_segment_names_scales_and_model_line_come_from_the_tables(case):
    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.report.pdf import model_line, reading_context
    from mibgscore.result import ModelInfo

    scan, result = case
    scored = dataclasses.replace(result, model=ModelInfo("learned", "3", "0123456789abcdef" * 4))
    for lang in ("en", "fr"):
        ctx = reading_context(ReadingReport.from_scan(scan, scored, language=lang))
        for rows, name in ((ctx["siopen_rows"], "siopen"), (ctx["curie_rows"], "curie")):
            scheme = load_scheme(name)
            assert [r["name"] for r in rows] == [s.name_in(lang) for s in scheme.segments]
            assert str(scheme.max_grade) in ctx["t"][f"{name}_table"]
        label = {"en": "Automatic score", "fr": "Score automatique"}[lang]
        assert ctx["automatic_model"] == f"{label}: learned 3 (sha256 0123456789ab)"
    assert ctx["siopen_rows"][1]["name"] == "Cage thoracique"
    hand = ReadingReport(patient=scan.patient, study=scan.study, siopen=result.siopen,
                         curie=result.curie)
    assert reading_context(hand)["automatic_model"] is None
    assert model_line(ModelInfo("classic", "", "")) == "Automatic score: classic"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) absent")
def test_the_pdf_names_the_model_that_scored(case, tmp_path):
    from mibgscore.result import ModelInfo

    scan, result = case
    scored = dataclasses.replace(result, model=ModelInfo("learned", "3", "0123456789abcdef" * 4))
    text = _text(reading_pdf(ReadingReport.from_scan(scan, scored)), tmp_path)
    assert "Automatic score: learned 3 (sha256 0123456789ab)" in text
    assert "(0-72)" in text and "(0-30)" in text
