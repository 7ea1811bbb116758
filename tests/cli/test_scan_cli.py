"""``xnat-upload scan`` / ``groups``: JSON shape, human output, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from desktop_client.cli.main import main
from tests.dicomfactory import image, write


def _tree(tmp_path: Path) -> Path:
    write(tmp_path / "d" / "a.dcm", image(sop_uid="1.1", instance_number=1))
    write(tmp_path / "d" / "b.dcm", image(sop_uid="1.2", instance_number=2))
    (tmp_path / "d" / "junk.txt").write_text("x")
    return tmp_path / "d"


def test_scan_json_document(tmp_path: Path, capsys) -> None:
    assert main(["scan", str(_tree(tmp_path)), "--json", "--no-cache"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"sessions", "skipped", "duplicates"}
    (session,) = doc["sessions"]
    assert set(session) == {"study_instance_uid", "patient_name", "patient_id", "study_date", "study_description",
                            "accession_number", "modalities", "scans"}
    (scan,) = session["scans"]
    assert scan == {
        "series_instance_uid": "1.2.3.1.1", "series_number": 3, "series_description": "Axial", "modality": "CT",
        "sop_class_uids": ["1.2.840.10008.5.1.4.1.1.2"], "rows": 8, "columns": 8, "files": 2, "frames": 2,
        "bytes": scan["bytes"], "group": "CT|8x8|1.2.840.10008.5.1.4.1.1.2", "unsupported_reason": None,
    }
    assert scan["bytes"] > 256
    assert doc["skipped"] == [{"path": str(tmp_path / "d" / "junk.txt"), "reason": "not a DICOM file"}]
    assert doc["duplicates"] == 0


def test_groups_json_and_text(tmp_path: Path, capsys) -> None:
    tree = _tree(tmp_path)
    assert main(["groups", str(tree), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"][0]["key"] == "CT|8x8|1.2.840.10008.5.1.4.1.1.2" and doc["unsupported"] == []
    assert main(["groups", str(tree)]) == 0
    out = capsys.readouterr().out
    assert "Valid groups (1)" in out and "junk.txt: not a DICOM file" in out


def test_missing_path_is_a_clear_error_with_nonzero_exit(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "desktop_client", "scan", str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and proc.stdout == ""
