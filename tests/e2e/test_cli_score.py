"""`mibgscore score` in a subprocess, on a real file and on bad files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS


def _jpeg_ll() -> str:
    pytest.importorskip("data_store", reason="pydicom-data is needed for JPEG-LL.dcm")
    from pydicom.data import get_testdata_file

    return get_testdata_file("JPEG-LL.dcm")


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mibgscore.cli.main", *args],
                          capture_output=True, text=True, timeout=180, cwd=cwd)


TOP_KEYS = ["file", "study_uid", "siopen", "curie", "lesions", "findings", "warnings",
            "seconds", "model", "schemes"]


def test_json_lines_for_good_and_bad_files(tmp_path: Path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a scan")
    out_dir = tmp_path / "png"
    proc = _run("score", _jpeg_ll(), str(bad), "--json", "--force", "--overlay", str(out_dir))
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 2, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    assert len(lines) == 2
    errors = [x for x in lines if "error" in x]
    scored = [x for x in lines if "error" not in x]
    assert len(errors) == 1 and errors[0]["file"].endswith("notes.txt")
    assert set(errors[0]) == {"file", "error"}
    d = scored[0]
    assert list(d) == TOP_KEYS
    assert list(d["siopen"]) == ["segments", "total", "confidence"]
    assert list(d["siopen"]["segments"]) == list(SIOPEN_KEYS)
    assert list(d["siopen"]["confidence"]) == list(SIOPEN_KEYS)
    assert list(d["curie"]) == ["segments", "total"]
    assert list(d["curie"]["segments"]) == list(CURIE_KEYS)
    assert d["siopen"]["total"] == sum(d["siopen"]["segments"].values())
    for lesion in d["lesions"]:
        assert list(lesion) == ["segment", "kind", "row", "col", "fraction", "confidence"]
        assert lesion["segment"] in SIOPEN_KEYS and lesion["kind"] in ("focal", "diffuse")
        assert 0 <= lesion["row"] < 1024 and 0 <= lesion["col"] < 256
    for f in d["findings"]:
        assert list(f) == ["label", "row", "col"]
    assert any("single view" in w for w in d["warnings"])
    assert any("not MIBG" in w for w in d["warnings"])
    pngs = list(out_dir.glob("*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b"\x89PNG"


def test_table_output_and_refusal_without_force():
    proc = _run("score", _jpeg_ll(), "--force")
    assert proc.returncode == 0, proc.stderr
    assert "skull" in proc.stdout and "total" in proc.stdout
    refused = _run("score", _jpeg_ll())
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert "bone scan" in refused.stderr or "MIBG" in refused.stderr


def test_only_bad_files_exit_2_with_one_sentence_each(tmp_path: Path):
    a = tmp_path / "a.dcm"
    a.write_bytes(b"\x00" * 300)
    proc = _run("score", str(a), str(tmp_path / "missing.dcm"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("error:") >= 2


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    from mibgscore.simulate import write_studies

    return write_studies(tmp_path_factory.mktemp("sim"), 1, seed=3)[0]


def test_lesions_classic_gives_the_classic_stage_as_json(simulated: Path):
    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import ScoreParams, score

    proc = _run("score", str(simulated), "--lesions", "classic", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    assert len(lines) == 1
    d = lines[0]
    assert list(d) == TOP_KEYS
    assert list(d["siopen"]["segments"]) == list(SIOPEN_KEYS)
    assert list(d["curie"]["segments"]) == list(CURIE_KEYS)
    assert d["siopen"]["total"] == sum(d["siopen"]["segments"].values())
    # the same grades and lesions as the hand-made stage called directly
    expected = score(read_scan(simulated), params=ScoreParams(lesion_method="classic")).to_dict()
    assert d["siopen"]["segments"] == expected["siopen"]["segments"]
    assert d["curie"]["segments"] == expected["curie"]["segments"]
    assert [(x["segment"], x["kind"], x["row"], x["col"]) for x in d["lesions"]] == \
        [(x["segment"], x["kind"], x["row"], x["col"]) for x in expected["lesions"]]
    # and it says so
    assert d["model"]["name"] == "classic" and d["model"] == expected["model"]
    assert len(d["model"]["sha256"]) == 64


def test_the_json_names_the_network_and_the_hash_of_its_weights(simulated: Path):
    import hashlib
    from importlib import resources

    proc = _run("score", str(simulated), "--json", "--lesions", "learned")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout.splitlines()[0])
    models = resources.files("mibgscore.lesions").joinpath("models")
    network = hashlib.sha256(models.joinpath("lesion_net.onnx").read_bytes()).hexdigest()
    verifier = hashlib.sha256(models.joinpath("focus_verifier.json").read_bytes()).hexdigest()
    # the network's hash followed by its focus verifier's, hashed
    assert d["model"] == {"name": "learned", "version": d["model"]["version"],
                          "sha256": hashlib.sha256((network + verifier).encode()).hexdigest()}
    assert d["model"]["version"].endswith("+verifier")
    assert d["schemes"] == {"siopen": "SIOPEN", "curie": "Curie"}


def test_an_unknown_lesion_stage_is_refused_by_the_option_parser(simulated: Path):
    proc = _run("score", str(simulated), "--lesions", "bogus", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Invalid value for '--lesions'" in proc.stderr
    assert "Traceback" not in proc.stderr
