"""Start a real Orthanc (Debian packages ``orthanc`` + ``orthanc-dicomweb``) for the tests.

Everything is private to the test: a temp dir holds the configuration, the storage and the
index; HTTP and DICOM listen on free loopback ports; HTTP needs a user (``test``/``secret``) so
the STOW-RS client's authentication is exercised for real.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")
USER, PASSWORD = "test", "secret"
AET = "ORTHANC"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dicomweb_plugin() -> str | None:
    for folder in PLUGIN_DIRS:
        for path in sorted(Path(folder).glob("libOrthancDicomWeb.so*")):
            return str(path)
    return None


@dataclass
class Orthanc:
    http_port: int
    dicom_port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def get(self, path: str, **kw: object) -> requests.Response:
        r = requests.get(self.url + path, auth=(USER, PASSWORD), timeout=30, **kw)  # type: ignore[arg-type]
        r.raise_for_status()
        return r

    def instances(self) -> list[str]:
        return list(self.get("/instances").json())

    def tags(self, instance_id: str) -> dict[str, object]:
        return dict(self.get(f"/instances/{instance_id}/simplified-tags").json())

    def file(self, instance_id: str) -> bytes:
        return self.get(f"/instances/{instance_id}/file").content

    def reset(self) -> None:
        for instance_id in self.instances():
            requests.delete(f"{self.url}/instances/{instance_id}", auth=(USER, PASSWORD), timeout=30)


def start_orthanc(workdir: Path, overrides: dict[str, object] | None = None) -> Iterator[Orthanc]:
    """Generator fixture body: yields a running Orthanc and stops it afterwards.

    ``overrides`` replaces configuration options (e.g. refuse C-FIND from unknown AEs).
    """
    binary = shutil.which("Orthanc")
    plugin = dicomweb_plugin()
    if binary is None or plugin is None:
        import pytest

        pytest.skip("Orthanc or its DICOMweb plugin is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "transfer-tests",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": AET,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "DicomCheckCalledAet": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomScpTimeout": 30,
        "UnknownSopClassAccepted": False,
        "Plugins": [plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "Ssl": False},
        "StorageCompression": False,
        "HttpThreadsCount": 8,
    }
    config.update(overrides or {})
    config_path = workdir / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log_path = workdir / "orthanc.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                                   cwd=workdir)
    orthanc = Orthanc(http_port, dicom_port, process, log_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(orthanc.url + "/system", auth=(USER, PASSWORD), timeout=2).raise_for_status()
            break
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("Orthanc did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
    try:
        yield orthanc
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
