"""The batch's crash safety on its files: half-written lines and rows without a ledger entry."""

import csv

import pytest

from mibgscore.errors import InputError
from mibgscore.validation.batch import (
    _LEDGER_COLUMNS,
    LESION_COLUMNS,
    RESULT_COLUMNS,
    _recover,
    _Sink,
    overlay_name,
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
    _write(ledger, _LEDGER_COLUMNS, [{"key": "k1", "study_uid": "1.1", "file": "a.dcm"}],
           tail="k2,2.")
    keys, known = _recover(results, lesions, ledger)
    assert keys == {"k1"} and known == {("1.1", "a.dcm")}
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


def test_overlay_names_differ_for_same_stem_in_two_folders():
    assert overlay_name("/a/IM0001", "1.2.3") != overlay_name("/b/IM0001", "1.2.4")
    assert overlay_name("/a/case_001.dcm", "1.2.3").startswith("case_001-")
