"""Native codecs run in a helper process, so a codec that aborts takes only the helper down.

Why: GDCM and CharLS call ``abort()`` on some malformed streams (``std::length_error`` on absurd
dimensions, exit 134, no message), and the Rust RLE decoder panics with pyo3's
``PanicException``, a ``BaseException`` that ``except Exception`` does not catch and that cannot
be pickled across a process pool. In the app or the CLI either one ended the whole program and
every object after the bad one. Here every decode/encode of compressed pixel data runs in one
long-lived helper process per calling process: an exception of any kind comes back as a
``RedactionError`` with a one-line reason, a dead helper fails only that object ("the JPEG-LS
(CharLS) decoder crashed on this file") and a fresh helper is started for the next one.

The helper is started with ``spawn`` (safe from a GUI with threads, and independent of the
scanner's forkserver), watches its parent so it never outlives it, and handles one call at a
time; calls from several threads of one process wait their turn. Native (uncompressed) pixel
data never comes here: it is plain NumPy work.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Callable, TypeVar, TypeVarTuple, cast

from pydicom import uid as U

from desktop_client.core.errors import one_line
from desktop_client.core.processes import end_with_parent
from desktop_client.pixels.errors import RedactionError

#: Which native library handles each compressed syntax, for the user-facing crash sentence.
CODEC_NAMES: dict[str, str] = {
    U.RLELossless: "RLE (pylibjpeg-rle / GDCM)",
    U.JPEGLSLossless: "JPEG-LS (CharLS / GDCM)",
    U.JPEGLSNearLossless: "JPEG-LS (CharLS / GDCM)",
    U.JPEG2000Lossless: "JPEG 2000 (OpenJPEG / GDCM)",
    U.JPEG2000: "JPEG 2000 (OpenJPEG / GDCM)",
    U.HTJ2KLossless: "HTJ2K (OpenJPEG / OpenJPH)",
    U.HTJ2KLosslessRPCL: "HTJ2K (OpenJPEG / OpenJPH)",
    U.HTJ2K: "HTJ2K (OpenJPEG / OpenJPH)",
    U.JPEGBaseline8Bit: "JPEG (libjpeg)",
    U.JPEGExtended12Bit: "JPEG (libjpeg)",
    U.JPEGLossless: "JPEG Lossless (GDCM / libjpeg)",
    U.JPEGLosslessSV1: "JPEG Lossless (GDCM / libjpeg)",
}

#: A call may take this long plus ``SECONDS_PER_MB`` for each MB of input before it counts as hung.
BASE_TIMEOUT = 300.0
SECONDS_PER_MB = 2.0

_IN_HELPER = False

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def codec_name(ts: str) -> str:
    return CODEC_NAMES.get(ts, U.UID(ts).name or ts)


def _serve(conn: Connection) -> None:
    """Helper process main loop: run each call, send back ("ok", result) or ("error", reason)."""
    global _IN_HELPER
    _IN_HELPER = True
    end_with_parent()
    # Codec libraries print to stderr (a Rust panic's backtrace, C++ "terminate called ..."):
    # the caller gets the reason as a sentence, the user's terminal stays clean.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except RedactionError as exc:
            reply = ("error", exc.reason)
        except BaseException as exc:  # noqa: BLE001 - PanicException and friends end here, as a reason
            reply = ("error", f"the pixel data could not be processed ({one_line(exc)})")
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result: say so rather than leave the caller waiting
            conn.send(("error", f"internal error: the result cannot be returned ({type(exc).__name__})"))


class _Helper:
    """One helper process and its pipe; restarted after a crash."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._pid = 0

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), name="codec-helper", daemon=True)
        process.start()
        child.close()
        self._process, self._conn, self._pid = process, parent, os.getpid()

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._process = self._conn = None

    def call(self, fn: Callable[[*Ts], T], args: tuple[*Ts], *, codec: str, size: int) -> T:
        with self._lock:
            if self._pid != os.getpid():  # a forked child must not share its parent's helper
                self._process = self._conn = None
            if self._process is None or not self._process.is_alive():
                self._start()
            assert self._conn is not None and self._process is not None
            timeout = BASE_TIMEOUT + SECONDS_PER_MB * size / 1e6
            try:
                self._conn.send((fn, args))
                deadline = time.monotonic() + timeout
                while not self._conn.poll(0.5):
                    if not self._process.is_alive():
                        raise EOFError
                    if time.monotonic() > deadline:
                        self._stop()
                        raise RedactionError(f"the {codec} decoder did not finish within "
                                             f"{timeout:.0f} s on this file; it was stopped")
                kind, payload = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                process = self._process
                self._stop()
                code = process.exitcode if process is not None else None
                how = f" (signal {-code})" if code is not None and code < 0 else \
                    (f" (exit code {code})" if code else "")
                raise RedactionError(f"the {codec} decoder crashed on this file{how}") from None
        if kind == "error":
            raise RedactionError(" ".join(str(payload).split()))
        return cast(T, payload)  # what ``fn`` returned, unpickled from the helper's pipe

    def close(self) -> None:
        with self._lock:
            self._stop()


_HELPER = _Helper()


def run_isolated(fn: Callable[[*Ts], T], *args: *Ts, ts: str, size: int = 0) -> T:
    """``fn(*args)`` in the codec helper process (inline when already inside it).

    ``fn`` and its arguments must be picklable (module-level function, datasets, bytes, models).
    Raises ``RedactionError`` for any failure of ``fn``, a crash of the helper or a hang.
    """
    if _IN_HELPER:
        return fn(*args)
    return _HELPER.call(fn, args, codec=codec_name(ts), size=size)


def shutdown() -> None:
    """Stop the helper (tests; the helper also ends by itself with its parent)."""
    _HELPER.close()
