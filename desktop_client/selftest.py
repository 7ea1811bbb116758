"""Self-test of an installation or a frozen bundle: ``--self-test``, ``xnat-upload self-test``.

A PyInstaller bundle fails in ways the source tree never does: a codec plugin that pydicom or
pylibjpeg imports by name (or discovers through package entry points) is silently left out, a
shared library or a data file is missing, Qt's platform plugins are not collected. Each of those
shows up only when a user opens a compressed study. This module exercises every such path on tiny
embedded samples, without a display and without the network, so a broken bundle is caught by one
command (exit status 0 only if every required check passes):

* every codec library imports, and the plugins found through entry points are registered;
* each sample (one per supported transfer syntax, ``desktop_client/selftest_data``) decodes to the
  reference image with every pydicom decoder plugin that claims the syntax;
* a box is redacted in each sample by ``desktop_client.pixels.redact_dataset`` and an independent
  re-decode shows it filled (and, for lossless output, nothing else changed);
* a DicomEdit 6 script edits headers and drives the pixel engine through ``alterPixels``;
* the burned-in text finder loads its OCR models (inside the bundle, no download) and reads the
  synthetic patient line of an embedded sample as likely patient data;
* a worker process starts with the start method the scanner and transfer queue use (in a bundle
  that proves ``multiprocessing.freeze_support`` is wired, so workers do not relaunch the app);
* Qt creates a ``QApplication`` on the offscreen platform and renders the app's SVG icon (in a
  bundle that proves the Qt platform and image-format plugins and the resources were collected).

The whole run sits under a socket audit hook: any Python-level network use fails the run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:  # pydicom is imported by each check that needs it
    from pydicom.dataset import Dataset

#: Image size of every sample; small enough that the whole set is a few tens of kilobytes.
ROWS = COLUMNS = 64
#: The "burned-in text" block of the reference image, which the redaction check blacks out.
#: Multiples of 16, so the box is MCU-aligned for JPEG Baseline (any chroma subsampling).
BOX = (16, 16, 48, 32)  # left, top, right, bottom (half-open, as alterPixels writes it)

DATA_DIR = Path(__file__).with_name("selftest_data")
#: The text finder's sample and the line burned into it (synthetic, no patient data).
TEXT_SAMPLE = "burned_text.dcm"
TEXT_SAMPLE_LINE = "SELFTEST, SAMPLE 2000-01-01"


@dataclass(frozen=True, slots=True)
class Sample:
    """One embedded sample: file name, transfer syntax, sample depth and what to expect of it."""

    filename: str
    transfer_syntax: str
    bits: int = 16
    #: Lossy samples are compared with a tolerance; lossless ones must decode exactly.
    lossy: bool = False
    #: How the pixel engine must redact it; a bundle missing a codec would silently take a
    #: fallback (JPEG Baseline without jpeglib is written uncompressed), so the method is checked.
    method: str = "reencode"
    #: The pixel engine may refuse (fail closed) because no encoder for the syntax exists.
    may_refuse: bool = False


# Transfer syntax UIDs are spelled out so this table reads without pydicom; the names match
# pydicom.uid and desktop_client.core.transfer_syntaxes.
SAMPLES: tuple[Sample, ...] = (
    Sample("explicit_le.dcm", "1.2.840.10008.1.2.1", method="native"),
    Sample("implicit_le.dcm", "1.2.840.10008.1.2", method="native"),
    Sample("explicit_be.dcm", "1.2.840.10008.1.2.2", method="native"),
    Sample("deflated.dcm", "1.2.840.10008.1.2.1.99", method="native"),
    Sample("rle.dcm", "1.2.840.10008.1.2.5"),
    Sample("jpeg_baseline.dcm", "1.2.840.10008.1.2.4.50", bits=8, lossy=True, method="dct"),
    Sample("jpeg_lossless.dcm", "1.2.840.10008.1.2.4.57"),
    Sample("jpeg_lossless_sv1.dcm", "1.2.840.10008.1.2.4.70"),
    Sample("jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
    Sample("j2k_lossless.dcm", "1.2.840.10008.1.2.4.90"),
    Sample("htj2k_lossless.dcm", "1.2.840.10008.1.2.4.201", may_refuse=True),
)

#: The sample the DicomEdit check edits (native, so the header and pixel checks are exact).
DICOMEDIT_SAMPLE = SAMPLES[0]

#: Codec libraries: (import name, distribution, required). Required ones are runtime
#: dependencies of the app; ``libjpeg`` (pylibjpeg-libjpeg) is GPL-3 and never bundled.
CODECS: tuple[tuple[str, str, bool], ...] = (
    ("pydicom", "pydicom", True),
    ("PIL", "pillow", True),
    ("pylibjpeg", "pylibjpeg", True),
    ("openjpeg", "pylibjpeg-openjpeg", True),
    ("rle", "pylibjpeg-rle", True),
    ("jpeg_ls", "pyjpegls", True),
    ("gdcm", "python-gdcm", True),
    ("imagecodecs", "imagecodecs", True),
    ("jpeglib", "jpeglib", True),
    ("libjpeg", "pylibjpeg-libjpeg", False),
)

#: Plugins pylibjpeg must find through entry points (lost if a bundle drops package metadata).
PYLIBJPEG_DECODERS = {
    "1.2.840.10008.1.2.5": "pylibjpeg-rle",
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.201": "pylibjpeg-openjpeg",
}

#: Modules the OS's keyring backend needs (its own module imports them lazily, inside ``try``).
KEYRING_MODULES = {
    "linux": ("keyring.backends.SecretService", "secretstorage"),
    "win32": ("keyring.backends.Windows", "win32ctypes.pywin32"),
    "darwin": ("keyring.backends.macOS",),
}

DICOMEDIT_SCRIPT = """\
version "6.3"
// self-test: header edits and a pixel edit, the way a project anonymization script does it
(0010,0010) := "ANONYMIZED"
(0010,0020) := format["{0}_{1}", project, subject]
-(0008,0080)
alterPixels["rectangle", "l=16, t=16, r=48, b=32", "solid", "v=0"]
"""


@dataclass(frozen=True, slots=True)
class Check:
    """Result of one check: printed as one line."""

    name: str
    ok: bool
    detail: str = ""
    required: bool = True

    def line(self) -> str:
        status = "PASS" if self.ok else ("FAIL" if self.required else "INFO")
        return f"{status}  {self.name}" + (f": {self.detail}" if self.detail else "")


def reference_image(bits: int) -> np.ndarray:
    """The image every sample stores: a smooth gradient with a bright block where text would be.

    Smooth content keeps JPEG Baseline close to the reference; the bright block is the "burned-in
    annotation" that the redaction check paints black.
    """
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    if bits == 8:
        image = 40 + x * 2 + y
        value = 230
        dtype: type = np.uint8
    else:
        image = 1000 + x * 700 + y * 150 + (x * y) % 7
        value = 65000
        dtype = np.uint16
    left, top, right, bottom = BOX
    image[top:bottom, left:right] = value
    return image.astype(dtype)


# --- checks ------------------------------------------------------------------------------------

def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "no metadata"


def check_codecs() -> Iterator[Check]:
    """Every codec library imports (a bundle must carry its compiled extension and libraries)."""
    for module, dist, required in CODECS:
        try:
            importlib.import_module(module)
        except Exception as exc:  # ImportError, or OSError for a missing shared library
            if required:
                yield Check(f"codec {dist}", False, f"cannot be imported ({type(exc).__name__}: {exc})")
            else:
                yield Check(f"codec {dist}", False, "not installed (optional, GPL-3: never bundled)",
                            required=False)
            continue
        note = "" if required else " (optional GPL-3 codec found; it is not bundled by default)"
        yield Check(f"codec {dist}", True, f"{_version(dist)}{note}")


def check_plugin_discovery() -> Iterator[Check]:
    """Plugins found through package metadata: pylibjpeg's decoders, keyring's backends."""
    try:
        from pylibjpeg.utils import get_pixel_data_decoders

        found = get_pixel_data_decoders()
        missing = [f"{dist} ({uid})" for uid, dist in PYLIBJPEG_DECODERS.items() if uid not in found]
        yield Check("pylibjpeg plugins (entry points)", not missing,
                    f"missing {', '.join(missing)}" if missing else f"{len(found)} syntaxes registered")
    except Exception as exc:
        yield Check("pylibjpeg plugins (entry points)", False, f"{type(exc).__name__}: {exc}")
    # Entry points are read and this OS's backend modules imported, but no backend is instantiated:
    # that would contact the secret store (D-Bus on Linux).
    backends = {ep.name for ep in importlib.metadata.entry_points(group="keyring.backends")}
    wanted = {"SecretService", "Windows", "macOS"}
    yield Check("keyring backends (entry points)", wanted <= backends,
                ", ".join(sorted(backends)) or "none found")
    modules = next((v for k, v in KEYRING_MODULES.items() if sys.platform.startswith(k)), ())
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            yield Check(f"keyring backend {module}", False, f"cannot be imported ({type(exc).__name__}: {exc})")
        else:
            yield Check(f"keyring backend {module}", True)


def load_sample(sample: Sample) -> Dataset:
    """Read one embedded sample (a pydicom Dataset)."""
    from pydicom import dcmread

    return dcmread(DATA_DIR / sample.filename)


def _matches(arr: np.ndarray, sample: Sample) -> tuple[bool, str]:
    expected = reference_image(sample.bits)
    if arr.shape != expected.shape:
        return False, f"decoded shape {arr.shape}, expected {expected.shape}"
    diff = np.abs(arr.astype(np.int64) - expected.astype(np.int64))
    if sample.lossy:
        mean = float(diff.mean())
        return mean <= 3.0, f"mean difference {mean:.2f} (lossy)"
    return int(diff.max()) == 0, "exact" if int(diff.max()) == 0 else f"max difference {int(diff.max())}"


def check_decode(sample: Sample) -> Iterator[Check]:
    """The sample decodes to the reference image with every pydicom plugin that claims it."""
    from pydicom.pixels import get_decoder

    name = f"decode {sample.filename}"
    try:
        ds = load_sample(sample)
        ts = str(ds.file_meta.TransferSyntaxUID)
        if ts != sample.transfer_syntax:
            yield Check(name, False, f"stored as {ts}, expected {sample.transfer_syntax}")
            return
        plugins = get_decoder(ts).available_plugins or ("",)  # native syntaxes: no plugin names
    except Exception as exc:
        yield Check(name, False, f"{type(exc).__name__}: {exc}")
        return
    if not plugins:
        yield Check(name, False, "no decoder plugin is available")
        return
    for plugin in plugins:
        label = f"{name} [{plugin}]" if plugin else name
        try:
            arr = ds.pixel_array if not plugin else _decode_with(ds, plugin)
            ok, detail = _matches(arr, sample)
        except Exception as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        yield Check(label, ok, detail)


def _decode_with(ds: Dataset, plugin: str) -> np.ndarray:
    from pydicom.pixels import pixel_array

    return pixel_array(ds, decoding_plugin=plugin, raw=True)


def _box_report(ds: Dataset, sample: Sample, fill: int = 0) -> tuple[bool, str]:
    from pydicom.pixels import pixel_array

    arr = pixel_array(ds, raw=True)
    left, top, right, bottom = BOX
    inside = arr[top:bottom, left:right]
    tolerance = 2 if sample.lossy else 0
    if int(np.abs(inside.astype(np.int64) - fill).max()) > tolerance:
        return False, f"box not filled (values up to {int(inside.max())})"
    if sample.lossy:
        return True, "box filled"
    expected = reference_image(sample.bits).astype(np.int64)
    expected[top:bottom, left:right] = fill
    changed = int(np.count_nonzero(arr.astype(np.int64) != expected))
    return changed == 0, "box filled, rest unchanged" if changed == 0 else f"{changed} pixels outside the box changed"


def check_redact(sample: Sample) -> Check:
    """``redact_dataset`` fills the box; an independent decode of the result confirms it."""
    from desktop_client.core.geometry import BLACK, PixelEdit, Rect
    from desktop_client.pixels import RedactionError, redact_dataset

    name = f"redact {sample.filename}"
    try:
        ds = load_sample(sample)
        report = redact_dataset(ds, [PixelEdit(Rect(*BOX), BLACK)])
    except RedactionError as exc:
        if sample.may_refuse and "no encoder" in exc.reason:
            return Check(name, True, f"refused, fail-closed as designed ({exc.reason})")
        return Check(name, False, f"refused: {exc.reason}")
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    try:
        ok, detail = _box_report(ds, sample)
    except Exception as exc:
        ok, detail = False, f"re-decode failed ({type(exc).__name__}: {exc})"
    if report.method != sample.method:
        ok, detail = False, f"{detail}; expected method {sample.method}: {'; '.join(report.notes)}"
    return Check(name, ok, f"{report.method}, {detail}")


def check_dicomedit() -> Check:
    """A DE6 script edits headers and, through ``alterPixels``, runs the pixel engine."""
    from desktop_client.dicomedit import compile_script

    name = "dicomedit DE6 script"
    sample = DICOMEDIT_SAMPLE
    try:
        script = compile_script(DICOMEDIT_SCRIPT)
        ds = load_sample(sample)
        outcome = script.apply(ds, variables={"project": "P1", "subject": "S1"})
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    problems = []
    if not outcome.ok:
        problems.append(f"status {outcome.status} ({outcome.error})")
    if str(ds.get("PatientName", "")) != "ANONYMIZED":
        problems.append("Patient Name not replaced")
    if str(ds.get("PatientID", "")) != "P1_S1":
        problems.append(f"Patient ID is {ds.get('PatientID', '')!r}, expected 'P1_S1'")
    if "InstitutionName" in ds:
        problems.append("Institution Name not removed")
    if not problems:
        ok, detail = _box_report(ds, sample)
        if not ok:
            problems.append(f"alterPixels: {detail}")
    return Check(name, not problems, "; ".join(problems) or
                 f"{script.dialect}: headers edited, alterPixels box filled")


def check_text_finder() -> Check:
    """The OCR models load from the installation and read the sample's burned-in line."""
    from desktop_client.textfind import Allowlist, find_text

    name = "burned-in text finder (OCR models)"
    started = time.monotonic()
    result = find_text(DATA_DIR / TEXT_SAMPLE, use_cache=False, allowlist=Allowlist())
    if result.error:
        return Check(name, False, result.error)
    phi = [f for f in result.found if f.likely_phi and "2000" in f.text]
    if not phi:
        return Check(name, False, f"the sample's line was not read (found {[f.text for f in result.found]})")
    return Check(name, True, f"read {phi[0].text!r} at {phi[0].rect} in {time.monotonic() - started:.1f} s")


def _worker_probe() -> str:
    """Runs in a worker process: the library imports there too."""
    import pydicom

    return f"pid {os.getpid()}, pydicom {pydicom.__version__}"


def check_worker_process() -> Check:
    """A process pool started the app's way (``core.processes.worker_pool``: forkserver on Linux,
    spawn elsewhere, as the transfer queue starts it) works."""
    from desktop_client.core.processes import start_method, worker_pool

    method = start_method()
    name = f"worker process ({method})"
    try:
        with worker_pool(1) as pool:
            detail = pool.submit(_worker_probe).result(timeout=120)
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    return Check(name, True, detail)


def check_qt(icon: Path | None = None) -> Iterator[Check]:
    """Qt starts offscreen and renders the app icon (platform + image-format plugins, resources),
    and this OS's windowing plugin can be loaded (its shared-library dependencies resolve).

    Qt is imported only here, lazily: the rest of the self-test (and the library) never needs it.
    """
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # never a window, whatever the session has
    name = "qt offscreen QApplication"
    try:
        from PySide6 import __version__ as qt_version
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication

        existing = QApplication.instance()  # a plain QCoreApplication cannot render: a
        # QApplication beside it fails, and that failure is the check's answer
        app = existing if isinstance(existing, QApplication) else \
            QApplication([sys.argv[0] if sys.argv else "selftest"])
        platform = app.platformName()
        path = icon or Path(__file__).parent / "gui" / "resources" / "icon.svg"
        library_paths = list(app.libraryPaths())
    except Exception as exc:
        yield Check(name, False, f"{type(exc).__name__}: {exc}")
        return
    if not path.is_file():
        yield Check(name, False, f"app icon {path.name} is missing from the installation")
    elif QIcon(str(path)).pixmap(64, 64).isNull():
        yield Check(name, False, "the SVG icon cannot be rendered (Qt SVG image-format plugin missing)")
    elif platform != "offscreen":
        yield Check(name, False, f"platform {platform} instead of offscreen")
    else:
        yield Check(name, True, f"PySide6 {qt_version}, platform {platform}, icon rendered")
    native = check_native_platform_plugin(library_paths)
    if native is not None:
        yield native


#: The Qt platform plugin a desktop session needs, by ``sys.platform`` (file name contains it).
NATIVE_PLATFORM_PLUGIN = {"linux": "qxcb", "win32": "qwindows", "darwin": "qcocoa"}


def check_native_platform_plugin(library_paths: Sequence[str]) -> Check | None:
    """This OS's windowing plugin is present and loadable (None on an OS without one).

    The offscreen check cannot see a windowing plugin whose libraries are missing (Linux: the
    xcb-icccm/keysyms/cursor libraries), which stops the app before its first window; loading the
    plugin's shared library resolves its dependencies without starting anything. Required in a
    frozen bundle, which must carry them; informational otherwise (the system provides them).
    """
    import ctypes

    token = next((v for k, v in NATIVE_PLATFORM_PLUGIN.items() if sys.platform.startswith(k)), None)
    if token is None:
        return None
    required = bool(getattr(sys, "frozen", False))
    name = f"qt platform plugin {token}"
    for folder in library_paths:
        platforms = Path(folder) / "platforms"
        found = sorted(platforms.glob(f"*{token}.*")) if platforms.is_dir() else []
        if found:
            try:
                ctypes.CDLL(str(found[0]))
            except OSError as exc:
                return Check(name, False, f"cannot be loaded, so no window can open ({exc})", required=required)
            return Check(name, True, f"{found[0].name} loads")
    return Check(name, False, "missing, so no window can open", required=required)


# --- network guard ------------------------------------------------------------------------------

#: Audit events that mean network use. ``socket.__new__`` is counted only for internet families.
NETWORK_EVENTS = frozenset({"socket.bind", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                            "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg"})

INTERNET = (socket.AF_INET, socket.AF_INET6)

#: (module, function) of known harmless probes. urllib3 (imported by pydicom through requests)
#: checks for IPv6 support at import by binding a throw-away socket to ``::1`` port 0 and closing
#: it at once: nothing is sent and nothing listens.
ALLOWED_CALLERS = frozenset({("urllib3.util.connection", "_has_ipv6")})


class NetworkAudit:
    """Records Python-level network activity (``sys.addaudithook``; hooks cannot be removed, so
    ``active`` switches recording off instead). Sockets opened by compiled code (Qt) are not
    audited; ``internet_sockets`` catches those on Linux."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.active = False

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active:
            return
        if event == "socket.__new__":
            network = len(args) > 1 and args[1] in INTERNET
        elif event in NETWORK_EVENTS:
            # Local (AF_UNIX) sockets, e.g. multiprocessing's fork server, are not network use.
            sock = args[0] if args else None
            network = not isinstance(sock, socket.socket) or sock.family in INTERNET
        else:
            return
        if network and not _allowed_caller():
            self.events.append(f"{event}{_describe(args)}")


def _allowed_caller() -> bool:
    frame: FrameType | None = sys._getframe(2)  # skip the hook itself
    while frame is not None:
        if (frame.f_globals.get("__name__"), frame.f_code.co_name) in ALLOWED_CALLERS:
            return True
        frame = frame.f_back
    return False


def _describe(args: tuple[object, ...]) -> str:
    for arg in args:
        if isinstance(arg, tuple) and arg:
            return f"({arg[0]})"
    return ""


def socket_inodes(pid: int | str = "self") -> set[str] | None:
    """Inodes of the sockets process ``pid`` holds; None where /proc cannot tell (not Linux)."""
    fd_dir = Path("/proc") / str(pid) / "fd"
    if not fd_dir.is_dir():
        return None
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def internet_sockets(pid: int | str = "self", *, ignore: set[str] | frozenset[str] = frozenset()
                     ) -> list[str] | None:
    """Internet sockets process ``pid`` holds, as ``proto state``; None where /proc cannot tell
    (not Linux). Catches sockets opened by compiled code too (a listening TCP socket shows
    ``LISTEN``). ``ignore`` lists socket inodes that were open before (the self-test running
    inside a bigger process must only answer for what it opened itself)."""
    inodes = socket_inodes(pid)
    if inodes is None:
        return None
    inodes -= set(ignore)
    held = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = (Path("/proc") / str(pid) / "net" / proto).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                held.append(f"{proto} {'LISTEN' if fields[3] == '0A' and proto.startswith('tcp') else fields[3]}")
    return held


# --- runner -------------------------------------------------------------------------------------

def run_checks(*, qt: bool = True) -> Iterator[Check]:
    """Every check in order (lazily, so each line prints as soon as its check is done)."""
    yield from check_codecs()
    yield from check_plugin_discovery()
    for sample in SAMPLES:
        yield from check_decode(sample)
        yield check_redact(sample)
    yield check_dicomedit()
    yield check_text_finder()
    yield check_worker_process()
    if qt:
        yield from check_qt()


def run(*, qt: bool = True, write: Callable[[str], object] = print) -> int:
    """Run every check under the network audit; print one line each; 0 only if all required pass."""
    audit = NetworkAudit()
    sys.addaudithook(audit)
    audit.active = True
    before = socket_inodes() or set()
    started = time.monotonic()
    failed = 0
    try:
        for check in run_checks(qt=qt):
            write(check.line())
            failed += check.required and not check.ok
    finally:
        audit.active = False
    net = Check("no network use", not audit.events, ", ".join(audit.events[:5]) or "no socket used")
    write(net.line())
    failed += not net.ok
    held = internet_sockets(ignore=before)
    if held is not None:
        sockets = Check("no internet socket held", not held, ", ".join(held) or "none open")
        write(sockets.line())
        failed += not sockets.ok
    seconds = time.monotonic() - started
    write(f"self-test {'passed' if not failed else f'FAILED ({failed} checks)'} in {seconds:.1f} s")
    return 0 if not failed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xnat-desktop --self-test",
                                     description="Check that this installation can decode, redact and "
                                                 "anonymize every supported DICOM encoding.")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-qt", action="store_true",
                        help="skip the Qt check (for installations without the GUI)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m desktop_client.selftest [--no-qt]`` and the frozen app's ``--self-test``."""
    args = build_parser().parse_args(argv)
    return run(qt=not args.no_qt)


if __name__ == "__main__":
    raise SystemExit(main())
