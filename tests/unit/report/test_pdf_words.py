"""What the oncologist reads: categories, amendments and sign-off in words; the report's views."""

import dataclasses
import datetime as dt
import io

import numpy as np
import pytest
from PIL import Image
from report_cases import BOXES

from mibgscore.anatomy.scheme import SIOPEN_KEYS, load_scheme
from mibgscore.report.pdf import (
    _person_name,
    amendment_words,
    category_words,
    reading_context,
    reading_html,
)
from mibgscore.report.types import Amendment, GradeChange, PriorComparison, ReadingReport
from mibgscore.report.views import render_views

SIGNED = dt.datetime(2025, 5, 18, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("scheme, total, lang, expected", [
    ("siopen", 3, "en", "SIOPEN ≤ 3: favourable at diagnosis and after induction "
                        "chemotherapy (Ladenstein 2018)"),
    ("siopen", 4, "en", "SIOPEN > 3: unfavourable at diagnosis and after induction "
                        "chemotherapy (Ladenstein 2018)"),
    ("curie", 2, "en", "Curie ≤ 2: favourable after induction chemotherapy (Yanik 2013)"),
    ("curie", 3, "en", "Curie > 2: unfavourable after induction chemotherapy (Yanik 2013)"),
    ("siopen", 4, "fr", "SIOPEN > 3 : défavorable au diagnostic et après la chimiothérapie "
                        "d'induction (Ladenstein 2018)"),
    ("curie", 0, "fr", "Curie ≤ 2 : favorable après la chimiothérapie d'induction "
                       "(Yanik 2013)"),
])
def test_categories_in_words_at_the_cut_off(scheme, total, lang, expected):
    assert category_words(load_scheme(scheme), total, lang) == expected


def test_a_centre_cut_off_comes_from_its_table():
    siopen = dataclasses.replace(load_scheme("siopen"), category_cutoff=4,
                                 category_reference="Decarolis et al., J Clin Oncol 2013")
    assert category_words(siopen, 4) == ("SIOPEN ≤ 4: favourable at diagnosis and after "
                                         "induction chemotherapy (Decarolis 2013)")
    assert category_words(dataclasses.replace(siopen, category_cutoff=None), 9) is None


def test_amendments_in_words():
    when = dt.datetime(2026, 12, 6, 10, 31)
    one = Amendment(when, "Dr Anne Martin", reason="second look",
                    changes=(GradeChange("siopen", "skull", 5, 0),))
    assert amendment_words(one) == ("Skull (SIOPEN) changed from 5 to 0 by Dr Anne Martin, "
                                    "2026-12-06 10:31: reason: second look")
    two = Amendment(when, "Martin^Anne^^Dr", what="impression",
                    changes=(GradeChange("siopen", "pelvis", 4, 5),
                             GradeChange("curie", "pelvis", 2, 3)))
    assert amendment_words(two) == ("Pelvis (SIOPEN) changed from 4 to 5; Pelvis (Curie) "
                                    "changed from 2 to 3; impression changed by Dr Anne "
                                    "Martin, 2026-12-06 10:31")
    assert amendment_words(one, "fr") == ("Crâne (SIOPEN) modifié de 5 à 0 par Dr Anne "
                                          "Martin, 06/12/2026 10:31 : motif : second look")
    assert amendment_words(Amendment(when, "x", reason="typo")).startswith(
        "Amended without a grade change by x")
    with pytest.raises(ValueError, match="unknown siopen segment"):
        GradeChange("siopen", "head", 1, 0)


def test_names_in_words():
    assert _person_name("DOE^JANE") == "DOE JANE"
    assert _person_name("Martin^Anne^^Dr", given_first=True) == "Dr Anne Martin"
    assert _person_name("Dr Anne Martin", given_first=True) == "Dr Anne Martin"


def test_a_draft_never_says_the_proposal_was_accepted(case):
    scan, result = case
    draft = ReadingReport.from_scan(scan, result)
    html = reading_html(draft)
    assert "accepted" not in html and "without change" not in html
    assert "Not signed: these grades are the automatic proposal" in html
    assert '@top-left { content: "DRAFT \u2014 not signed"' in html  # on every page
    edited = reading_html(dataclasses.replace(draft, siopen={**result.siopen, "skull": 0,
                                                             "spine": 2}))
    assert "so far changed the automatic proposal in 2 segments" in edited
    signed = reading_html(dataclasses.replace(draft, reader="Dr A", signed_at=SIGNED))
    assert "The reader accepted the automatic proposal without change." in signed
    assert "@top-left" not in signed and "DRAFT" not in signed


def test_one_total_per_score_and_no_confidence_column(case):
    scan, result = case
    report = ReadingReport.from_scan(scan, result, siopen={**result.siopen, "pelvis": 5},
                                     reader="Dr A", signed_at=SIGNED)
    ctx = reading_context(report)
    assert "siopen_auto_total" not in ctx and "curie_auto_total" not in ctx
    html = reading_html(report)
    assert "conf." not in html and "Automatic</th>" not in html
    assert html.count(f">{report.siopen_total}<") >= 2  # the summary and the table
    assert f">{result.siopen_total}<" not in html       # the automatic total: nowhere


def test_captions_say_view_and_date(case):
    scan, result = case
    pictures = render_views(scan, result.siopen, result.evidence.siopen_map, height_px=200)
    prior = PriorComparison(dt.date(2025, 1, 10), {k: 0 for k in SIOPEN_KEYS} | {"skull": 3},
                            pictures=pictures)
    ctx = reading_context(ReadingReport.from_scan(scan, result, pictures=pictures,
                                                  prior=prior, language="fr"))
    assert [p["caption"] for p in ctx["pictures"]] == [
        "Vue antérieure (de face), 17/05/2025", "Vue postérieure (de dos), 17/05/2025"]
    assert ctx["prior"]["pictures"][1]["caption"] == \
        "Examen précédent : Vue postérieure (de dos), 10/01/2025"
    assert all(p["src"].startswith("data:image/png;base64,") for p in ctx["pictures"])


def _red(png: bytes) -> np.ndarray:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return (rgb[..., 0] > 150) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)


def test_views_draw_the_final_grades_where_the_segments_are(case):
    scan, result = case
    seg_map = result.evidence.siopen_map
    final = {k: 0 for k in SIOPEN_KEYS} | {"skull": 2}
    pictures = render_views(scan, final, seg_map, height_px=400)
    assert [p.view for p in pictures] == ["anterior", "posterior"]
    assert all(p.graded for p in pictures)
    ant = _red(pictures[0].png)
    h, w = ant.shape
    rows, cols = np.nonzero(ant)
    # in the anterior frame the skull box is rows 10-70 of 512: the top of the picture
    assert rows.size > 50 and rows.max() < 0.3 * h, (rows.min(), rows.max(), h)
    # the posterior is mirrored back (seen from behind): grade a right limb only
    right = {k: 0 for k in SIOPEN_KEYS} | {"right_lower_limb_distal": 3}
    ant, post = (_red(p.png) for p in render_views(scan, right, seg_map, height_px=400))
    box = BOXES["right_lower_limb_distal"]
    assert np.nonzero(ant)[1].mean() < w / 2   # patient's right on the viewer's left
    assert np.nonzero(post)[1].mean() > w / 2  # and on the viewer's right from behind
    assert np.nonzero(ant)[0].min() > box[0] / 512 * h * 0.6
    # ungraded: nothing red but the R/L marks (grey) - the views alone
    none = render_views(scan, {k: 0 for k in SIOPEN_KEYS}, seg_map, height_px=400)
    assert _red(none[0].png).sum() == 0
    bare = render_views(scan, final, None, height_px=400)
    assert not bare[0].graded and _red(bare[0].png).sum() == 0
