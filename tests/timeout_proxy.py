"""A loopback HTTP/1.1 reverse proxy with a read timeout: nginx in front of XNAT, for tests.

What a site's proxy does to a long import (issue 17 §1): it takes the whole request from the
client (``proxy_request_buffering on``), passes it on, and when the upstream has not answered
within ``read_timeout`` seconds it answers ``504 Gateway Time-out`` and closes the client's
connection — while the upstream carries on with the request (here: the request is still
delivered completely and its answer read and dropped, as Tomcat keeps importing after nginx
gave up). Every request gets its own upstream connection.

    with TimeoutProxy(("127.0.0.1", emulator.port), read_timeout=60) as proxy:
        client = XnatClient(proxy.url, ...)

``python -m tests.timeout_proxy UPSTREAM_PORT [--timeout 60] [--port N]`` runs it by hand (the
benchmark uses that).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import threading
import time
from typing import Any

_PAGE = (b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
         b"<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n"
         b"</body>\r\n</html>\r\n")
GATEWAY_TIMEOUT = (b"HTTP/1.1 504 Gateway Time-out\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                   b"Connection: close\r\nContent-Length: " + str(len(_PAGE)).encode()
                   + b"\r\n\r\n" + _PAGE)


class _Closed(Exception):
    pass


class _Reader:
    """Buffered reads from a socket: lines, exact lengths, chunked bodies (kept raw)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise _Closed()
        self.buffer += data  # bytearray: appends in place

    def until(self, marker: bytes) -> bytes:
        start = 0
        while (found := self.buffer.find(marker, start)) < 0:
            start = max(0, len(self.buffer) - len(marker))
            self._fill()
        end = found + len(marker)
        out = bytes(self.buffer[:end])
        del self.buffer[:end]
        return out

    def exactly(self, n: int) -> bytes:
        parts = [bytes(self.buffer[:n])]
        got = len(parts[0])
        del self.buffer[:n]
        while got < n:
            data = self.sock.recv(min(1 << 20, n - got))
            if not data:
                raise _Closed()
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def chunked(self) -> bytes:
        parts = []
        while True:
            line = self.until(b"\r\n")
            parts.append(line)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                parts.append(self.until(b"\r\n"))  # no trailers from our clients
                return b"".join(parts)
            parts.append(self.exactly(size + 2))

    def message(self) -> tuple[bytes, bytes]:
        """One HTTP message: (head, raw body)."""
        head = self.until(b"\r\n\r\n")
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            return head, self.chunked()
        return head, self.exactly(int(fields.get(b"content-length", b"0") or 0))


class TimeoutProxy:
    """See the module docstring. ``timeouts`` counts the 504s it gave."""

    def __init__(self, upstream: tuple[str, int], read_timeout: float, port: int = 0) -> None:
        self.upstream = upstream
        self.read_timeout = read_timeout
        self.timeouts = 0
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="timeout-proxy", daemon=True)

    def __enter__(self) -> "TimeoutProxy":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "TimeoutProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        reader = _Reader(client)
        try:
            while True:
                head, body = reader.message()
                with self._lock:
                    self.requests += 1
                answer: dict[str, bytes] = {}
                done = threading.Event()
                threading.Thread(target=self._exchange, args=(head + body, answer, done),
                                 daemon=True).start()
                if not done.wait(self.read_timeout):
                    with self._lock:
                        self.timeouts += 1
                    client.sendall(GATEWAY_TIMEOUT)
                    return
                if "response" not in answer:
                    return  # the upstream closed without answering: so does the proxy
                client.sendall(answer["response"])
                if b"connection: close" in answer["response"].split(b"\r\n\r\n", 1)[0].lower():
                    return
        except (_Closed, OSError):
            return
        finally:
            try:
                client.close()
            except OSError:
                pass

    def _exchange(self, request: bytes, answer: dict[str, bytes], done: threading.Event) -> None:
        """Send the request upstream and read its answer (even after the proxy gave up)."""
        try:
            with socket.create_connection(self.upstream) as upstream:
                upstream.sendall(request)
                head, body = _Reader(upstream).message()
                answer["response"] = head + body
        except (_Closed, OSError):
            pass
        finally:
            done.set()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.timeout_proxy")
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--timeout", type=float, default=60.0, help="read timeout, seconds")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    proxy = TimeoutProxy(("127.0.0.1", args.upstream_port), args.timeout, args.port).start()

    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    print(f"proxy {proxy.url} -> 127.0.0.1:{args.upstream_port} (read timeout {args.timeout:g} s)",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        # The last line says what the proxy did (the benchmark reads it).
        print(json.dumps({"requests": proxy.requests, "timeouts": proxy.timeouts}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
