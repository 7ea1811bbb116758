"""``xnat-upload templates``: list, show (incl. the alterPixels script), export, import, delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_client.cli.main import main
from desktop_client.core.geometry import Rect
from desktop_client.templates import MatchKeys, TemplateStore


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_list_show_export_import_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    TemplateStore().create("Clinic US", MatchKeys(modality="US", rows=480, columns=640,
                                                   sop_class_uid="1.2.840.10008.5.1.4.1.1.6.1"),
                           [Rect(0, 0, 640, 40)])
    assert main(["templates", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Clinic US: US 480×640 Ultrasound Image Storage; 1 box")
    assert "[example, read-only]" in out
    assert main(["templates", "show", "clinic us", "--dicomedit"]) == 0
    assert capsys.readouterr().out == ('version "6.1"\n'
                                       'alterPixels["rectangle", "l=0, t=0, r=640, b=40", "solid", "v=0"]\n')
    target = tmp_path / "out.json"
    assert main(["templates", "export", "Clinic US", "--out", str(target)]) == 0
    assert json.loads(target.read_text())["name"] == "Clinic US"
    assert main(["templates", "delete", "Clinic US"]) == 0
    assert main(["templates", "import", str(target)]) == 0
    assert TemplateStore().get_by_name("Clinic US").rectangles == [Rect(0, 0, 640, 40)]


def test_user_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "show", "nope"]) == 2
    assert "no template named 'nope'" in capsys.readouterr().err
    assert main(["templates", "delete", "Demo CT 512 banner corners"]) == 2
    assert "shipped example" in capsys.readouterr().err
