"""The cohort: results.csv read with what scored it, matching, and the values of each rater."""

import csv

import numpy as np
import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.errors import ReadingsFileError
from mibgscore.validation.batch import RESULT_COLUMNS
from mibgscore.validation.cohort import (
    SOFTWARE,
    match_studies,
    paired_values,
    per_study_rows,
    read_results,
    values,
)
from mibgscore.validation.readings import read_readings

OLD_COLUMNS = [c for c in RESULT_COLUMNS if not c.startswith(("model_", "siopen_scheme",
                                                               "curie_scheme"))]


def _row(uid: str, spine: int, **extra) -> dict:
    row = {"patient_id": "P1", "study_date": f"2024-01-0{uid[-1]}", "study_uid": uid,
           "file": f"/data/{uid}.dcm", **{k: 0 for k in SIOPEN_KEYS},
           **{f"curie_{k}": 0 for k in CURIE_KEYS}, "warnings": ""}
    row["spine"] = spine
    row["siopen_total"] = spine
    row["curie_total"] = 0
    return {**row, **extra}


def _write(path, columns, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


MODEL = {"model_name": "classic", "model_version": "0.1.0", "model_sha256": "ab" * 32,
         "siopen_scheme": "My centre", "curie_scheme": "Curie"}


def test_results_csv_with_scheme_and_model_columns(tmp_path):
    path = _write(tmp_path / "results.csv", RESULT_COLUMNS,
                  [_row("1.1", 2, **MODEL), _row("1.2", 3, **MODEL),
                   _row("1.3", 0, **{**MODEL, "model_name": "learned"})])
    readings, provenance = read_results(path)
    assert readings.path == str(path) and readings.readers == [SOFTWARE]
    assert list(readings.table["spine"]) == [2, 3, 0]
    assert provenance.schemes == ({"siopen": "My centre", "curie": "Curie"},)
    assert [(m["name"], m["n_studies"]) for m in provenance.models] == [("classic", 2),
                                                                        ("learned", 1)]
    assert any("model_sha256" in n for n in readings.notes)


def test_results_csv_written_before_the_columns_existed(tmp_path):
    path = _write(tmp_path / "results.csv", OLD_COLUMNS, [_row("1.1", 2), _row("1.2", 3)])
    readings, provenance = read_results(path)
    assert list(readings.table["siopen_total"]) == [2, 3]
    assert provenance.schemes == () and provenance.models == ()
    assert read_readings(path, default_reader=SOFTWARE).table.equals(readings.table)


def test_a_wrong_results_csv_is_named_in_the_message(tmp_path):
    path = _write(tmp_path / "results.csv", RESULT_COLUMNS,
                  [_row("1.1", 2, **MODEL), {**_row("1.2", 3, **MODEL), "spine": 9}])
    with pytest.raises(ReadingsFileError, match=r"^results\.csv: row 3 gives spine grade 9") \
            as info:
        read_results(path)
    assert info.value.path == str(path)


def test_values_of_the_studies_both_read(tmp_path):
    auto = _write(tmp_path / "results.csv", RESULT_COLUMNS,
                  [_row("1.1", 2, **MODEL), _row("1.2", 3, **MODEL), _row("1.4", 1, **MODEL)])
    ref = _write(tmp_path / "readings.csv", [*OLD_COLUMNS, "reader"],
                 [_row("1.1", 2, reader="A"), _row("1.2", 5, reader="A"),
                  _row("1.3", 1, reader="A")])
    cohort = match_studies(read_readings(ref), read_results(auto)[0])
    assert (cohort.test, cohort.reference) == (SOFTWARE, "A")
    assert cohort.auto_only == ["P1 2024-01-04"] and cohort.reference_only == ["P1 2024-01-03"]
    t, r = paired_values(cohort, "spine")
    assert t.tolist() == [2.0, 3.0] and r.tolist() == [2.0, 5.0]
    auto_values = values([s for s in cohort.studies if SOFTWARE in s.ratings], SOFTWARE,
                         "curie_total")
    assert np.array_equal(auto_values, [0.0, 0.0, 0.0])
    rows = per_study_rows(cohort)
    assert [(r["study_uid"], r["siopen_segment_disagreement"], r["disagreement_rank"])
            for r in rows] == [("1.2", 2, 1), ("1.1", 0, 2)]
    assert rows[0]["spine_test"] == 3 and rows[0]["spine_reference"] == 5
