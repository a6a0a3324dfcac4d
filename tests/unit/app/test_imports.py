"""Imports read what `mibgscore score` reads: DICOMDIR zips, files without the DICOM preamble;
zips within limits, member names never used as paths."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pydicom
import pytest
from pydicom.fileset import FileSet

from mibgscore.app import AppSettings, create_app
from mibgscore.app.imports import safe_name
from mibgscore.app.storage import read_stored_scan
from mibgscore.app.users import add_user
from mibgscore.errors import InputError
from mibgscore.io.keys import study_key
from mibgscore.io.read import read_scan, read_scans

from ._studies import fake_scorer
from .conftest import PASSWORD, logged_in, upload


def _views(client, study_id: int) -> dict[str, np.ndarray]:
    out = {}
    for view in ("anterior", "posterior"):
        r = client.get(f"/api/studies/{study_id}/views/{view}")
        out[view] = np.frombuffer(r.content, "<f4").reshape(int(r.headers["X-Rows"]),
                                                             int(r.headers["X-Cols"]))
    return out


def _imported_as_read(client, ids: list[int], scans) -> None:
    """The studies ``ids`` are ``scans``: same keys, same counts, and their stored copies read
    back as the same studies."""
    rows = {r["id"]: r for r in client.get("/api/studies").json()}
    by_key = {study_key(s): s for s in scans}
    assert sorted(rows[i]["key"] for i in ids) == sorted(by_key)
    studies_dir = client.app.state.settings.studies_dir
    for i in ids:
        key = rows[i]["key"]
        views = _views(client, i)
        for view in ("anterior", "posterior"):
            np.testing.assert_array_equal(views[view], getattr(by_key[key], view))
        assert study_key(read_stored_scan(studies_dir / key)) == key


@pytest.fixture
def media(tmp_path, dicom_dir):
    """A DICOM File-set as on a CD: DICOMDIR, files named IM000000 in nested folders (no
    suffix), a text file beside them."""
    fs = FileSet()
    for i, name in enumerate(("p1.dcm", "p2a.dcm")):
        ds = pydicom.dcmread(dicom_dir / name)
        ds.StudyTime, ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "101500", str(i), 1, 1
        fs.add(ds)
    folder = tmp_path / "media"
    fs.write(folder)
    (folder / "README.TXT").write_text("Exported by the camera.")
    return folder


@pytest.fixture
def dicomdir_zip(tmp_path, media):
    """The File-set zipped."""
    path = tmp_path / "cd.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(media.rglob("*")):
            if f.is_file():
                zf.write(f, f"CD/{f.relative_to(media).as_posix()}")
    assert "CD/DICOMDIR" in zipfile.ZipFile(path).namelist()
    return path


def test_a_dicomdir_zip_imports_as_the_cli_reads_it(alice, dicomdir_zip):
    scans = read_scans([dicomdir_zip])
    assert len(scans) == 2
    r = upload(alice, dicomdir_zip)
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 2 and r.json()["errors"] == [], r.json()
    _imported_as_read(alice, r.json()["imported"], scans)
    again = upload(alice, dicomdir_zip).json()
    assert again["imported"] == [] and sorted(again["duplicates"]) == sorted(r.json()["imported"])


def test_a_folder_upload_keeps_its_tree_so_the_dicomdir_holds(alice, media):
    """The worklist's folder picker sends ``CD/PT000000/.../IM000000``: read as the folder."""
    scans = read_scans([media])
    files = [("files", (f"CD/{p.relative_to(media).as_posix()}", p.read_bytes(),
                        "application/octet-stream"))
             for p in sorted(media.rglob("*")) if p.is_file()]
    assert any(name == "CD/DICOMDIR" for _, (name, *_) in files)
    r = alice.post("/api/studies/upload", files=files)
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 2 and r.json()["errors"] == [], r.json()
    _imported_as_read(alice, r.json()["imported"], scans)


def test_a_zip_inside_a_sent_folder_is_read(alice, dicom_dir, tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.write(dicom_dir / "p1.dcm", "exports/p1.dcm")
    files = [("files", ("CD/inner.zip", inner.read_bytes(), "application/zip")),
             ("files", ("CD/sub/p2a.dcm", (dicom_dir / "p2a.dcm").read_bytes(),
                        "application/dicom"))]
    r = alice.post("/api/studies/upload", files=files).json()
    assert len(r["imported"]) == 2 and r["errors"] == [], r
    _imported_as_read(alice, r["imported"], read_scans([inner, dicom_dir / "p2a.dcm"]))


def test_a_name_sent_twice_is_refused(alice, dicom_dir):
    data = (dicom_dir / "p1.dcm").read_bytes()
    for second in ("CD/a/IM1", "CD/a/IM1/IM2"):
        files = [("files", ("CD/a/IM1", data, "application/dicom")),
                 ("files", (second, data, "application/dicom"))]
        r = alice.post("/api/studies/upload", files=files)
        assert r.status_code == 400 and "sent twice" in r.json()["detail"], second


def test_a_zip_inside_a_sent_folder_is_held_to_the_limits(tmp_path, dicom_dir):
    c = logged_in(_app(tmp_path, max_zip_files=1), "alice")
    try:
        many = io.BytesIO()
        with zipfile.ZipFile(many, "w") as zf:
            for i in range(2):
                zf.writestr(f"f{i}.dcm", (dicom_dir / "p1.dcm").read_bytes())
        files = [("files", ("CD/inner.zip", many.getvalue(), "application/zip")),
                 ("files", ("CD/p2a.dcm", (dicom_dir / "p2a.dcm").read_bytes(),
                            "application/dicom"))]
        r = c.post("/api/studies/upload", files=files).json()
        assert len(r["imported"]) == 1 and r["errors"] == [
            "CD/inner.zip: holds 2 files; at most 1 are accepted in one zip."], r
    finally:
        c.__exit__(None, None, None)


def test_a_file_without_the_dicom_preamble_imports_as_the_cli_reads_it(alice, dicom_dir,
                                                                         tmp_path):
    raw = tmp_path / "IMG0001"
    raw.write_bytes((dicom_dir / "p1.dcm").read_bytes()[132:])  # no preamble, no "DICM"
    scan = read_scan(raw)
    r = upload(alice, raw).json()
    assert len(r["imported"]) == 1 and r["errors"] == [], r
    _imported_as_read(alice, r["imported"], [scan])
    sid = r["imported"][0]
    assert alice.get(f"/api/studies/{sid}").json()["status"] == "scored"


def test_refused_files_are_named_as_the_cli_names_them(alice, tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"garbage" * 40)
    with pytest.raises(InputError) as cli:
        read_scan(junk)
    r = upload(alice, junk).json()
    assert r["imported"] == [] and r["errors"] == [str(cli.value)]
    assert r["errors"] == ["junk.dcm: is not a DICOM file"]


def _app(tmp_path, **limits):
    app = create_app(AppSettings(data_dir=tmp_path / "limits", score_in_background=False,
                                 **limits), scorer=fake_scorer())
    add_user(app.state.store, "alice", PASSWORD)
    return app


def test_zips_over_the_member_or_size_limit_are_refused(tmp_path, dicom_dir):
    c = logged_in(_app(tmp_path, max_zip_files=3, max_upload_mb=0.5), "alice")
    try:
        many = io.BytesIO()
        with zipfile.ZipFile(many, "w") as zf:
            for i in range(5):
                zf.writestr(f"f{i}.dcm", (dicom_dir / "p1.dcm").read_bytes())
        r = c.post("/api/studies/upload",
                   files=[("files", ("many.zip", many.getvalue(), "application/zip"))]).json()
        assert r["imported"] == [] and r["errors"] == [
            "many.zip: holds 5 files; at most 3 are accepted in one zip."]
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("zeros.dcm", bytes(2 * 2**20))  # 2 MiB of zeros, a few kB zipped
        assert len(bomb.getvalue()) < 0.5 * 2**20
        r = c.post("/api/studies/upload",
                   files=[("files", ("bomb.zip", bomb.getvalue(), "application/zip"))]).json()
        assert r["imported"] == [] and "bomb.zip: unpacks to 2 MiB, over the upload limit" \
            in r["errors"][0]
    finally:
        c.__exit__(None, None, None)


def test_zip_members_are_never_written_under_their_names(alice, app, dicom_dir):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../../outside.dcm", (dicom_dir / "p1.dcm").read_bytes())
        zf.writestr("sub/../../up.dcm", (dicom_dir / "p2a.dcm").read_bytes())
    r = alice.post("/api/studies/upload",
                   files=[("files", ("../../evil.zip", buf.getvalue(), "application/zip"))])
    assert len(r.json()["imported"]) == 2, r.text
    data = app.state.settings.data_dir
    found = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    studies = [p for p in found if p.startswith("studies/")]
    assert all(p.split("/")[2] in ("dicom", "views.npz", "maps.npz") for p in studies), found
    assert not [p for p in found if p.endswith(("outside.dcm", "up.dcm", "evil.zip"))], found
    assert not list(data.parent.glob("**/outside.dcm"))


@pytest.mark.parametrize(("sent", "saved"), [
    ("study.zip", "study.zip"), ("../../evil.dcm", "evil.dcm"), ("C:\\exports\\a.dcm", "a.dcm"),
    ("folder/DICOMDIR", "DICOMDIR"), ("..", "file0"), ("", "file0"), (None, "file0"),
    ("a!b.zip", "a_b.zip"), ("bad\x00name\n.dcm", "badname.dcm"),
])
def test_sent_file_names_are_names_only(sent, saved):
    assert safe_name(sent, "file0") == saved


def test_the_watched_folder_reads_a_dicomdir_zip(tmp_path, dicomdir_zip):
    import os
    import time

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "cd.zip").write_bytes(dicomdir_zip.read_bytes())
    past = time.time() - 10
    os.utime(inbox / "cd.zip", (past, past))
    app = _app(tmp_path, import_dir=inbox, import_poll_seconds=0.1)
    c = logged_in(app, "alice")  # starts the watcher
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (inbox / "imported" / "cd.zip").exists():
            time.sleep(0.1)
        assert (inbox / "imported" / "cd.zip").exists()
        assert sorted(r["patient_id"] for r in c.get("/api/studies").json()) == ["P1", "P2"]
    finally:
        c.__exit__(None, None, None)

