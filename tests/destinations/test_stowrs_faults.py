"""STOW-RS through a faulty proxy in front of a real Orthanc: retries end verified once."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import requests

from desktop_client.transfer import (DestinationSpec, RetryPolicy, State, TransferQueue,
                                     TransferSpec)
from tests.destinations.orthanc import PASSWORD, USER, Orthanc
from tests.dicomfactory import write_study
from tests.helpers import session_of

pytestmark = pytest.mark.orthanc


class FaultyProxy:
    """Forwards to Orthanc; the first ``failures`` POSTs fail the way ``mode`` says."""

    def __init__(self, target: str, mode: str, failures: int) -> None:
        self.target, self.mode, self.failures = target, mode, failures
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
                    parts = []
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        chunk = self.rfile.read(size)
                        self.rfile.readline()
                        if size == 0:
                            return b"".join(parts)
                        parts.append(chunk)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self, method: str, body: bytes | None) -> None:
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type", "accept")}
                r = requests.request(method, proxy.target + self.path, data=body, headers=headers,
                                     timeout=60)
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def do_GET(self) -> None:
                self._forward("GET", None)

            def do_POST(self) -> None:
                if proxy.failures > 0:
                    proxy.failures -= 1
                    if proxy.mode == "drop":
                        self.rfile.read(1000)
                        self.close_connection = True
                        self.connection.close()
                        return
                    self._body()
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._forward("POST", self._body())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(orthanc: Orthanc, request: pytest.FixtureRequest) -> Iterator[FaultyProxy]:
    p = FaultyProxy(orthanc.url, request.param, failures=2)
    yield p
    p.close()


@pytest.mark.parametrize("proxy", ["503", "drop"], indirect=True)
def test_stowrs_retries_end_verified_once(orthanc: Orthanc, proxy: FaultyProxy,
                                          tmp_path: Path) -> None:
    orthanc.reset()
    session = session_of(write_study(tmp_path / "src", series=2, files=3))
    spec = TransferSpec(session=session, scripts=[], max_chunk_files=2,
                        destination=DestinationSpec.parse(f"dicomweb+{proxy.url}/dicom-web",
                                                          username=USER))
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0, credentials=lambda d: PASSWORD,
                      retry=RetryPolicy(max_attempts=4, base_delay=0.01))
    q.start()
    try:
        transfer_id = q.submit(spec)
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        assert q.status(transfer_id).verification["ok"]
        assert any(e.event == "retry" for e in q.log(transfer_id))
    finally:
        q.close()
    assert len(orthanc.instances()) == 6
