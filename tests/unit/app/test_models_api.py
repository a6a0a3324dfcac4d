"""The Models API: administrators only, adaptation from the signed readings, activation and
roll-back (which model scores a newly imported study), rescoring (a signed reading never
changes), refusals in one sentence."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from fastapi.testclient import TestClient

from mibgscore.app import AppSettings, create_app

from .conftest import logged_in, upload
from .test_models_centre import N_SIGNED, copy_centre, simulate_files

MODEL = "centre-a"


# --- roles and refusals (the fast app of conftest) ---------------------------------------------

ADMIN_ONLY = [("get", "/api/models", None), ("get", "/admin/models", None),
              ("get", "/api/models/adaptation", None), ("get", "/api/models/studies", None),
              ("post", "/api/models/adapt", {"name": "x"}),
              ("post", "/api/models/activate", {"key": "shipped"}),
              ("post", "/api/models/rollback", None),
              ("post", "/api/studies/1/rescore", {"version": 1}),
              ("get", "/admin/models/x/report.html", None)]


def test_the_models_api_is_for_administrators(app, alice, admin):
    for method, url, body in ADMIN_ONLY:
        r = getattr(alice, method)(url, **({"json": body} if body else {}))
        assert r.status_code == 403, (url, r.status_code, r.text)
        assert r.json()["detail"] == "your role does not allow this."
    anonymous = TestClient(app)
    assert anonymous.get("/api/models").status_code == 401
    state = admin.get("/api/models").json()
    assert [m["key"] for m in state["models"]] == ["shipped"]
    assert state["active"]["name"] == "shipped" and len(state["active"]["sha256"]) == 64
    assert "/admin/models" in admin.get("/worklist").text  # the nav link, for admins only
    assert "/admin/models" not in alice.get("/worklist").text


def test_too_few_signed_studies_are_refused_with_the_minimum(app, admin, dicom_dir):
    ids = upload(admin, *sorted(dicom_dir.iterdir())).json()["imported"]
    for sid in ids[:2]:
        version = admin.get(f"/api/studies/{sid}").json()["version"]
        assert admin.post(f"/api/studies/{sid}/sign", json={"version": version}).is_success
    r = admin.post("/api/models/adapt", json={"name": "too-few"})
    assert r.status_code == 400
    assert r.json()["detail"] == ("2 signed studies are in the database; adaptation needs "
                                  "at least 20.")
    assert admin.get("/api/models/adaptation").json() == {"job": None}
    assert not (app.state.settings.data_dir / "models" / "too-few").exists()
    r = admin.post("/api/models/adapt", json={"name": "../evil"})
    assert r.status_code == 422 and "letters, digits" in r.json()["detail"]
    r = admin.post("/api/models/activate", json={"key": "nothing"})
    assert r.status_code == 404 and r.json()["detail"] == "no model 'nothing' on this server."
    r = admin.post("/api/models/rollback")
    assert r.status_code == 409 and "no earlier model" in r.json()["detail"]


def test_a_signed_reading_is_never_rescored(app, admin, dicom_dir):
    sid = upload(admin, dicom_dir / "p1.dcm").json()["imported"][0]
    version = admin.get(f"/api/studies/{sid}").json()["version"]
    admin.post(f"/api/studies/{sid}/sign", json={"version": version})
    before = admin.get(f"/api/studies/{sid}").json()
    r = admin.post(f"/api/studies/{sid}/rescore", json={"version": before["version"]})
    assert r.status_code == 409
    assert r.json()["detail"].startswith("this reading is signed: rescoring never changes")
    after = admin.get(f"/api/studies/{sid}").json()
    for key in ("auto", "siopen", "curie", "status", "signed_at", "signed_by", "version",
                "lesions", "history"):
        assert after[key] == before[key], key


# --- a centre of 20 signed studies, the real scorer --------------------------------------------

@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    """The fixture centre's data folder (a private copy), an app scoring for real, and
    logged-in clients ``root`` (admin) and ``alice`` (reader)."""
    base = tmp_path_factory.getbasetemp()
    folder = tmp_path_factory.mktemp("models-centre")
    data = copy_centre(base, folder / "data")
    app = create_app(AppSettings(data_dir=data, score_in_background=False))
    root, alice = logged_in(app, "root"), logged_in(app, "alice")
    new = simulate_files(folder / "new", 3, seed=5200)
    yield {"app": app, "root": root, "alice": alice, "data": data, "new": [p for p, _ in new],
           "folder": folder}
    root.__exit__(None, None, None)
    alice.__exit__(None, None, None)


@pytest.fixture(scope="module")
def adapted(centre):
    """Adapt ``centre-a`` from the 20 signed readings through the API; the polls seen."""
    root = centre["root"]
    r = root.post("/api/models/adapt", json={"name": MODEL})
    assert r.status_code == 202, r.text
    second = root.post("/api/models/adapt", json={"name": "centre-b"})
    polls = [r.json()["job"]]
    deadline = time.monotonic() + 240
    while polls[-1]["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        polls.append(root.get("/api/models/adaptation").json()["job"])
    return {"polls": polls, "second": second}


def test_adaptation_from_the_signed_readings(centre, adapted):
    polls, root = adapted["polls"], centre["root"]
    assert polls[-1]["state"] == "done", polls[-1]
    assert adapted["second"].status_code == 409
    assert "is already running" in adapted["second"].json()["detail"]
    scoring = [p for p in polls if p["phase"] == "scoring"]
    assert scoring and max(p["total"] for p in scoring) == N_SIGNED
    fractions = [p["fraction"] for p in polls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < f < 1 for f in fractions)
    state = root.get("/api/models").json()
    entry = next(m for m in state["models"] if m["key"] == MODEL)
    assert entry["error"] is None and entry["n_studies"] == N_SIGNED and not entry["active"]
    for which in ("before", "after"):
        f = entry["figures"][which]
        assert 0.5 < f["icc_a1"] <= 1.0 and 0 <= f["mae"] < 10, f
        assert 0 <= f["threshold_3"] <= 1 and f["weighted_kappa"] is not None, f
        assert f["normals_scored_0"] is None or 0 <= f["normals_scored_0"] <= 1
    folder = centre["data"] / "models" / MODEL
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["readings"]["file"] == "signed-readings.csv"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["cross_validated"]["after"]["threshold_3_agreement"] == \
        metrics["cross_validated_full"]["after"]["threshold_siopen_3"]["accuracy"] == \
        entry["figures"]["after"]["threshold_3"]
    assert len(manifest["training_studies"]) == N_SIGNED
    assert entry["model"]["sha256"] == manifest["model"]["sha256"]
    assert [p.name for p in (centre["data"] / "models").iterdir()] == [MODEL]  # no leftovers
    report = root.get(entry["report"])
    assert report.status_code == 200 and "Adapted model" in report.text
    assert "script-src" not in report.headers["content-security-policy"]
    r = root.post("/api/models/adapt", json={"name": MODEL})
    assert r.status_code == 409 and r.json()["detail"].startswith(f"a model named {MODEL}")


def _import(centre, i: int) -> dict:
    root = centre["root"]
    sid = upload(root, centre["new"][i]).json()["imported"][0]
    return root.get(f"/api/studies/{sid}").json()


def test_activation_and_rollback_choose_the_model_of_new_studies(centre, adapted):
    root = centre["root"]
    models = {m["key"]: m for m in root.get("/api/models").json()["models"]}
    adapted_sha, shipped_sha = models[MODEL]["model"]["sha256"], models["shipped"]["model"][
        "sha256"]
    assert adapted_sha != shipped_sha
    state = root.post("/api/models/activate", json={"key": MODEL}).json()
    assert state["active"]["sha256"] == adapted_sha and state["previous"] == "shipped"
    first = _import(centre, 0)
    assert first["auto"]["model"]["sha256"] == adapted_sha
    assert first["model"] == MODEL
    # a restart keeps the activation (table model_activations)
    again = create_app(AppSettings(data_dir=centre["data"], score_in_background=False))
    assert again.state.models.active.name == MODEL
    state = root.post("/api/models/rollback").json()
    assert state["active"]["sha256"] == shipped_sha and state["previous"] is None
    second = _import(centre, 1)
    assert second["auto"]["model"]["sha256"] == shipped_sha
    assert [h["action"] for h in state["history"]] == ["rollback", "activate"]
    studies = {s["id"]: s for s in root.get("/api/models/studies").json()}
    assert studies[first["id"]]["model_sha256"] == adapted_sha
    assert not studies[first["id"]]["active_model"] and studies[second["id"]]["active_model"]


def test_rescoring_keeps_the_readers_edits(centre, adapted):
    root, alice = centre["root"], centre["alice"]
    shipped = _import(centre, 2)
    assert shipped["auto"]["model"]["name"] != MODEL
    seg = "pelvis"
    grade = (shipped["siopen"][seg] + 2) % 7
    r = alice.put(f"/api/studies/{shipped['id']}/grades",
                  json={"segment": seg, "grade": grade, "version": shipped["version"]})
    assert r.is_success, r.text
    edited = r.json()
    root.post("/api/models/activate", json={"key": MODEL})
    try:
        _rescore_and_check(root, shipped, edited, seg, grade)
    finally:
        root.post("/api/models/rollback")


def _rescore_and_check(root, shipped: dict, edited: dict, seg: str, grade: int) -> None:
    alice_id = edited["reader"]
    stale = root.post(f"/api/studies/{shipped['id']}/rescore",
                      json={"version": shipped["version"]})
    assert stale.status_code == 409 and "changed meanwhile" in stale.json()["detail"]
    r = root.post(f"/api/studies/{shipped['id']}/rescore", json={"version": edited["version"]})
    assert r.is_success, r.text
    out = r.json()
    assert out["auto"]["model"]["name"] == MODEL
    assert out["siopen"][seg] == grade and out["overrides"]["siopen"] == {seg: grade}
    assert out["status"] == "in_review" and out["reader"] == alice_id
    assert out["history"][-1]["action"] == "rescored"
    assert out["history"][-1]["detail"]["to_model"]["name"] == MODEL
    # a signed study of the centre: refused, unchanged
    signed = next(s for s in root.get("/api/models/studies").json() if s["locked"])
    before = root.get(f"/api/studies/{signed['id']}").json()
    r = root.post(f"/api/studies/{signed['id']}/rescore", json={"version": signed["version"]})
    assert r.status_code == 409 and "amend it" in r.json()["detail"]
    assert root.get(f"/api/studies/{signed['id']}").json()["siopen"] == before["siopen"]


def test_a_tampered_model_is_listed_with_its_refusal(centre, adapted):
    root = centre["root"]
    active = root.get("/api/models").json()["active"]
    models = centre["data"] / "models"
    shutil.copytree(models / MODEL, models / "tampered")
    cal = models / "tampered" / "calibration.json"
    cal.write_text(cal.read_text().replace('"name"', '"name" ', 1))
    try:
        entry = next(m for m in root.get("/api/models").json()["models"]
                     if m["key"] == "tampered")
        assert entry["error"] == ("calibration.json was changed after the model was written "
                                  "(hash mismatch): the model is refused.")
        assert entry["figures"] is None and entry["report"] is None
        r = root.post("/api/models/activate", json={"key": "tampered"})
        assert r.status_code == 400 and "hash mismatch" in r.json()["detail"]
        assert root.get("/api/models").json()["active"] == active
    finally:
        shutil.rmtree(models / "tampered")


def test_serve_model_and_its_variable(centre, adapted, tmp_path, capsys):
    from mibgscore.app.settings import AppSettings as Settings
    from mibgscore.cli.main import main

    folder = centre["data"] / "models" / MODEL
    settings = Settings.from_environment({"MIBGSCORE_MODEL": str(folder)},
                                         data_dir=tmp_path / "d", score_in_background=False)
    assert settings.model == folder
    app = create_app(settings)
    models = app.state.models
    assert models.active.name == MODEL
    assert [h["action"] for h in models.history()] == ["start"]
    assert app.state.queue.scorer is not None
    assert main(["serve", "--data-dir", str(tmp_path / "e"), "--model",
                 str(tmp_path / "missing")]) == 2
    assert "this model folder does not exist" in capsys.readouterr().err


def test_a_model_refused_at_a_later_start_leaves_the_shipped_model(centre, adapted,
                                                                      tmp_path):
    folder = tmp_path / "ext"
    shutil.copytree(centre["data"] / "models" / MODEL, folder)
    settings = dict(data_dir=tmp_path / "d", score_in_background=False)
    assert create_app(AppSettings(model=folder, **settings)).state.models.active.name == MODEL
    (folder / "siopen.toml").write_text((folder / "siopen.toml").read_text() + "\n")
    models = create_app(AppSettings(**settings)).state.models
    assert models.active.name == "shipped"
    assert models.warning.startswith(f"the model last activated, {MODEL}, is refused "
                                     "(siopen.toml was changed")
    assert [(h["action"], h["name"]) for h in models.history()] == [("start", "shipped"),
                                                                     ("start", MODEL)]


def test_an_uploaded_readings_file_is_matched_to_the_stored_studies(app, admin, dicom_dir,
                                                                      tmp_path):
    ids = upload(admin, *sorted(dicom_dir.iterdir())).json()["imported"]
    from mibgscore.anatomy.scheme import SIOPEN_KEYS

    rows = ["patient_id,study_date," + ",".join(SIOPEN_KEYS)]
    for i in ids:
        st = admin.get(f"/api/studies/{i}").json()
        rows.append(f"{st['patient_id']},{st['study_date']}," + ",".join("1" * 12))
    files = {"readings": ("centre readings.csv", "\n".join(rows).encode(), "text/csv")}
    r = admin.post("/api/models/adapt/upload", data={"name": "from-file"},
                   files={"readings": ("readings.txt", b"x", "text/plain")})
    assert r.status_code == 422 and r.json()["detail"] == ("readings.txt: a readings file is "
                                                           "CSV or .xlsx.")
    r = admin.post("/api/models/adapt/upload", data={"name": "from-file"}, files=files)
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    deadline = time.monotonic() + 120
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        job = admin.get("/api/models/adaptation").json()["job"]
    assert job["state"] == "failed"
    assert job["error"] == ("centre_readings.csv: 3 studies are matched to readings; "
                            "adaptation needs at least 20.")
    assert not (app.state.settings.data_dir / "models" / "from-file").exists()
    assert not list((app.state.settings.data_dir / "models").glob(".work-*"))


def test_roll_backs_walk_back_through_the_activations(centre, adapted):
    root, models = centre["root"], centre["data"] / "models"
    shutil.copytree(models / MODEL, models / "copy")
    try:
        def active_key(state):
            return next(m["key"] for m in state["models"] if m["active"])

        root.post("/api/models/activate", json={"key": MODEL})
        state = root.post("/api/models/activate", json={"key": "copy"}).json()
        assert active_key(state) == "copy"
        r = root.post("/api/models/activate", json={"key": "copy"})
        assert r.status_code == 409 and r.json()["detail"] == (f"{MODEL} is already the "
                                                               "active model.")
        assert active_key(root.post("/api/models/rollback").json()) == MODEL
        assert active_key(root.post("/api/models/rollback").json()) == "shipped"
        assert root.post("/api/models/rollback").status_code == 409
    finally:
        shutil.rmtree(models / "copy")
