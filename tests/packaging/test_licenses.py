"""LICENSES.md names every dependency, and nothing GPL-only is bundled or required."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _licenses_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("packaging_licenses", ROOT / "packaging" / "licenses.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


licenses = _licenses_module()


def _listed() -> set[str]:
    text = (ROOT / "packaging" / "LICENSES.md").read_text()
    return {re.sub(r"[-_.]+", "-", m.lower()) for m in re.findall(r"^\| ([A-Za-z0-9_.-]+) \| [0-9]", text, re.M)}


def test_every_runtime_dependency_is_listed() -> None:
    closure = licenses.runtime_closure()
    assert "pydicom" in closure and "pyside6-essentials" in closure
    missing = sorted(set(closure) - _listed())
    assert not missing, f"add to LICENSES.md (run packaging/licenses.py): {missing}"


def test_no_gpl_only_runtime_dependency() -> None:
    gpl = {name: licenses.licence_of(d) for name, d in licenses.runtime_closure().items()
           if licenses.is_gpl_only(licenses.licence_of(d))}
    assert not gpl


@pytest.mark.parametrize(("licence", "gpl_only"), [
    ("GPL-3.0-only", True),
    ("GNU General Public License v3 (GPLv3)", True),
    ("GPL-2.0-or-later OR GPL-3.0-only", True),
    ("LGPL-3.0-only", False),
    ("GPL-2.0-or-later WITH Bootloader-exception", False),
    ("LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only", False),
    ("GNU Lesser General Public License v3 (LGPLv3)", False),
    ("MIT License", False),
    ("Apache-2.0 OR BSD-3-Clause", False),
])
def test_gpl_only_classification(licence: str, gpl_only: bool) -> None:
    assert licenses.is_gpl_only(licence) is gpl_only


def test_gpl_codec_is_excluded_by_the_spec() -> None:
    spec = (ROOT / "packaging" / "xnat-desktop-uploader.spec").read_text()
    assert re.search(r'^\s*"libjpeg",', spec, re.M), "pylibjpeg-libjpeg (GPL-3.0) must stay excluded"
    assert re.search(r'^\s*"readline",', spec, re.M), "GNU Readline (GPL-3.0) must stay excluded"
