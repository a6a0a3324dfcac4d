"""The reports of the web application's demo readings: PDF words and pixels, SR, CSV export.

The demo follow-up pair (baseline, after induction) and the normal demo study are imported and
scored for real; a reader with a full name reads and signs the baseline, corrects and signs the
follow-up, then amends it. What an oncologist gets is then checked as text (pdftotext), as
pixels (pdftoppm), through dciodvfy and through ``mibgscore validate``'s reader.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import numpy as np
import pytest
from sqlalchemy import select

from mibgscore.app import AppSettings, create_app
from mibgscore.app.db import Study
from mibgscore.app.demo import make_demo_files
from mibgscore.app.exports import dicom, pdf, readings_csv
from mibgscore.app.profiles import set_full_name
from mibgscore.app.readings import amend, set_grade, sign
from mibgscore.app.users import add_user
from mibgscore.validation.readings import read_readings

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils absent")

OWN_WARNINGS = ("Retired Person Name form", "Coding Scheme Identification",
                "Unrecognized code", "needed to build DICOMDIR", "Missing attribute")
"""dciodvfy warnings that would be of our making (the SR's own attributes)."""
VALIDATOR_LIMITS = ("Unrecognized defined term <99MIBGS> for value 1 of attribute "
                    "<Coding Scheme Designator>",)
"""dicom3tools knows only its built-in list of coding schemes: a private scheme (``99``
prefix, declared in Coding Scheme Identification Sequence as PS3.3 C.12.1.1.8 asks) is always
"unrecognized". The only warning accepted."""


def _text(data: bytes, tmp_path, name: str, *, layout: bool = True) -> str:
    """The PDF's text: laid out as on the page, or in reading order (``layout=False``)."""
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(path), "-"],
                         capture_output=True, timeout=60, check=True)
    return out.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The app's store and study ids once the readings are done, plus the draft's PDF."""
    folder = tmp_path_factory.mktemp("demo")
    files = [f for f in make_demo_files(folder / "files")
             if f.stem in ("demo-normal", "demo-followup-baseline",
                           "demo-followup-after-induction")]
    app = create_app(AppSettings(data_dir=folder / "data", score_in_background=False))
    store = app.state.store
    user = add_user(store, "amartin", "correct horse 1", "reader")
    set_full_name(store, "amartin", "Dr Anne Martin")
    report = app.state.import_paths([(f.name, f) for f in files], user.id)
    assert not report.errors, report.errors
    with store.session() as s:
        studies = list(s.scalars(select(Study)))
    assert len(studies) == 3 and all(st.auto for st in studies), studies
    pids = [st.patient_id for st in studies]
    child = sorted((st for st in studies if pids.count(st.patient_id) == 2),
                   key=lambda st: st.study_date)
    base, follow = child[0].id, child[1].id
    normal = next(st.id for st in studies if st.id not in (base, follow))

    def current(sid):
        with store.session() as s:
            return s.get(Study, sid)

    # the baseline: signed unchanged (its draft PDF kept: one page, no prior)
    base_draft_pdf = pdf(store, base, "en")[0]
    sign(store, base, user.id, version=current(base).version)
    # the follow-up: the reader sets its highest-graded segment to 0, signs, then amends
    st = current(follow)
    seg = max(st.siopen, key=lambda k: st.siopen[k])
    before = st.siopen[seg]
    assert before > 0, st.siopen
    set_grade(store, follow, user.id, scheme="siopen", segment=seg, grade=0,
              version=st.version)
    draft_pdf = pdf(store, follow, "en")[0]  # corrected, not yet signed: two pages
    sign(store, follow, user.id, version=current(follow).version)
    amend(store, follow, user.id, reason="second look at the posterior view",
          version=current(follow).version)
    other = next(k for k in st.siopen if k != seg and current(follow).siopen[k] == 0)
    set_grade(store, follow, user.id, scheme="siopen", segment=other, grade=2,
              version=current(follow).version)
    sign(store, follow, user.id, version=current(follow).version)
    return {"store": store, "base": base, "follow": follow, "normal": normal,
            "draft_pdf": draft_pdf, "base_draft_pdf": base_draft_pdf, "segment": seg,
            "before": before, "other": other,
            "auto": dict(st.auto["siopen"]["segments"])}


def test_draft_says_so_on_every_page_and_never_that_it_was_accepted(demo, tmp_path):
    text = _text(demo["draft_pdf"], tmp_path, "draft.pdf")
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 2, f"{len(pages)} page(s)"
    for i, page in enumerate(pages, start=1):
        assert "DRAFT — not signed" in page, f"page {i} lacks the draft mark"
    flat = " ".join(text.split())
    assert "accepted" not in text and "without change" not in text
    assert "the reader has so far changed the automatic proposal in" in flat
    base = _text(demo["base_draft_pdf"], tmp_path, "base.pdf")
    assert "DRAFT — not signed" in base and "accepted" not in base
    assert "not yet confirmed by a reader" in " ".join(base.split())


def test_signed_follow_up_pdf_in_words(demo, tmp_path):
    from mibgscore.anatomy.scheme import load_scheme

    store, sid = demo["store"], demo["follow"]
    data, name = pdf(store, sid, "en")
    assert ".dcm" not in name
    text = _text(data, tmp_path, "follow.pdf")
    flat = " ".join(_text(data, tmp_path, "follow.pdf", layout=False).split())
    names = {s.key: s.name for s in load_scheme("siopen").segments}
    # the reader by full name, never by login
    assert "Dr Anne Martin" in text and "amartin" not in text
    # image captions in words: view and date, for this study and the prior one
    assert re.search(r"Anterior view \(seen from the front\), 2025-\d\d-\d\d", flat), flat
    assert re.search(r"Posterior view \(seen from behind\), 2025-\d\d-\d\d", flat)
    assert re.search(r"Prior study: Anterior view \(seen from the front\), 2025-\d\d-\d\d",
                     flat)
    assert not re.search(r"\d{5}\.dcm|\.dcm", text)
    # categories in words, with the paper; no unexplained "conf." column
    assert re.search(r"SIOPEN (>|≤) 3: (un)?favourable at diagnosis and after induction "
                     r"chemotherapy \(Ladenstein 2018\)", flat), flat
    assert re.search(r"Curie (>|≤) 2: (un)?favourable after induction chemotherapy "
                     r"\(Yanik 2013\)", flat)
    assert "conf." not in text and "Category: >" not in text
    # one total per score: the automatic total is nowhere in the SIOPEN total row
    with store.session() as s:
        st = s.get(Study, sid)
        final = store.schemes.grades("siopen", st.siopen).total
        auto = store.schemes.grades("siopen", st.auto["siopen"]["segments"]).total
    assert auto != final
    totals = re.findall(r"^\s*Total\s+(\d+)(?:\s+(\d+)\s+([+-]?\d+))?\s*$", text, re.M)
    assert totals[0][0] == str(final), totals
    assert "Automatic" not in text.replace("Automatic score:", "")
    # the amendment history in words
    other = names[demo["other"]]
    assert re.search(rf"{re.escape(other)} \(SIOPEN\) changed from 0 to 2(; [^;]+ \(Curie\) "
                     rf"changed from \d to \d)* by Dr Anne Martin, 20\d\d-\d\d-\d\d \d\d:\d\d",
                     flat), flat
    assert "reason: second look at the posterior view" in flat
    assert "->" not in text and "siopen " not in text
    # the change from the prior study, in words
    assert "Comparison with the prior study" in text
    assert re.search(r"(partial response|complete response|stable|progression)", text)


def test_signed_follow_up_pdf_in_french(demo, tmp_path):
    data = pdf(demo["store"], demo["follow"], "fr")[0]
    text = _text(data, tmp_path, "fr.pdf")
    flat = " ".join(_text(data, tmp_path, "fr.pdf", layout=False).split())
    assert re.search(r"Vue antérieure \(de face\), \d\d/\d\d/2025", flat), flat
    assert re.search(r"SIOPEN (>|≤) 3 : (dé)?favorable au diagnostic et après la "
                     r"chimiothérapie d'induction \(Ladenstein 2018\)", flat)
    assert re.search(r"\(SIOPEN\) modifié de 0 à 2(; [^;]+ \(Curie\) modifié de \d à \d)* "
                     r"par Dr Anne Martin, \d\d/\d\d/20\d\d", flat.replace(" ; ", "; ")), flat
    assert "Antérieur " not in text  # the prior study is "Examen précédent"


def test_page_one_shows_the_final_grades_on_a_clean_image(demo, tmp_path):
    from PIL import Image

    from mibgscore.report.overlay import SEGMENT_COLOURS

    path = tmp_path / "p.pdf"
    path.write_bytes(pdf(demo["store"], demo["follow"], "en")[0])
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(tmp_path / "page")], check=True, timeout=60)
    rgb = np.asarray(Image.open(tmp_path / "page.png").convert("RGB")).astype(int)
    left = rgb[:, : rgb.shape[1] // 2]  # the views column
    red = (left[..., 0] > 150) & (left[..., 1] < 80) & (left[..., 2] < 80)
    assert red.sum() > 50, f"{red.sum()} red pixels: no graded segment drawn"
    for colour in SEGMENT_COLOURS[:3]:  # the automatic overlay's segment colours
        c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        near = (np.abs(rgb - c).sum(axis=-1) < 40).sum()
        assert near < 20, f"{near} pixels of the automatic overlay colour {colour}"


def test_sr_of_the_signed_demo_reading_passes_dciodvfy(demo, tmp_path):
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (dicom3tools) absent")
    import pydicom

    data, _ = dicom(demo["store"], demo["follow"], "sr")
    sr = pydicom.dcmread(io.BytesIO(data))
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName) == "Martin^Anne^^Dr"
    path = tmp_path / "sr.dcm"
    path.write_bytes(data)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    lines = (out.stdout + out.stderr).splitlines()
    errors = [x for x in lines if x.startswith("Error")]
    assert errors == [], errors
    warnings = [x for x in lines if x.startswith("Warning")]
    ours = [x for x in warnings if any(w in x for w in OWN_WARNINGS)
            or not any(v in x for v in VALIDATOR_LIMITS)]
    assert ours == [], ours


def test_csv_export_gives_no_final_grade_to_an_unread_study_and_validate_reads_it(
        demo, tmp_path):
    text = readings_csv(demo["store"])
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 3
    with demo["store"].session() as s:
        keys = {s.get(Study, demo[k]).key: k for k in ("base", "follow", "normal")}
    by = {keys[r["study_key"]]: r for r in table}
    unread = by["normal"]
    assert unread["status"] == "scored" and unread["siopen_total_auto"] != ""
    assert unread["siopen_total"] == "" and unread["siopen_skull"] == ""
    assert by["follow"]["status"] == "amended" and by["follow"]["siopen_total"] != ""
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    readings = read_readings(path)
    assert len(readings.table) == 2  # the signed ones
    assert any("1 row skipped: not a signed reading (status scored" in n
               for n in readings.notes), readings.notes
    follow = readings.table[readings.table["study_uid"] == by["follow"]["study_uid"]]
    assert int(follow["siopen_total"].iloc[0]) == int(by["follow"]["siopen_total"])
    assert int(follow[demo["segment"]].iloc[0]) == 0
