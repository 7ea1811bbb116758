"""Linux desktop integration files: well-formed, consistent with each other, and validated."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop_client import APP_NAME, APP_SLUG, __version__

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
APP_ID = "org.xnat.DesktopUploader"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"


def _entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_launches_the_bundle_with_the_app_icon() -> None:
    entry = _entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Exec"].split()[0] == APP_SLUG
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert (ROOT / "desktop_client" / "gui" / "resources" / "icon.svg").is_file()


def test_metainfo_matches_the_desktop_entry_and_version() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_NAME
    assert root.findtext("project_license") == "BSD-3-Clause"
    assert root.find("launchable").text == DESKTOP.name  # type: ignore[union-attr]
    assert root.find("provides/binary").text == APP_SLUG  # type: ignore[union-attr]
    versions = [r.get("version") for r in root.iter("release")]
    assert versions and versions[0] == __version__


def test_spec_uses_the_same_app_id() -> None:
    spec = (ROOT / "packaging" / "xnat-desktop-uploader.spec").read_text()
    assert f'APP_ID = "{APP_ID}"' in spec and f'APP = "{APP_SLUG}"' in spec


def test_desktop_file_validate() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate (Debian desktop-file-utils) is not installed")
    proc = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout + proc.stderr


def test_appstreamcli_validate() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli (Debian appstream) is not installed")
    proc = subprocess.run([tool, "validate", "--no-net", str(METAINFO)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
