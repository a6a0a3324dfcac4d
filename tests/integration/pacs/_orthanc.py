"""A private Orthanc for the PACS tests: loopback, free ports, storage in a temporary folder."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
USER, PASSWORD = "reader", "orthanc-test-secret"
AET = "TESTPACS"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orthanc:
    """``Orthanc config.json`` as a child process; ``modalities`` maps a name to (AET, port)."""

    def __init__(self, folder: Path, modalities: dict[str, tuple[str, int]]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.http_port, self.dicom_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        config = {
            "Name": "mibgscore-test", "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "storage"), "HttpPort": self.http_port,
            "DicomPort": self.dicom_port, "DicomAet": AET, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD},
            "Plugins": [DICOMWEB_PLUGIN], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "DicomModalities": {k: [aet, "127.0.0.1", port]
                                for k, (aet, port) in modalities.items()},
            "DicomCheckCalledAet": True, "StableAge": 1, "ConcurrentJobs": 2,
            "HttpsVerifyPeers": False, "SaveJobs": False, "LogExportedResources": False,
        }
        self.config_path = folder / "orthanc.json"
        self.config_path.write_text(json.dumps(config, indent=1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def start(self) -> None:
        log = (self.folder / "orthanc.log").open("ab")
        self.proc = subprocess.Popen([ORTHANC, str(self.config_path)], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.get("/system")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"Orthanc exited; see {self.folder}") from None
                time.sleep(0.1)
        raise RuntimeError("Orthanc did not answer /system within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _request(self, method: str, path: str, body: bytes | None = None,
                 content_type: str = "application/json"):
        req = urllib.request.Request(self.url + path, data=body, method=method)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        if body is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
        return json.loads(data) if data[:1] in (b"{", b"[") else data

    def get(self, path: str):
        return self._request("GET", path)

    def post(self, path: str, body: bytes | dict, content_type: str = "application/json"):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        return self._request("POST", path, data, content_type)

    def upload(self, path: Path) -> dict:
        return self.post("/instances", path.read_bytes(), "application/dicom")

    def instances_of(self, study_uid: str) -> list[dict]:
        """Every instance of a study: ``{"ID", "MainDicomTags", ...}``, with the series'
        Modality added."""
        found = self.post("/tools/lookup", study_uid.encode(), "text/plain")
        out = []
        for hit in found:
            if hit["Type"] != "Study":
                continue
            for series in self.get(f"/studies/{hit['ID']}/series"):
                for inst in self.get(f"/series/{series['ID']}/instances"):
                    inst["Modality"] = series["MainDicomTags"].get("Modality")
                    out.append(inst)
        return out

    def file(self, instance_id: str) -> bytes:
        return self._request("GET", f"/instances/{instance_id}/file")
