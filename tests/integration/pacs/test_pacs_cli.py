"""`mibgscore pacs echo|find|score` against the test Orthanc (DICOMweb and DIMSE)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pydicom
import pytest

from mibgscore.cli.main import main
from mibgscore.report.sr import sr_grades

from ._orthanc import free_port


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["pacs", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_echo_answers_over_dimse(pacs, capsys):
    code, out, err = run(capsys, "echo", *pacs.dimse_args())
    assert code == 0, err
    assert "answered in" in out


def test_echo_over_dicomweb_with_basic_authentication(pacs, secret_env, capsys):
    code, out, err = run(capsys, "echo", *pacs.dicomweb_args())
    assert code == 0, err
    assert pacs.orthanc.dicomweb in out


@pytest.mark.parametrize("args, words", [
    (lambda p: ["--dimse", f"127.0.0.1:{p.orthanc.dicom_port}", "--called-aet", "NOT-PACS"],
     "refused the association"),
    (lambda p: ["--dimse", f"127.0.0.1:{free_port()}", "--called-aet", "X", "--timeout", "3"],
     "cannot connect to the PACS"),
    (lambda p: ["--dicomweb", f"http://127.0.0.1:{free_port()}/dicom-web"],
     "cannot connect to the PACS at"),
    (lambda p: ["--dicomweb", p.orthanc.dicomweb, "--user", "reader", "--password-env",
                "MIBGSCORE_TEST_WRONG"], "refused the credentials (HTTP 401)"),
])
def test_a_pacs_down_or_refusing_gives_one_sentence(pacs, capsys, monkeypatch, args, words):
    monkeypatch.setenv("MIBGSCORE_TEST_WRONG", "not-the-password")
    code, out, err = run(capsys, "echo", *args(pacs))
    assert code == 2, (out, err)
    assert words in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def _found(capsys, *args) -> dict[str, dict]:
    code, out, err = run(capsys, "find", "--json", *args)
    assert code == 0, err
    return {d["study_uid"]: d for d in map(json.loads, out.splitlines())}


@pytest.mark.parametrize("protocol", ["dicomweb", "dimse"])
def test_find_lists_the_mibg_studies_and_not_the_ct(pacs, secret_env, capsys, protocol):
    args = pacs.dicomweb_args() if protocol == "dicomweb" else pacs.dimse_args()
    found = _found(capsys, *args)
    assert pacs.ct not in found
    assert {uid for uid, d in found.items() if d["mibg"]} == set(pacs.mibg)
    assert all(found[uid]["mibg_basis"] == "tracer" for uid in pacs.mibg)
    assert found[pacs.bone_scan]["mibg"] is False  # NM, but 99mTc-MDP
    assert found[pacs.mibg[1]]["study_date"] == "2024-05-02"
    assert found[pacs.mibg[0]]["instances"] == 1
    # filters: patient and date range
    one = _found(capsys, *args, "--patient", "PACS-SIM-1", "--from", "2024-03-01")
    assert set(one) == {pacs.mibg[1]}
    none = _found(capsys, *args, "--to", "2023-12-31")
    assert not none


def test_find_refuses_a_bad_date_in_one_sentence(pacs, capsys):
    code, _out, err = run(capsys, "find", *pacs.dimse_args(), "--from", "10/01/2024")
    assert code == 2
    assert "--from '10/01/2024' is not a date" in err


def _sr_and_overlay(pacs, study_uid: str):
    instances = pacs.orthanc.instances_of(study_uid)
    by_modality = {}
    for inst in instances:
        by_modality.setdefault(inst["Modality"], []).append(inst)
    return by_modality


def _dciodvfy_errors(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "sr.dcm"
    path.write_bytes(data)
    proc = subprocess.run([shutil.which("dciodvfy") or "dciodvfy", str(path)],
                          capture_output=True, text=True)
    return [line for line in (proc.stdout + proc.stderr).splitlines()
            if line.startswith("Error")]


def test_score_store_over_dicomweb_puts_a_valid_preliminary_sr(pacs, secret_env, capsys,
                                                               tmp_path):
    study = pacs.mibg[0]
    code, out, err = run(capsys, "score", "--study", study, "--store", "--json",
                         *pacs.dicomweb_args())
    assert code == 0, err
    result = json.loads(out)
    assert result["study_uid"] == study
    assert "stored the preliminary SR and overlay" in err
    found = _sr_and_overlay(pacs, study)
    assert len(found["SR"]) == 1 and len(found["OT"]) == 1, found.keys()
    sr = pydicom.dcmread(io.BytesIO(pacs.orthanc.file(found["SR"][0]["ID"])))
    assert sr.StudyInstanceUID == study
    assert sr.SeriesInstanceUID not in {s["SeriesInstanceUID"] for s in []}
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("PARTIAL", "UNVERIFIED")
    assert _dciodvfy_errors(pacs.orthanc.file(found["SR"][0]["ID"]), tmp_path) == []
    grades = sr_grades(sr)
    assert grades["siopen"] == result["siopen"]["segments"]
    assert grades["curie"] == result["curie"]["segments"]
    assert grades["siopen_total"] == result["siopen"]["total"]
    overlay = pydicom.dcmread(io.BytesIO(pacs.orthanc.file(found["OT"][0]["ID"])))
    assert overlay.PhotometricInterpretation == "RGB" and overlay.Rows > 100
    # the NM series is untouched and the results are in new series
    series = {i["ParentSeries"] for i in pacs.orthanc.instances_of(study)}
    assert len(series) == 3


def test_score_over_dimse_retrieves_with_c_move_and_stores_with_c_store(pacs, capsys):
    study = pacs.mibg[1]
    code, out, err = run(capsys, "score", "--study", study, "--store", "--json",
                         *pacs.dimse_args(), "--aet", "MIBGSCORE", "--move-port",
                         str(pacs.our_port))
    assert code == 0, err
    result = json.loads(out)
    found = _sr_and_overlay(pacs, study)
    assert len(found["SR"]) == 1, found.keys()
    sr = pydicom.dcmread(io.BytesIO(pacs.orthanc.file(found["SR"][0]["ID"])))
    assert sr_grades(sr)["siopen"] == result["siopen"]["segments"]


def test_c_get_retrieves_the_nm_series_only(pacs, tmp_path):
    from mibgscore.pacs import PacsConfig, connect
    from mibgscore.pacs.node import retrieve_nm

    from ._orthanc import AET

    node = connect(PacsConfig(protocol="dimse", host="127.0.0.1", port=pacs.orthanc.dicom_port,
                              called_aet=AET, retrieve="get"))
    files = retrieve_nm(node, pacs.mibg[0], tmp_path / "get")
    assert len(files) == 1
    ds = pydicom.dcmread(files[0])
    assert ds.Modality == "NM"
    assert ds.PixelData == pydicom.dcmread(pacs.files[pacs.mibg[0]]).PixelData
