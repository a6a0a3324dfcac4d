"""`mibgscore pacs listen`: studies sent with dcmtk's storescu and with Orthanc's C-MOVE are
scored; a restart resumes; a storm of 500 instances loses none; other objects are skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.pacs.listener import Listener, study_folder_key
from mibgscore.pacs.results import default_scorer
from mibgscore.result import ScoreResult

from ._orthanc import free_port

STORESCU = shutil.which("storescu") or "storescu"


def _mibgscore() -> list[str]:
    exe = Path(sys.executable).with_name("mibgscore")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mibgscore.cli.main"]


def _wait_for(path: Path, seconds: float = 60.0, proc=None) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the listener exited: {proc.stderr.read()}")
        time.sleep(0.2)
    pytest.fail(f"no result {path.name} after {seconds:.0f} s")


def _storescu(port: int, *paths: Path, aec: str = "LISTENER") -> None:
    proc = subprocess.run([STORESCU, "-aet", "MODALITY", "-aec", aec, "-nh", "+sd",
                           "127.0.0.1", str(port), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def _sr_count(pacs, study_uid: str) -> int:
    return sum(i["Modality"] == "SR" for i in pacs.orthanc.instances_of(study_uid))


def test_listen_scores_what_storescu_and_orthanc_send_and_sends_it_back(pacs, secret_env,
                                                                        tmp_path):
    out = tmp_path / "received"
    before = {uid: _sr_count(pacs, uid) for uid in pacs.mibg}
    proc = subprocess.Popen(
        _mibgscore() + ["pacs", "listen", "--port", str(pacs.listener_port), "--aet",
                        "LISTENER", "--out", str(out), "--quiet-seconds", "3", "--send-back",
                        *pacs.dicomweb_args()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while "listening as" not in (line := proc.stderr.readline()):
            assert line and time.monotonic() < deadline, "the listener did not start"
        # a modality sends the first study with storescu, and a CT and a bone scan beside it
        first, second = pacs.mibg
        _storescu(pacs.listener_port, pacs.files[first], pacs.files[pacs.ct],
                  pacs.files[pacs.bone_scan])
        result = _wait_for(out / f"{study_folder_key(first)}.json", proc=proc)
        assert result["study_uid"] == first
        assert set(result["siopen"]["segments"]) == set(SIOPEN_KEYS)
        # the PACS autoroutes the second study: Orthanc's C-MOVE to the modality "listener"
        orthanc_id = pacs.orthanc.post("/tools/lookup", second.encode(), "text/plain")[0]["ID"]
        pacs.orthanc.post("/modalities/listener/store",
                          {"Resources": [orthanc_id], "Synchronous": True})
        result = _wait_for(out / f"{study_folder_key(second)}.json", proc=proc)
        assert result["study_uid"] == second
        # the CT and the bone scan were not kept nor scored
        kept = sorted(p.name for p in (out / "received").iterdir())
        assert kept == sorted(study_folder_key(uid) for uid in pacs.mibg)
        assert not (out / f"{study_folder_key(pacs.bone_scan)}.json").exists()
        # the preliminary SR went back to the PACS, into each study
        deadline = time.monotonic() + 30
        while any(_sr_count(pacs, uid) <= before[uid] for uid in pacs.mibg):
            assert time.monotonic() < deadline, "the SR did not reach the PACS"
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode in (0, -15), proc.stderr.read()


def test_a_restart_scores_what_was_received_but_not_scored(pacs, tmp_path):
    out = tmp_path / "out"
    uid = pacs.mibg[0]
    key = study_folder_key(uid)
    folder = out / "received" / key   # as a listener left it when it stopped
    folder.mkdir(parents=True)
    shutil.copy(pacs.files[uid], folder / "1.2.3.dcm")
    listener = Listener(out, default_scorer(), port=free_port(), aet="LISTENER",
                        bind="127.0.0.1")
    listener.start()
    try:
        result = _wait_for(out / f"{key}.json", 60)
    finally:
        listener.stop()
    assert result["study_uid"] == uid
    assert listener.unscored() == []


def _tiny_nm(path: Path, study_uid: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.20"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.Modality, ds.PatientID, ds.StudyDescription = "NM", "STORM", "MIBG WHOLE BODY"
    ds.Rows, ds.Columns, ds.NumberOfFrames = 64, 24, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelSpacing = [8.0, 8.0]
    ds.ImageID = "ANT"
    ds.PixelData = rng.poisson(3.0, size=(64, 24)).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def _fixed_score(scan) -> ScoreResult:
    return ScoreResult(file=scan.path or "", study_uid=scan.study.study_uid,
                       siopen={k: 0 for k in SIOPEN_KEYS},
                       siopen_confidence={k: 1.0 for k in SIOPEN_KEYS},
                       curie={k: 0 for k in CURIE_KEYS}, lesions=[])


def test_a_storm_of_500_instances_loses_none(tmp_path):
    sent = tmp_path / "storm"
    sent.mkdir()
    studies = [generate_uid() for _ in range(25)]
    for i in range(500):
        _tiny_nm(sent / f"{i:03d}.dcm", studies[i % 25], i)
    out = tmp_path / "out"
    port = free_port()
    listener = Listener(out, _fixed_score, port=port, aet="LISTENER", bind="127.0.0.1",
                        quiet_seconds=30)
    listener.start()
    start = time.monotonic()
    try:
        _storescu(port, sent)
        seconds = time.monotonic() - start
        deadline = time.monotonic() + 60
        while listener.counts["scored"] + listener.counts["failed"] < 25:
            assert time.monotonic() < deadline, listener.counts
            time.sleep(0.2)
    finally:
        listener.stop()
    print(f"STORM transfer {seconds:.1f} s, total {time.monotonic() - start:.1f} s")
    assert seconds < 60, f"500 instances took {seconds:.1f} s"
    stored = list((out / "received").glob("*/*.dcm"))
    assert len(stored) == 500, len(stored)
    assert {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in stored} == {
        pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in sent.iterdir()}
    assert listener.counts == {"stored": 500, "skipped": 0, "scored": 25, "failed": 0}
    assert len(list(out.glob("*.json"))) == 25
