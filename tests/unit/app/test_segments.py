"""A centre's segment table in the web application: `serve --segments`, MIBGSCORE_SEGMENTS,
and grades that change exactly as `mibgscore score --segments` changes them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from mibgscore.app import AppSettings, create_app
from mibgscore.app.schemes import Schemes
from mibgscore.app.users import add_user
from mibgscore.errors import SchemeError

from ._studies import fake_scorer, write_study
from .conftest import PASSWORD, logged_in, upload

SPLIT = 0.3


def _bundled(name: str) -> str:
    return resources.files("mibgscore.anatomy.schemes").joinpath(f"{name}.toml").read_text("utf-8")


@pytest.fixture
def split_table(tmp_path) -> Path:
    """The SIOPEN table with humerus and femur split at 0.3 instead of mid-shaft."""
    text, n = re.subn(r"\b(from|to) = 0\.5\b", rf"\1 = {SPLIT}", _bundled("siopen"))
    assert n == 8, f"the bundled table splits {n} limb bounds at 0.5, not 8"
    text = text.replace('name = "SIOPEN"', 'name = "SIOPEN, limbs split at 0.3"')
    text = text.replace('name = "Proximal right upper limb"',
                        'name = "Right humerus, upper 30%"')
    path = tmp_path / "centre-siopen.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _simulated(folder: Path, seed: int) -> Path:
    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    scan = simulate_study(seed, category="extensive",
                          params=SimulationParams(matrix_weights=(1.0, 0.0))).scan
    scan = dataclasses.replace(scan, patient=dataclasses.replace(
        scan.patient, patient_id=f"SEG-{seed}", name="SEG^Table"))
    path = folder / f"seg-{seed}.dcm"
    write_nm(scan, path)
    return path


def test_a_centre_table_changes_the_web_grades_as_it_changes_score(tmp_path, split_table):
    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import score

    folder = tmp_path / "in"
    folder.mkdir()
    files = [_simulated(folder, seed) for seed in (11, 14)]
    app = create_app(AppSettings(data_dir=tmp_path / "data", score_in_background=False,
                                 segments=(split_table,)))  # the real pipeline
    add_user(app.state.store, "alice", PASSWORD)
    c = logged_in(app, "alice")
    try:
        r = upload(c, *files)
        assert len(r.json()["imported"]) == 2, r.text
        rows = {x["patient_id"]: x for x in c.get("/api/studies").json()}
        table = load_scheme(split_table)
        changed = []
        for path in files:
            scan = read_scan(path)
            expected = score(scan, siopen_scheme=table)
            bundled = score(scan)
            study = c.get(f"/api/studies/{rows[scan.patient.patient_id]['id']}").json()
            assert study["status"] == "scored", study["error"]
            assert study["auto"]["siopen"]["segments"] == expected.siopen, path.name
            assert study["siopen"] == expected.siopen and study["curie"] == expected.curie
            assert study["auto"]["schemes"]["siopen"] == "SIOPEN, limbs split at 0.3"
            changed += [k for k in expected.siopen if expected.siopen[k] != bundled.siopen[k]]
        assert changed, "moving the limb split changed no grade of the test studies"
    finally:
        c.__exit__(None, None, None)


def test_the_reading_page_names_segments_from_the_table_in_use(tmp_path, split_table):
    app = create_app(AppSettings(data_dir=tmp_path / "data", score_in_background=False,
                                 segments=(split_table,)), scorer=fake_scorer())
    add_user(app.state.store, "alice", PASSWORD)
    c = logged_in(app, "alice")
    try:
        path = write_study(tmp_path / "p1.dcm", patient_id="P1", study_date=dt.date(2025, 2, 1),
                           seed=1)
        sid = upload(c, path).json()["imported"][0]
        text = c.get(f"/studies/{sid}").text
        boot = json.loads(re.search(r'<script type="application/json" id="boot">(.*?)</script>',
                                    text, re.S).group(1))
        names = {row["key"]: row["name"] for row in boot["schemes"]["siopen"]}
        assert names["right_upper_limb_proximal"] == "Right humerus, upper 30%"
    finally:
        c.__exit__(None, None, None)


def test_segments_come_from_the_option_else_the_variable(tmp_path, split_table):
    env = {"MIBGSCORE_SEGMENTS": str(split_table)}
    s = AppSettings.from_environment(env, data_dir=tmp_path)
    assert s.segments == (split_table,)
    assert AppSettings.from_environment({}, data_dir=tmp_path).segments == ()
    other = tmp_path / "other.toml"
    s = AppSettings.from_environment(env, data_dir=tmp_path, segments=[other])
    assert s.segments == (other,)
    assert AppSettings.from_environment(env, data_dir=tmp_path, max_upload_mb=None
                                        ).max_upload_mb == 200.0


def test_serve_takes_segments(capsys, tmp_path):
    from mibgscore.cli.main import main

    assert main(["serve", "--help"]) == 0
    assert "--segments" in capsys.readouterr().out
    odd = tmp_path / "odd.toml"
    odd.write_text(_bundled("siopen").replace('key = "skull"', 'key = "head"'), encoding="utf-8")
    assert main(["serve", "--segments", str(odd), "--data-dir", str(tmp_path / "d")]) == 2
    assert "odd.toml: the table's segment keys are neither" in capsys.readouterr().err


def test_a_table_of_neither_scheme_is_refused_at_start(tmp_path):
    text = _bundled("siopen").replace('key = "skull"', 'key = "head_and_neck"')
    path = tmp_path / "odd.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError, match="neither the SIOPEN keys nor the Curie keys"):
        create_app(AppSettings(data_dir=tmp_path / "data", segments=(path,)))
    curie = tmp_path / "curie.toml"
    curie.write_text(_bundled("curie"), encoding="utf-8")
    with pytest.raises(SchemeError, match="second CURIE table"):
        Schemes.load([curie, curie])
    schemes = Schemes.load([curie])
    assert schemes.siopen.name == "SIOPEN" and schemes.max_grade("curie") == 3
