"""ReadingReport: checks on construction and the derived values the outputs print."""

import dataclasses
import datetime as dt

import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.report.types import Amendment, PriorComparison, ReadingReport


def test_from_scan_takes_grades_identity_and_frames(case):
    scan, result = case
    report = ReadingReport.from_scan(scan, result)
    assert report.siopen_total == result.siopen_total == 6
    assert report.curie_total == 4
    assert report.patient.patient_id == "PAT-0042"
    assert report.image_reference("anterior").frame == 1
    assert report.image_reference("posterior").frame == 2
    assert not report.is_edited and report.status == "draft"


def test_edited_segments_are_those_the_reader_changed(case):
    scan, result = case
    report = ReadingReport.from_scan(scan, result, siopen={**result.siopen, "pelvis": 5})
    assert [k for k, e in report.siopen_edited.items() if e] == ["pelvis"]
    assert report.is_edited
    explicit = dataclasses.replace(report, edited=("spine",))
    assert [k for k, e in explicit.siopen_edited.items() if e] == ["spine"]


def test_automatic_result_may_come_as_json(case):
    scan, result = case
    report = ReadingReport.from_scan(scan, result, automatic=result.to_dict())
    assert report.automatic_result.siopen == result.siopen
    assert report.automatic_result.evidence is None


@pytest.mark.parametrize("change, match", [
    ({"siopen": {**{k: 0 for k in SIOPEN_KEYS}, "skull": 7}}, "SIOPEN grade 7"),
    ({"curie": {k: 0 for k in CURIE_KEYS[:9]}}, "missing"),
    ({"language": "de"}, "language"),
    ({"signed_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)}, "reader"),
])
def test_invalid_readings_are_refused(case, change, match):
    scan, result = case
    with pytest.raises(ValueError, match=match):
        ReadingReport.from_scan(scan, result, **change)


def test_status_and_response_against_the_prior(case):
    scan, result = case
    prior = PriorComparison(dt.date(2025, 1, 10), {**{k: 0 for k in SIOPEN_KEYS}, "skull": 6,
                                                   "pelvis": 6})
    signed = dt.datetime(2025, 5, 18, 9, 30, tzinfo=dt.UTC)
    report = ReadingReport.from_scan(scan, result, prior=prior, reader="Martin^Anne",
                                     signed_at=signed)
    assert prior.siopen_total == 12
    assert report.siopen_response == "partial"        # 12 -> 6: a 50 % reduction
    assert report.curie_response is None               # no prior Curie total
    assert report.status == "signed"
    amended = dataclasses.replace(report, amendments=(
        Amendment(signed + dt.timedelta(days=1), "Martin^Anne", "pelvis 4 -> 5", "review"),))
    assert amended.status == "amended"


def test_results_and_readings_check_their_grades_through_the_scheme(case):
    from mibgscore.result import ScoreResult

    scan, result = case
    data = result.to_dict()
    back = ScoreResult.from_dict({**data, "siopen": {
        **data["siopen"], "segments": dict(reversed(list(data["siopen"]["segments"].items())))}})
    assert tuple(back.siopen) == SIOPEN_KEYS and back.siopen == result.siopen
    assert back.to_dict()["siopen"] == data["siopen"]
    assert (back.siopen_grades.total, back.siopen_grades.category) == (6, ">3")
    assert (back.curie_grades.total, back.curie_grades.category) == (4, ">2")
    with pytest.raises(ValueError, match=r"SIOPEN grade 7 for skull \(0-6\)"):
        ScoreResult.from_dict({**data, "siopen": {**data["siopen"], "segments": {
            **data["siopen"]["segments"], "skull": 7}}})
    with pytest.raises(ValueError, match=r"Curie grades: missing \['soft_tissue'\]"):
        ScoreResult.from_dict({**data, "curie": {"segments": {
            k: 0 for k in CURIE_KEYS[:-1]}}})
    report = ReadingReport.from_scan(scan, result)
    assert (report.siopen_category, report.curie_category) == (">3", ">2")
    assert report.siopen_grades == report.siopen
    with pytest.raises(ValueError, match="prior SIOPEN grade 7 for skull"):
        PriorComparison(dt.date(2025, 1, 10), {**{k: 0 for k in SIOPEN_KEYS}, "skull": 7})
