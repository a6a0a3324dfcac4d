"""score_cohort(): simulated studies through real DICOM bytes, streamed CSV files, re-runs,
a centre's segment table."""

import csv
from importlib import resources
from pathlib import Path

import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.report.naming import overlay_name
from mibgscore.validation.batch import RESULT_COLUMNS, score_cohort
from mibgscore.validation.compare import ValidateOptions

EXPECTED_COLUMNS = ["patient_id", "study_date", "study_uid", "file", *SIOPEN_KEYS,
                    "siopen_total", *(f"curie_{k}" for k in CURIE_KEYS), "curie_total",
                    "warnings", "siopen_scheme", "curie_scheme", "model_name", "model_version",
                    "model_sha256"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    from mibgscore.simulate import write_studies

    folder = tmp_path_factory.mktemp("sim")
    write_studies(folder, 3, seed=11)
    (folder / "notes_not_dicom.dcm").write_text("this is not a scan\n")
    return folder


@pytest.fixture(scope="module")
def batch(studies, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    calls = []
    summary = score_cohort([studies], out / "results.csv", workers=1,
                           overlay_dir=out / "overlays",
                           progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 4) and calls[-1] == (4, 4), calls  # 3 studies and a bad file
    return out, summary


def test_results_csv_has_exactly_the_contract_columns(batch):
    out, summary = batch
    assert summary.scored == 3 and summary.failed == 1, summary
    with (out / "results.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header == EXPECTED_COLUMNS == list(RESULT_COLUMNS)
    rows = _rows(out / "results.csv")
    assert len(rows) == 3
    for r in rows:
        assert int(r["siopen_total"]) == sum(int(r[k]) for k in SIOPEN_KEYS)
        assert int(r["curie_total"]) == sum(int(r[f"curie_{k}"]) for k in CURIE_KEYS)
        assert r["study_uid"].startswith("1.2.") and len(r["study_date"]) == 10
        assert Path(r["file"]).name.startswith("case_")
        assert (r["siopen_scheme"], r["curie_scheme"]) == ("SIOPEN", "Curie")
        assert r["model_name"] and r["model_version"] and len(r["model_sha256"]) == 64


def test_bad_file_goes_to_failures_and_the_batch_goes_on(batch):
    out, _ = batch
    failures = _rows(out / "failures.csv")
    assert [Path(f["file"]).name for f in failures] == ["notes_not_dicom.dcm"]
    assert "not a DICOM file" in failures[0]["reason"]


def test_lesions_and_overlays(batch):
    out, _ = batch
    lesions = _rows(out / "lesions.csv")
    uids = {r["study_uid"] for r in _rows(out / "results.csv")}
    assert lesions, "the simulated studies hold lesions"
    assert {r["study_uid"] for r in lesions} <= uids
    assert all(r["segment"] in SIOPEN_KEYS and r["kind"] in ("focal", "diffuse")
               for r in lesions)
    for r in _rows(out / "results.csv"):
        png = out / "overlays" / overlay_name(r["file"], r["study_uid"])
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_skips_what_is_done(studies, batch):
    out, _ = batch
    before = (out / "results.csv").read_bytes()
    again = score_cohort([studies], out / "results.csv", workers=1)
    assert (again.scored, again.skipped, again.failed) == (0, 3, 1)
    assert (out / "results.csv").read_bytes() == before


def test_validate_batch_results_against_the_truth(studies, batch, tmp_path):
    """The results.csv of batch stands as the automatic side of validate, with overlays."""
    from mibgscore.validation.compare import validate

    out, _ = batch
    by_name = {Path(r["file"]).name: r for r in _rows(out / "results.csv")}
    truth = _rows(studies / "truth.csv")
    readings = tmp_path / "readings.csv"
    columns = ["study_uid", "reader", *SIOPEN_KEYS, *(f"curie_{k}" for k in CURIE_KEYS)]
    with readings.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for t in truth:
            w.writerow({**t, "study_uid": by_name[t["file"]]["study_uid"], "reader": "truth"})
    m = validate(out / "results.csv", readings, tmp_path / "v",
                 options=ValidateOptions(overlay_dir=out / "overlays", n_resamples=100))
    assert m["n_studies"] == 3
    assert m["notes"]["overlays"] == [] and not (tmp_path / "v" / "overlays").exists()
    html = (tmp_path / "v" / "report.html").read_text()
    n_discordant = sum(1 for t in truth
                       if any(int(t[k]) != int(by_name[t["file"]][k]) for k in SIOPEN_KEYS))
    assert html.count('alt="overlay of the automatic reading"') == min(n_discordant, 10)


def test_dask_local_cluster_then_a_changed_file_is_scored_again(studies, tmp_path):
    distributed = pytest.importorskip("distributed")
    import pydicom

    one = tmp_path / "one.dcm"
    one.write_bytes(sorted(studies.glob("case_*.dcm"))[0].read_bytes())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        summary = score_cohort([one], tmp_path / "results.csv",
                               scheduler=cluster.scheduler_address)
    assert (summary.scored, summary.failed) == (1, 0)
    assert len(_rows(tmp_path / "results.csv")) == 1
    ds = pydicom.dcmread(one)
    ds.InstitutionName = "Another hospital"
    ds.save_as(one)
    again = score_cohort([one], tmp_path / "results.csv", workers=1)
    assert (again.scored, again.skipped) == (1, 0)
    rows = _rows(tmp_path / "results.csv")
    assert len(rows) == 1, "the changed file's row replaces the old one"
    lesions = _rows(tmp_path / "lesions.csv")
    assert len(lesions) == len({(r["segment"], r["row"], r["col"]) for r in lesions})


def _centre_table(path: Path) -> Path:
    """The bundled SIOPEN table with humerus and femur split at 0.3 and the sacrum in the
    spine, named "My centre"."""
    text = resources.files("mibgscore.anatomy.schemes").joinpath("siopen.toml").read_text()
    for a, b in (("to = 0.5", "to = 0.3"), ("from = 0.5", "from = 0.3"),
                 ('"hip_bone_left", "sacrum"]', '"hip_bone_left"]'),
                 ('"lumbar_spine"]', '"lumbar_spine", "sacrum"]'),
                 ('name = "SIOPEN"', 'name = "My centre"')):
        assert a in text, a
        text = text.replace(a, b)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_centre_table_changes_the_grades_as_score_does_and_validate_agrees(
        studies, batch, tmp_path):
    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import score
    from mibgscore.validation.compare import validate

    table = _centre_table(tmp_path / "my_centre.toml")
    summary = score_cohort([studies], tmp_path / "results.csv", workers=1,
                           siopen_scheme=table)
    assert (summary.scored, summary.failed) == (3, 1), summary
    default = {r["file"]: r for r in _rows(batch[0] / "results.csv")}
    rows = _rows(tmp_path / "results.csv")
    changed = []
    for row in rows:
        expected = score(read_scan(row["file"]), siopen_scheme=table)
        assert {k: int(row[k]) for k in SIOPEN_KEYS} == expected.siopen
        assert int(row["siopen_total"]) == expected.siopen_total
        assert {k: int(row[f"curie_{k}"]) for k in CURIE_KEYS} == expected.curie
        assert (row["siopen_scheme"], row["curie_scheme"]) == ("My centre", "Curie")
        assert row["model_sha256"] == expected.model.sha256
        if any(row[k] != default[row["file"]][k] for k in SIOPEN_KEYS):
            changed.append(row)
    assert changed, "the centre's table changes no grade of these studies: a weak test"

    # the physician agrees with the automatic grades except on one segment of a changed study
    readings = tmp_path / "readings.csv"
    columns = ["study_uid", "reader", *SIOPEN_KEYS, *(f"curie_{k}" for k in CURIE_KEYS)]
    with readings.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            read = {**row, "reader": "Dr A"}
            if row is changed[0]:
                read["skull"] = (int(row["skull"]) + 1) % 7
            w.writerow(read)
    same = validate(tmp_path / "results.csv", readings, tmp_path / "same",
                    options=ValidateOptions(n_resamples=100, siopen_scheme=table))
    assert same["schemes"] == {"siopen": "My centre", "curie": "Curie"}
    assert same["input"]["auto_schemes"] == [{"siopen": "My centre", "curie": "Curie"}]
    assert [m["sha256"] for m in same["models"]] == [rows[0]["model_sha256"]]
    assert same["notes"]["overlays"] == [], same["notes"]
    assert (tmp_path / "same" / "overlays").is_dir(), "the discordant study is drawn anew"
    html = (tmp_path / "same" / "report.html").read_text()
    assert "segment tables My centre and Curie" in html and rows[0]["model_sha256"] in html
    other = validate(tmp_path / "results.csv", readings, tmp_path / "other",
                     options=ValidateOptions(n_resamples=100))
    assert other["schemes"] == {"siopen": "SIOPEN", "curie": "Curie"}
    assert any("names the segment tables My centre and Curie" in n
               for n in other["notes"]["auto"]), other["notes"]
    assert len(other["notes"]["overlays"]) == 1
    assert "differ from the automatic results" in other["notes"]["overlays"][0]


def test_a_results_csv_of_other_tables_is_not_resumed_with_the_bundled_ones(
        studies, tmp_path):
    from mibgscore.errors import InputError

    table = _centre_table(tmp_path / "my_centre.toml")
    one = tmp_path / "one.dcm"
    one.write_bytes(sorted(studies.glob("case_*.dcm"))[0].read_bytes())
    score_cohort([one], tmp_path / "results.csv", workers=1, siopen_scheme=table)
    with pytest.raises(InputError, match="scored with the segment tables My centre and Curie, "
                                         "not SIOPEN and Curie"):
        score_cohort([one], tmp_path / "results.csv", workers=1)
    again = score_cohort([one], tmp_path / "results.csv", workers=1, siopen_scheme=table)
    assert (again.scored, again.skipped) == (0, 1)
