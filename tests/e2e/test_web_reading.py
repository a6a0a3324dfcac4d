"""The physician's reading in headless Chromium against `mibgscore serve --demo`:
login -> import -> view -> correct a segment -> sign -> amend -> export PDF -> follow-up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from browser_steps import TIMEOUT_MS, login, wait_all_scored

pytestmark = [pytest.mark.browser, pytest.mark.slow]







def test_login_rejects_wrong_password(demo_server, page):
    url, _password, _data = demo_server
    page.goto(url + "/login")
    page.fill("#username", "demo")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text(".error")


def test_reading_workflow(demo_server, page, screenshot, tmp_path):
    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    url, password, _data = demo_server
    login(page, url, password)
    wait_all_scored(page, 5)

    # --- import one study through the browser
    scan = simulate_study(31, category="moderate",
                          params=SimulationParams(matrix_weights=(1.0, 0.0))).scan
    import dataclasses

    scan = dataclasses.replace(scan, patient=dataclasses.replace(
        scan.patient, patient_id="E2E-001", name="E2E^Upload"))
    path = tmp_path / "upload.dcm"
    write_nm(scan, path)
    page.set_input_files("#upload-files", str(path))
    page.wait_for_selector("#upload-message.ok", timeout=TIMEOUT_MS)
    assert "1 study(ies) imported" in page.inner_text("#upload-message")
    badges = wait_all_scored(page, 6)
    assert badges.count("scored") == 6, badges
    page.fill("#search", "E2E")
    assert page.locator("#worklist-body tr.study-row").count() == 1
    page.fill("#search", "")

    # --- view
    page.click("text=E2E, Upload")  # DICOM PN "E2E^Upload" shown as "Family, Given"
    page.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    assert page.locator("#viewer canvas").count() == 2
    box = page.locator("canvas[data-view=anterior]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
    assert "counts" in page.inner_text("#readout")
    page.check("#show-geomean")
    assert page.locator("#viewer canvas").count() == 3
    page.uncheck("#show-geomean")
    page.click("#zoom-in")

    # --- correct a segment with the keyboard only: skull row, arrow down, key 5
    study = json.loads(page.locator("#boot").inner_text())
    sid = study["study_id"]
    auto = page.request.get(f"{url}/api/studies/{sid}").json()["auto"]["siopen"]
    page.focus("#siopen-body tr[data-segment=skull]")
    page.keyboard.press("ArrowDown")
    target = 6 if auto["segments"]["thoracic_cage"] == 5 else 5
    page.keyboard.press(str(target))
    page.wait_for_selector("#siopen-body tr[data-segment=thoracic_cage].edited")
    expected = auto["total"] - auto["segments"]["thoracic_cage"] + target
    assert page.inner_text("#siopen-total") == str(expected)
    assert "Saved" in page.inner_text("#save-state")
    # ... and one click with the mouse
    pelvis = auto["segments"]["pelvis"]
    new_pelvis = 0 if pelvis else 1
    page.click(f"#siopen-body tr[data-segment=pelvis] button[data-grade='{new_pelvis}']")
    expected += new_pelvis - pelvis
    page.wait_for_selector("#siopen-body tr[data-segment=pelvis].edited")
    assert page.inner_text("#siopen-total") == str(expected)
    page.click("#siopen-body tr[data-segment=thoracic_cage]")
    page.click("#zoom-reset")

    # --- a second reader changes the study meanwhile: we are told, nothing is overwritten
    state = page.request.get(f"{url}/api/studies/{sid}").json()
    csrf = page.request.get(f"{url}/api/me").json()["csrf"]
    r = page.request.put(f"{url}/api/studies/{sid}/impression",
                         data={"text": "Other reader's note.", "version": state["version"]},
                         headers={"X-CSRF-Token": csrf})
    assert r.status == 200
    page.click("#siopen-body tr[data-segment=skull] button[data-grade='6']")
    page.wait_for_selector("#banner:not([hidden])")
    assert "changed this reading" in page.inner_text("#banner")
    page.reload()
    page.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    assert page.input_value("#impression") == "Other reader's note."

    # --- sign, then amend with a reason
    page.fill("#impression", "Skeletal disease, moderate extent.")
    page.click("#sign")
    page.click("#sign-ok")
    page.wait_for_selector("#status-badge.status-signed")
    assert page.locator("#siopen-body button.g:disabled").count() == 12 * 7
    page.click("#amend")
    page.fill("#amend-reason", "Pelvis grade revised after review with the team.")
    page.click("#amend-ok")
    page.wait_for_selector("#status-badge.status-amending")
    page.focus("#siopen-body tr[data-segment=spine]")
    page.keyboard.press("Enter")  # accept the automatic spine grade, move on
    page.click("#siopen-body tr[data-segment=pelvis] button[data-grade='2']")
    page.wait_for_timeout(200)
    page.click("#sign")
    page.click("#sign-ok")
    page.wait_for_selector("#status-badge.status-amended")
    page.click("details.history summary")
    history = page.inner_text("#history")
    assert "Pelvis grade revised" in history and history.count("Sign") >= 2

    # --- export the PDF
    with page.expect_download() as dl:
        page.click("#export-pdf")
    pdf = tmp_path / "report.pdf"
    dl.value.save_as(pdf)
    assert pdf.read_bytes()[:4] == b"%PDF"
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                        str(tmp_path / "report")], check=True)
        png = next(tmp_path.glob("report*.png"))
        if os.environ.get("MIBGSCORE_UPDATE_SCREENSHOTS") == "1":
            docs = Path(__file__).resolve().parents[2] / "docs" / "images"
            shutil.copyfile(png, docs / "web_report.png")

    # --- follow-up comparison of the demo patient with two scans
    page.goto(url + "/worklist")
    page.fill("#search", "DEMO-004")
    rows = page.locator("#worklist-body tr.study-row")
    assert rows.count() == 2
    assert rows.nth(1).locator("text=Follow-up comparison").count() == 0  # the baseline
    rows.first.locator("a").first.click()  # newest first: the post-induction scan
    page.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    page.click("#followup-link")
    page.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    assert page.locator("#viewer canvas").count() == 4
    fid = json.loads(page.locator("#boot").inner_text())["study_id"]
    comp = page.request.get(f"{url}/api/studies/{fid}/followup").json()
    text = page.inner_text("#response")
    s = comp["siopen"]
    assert f"SIOPEN {s['prior_total']} → {s['current_total']}" in text
    assert s["current_total"] < s["prior_total"]
    foot = page.inner_text("#followup-table tfoot")
    assert f"{s['change']:+d}" in foot
    screenshot(page, "web_followup.png")

    # --- the interface in French, chosen by the user
    page.goto(url + "/worklist")
    with page.expect_navigation():
        page.select_option("#language-select", "fr")
    assert "Liste de travail" in page.inner_text("h1")
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert not [e for e in page.errors if "409" not in e], page.errors


def test_folder_import_of_a_dicomdir_media(demo_server, page, tmp_path):
    """The worklist's folder picker sends the folder's tree: a CD's DICOMDIR and its files
    import as `mibgscore` reads the folder (one study, no error)."""
    import dataclasses

    import pydicom
    from pydicom.fileset import FileSet

    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    url, password, _data = demo_server
    scan = simulate_study(32, category="limited",
                          params=SimulationParams(matrix_weights=(1.0, 0.0))).scan
    scan = dataclasses.replace(scan, patient=dataclasses.replace(
        scan.patient, patient_id="E2E-CD", name="E2E^Media"))
    write_nm(scan, tmp_path / "one.dcm")
    ds = pydicom.dcmread(tmp_path / "one.dcm")
    ds.StudyTime = ds.get("StudyTime") or "101500"
    ds.StudyID = ds.get("StudyID") or "1"
    ds.SeriesNumber = ds.get("SeriesNumber") or 1
    ds.InstanceNumber = ds.get("InstanceNumber") or 1
    fs = FileSet()
    fs.add(ds)
    media = tmp_path / "CD"
    fs.write(media)
    assert (media / "DICOMDIR").exists()
    login(page, url, password)
    page.set_input_files("#upload-folder", str(media))
    page.wait_for_selector("#upload-message.ok, #upload-message.error", timeout=TIMEOUT_MS)
    message = page.inner_text("#upload-message")
    assert "1 study(ies) imported" in message and "error" not in (
        page.get_attribute("#upload-message", "class") or ""), message
    page.fill("#search", "E2E-CD")
    page.wait_for_selector("#worklist-body tr.study-row", timeout=TIMEOUT_MS)
    assert page.locator("#worklist-body tr.study-row").count() == 1
