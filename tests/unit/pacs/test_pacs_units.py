"""The PACS layer without a PACS: secrets by reference, settings checks, MIBG recognition, the
outbox's idempotence and backoff, and HTTPS with a private CA and a bearer token."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from sqlalchemy import create_engine

from mibgscore.pacs.credentials import resolve_secret
from mibgscore.pacs.dicomweb import DicomWebNode
from mibgscore.pacs.outbox import Outbox
from mibgscore.pacs.tracer import mibg_basis, tracer_of
from mibgscore.pacs.types import PacsConfig, PacsError, StoreReport


def test_secrets_come_from_a_variable_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MIBGSCORE_NO_SUCH", raising=False)
    with pytest.raises(PacsError, match="MIBGSCORE_NO_SUCH .* is not set"):
        resolve_secret("env:MIBGSCORE_NO_SUCH")
    monkeypatch.setenv("MIBGSCORE_PW", "pw1")
    assert resolve_secret("env:MIBGSCORE_PW") == "pw1"
    f = tmp_path / "secret"
    f.write_text("pw2\n")
    f.chmod(0o644)
    with pytest.raises(PacsError, match="chmod 600"):
        resolve_secret(f"file:{f}")
    f.chmod(0o600)
    assert resolve_secret(f"file:{f}") == "pw2"
    with pytest.raises(ValueError, match="by reference"):
        resolve_secret("pw-in-clear")


def test_a_connection_is_checked_when_made():
    with pytest.raises(ValueError, match="AE title"):
        PacsConfig(protocol="dimse", host="pacs", called_aet="A-TITLE-FAR-TOO-LONG")
    with pytest.raises(ValueError, match="secret reference"):
        PacsConfig(url="https://pacs/dicom-web", auth="basic", username="u")
    c = PacsConfig(url="https://pacs/dicom-web", auth="bearer", secret="env:TOKEN")
    assert c.to_dict()["secret"] == "env:TOKEN" and c.label == "https://pacs/dicom-web"


def _rp(text: str, code: str | None = None) -> Dataset:
    ds, item = Dataset(), Dataset()
    item.Radiopharmaceutical = text
    if code:
        c = Dataset()
        c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = code, "SCT", text
        item.RadiopharmaceuticalCodeSequence = [c]
    ds.RadiopharmaceuticalInformationSequence = [item]
    return ds


def test_mibg_is_told_by_the_tracer_before_the_description():
    assert tracer_of(_rp("Iobenguane", "395787009")) is True
    assert tracer_of(_rp("123I-mIBG")) is True
    assert tracer_of(_rp("99mTc-MDP")) is False
    assert tracer_of(Dataset()) is None
    assert mibg_basis([_rp("99mTc-MDP")], ["MIBG follow-up"]) == ""   # tracer wins
    assert mibg_basis([Dataset()], ["WB MIBG 24h"]) == "description"
    assert mibg_basis([Dataset()], ["Bone scan"]) == ""


def _instance() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    ds.SOPInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "SR"
    return ds


def test_the_outbox_retries_with_backoff_and_sends_each_instance_once(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'out.sqlite3'}")
    box = Outbox(engine)
    ds = _instance()
    first = box.put("pacs", ds, "sr")
    assert box.put("pacs", ds, "sr") == first and box.pending() == 1
    calls = []

    def down(dest, datasets):
        calls.append(len(datasets))
        raise PacsError("cannot connect to the PACS at x.")

    t0 = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) + dt.timedelta(minutes=1)
    assert box.deliver(down, now=t0) == 0
    (item,) = box.items()
    assert item.state == "error" and item.attempts == 1
    assert item.next_try_at == t0 + dt.timedelta(seconds=10)
    assert box.deliver(down, now=t0 + dt.timedelta(seconds=5)) == 0  # not due yet
    assert calls == [1]
    box.deliver(down, now=t0 + dt.timedelta(seconds=10))
    assert box.items()[0].next_try_at == t0 + dt.timedelta(seconds=30)  # 10 s, then 20 s
    # a restart: a new Outbox on the same database still has it
    box = Outbox(create_engine(f"sqlite:///{tmp_path / 'out.sqlite3'}"))
    sent = []
    up = lambda dest, datasets: (sent.extend(d.SOPInstanceUID for d in datasets),  # noqa: E731
                                 StoreReport(stored=[d.SOPInstanceUID for d in datasets]))[1]
    assert box.deliver(up, now=t0 + dt.timedelta(hours=1)) == 1
    assert sent == [ds.SOPInstanceUID] and box.items()[0].state == "sent"
    box.put("pacs", ds, "sr")  # queued again once sent: not sent twice
    assert box.deliver(up, now=t0 + dt.timedelta(hours=2)) == 0 and box.pending() == 0


@pytest.fixture
def https_qido(tmp_path):
    """A loopback HTTPS server (certificate of a private CA) answering QIDO with [] and
    recording the Authorization header."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")

    def ssl_(*args):
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    ssl_("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "1", "-subj", "/CN=mibgscore test CA")
    ssl_("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
         "-subj", "/CN=127.0.0.1")
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl_("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "srv.pem", "-days", "1", "-extfile", "ext.cnf")
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            body = json.dumps([]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/dicom+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "srv.pem", tmp_path / "srv.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/dicom-web", tmp_path / "ca.pem", seen
    server.shutdown()


def test_https_with_a_private_ca_bundle_and_a_bearer_token(https_qido, monkeypatch):
    url, ca, seen = https_qido
    monkeypatch.setenv("MIBGSCORE_TEST_TOKEN", "tok-123")
    config = PacsConfig(url=url, auth="bearer", secret="env:MIBGSCORE_TEST_TOKEN",
                        timeout_seconds=5)
    with pytest.raises(PacsError, match="certificate .* not trusted"):
        DicomWebNode(config).echo()
    trusted = PacsConfig(**{**config.to_dict(), "ca_bundle": str(ca)})
    assert DicomWebNode(trusted).echo() >= 0
    assert seen[-1] == "Bearer tok-123"
    assert os.environ["MIBGSCORE_TEST_TOKEN"] not in repr(trusted)
