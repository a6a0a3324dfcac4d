"""Reading physicians' readings: header variants, forms, and precise refusals."""

import csv

import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.errors import ReadingsFileError
from mibgscore.validation.readings import (
    TEMPLATES,
    canonical_name,
    read_readings,
    template_path,
    write_templates,
)

GRADES = [2, 1, 4, 5, 1, 0, 0, 1, 2, 0, 1, 0]  # total 17


def _write(path, header, rows, delimiter=","):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def _wide(tmp_path, rows=None, header=None, name="readings.csv"):
    header = header or ["patient_id", "study_date", "study_uid", "reader", *SIOPEN_KEYS,
                        "siopen_total"]
    rows = rows if rows is not None else [
        ["P1", "2024-01-15", "1.2.3.1", "A", *GRADES, 17],
        ["P1", "2024-05-20", "1.2.3.2", "A", *([0] * 12), 0],
    ]
    return _write(tmp_path / name, header, rows)


@pytest.mark.parametrize("header, expected", [
    ("Skull", "skull"), ("  SPINE ", "spine"), ("Crâne", "skull"), ("rachis", "spine"),
    ("Bassin", "pelvis"), ("Date d'examen", "study_date"), ("lecteur", "reader"),
    ("Study Instance UID", "study_uid"), ("Patient ID", "patient_id"),
    ("Membre supérieur droit proximal", "right_upper_limb_proximal"),
    ("Membre inférieur gauche distal", "left_lower_limb_distal"),
    ("Right upper limb - proximal", "right_upper_limb_proximal"),
    ("L lower prox", "left_lower_limb_proximal"),
    ("Total SIOPEN", "siopen_total"), ("Curie tissus mous", "curie_soft_tissue"),
    ("curie_head", "curie_head"), ("Curie total", "curie_total"),
    ("cage thoracique", "thoracic_cage"), ("femur", None), ("upper limb", None),
])
def test_header_variants(header, expected):
    assert canonical_name(header) == expected


def test_wide_csv_is_read_and_totals_checked(tmp_path):
    r = read_readings(_wide(tmp_path))
    assert r.form == "wide"
    assert len(r.table) == 2
    assert r.readers == ["A"]
    assert int(r.table.loc[0, "siopen_total"]) == 17
    assert r.table.loc[0, "study_date"] == "2024-01-15"
    assert not r.has_curie


def test_french_headers_semicolons_and_a_note_per_column(tmp_path):
    header = ["Patient", "Date d'examen", "Lecteur", "Crâne", "Cage thoracique", "Rachis",
              "Bassin", "Membre supérieur droit proximal", "Membre supérieur droit distal",
              "Membre supérieur gauche proximal", "Membre supérieur gauche distal",
              "Membre inférieur droit proximal", "Membre inférieur droit distal",
              "Membre inférieur gauche proximal", "Membre inférieur gauche distal", "Total",
              "Commentaire"]
    path = _write(tmp_path / "lectures.csv", header,
                  [["P9", "2023-03-01", "Dr Martin", *GRADES, 17, "RAS"]], delimiter=";")
    r = read_readings(path)
    assert list(r.table[list(SIOPEN_KEYS)].iloc[0]) == GRADES
    assert r.table.loc[0, "reader"] == "Dr Martin"
    text = "\n".join(r.notes)
    assert "column D 'Crâne' read as skull." in text
    assert "column B \"Date d'examen\" read as study_date." in text
    assert "'Commentaire' ignored" in text


def test_xlsx_with_date_cells_and_numeric_ids(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["patient_id", "study_date", "reader", *SIOPEN_KEYS])
    ws.append([1042, dt.datetime(2024, 3, 15), "B", *GRADES])
    path = tmp_path / "readings.xlsx"
    wb.save(path)
    r = read_readings(path)
    assert r.table.loc[0, "patient_id"] == "1042"
    assert r.table.loc[0, "study_date"] == "2024-03-15"
    assert int(r.table.loc[0, "siopen_total"]) == 17


def test_long_form_with_curie(tmp_path):
    rows = [["1.2.3.1", "A", k, g] for k, g in zip(SIOPEN_KEYS, GRADES, strict=True)]
    rows += [["1.2.3.1", "A", f"curie_{k}", 1] for k in CURIE_KEYS]
    path = _write(tmp_path / "long.csv", ["Study UID", "Reader", "Segment", "Grade"], rows)
    r = read_readings(path)
    assert r.form == "long"
    assert int(r.table.loc[0, "siopen_total"]) == 17
    assert int(r.table.loc[0, "curie_total"]) == 10
    assert r.has_curie


def test_templates_are_valid_readings(tmp_path):
    for name in TEMPLATES:
        r = read_readings(template_path(name))
        assert len(r.table) >= 1, name
    written = write_templates(tmp_path / "t")
    assert sorted(p.name for p in written) == sorted(TEMPLATES)


def test_unknown_column_is_named_with_its_letter(tmp_path):
    header = ["patient_id", "study_date", "reader", *SIOPEN_KEYS, "femur"]
    path = _wide(tmp_path, header=header, rows=[["P1", "2024-01-01", "A", *GRADES, 1]])
    with pytest.raises(ReadingsFileError, match=r"readings.csv: column P is headed 'femur'"):
        read_readings(path)


def test_grade_outside_scale(tmp_path):
    bad = list(GRADES)
    bad[3] = 8
    path = _wide(tmp_path, rows=[["P1", "2024-01-15", "", "A", *bad, 20]])
    with pytest.raises(ReadingsFileError,
                       match=r"row 2 gives pelvis grade 8 \(column H\), but SIOPEN grades run "
                             r"from 0 to 6"):
        read_readings(path)


def test_curie_grade_outside_scale(tmp_path):
    header = ["study_uid", "reader", *SIOPEN_KEYS, *(f"curie_{k}" for k in CURIE_KEYS)]
    path = _wide(tmp_path, header=header,
                 rows=[["1.2", "A", *GRADES, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    with pytest.raises(ReadingsFileError, match="curie_head grade 4.*Curie grades run from 0 "
                                                "to 3"):
        read_readings(path)


def test_total_differs_from_sum(tmp_path):
    path = _wide(tmp_path, rows=[["P1", "2024-01-15", "", "A", *GRADES, 18]])
    with pytest.raises(ReadingsFileError,
                       match="row 2 gives siopen_total 18, but its segments sum to 17"):
        read_readings(path)


def test_duplicate_rows(tmp_path):
    row = ["P1", "2024-01-15", "1.2.3.1", "A", *GRADES, 17]
    path = _wide(tmp_path, rows=[row, ["P2", "2024-01-16", "1.2.3.9", "A", *GRADES, 17], row])
    with pytest.raises(ReadingsFileError, match="rows 2 and 4 both give reader A's reading of "
                                                "study 1.2.3.1"):
        read_readings(path)


@pytest.mark.parametrize("date", ["15/01/2024", "2024-13-01", "20240115", "Jan 15 2024"])
def test_dates_must_be_iso(tmp_path, date):
    path = _wide(tmp_path, rows=[["P1", date, "", "A", *GRADES, 17]])
    with pytest.raises(ReadingsFileError, match=r"row 2, column B \(study_date\): .* is not a "
                                                "date written YYYY-MM-DD"):
        read_readings(path)


def test_missing_grade_and_missing_study(tmp_path):
    blank = [*GRADES[:2], "", *GRADES[3:]]
    with pytest.raises(ReadingsFileError, match=r"row 2 has no grade for spine \(column G\)"):
        read_readings(_wide(tmp_path, rows=[["P1", "2024-01-15", "", "A", *blank, ""]]))
    with pytest.raises(ReadingsFileError, match="row 2 names no study"):
        read_readings(_wide(tmp_path, rows=[["P1", "", "", "A", *GRADES, 17]]))


def test_non_integer_grade(tmp_path):
    half = [*GRADES[:1], "1.5", *GRADES[2:]]
    with pytest.raises(ReadingsFileError, match="not a whole-number grade"):
        read_readings(_wide(tmp_path, rows=[["P1", "2024-01-15", "", "A", *half, ""]]))


def test_long_form_unknown_segment_and_incomplete_study(tmp_path):
    path = _write(tmp_path / "long.csv", ["study_uid", "reader", "segment", "grade"],
                  [["1.2", "A", "femur", 1]])
    with pytest.raises(ReadingsFileError, match="row 2, column C: segment 'femur' is neither a "
                                                "SIOPEN key"):
        read_readings(path)
    path = _write(tmp_path / "long2.csv", ["study_uid", "reader", "segment", "grade"],
                  [["1.2", "A", "skull", 1], ["1.2", "A", "spine", 2]])
    with pytest.raises(ReadingsFileError, match="lacks thoracic_cage, pelvis"):
        read_readings(path)
    path = _write(tmp_path / "long3.csv", ["study_uid", "reader", "segment", "grade"],
                  [["1.2", "A", "skull", 1], ["1.2", "A", "Crâne", 2]])
    with pytest.raises(ReadingsFileError, match="rows 2 and 3 both give skull"):
        read_readings(path)


def test_missing_siopen_column_and_wrong_format(tmp_path):
    header = ["study_uid", "reader", *SIOPEN_KEYS[:-1]]
    with pytest.raises(ReadingsFileError, match="left_lower_limb_distal are missing"):
        read_readings(_wide(tmp_path, header=header, rows=[["1.2", "A", *GRADES[:-1]]]))
    (tmp_path / "r.ods").write_text("x")
    with pytest.raises(ReadingsFileError, match="must be a .csv or .xlsx file"):
        read_readings(tmp_path / "r.ods")
    with pytest.raises(ReadingsFileError, match="no such file"):
        read_readings(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("study_uid,reader\n")
    with pytest.raises(ReadingsFileError, match="holds no reading"):
        read_readings(tmp_path / "empty.csv")


def test_segment_headers_come_from_the_segment_tables():
    from mibgscore.anatomy.scheme import load_scheme

    for seg in load_scheme("siopen").segments:
        for name in seg.header_names:
            assert canonical_name(name) == seg.key, name
    for seg in load_scheme("curie").segments:
        for name in seg.header_names:
            for prefix in ("Curie ", "curie_", "C - "):
                assert canonical_name(prefix + name) == f"curie_{seg.key}", prefix + name
    assert canonical_name("Rachis cervical et thoracique") is None  # a Curie name, no prefix


def test_results_csv_metadata_columns_are_read_as_text_not_grades(tmp_path):
    """results.csv of `mibgscore batch` ends with the segment tables and the model: read as
    metadata by the readings parser itself (no copy without them)."""
    from mibgscore.validation.batch import RESULT_COLUMNS
    from mibgscore.validation.readings import METADATA_COLUMNS

    assert RESULT_COLUMNS[-len(METADATA_COLUMNS):] == METADATA_COLUMNS
    curie = [0] * len(CURIE_KEYS)
    meta = ["My centre", "Curie", "classic", "0.1.0", "ab" * 32]
    rows = [["P1", "2024-01-15", "1.2.3.1", "/d/1.dcm", *GRADES, 17, *curie, 0, "", *meta],
            ["P1", "2024-05-20", "1.2.3.2", "/d/2.dcm", *([0] * 12), 0, *curie, 0, "",
             "", "", "1.0", "", ""]]
    r = read_readings(_write(tmp_path / "results.csv", RESULT_COLUMNS, rows))
    assert r.metadata == METADATA_COLUMNS and r.readers == ["results"]
    assert int(r.table.loc[0, "siopen_total"]) == 17 and int(r.table.loc[1, "curie_total"]) == 0
    assert [r.table.loc[0, c] for c in METADATA_COLUMNS] == meta
    assert r.table.loc[1, "model_name"] == "1.0" and r.table.loc[1, "model_sha256"] is None
    assert "model_sha256" in "\n".join(r.notes)
    plain = read_readings(_wide(tmp_path))
    assert plain.metadata == () and plain.table["model_name"].isna().all()
