"""The batch's crash safety on its files: half-written lines, rows without a ledger entry, files
of an earlier version, and the progress it reports."""

import csv

import pytest

from mibgscore.errors import InputError
from mibgscore.validation.batch import (
    _LEDGER_COLUMNS,
    _LEGACY_LEDGER_COLUMNS,
    _LEGACY_RESULT_COLUMNS,
    LESION_COLUMNS,
    PROVENANCE_COLUMNS,
    RESULT_COLUMNS,
    _check_schemes,
    _Counter,
    _recover,
    _Sink,
)


def _write(path, columns, rows, tail=""):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        fh.write(tail)


def _read(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_recover_drops_rows_without_ledger_entry_and_half_lines(tmp_path):
    results, lesions, ledger = (tmp_path / n for n in ("results.csv", "lesions.csv",
                                                        "results.csv.done"))
    done = {"study_uid": "1.1", "file": "a.dcm", "siopen_total": 3}
    orphan = {"study_uid": "2.2", "file": "b.dcm", "siopen_total": 5}
    _write(results, RESULT_COLUMNS, [done, orphan], tail="3.3,c.dcm,0,0")  # killed mid-line
    _write(lesions, LESION_COLUMNS, [{"study_uid": "1.1", "file": "a.dcm", "segment": "spine"},
                                     {"study_uid": "2.2", "file": "b.dcm", "segment": "skull"}])
    _write(ledger, _LEDGER_COLUMNS, [{"key": "k1", "study_uid": "1.1", "file": "a.dcm",
                                      "files_sha256": "f1"}], tail="k2,2.")
    keys, known = _recover(results, lesions, ledger)
    assert keys == {("k1", "f1")} and known == {("1.1", "a.dcm")}
    assert [r["study_uid"] for r in _read(results)] == ["1.1"]
    assert [r["segment"] for r in _read(lesions)] == ["spine"]
    assert results.read_bytes().endswith(b"\n")


def test_sink_appends_whole_rows_and_refuses_foreign_files(tmp_path):
    path = tmp_path / "results.csv"
    sink = _Sink(path, RESULT_COLUMNS)
    sink.write([{"study_uid": "1.1", "file": "a.dcm"}])
    sink.close()
    sink = _Sink(path, RESULT_COLUMNS)
    sink.write([{"study_uid": "2.2", "file": "b.dcm"}])
    sink.drop("1.1", "a.dcm")
    sink.write([{"study_uid": "3.3", "file": "c.dcm"}])
    sink.close()
    assert [r["study_uid"] for r in _read(path)] == ["2.2", "3.3"]
    other = tmp_path / "mine.csv"
    other.write_text("name,value\nx,1\n")
    with pytest.raises(InputError, match="mine.csv: exists with other columns"):
        _Sink(other, RESULT_COLUMNS)
    assert other.read_text() == "name,value\nx,1\n"


def test_files_of_an_earlier_batch_gain_the_new_columns_and_keep_their_rows(tmp_path):
    """A results.csv and ledger written before the scheme, model and file-hash columns."""
    results, lesions, ledger = (tmp_path / n for n in ("results.csv", "lesions.csv",
                                                        "results.csv.done"))
    _write(results, _LEGACY_RESULT_COLUMNS, [{"study_uid": "1.1", "file": "a.dcm",
                                              "siopen_total": 3}])
    _write(lesions, LESION_COLUMNS, [])
    _write(ledger, _LEGACY_LEDGER_COLUMNS, [{"key": "old", "study_uid": "1.1",
                                             "file": "a.dcm"}])
    keys, known = _recover(results, lesions, ledger)
    assert keys == {("old", "")} and known == {("1.1", "a.dcm")}
    with results.open(newline="") as fh:
        assert tuple(next(csv.reader(fh))) == RESULT_COLUMNS
    assert RESULT_COLUMNS[-len(PROVENANCE_COLUMNS):] == PROVENANCE_COLUMNS
    assert [(r["study_uid"], r["siopen_total"], r["model_name"]) for r in _read(results)] == \
        [("1.1", "3", "")]
    with ledger.open(newline="") as fh:
        assert tuple(next(csv.reader(fh))) == _LEDGER_COLUMNS


def test_results_scored_with_other_segment_tables_are_not_mixed(tmp_path):
    from mibgscore.anatomy.scheme import load_scheme

    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    results = tmp_path / "results.csv"
    _write(results, RESULT_COLUMNS, [{"study_uid": "1.1", "file": "a.dcm"}])  # legacy: bundled
    _check_schemes(results, siopen, curie)
    _write(results, RESULT_COLUMNS, [{"study_uid": "1.1", "file": "a.dcm",
                                      "siopen_scheme": "My centre", "curie_scheme": "Curie"}])
    with pytest.raises(InputError, match="results.csv: holds studies scored with the segment "
                                         "tables My centre and Curie, not SIOPEN and Curie"):
        _check_schemes(results, siopen, curie)


def test_progress_ends_at_done_equals_total():
    calls = []
    counter = _Counter(5, lambda done, total: calls.append((done, total)))
    for _ in range(3):  # three studies from five files
        counter.step()
    counter.finish()
    assert calls == [(0, 5), (1, 5), (2, 5), (3, 5), (3, 3)]
    calls.clear()
    counter = _Counter(1, lambda done, total: calls.append((done, total)))
    counter.step()
    counter.step()  # more studies than files (a multi-study file): the total follows
    counter.finish()
    assert calls == [(0, 1), (1, 1), (2, 2)]
