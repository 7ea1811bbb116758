"""Import of CTP DicomPixelAnonymizer.script signatures and regions."""

from __future__ import annotations

from pathlib import Path

from desktop_client.core.geometry import Rect
from desktop_client.scanning.model import Instance, Location
from desktop_client.templates import MatchKeys, TemplateStore
from desktop_client.templates.ctp import parse_ctp_script

SCRIPT = '''Burned-in Annotation Library
**************
     US
**************
ATL
  { Modality.equals("US") *
    [0008,0070].containsIgnoreCase("ATL") *
    [0008,1090].containsIgnoreCase("HDI 5000") *
    [0028,0010].equals("476") *
    [0028,0011].equals("640") }
  (40,0,200,40) (240,0,190,16)

VITREA
  { [0008,0070].containsIgnoreCase("VITAL Images") *
    ( [0008,103e].containsIgnoreCase("AAA") + [0008,103e].containsIgnoreCase("Report") ) }
  (0,0,795,150)

GE dose
  { [0008,103e].containsIgnoreCase("Dose Report") * Rows.equals("512") * Columns.equals("512") }
  (0,-110,512,110)

Edge without size
  { Modality.equals("CR") }
  (-100,0,100,20)
'''


def test_parse_signatures() -> None:
    result = parse_ctp_script(SCRIPT)
    atl, dose = result.imported
    assert atl.title == "ATL"
    assert atl.match == MatchKeys(modality="US", rows=476, columns=640, manufacturer="ATL", model_name="HDI 5000")
    # CTP blanks w+1 × h+1 (inclusive edges).
    assert atl.rectangles == [Rect(40, 0, 241, 41), Rect(240, 0, 431, 17)]
    assert dose.dropped_conditions == ['[0008,103e].containsIgnoreCase("Dose Report")']
    assert dose.rectangles == [Rect(0, 402, 512, 512)]  # y=-110 counts from the bottom; clipped
    assert any(s.startswith("VITREA") and "OR" in s for s in result.skipped)
    assert any(s.startswith("Edge without size") for s in result.skipped)


def test_import_into_store_and_match(tmp_path: Path) -> None:
    script = tmp_path / "DicomPixelAnonymizer.script"
    script.write_text(SCRIPT)
    store = TemplateStore(tmp_path / "user", shipped=False)
    added = store.import_file(script)
    assert [t.name for t in added] == ["CTP ATL", "CTP GE dose"]
    assert "Dose Report" in added[1].description
    us = Instance(location=Location("/x.dcm"), size=1, study_instance_uid="1", series_instance_uid="2",
                  sop_instance_uid="3", sop_class_uid="1.2.840.10008.5.1.4.1.1.6.1", transfer_syntax_uid="",
                  modality="US", rows=476, columns=640, manufacturer="ATL Ultrasound",
                  manufacturer_model_name="HDI 5000 SonoCT")
    assert [t.name for t in store.matching(us)] == ["CTP ATL"]
