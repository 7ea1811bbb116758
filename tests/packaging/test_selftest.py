"""The self-test, unfrozen: it passes here, each sample decodes, and it fails when it should."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom import uid as U

from desktop_client import selftest
from desktop_client.cli.main import main as cli_main
from desktop_client.core.transfer_syntaxes import DECODABLE

ROOT = Path(__file__).resolve().parents[2]

#: The transfer syntaxes the packaging issue asks the self-test to cover.
REQUIRED_SYNTAXES = {
    U.ExplicitVRLittleEndian, U.ImplicitVRLittleEndian, U.ExplicitVRBigEndian,
    U.DeflatedExplicitVRLittleEndian, U.RLELossless, U.JPEGBaseline8Bit, U.JPEGLossless,
    U.JPEGLosslessSV1, U.JPEGLSLossless, U.JPEG2000Lossless, U.HTJ2KLossless,
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_module_self_test_passes_headless() -> None:
    proc = subprocess.run([sys.executable, "-m", "desktop_client.selftest"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert all(line.startswith(("PASS", "INFO", "self-test passed")) for line in lines), proc.stdout
    for sample in selftest.SAMPLES:
        assert any(line.startswith(f"PASS  decode {sample.filename}") for line in lines), sample.filename
        assert any(line.startswith(f"PASS  redact {sample.filename}") for line in lines), sample.filename
    for name in ("dicomedit DE6 script", "qt offscreen QApplication", "no network use",
                 "worker process", "pylibjpeg plugins (entry points)"):
        assert any(line.startswith(f"PASS  {name}") for line in lines), name


def test_samples_cover_every_required_syntax_and_stay_small() -> None:
    stored = {}
    for sample in selftest.SAMPLES:
        path = selftest.DATA_DIR / sample.filename
        stored[sample.transfer_syntax] = str(dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        assert stored[sample.transfer_syntax] == sample.transfer_syntax, sample.filename
        assert sample.transfer_syntax in DECODABLE
    assert REQUIRED_SYNTAXES <= set(stored)
    total = sum(p.stat().st_size for p in selftest.DATA_DIR.iterdir() if p.is_file())
    assert total < 1_000_000


@pytest.mark.parametrize("sample", selftest.SAMPLES, ids=lambda s: s.filename)
def test_each_sample_decodes_with_every_plugin(sample: selftest.Sample) -> None:
    checks = list(selftest.check_decode(sample))
    assert checks and all(c.ok for c in checks), [c.line() for c in checks]


@pytest.mark.parametrize("sample", selftest.SAMPLES, ids=lambda s: s.filename)
def test_each_sample_redacts(sample: selftest.Sample) -> None:
    check = selftest.check_redact(sample)
    assert check.ok, check.line()


def test_dicomedit_check_runs_script_and_pixels() -> None:
    check = selftest.check_dicomedit()
    assert check.ok, check.line()
    assert "alterPixels box filled" in check.detail


def test_a_corrupt_sample_fails_decode_and_redact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = next(s for s in selftest.SAMPLES if s.filename == "j2k_lossless.dcm")
    shutil.copy(selftest.DATA_DIR / sample.filename, tmp_path / sample.filename)
    ds = dcmread(tmp_path / sample.filename)
    data = bytearray(ds.PixelData)
    data[-200:-100] = bytes(100)  # damage the codestream
    ds.PixelData = bytes(data)
    ds.save_as(tmp_path / sample.filename)
    monkeypatch.setattr(selftest, "DATA_DIR", tmp_path)
    assert not all(c.ok for c in selftest.check_decode(sample))


def test_a_wrong_image_is_not_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = selftest.SAMPLES[0]
    ds = dcmread(selftest.DATA_DIR / sample.filename)
    arr = ds.pixel_array.copy()
    arr[0, 0] ^= 1
    ds.PixelData = arr.tobytes()
    ds.save_as(tmp_path / sample.filename)
    monkeypatch.setattr(selftest, "DATA_DIR", tmp_path)
    checks = list(selftest.check_decode(sample))
    assert not checks[0].ok and "max difference 1" in checks[0].detail


def test_missing_required_codec_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "CODECS", selftest.CODECS + (("no_such_codec_module", "no-such-codec", True),))
    monkeypatch.setattr(selftest, "SAMPLES", ())
    lines: list[str] = []
    assert selftest.run(qt=False, write=lines.append) == 1
    assert any(line.startswith("FAIL  codec no-such-codec: cannot be imported") for line in lines)
    assert lines[-1].startswith("self-test FAILED")


def test_missing_optional_codec_is_only_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "CODECS", (("no_such_codec_module", "gpl-codec", False),))
    checks = list(selftest.check_codecs())
    assert checks[0].line().startswith("INFO  codec gpl-codec")


def test_network_audit_sees_internet_use_but_not_local_sockets() -> None:
    audit = selftest.NetworkAudit()
    sys.addaudithook(audit)
    audit.active = True
    try:
        a, b = socket.socketpair()  # AF_UNIX: local, not network
        a.close(), b.close()
        assert audit.events == []
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        try:
            assert any(e.startswith("socket.bind") for e in audit.events)
            held = selftest.internet_sockets()
            if held is not None:  # Linux: /proc shows the listening socket
                assert "tcp LISTEN" in held
        finally:
            server.close()
    finally:
        audit.active = False


def test_cli_self_test_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["self-test", "--no-qt"]) == 0
    out = capsys.readouterr().out
    assert "self-test passed" in out and "qt offscreen" not in out


def test_entry_script_runs_self_test_without_qt_widgets() -> None:
    """``--self-test`` is dispatched before the GUI module (and Qt widgets) are imported."""
    code = ("import runpy, sys\n"
            "sys.argv = ['xnat-desktop-uploader', '--self-test', '--no-qt']\n"
            "try:\n"
            "    runpy.run_path('packaging/entry.py', run_name='__main__')\n"
            "except SystemExit as exc:\n"
            "    print('EXIT', exc.code, 'PySide6.QtWidgets' in sys.modules, 'desktop_client.gui.app' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.stdout.splitlines()[-1] == "EXIT 0 False False", proc.stdout + proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the plugin name checked here is Linux's")
def test_unloadable_platform_plugin_fails_only_in_a_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "libqxcb.so").write_bytes(b"not a shared library")
    check = selftest.check_native_platform_plugin([str(tmp_path)])
    assert check is not None and not check.ok and not check.required
    assert "cannot be loaded" in check.detail
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    check = selftest.check_native_platform_plugin([str(tmp_path / "nowhere")])
    assert check is not None and not check.ok and check.required and "missing" in check.detail
