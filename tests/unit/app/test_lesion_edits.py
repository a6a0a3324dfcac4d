"""Corrections at the lesion: both scores recompute from the lesion list plus the reader's
overrides, so that SIOPEN and Curie never contradict each other; edits are kept as data."""

from __future__ import annotations

import csv
import io

import pytest

from mibgscore.app import AppSettings, create_app
from mibgscore.app.scoring import regrade
from mibgscore.app.users import add_user

from .conftest import PASSWORD, logged_in, upload


def _study(client, dicom_dir, name="p1.dcm") -> dict:
    r = upload(client, dicom_dir / name)
    assert r.status_code == 200, r.text
    sid = r.json()["imported"][0]
    return client.get(f"/api/studies/{sid}").json()


def test_skull_graded_0_sets_curie_head_to_0_and_rejects_its_lesion(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    assert st["siopen"]["skull"] == 2 and st["curie"]["head"] == 2
    r = alice.put(f"/api/studies/{st['id']}/grades", json={
        "scheme": "siopen", "segment": "skull", "grade": 0, "version": st["version"]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["siopen"]["skull"] == 0
    assert out["curie"]["head"] == 0, "correcting SIOPEN must change Curie as well"
    assert [x["rejected"] for x in out["lesions"]] == ["not_abnormal"]
    assert out["overridden"]["siopen"] == {} and out["overridden"]["curie"] == {}
    assert out["curie_total"] == sum(out["curie"].values())
    # a grade above 0 undoes the rejection and is an override of SIOPEN and of the same bones
    r = alice.put(f"/api/studies/{st['id']}/grades", json={
        "scheme": "siopen", "segment": "skull", "grade": 5, "version": out["version"]})
    out = r.json()
    assert out["lesions"][0]["rejected"] is None
    assert out["siopen"]["skull"] == 5 and out["overridden"]["siopen"] == {"skull": "reader"}
    assert out["curie"]["head"] == 3 and out["overridden"]["curie"] == {"head": "siopen:skull"}


def test_rejecting_a_lesion_recomputes_both_scores_and_restoring_undoes_it(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    lid = st["lesions"][0]["id"]
    r = alice.put(f"/api/studies/{st['id']}/lesions/{lid}",
                  json={"rejected": "physiological", "version": st["version"]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["siopen"]["skull"], out["curie"]["head"]) == (0, 0)
    assert out["history"][-1]["action"] == "lesion"
    assert out["history"][-1]["detail"]["changes"]["curie"] == {"head": [2, 0]}
    r = alice.put(f"/api/studies/{st['id']}/lesions/{lid}",
                  json={"rejected": None, "version": out["version"]})
    out = r.json()
    assert (out["siopen"]["skull"], out["curie"]["head"]) == (2, 2)
    bad = alice.put(f"/api/studies/{st['id']}/lesions/{lid}",
                    json={"rejected": "boring", "version": out["version"]})
    assert bad.status_code == 400 and "physiological" in bad.json()["detail"]
    assert alice.put(f"/api/studies/{st['id']}/lesions/99", json={
        "rejected": "artefact", "version": out["version"]}).status_code == 404


def test_an_added_focus_counts_in_its_segment_of_both_schemes(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    # the fake segment map: skull rows 5-24, spine rows 25-89 at cols 20-27
    r = alice.post(f"/api/studies/{st['id']}/lesions",
                   json={"row": 60, "col": 24, "version": st["version"]})
    assert r.status_code == 200, r.text
    out = r.json()
    added = out["lesions"][-1]
    assert added["source"] == "reader" and added["siopen"] == "spine"
    assert out["siopen"]["spine"] == 1  # the fake evidence: no spine lesion before
    far = alice.post(f"/api/studies/{st['id']}/lesions",
                     json={"row": 120, "col": 2, "version": out["version"]})
    assert far.status_code == 400 and "fitted skeleton" in far.json()["detail"]


def test_a_painted_region_grades_diffuse_involvement(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    strokes = [[r, c, 3] for r in range(27, 88, 3) for c in (22, 25)]  # all the spine
    r = alice.post(f"/api/studies/{st['id']}/lesions/diffuse",
                   json={"strokes": strokes, "version": st["version"]})
    assert r.status_code == 200, r.text
    out = r.json()
    region = out["lesions"][-1]
    assert region["kind"] == "diffuse" and region["siopen_fractions"]["spine"] > 0.95
    assert out["siopen"]["spine"] == 6
    tiny = alice.post(f"/api/studies/{st['id']}/lesions/diffuse",
                      json={"strokes": [[60, 24, 1]], "version": out["version"]})
    assert tiny.status_code == 400 and "12 %" in tiny.json()["detail"]


def test_accept_all_restores_the_automatic_lesions(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    r = alice.put(f"/api/studies/{st['id']}/lesions/1",
                  json={"rejected": "artefact", "version": st["version"]})
    r = alice.post(f"/api/studies/{st['id']}/accept-all", json={"version": r.json()["version"]})
    out = r.json()
    assert out["siopen"] == st["auto"]["siopen"]["segments"]
    assert all(x["rejected"] is None and x["source"] == "auto" for x in out["lesions"])


def test_signed_reading_refuses_lesion_edits(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    r = alice.post(f"/api/studies/{st['id']}/sign", json={"version": st["version"]})
    r = alice.put(f"/api/studies/{st['id']}/lesions/1",
                  json={"rejected": "artefact", "version": r.json()["version"]})
    assert r.status_code == 409 and "amend" in r.json()["detail"]


def test_lesion_edits_are_exported_as_the_training_set(alice, dicom_dir):
    st = _study(alice, dicom_dir)
    r = alice.put(f"/api/studies/{st['id']}/lesions/1",
                  json={"rejected": "injection_site", "version": st["version"]})
    r = alice.post(f"/api/studies/{st['id']}/lesions",
                   json={"row": 60, "col": 24, "version": r.json()["version"]})
    text = alice.get("/api/lesion-edits.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(x["decision"], x["reason"], x["siopen_segment"]) for x in rows] == [
        ("rejected", "injection_site", "skull"), ("added", "", "spine")]
    assert rows[0]["study_key"] == st["key"]


def test_worklist_says_what_needs_doing(alice, dicom_dir):
    upload(alice, *sorted(dicom_dir.iterdir()))
    rows = alice.get("/api/studies").json()
    assert all(r["todo"] == "read" and not r["read"] for r in rows)
    first = rows[0]
    alice.post(f"/api/studies/{first['id']}/sign", json={"version": first["version"]})
    rows = alice.get("/api/studies").json()
    assert rows[-1]["id"] == first["id"] and rows[-1]["todo"] == "" and rows[-1]["read"]
    assert rows[0]["display_name"] == "TEST, Child"
    baseline = [r for r in rows if r["patient_id"] == "P2" and r["study_date"] < "2025-03-01"]
    later = [r for r in rows if r["patient_id"] == "P2" and r["study_date"] > "2025-03-01"]
    assert baseline[0]["prior_id"] is None and later[0]["prior_id"] == baseline[0]["id"]
    st = alice.get(f"/api/studies/{baseline[0]['id']}").json()
    assert st["prior_id"] is None
    page = alice.get(f"/studies/{baseline[0]['id']}").text
    assert 'id="followup-link"' not in page  # no dead end on a baseline study
    assert 'id="followup-link"' in alice.get(f"/studies/{later[0]['id']}").text


@pytest.fixture
def real_app(tmp_path):
    """An app that scores with the real pipeline."""
    application = create_app(AppSettings(data_dir=tmp_path / "data", score_in_background=False))
    add_user(application.state.store, "alice", PASSWORD, "reader")
    return application


def test_real_scoring_regrades_to_the_automatic_score_and_corrections_agree(real_app,
                                                                             tmp_path):
    import dataclasses

    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    scan = simulate_study(13, category="extensive",
                          params=SimulationParams(matrix_weights=(1.0, 0.0))).scan
    scan = dataclasses.replace(scan, patient=dataclasses.replace(scan.patient,
                                                                 patient_id="R1"))
    write_nm(scan, tmp_path / "r1.dcm")
    c = logged_in(real_app, "alice")
    sid = upload(c, tmp_path / "r1.dcm").json()["imported"][0]
    st = c.get(f"/api/studies/{sid}").json()
    assert st["lesions"] and all(x["curie"] for x in st["lesions"] if x["kind"] == "focal")
    store = real_app.state.store
    with store.session() as s:
        from mibgscore.app.db import Study

        study = s.get(Study, sid)
        assert study.evidence is not None
        res = regrade(study.auto, study.evidence, study.lesions, {}, store.schemes)
    assert res["siopen"] == st["auto"]["siopen"]["segments"]
    assert res["curie"] == st["auto"]["curie"]["segments"]
    diffuse = c.get(f"/api/studies/{sid}/diffuse").json()
    labels = {run[3] for run in diffuse["runs"]}
    graded = {store.schemes.siopen.keys.index(x["siopen"]) + 1 for x in st["lesions"]
              if x["kind"] == "diffuse"}
    assert labels == graded
    # reject every lesion, one by one: both totals reach 0 (Curie soft tissue aside)
    version = st["version"]
    for x in st["lesions"]:
        out = c.put(f"/api/studies/{sid}/lesions/{x['id']}",
                    json={"rejected": "artefact", "version": version}).json()
        version = out["version"]
    assert out["siopen_total"] == 0, out["siopen"]
    assert sum(v for k, v in out["curie"].items() if k != "soft_tissue") == 0, (
        out["curie"], out["lesions"], store.schemes and study.evidence)
    c.__exit__(None, None, None)
