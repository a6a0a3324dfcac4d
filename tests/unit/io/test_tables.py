"""CSV cells that a spreadsheet would run as formulas are written as text, and read back."""

from __future__ import annotations

import csv

from mibgscore.io.tables import formula_safe, safe_row, unescape_cell
from mibgscore.validation.batch import FAILURE_COLUMNS, _Sink


def test_formula_cells_get_a_quote_and_lose_it_when_read_back():
    for text in ('=HYPERLINK("http://x","a")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx",
                 "=cmd|' /C calc'!A0"):
        assert formula_safe(text) == "'" + text
        assert unescape_cell(formula_safe(text)) == text
    for value in ("SIM123", "", "'quoted", 3, -3.5, None):
        assert formula_safe(value) == value
    assert safe_row(["=1", 2]) == ["'=1", 2]
    assert unescape_cell("'plain") == "'plain"


def test_batch_failures_csv_is_formula_safe(tmp_path):
    sink = _Sink(tmp_path / "failures.csv", FAILURE_COLUMNS, fresh=True)
    sink.write([{"file": "=HYPERLINK(\"http://evil\")", "reason": "-1 frames"}])
    sink.close()
    with (tmp_path / "failures.csv").open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row == {"file": "'=HYPERLINK(\"http://evil\")", "reason": "'-1 frames"}
