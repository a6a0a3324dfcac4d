"""`validate` reads the project's own files as references: the simulator's truth.csv and the
web application's readings export (signed rows only, with a warning for the others)."""

import csv

import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.errors import ReadingsFileError
from mibgscore.validation.cohort import match_studies, read_results
from mibgscore.validation.readings import file_key, read_readings


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Three simulated studies, their truth.csv, and the batch results of scoring them."""
    from mibgscore.simulate.study import write_studies
    from mibgscore.validation.batch import score_cohort

    folder = tmp_path_factory.mktemp("sim")
    write_studies(folder / "cases", 3, 5, category="limited")
    score_cohort(folder / "cases", folder / "results.csv", workers=1)
    return folder


def test_truth_csv_of_the_simulator_is_a_reference(simulated):
    truth = read_readings(simulated / "cases" / "truth.csv")
    assert len(truth.table) == 3
    assert list(truth.table["file"]) == ["case_000.dcm", "case_001.dcm", "case_002.dcm"]
    ignored = [n for n in truth.notes if "describes the study" in n]
    assert [n.split("'")[1] for n in ignored] == ["category", "seed", "age_years",
                                                  "height_cm"]
    with (simulated / "cases" / "truth.csv").open() as fh:
        first = next(csv.DictReader(fh))
    assert int(truth.table["siopen_total"].iloc[0]) == int(first["siopen_total"])
    auto, _ = read_results(simulated / "results.csv")
    cohort = match_studies(truth, auto)
    assert cohort.auto_only == [] and cohort.reference_only == []
    assert len(cohort.studies) == 3
    for study in cohort.studies:  # each truth row meets the result of its own file
        assert set(study.ratings) == {"truth", "mibgscore"}
        assert file_key(study.ratings["truth"]["file"]) == file_key(study.file)


def test_validate_runs_on_truth_csv(simulated, tmp_path):
    from mibgscore.validation.compare import validate

    m = validate(simulated / "results.csv", simulated / "cases" / "truth.csv", tmp_path / "v")
    assert m["n_studies"] == 3, m["n_studies"]
    assert (tmp_path / "v" / "report.html").exists()


def _export(path, rows):
    """A readings CSV laid out as ``/api/readings.csv`` of the web application writes it."""
    head = ["study_key", "study_uid", "patient_id", "study_date", "status", "reader",
            "signed_at", "edited", "siopen_total_auto", "siopen_total", "curie_total_auto",
            "curie_total"]
    head += [f"siopen_{k}_auto" for k in SIOPEN_KEYS] + [f"siopen_{k}" for k in SIOPEN_KEYS]
    head += [f"curie_{k}_auto" for k in CURIE_KEYS] + [f"curie_{k}" for k in CURIE_KEYS]
    head += ["impression"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for i, (status, final) in enumerate(rows):
            auto = [1] * 12
            fin = final if final is not None else [""] * 12
            total = sum(final) if final is not None else ""
            w.writerow([f"k{i}", f"1.2.3.{i}", f"P{i}", "2025-01-0" + str(i + 1), status,
                        "alice", "", "", 12, total, 0, "" if final is None else 0]
                       + auto + fin + [0] * 10 + ([0] * 10 if final is not None else [""] * 10)
                       + ["note, with a comma"])
    return path


def test_web_export_reads_signed_rows_and_warns_about_the_others(tmp_path):
    grades = [2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3]
    path = _export(tmp_path / "mibgscore-readings.csv",
                   [("signed", grades), ("scored", None), ("amended", [0] * 12),
                    ("in_review", grades)])
    readings = read_readings(path)
    assert list(readings.table["study_uid"]) == ["1.2.3.0", "1.2.3.2"]
    row = readings.table.iloc[0]
    assert [int(row[k]) for k in SIOPEN_KEYS] == grades and int(row["siopen_total"]) == 6
    assert int(row["curie_total"]) == 0
    assert "2 rows skipped: not a signed reading (status scored (1), in_review (1), " \
           "column E)." in readings.notes
    assert any("24 columns ending in _auto" in n and "ignored" in n for n in readings.notes)
    assert any("'study_key' ignored" in n for n in readings.notes)
    assert set(readings.readers) == {"alice"}


def test_a_web_export_with_nothing_signed_is_refused_in_one_sentence(tmp_path):
    path = _export(tmp_path / "e.csv", [("scored", None), ("in_review", [0] * 12)])
    with pytest.raises(ReadingsFileError, match=r"e\.csv: no row is a signed reading: the "
                       r"status column \(column E\) gives scored \(1\), in_review \(1\)"):
        read_readings(path)


def test_one_reading_naming_only_a_file_is_matched_by_file_name(tmp_path):
    head = ["file", *SIOPEN_KEYS]
    ref = tmp_path / "ref.csv"
    ref.write_text(",".join(head) + "\ncase_007.dcm," + ",".join(["1"] * 12) + "\n")
    auto = tmp_path / "results.csv"
    auto.write_text(",".join(["file", "study_uid", *SIOPEN_KEYS]) + "\n"
                    "/data/x/case_007.dcm,1.2.9," + ",".join(["1"] * 12) + "\n"
                    "/data/x/case_008.dcm,1.2.8," + ",".join(["0"] * 12) + "\n")
    cohort = match_studies(read_readings(ref), read_readings(auto, default_reader="mibgscore"))
    matched = [s for s in cohort.studies if len(s.ratings) == 2]
    assert len(matched) == 1 and matched[0].study_uid == "1.2.9"
    assert cohort.auto_only == ["study 1.2.8"]
    with pytest.raises(ReadingsFileError, match="rows 2 and 3 both give reader"):
        dup = tmp_path / "dup.csv"
        dup.write_text(",".join(head) + "\n" + ("case_007.dcm," + ",".join(["1"] * 12)
                                                + "\n") * 2)
        read_readings(dup)
