"""The raw-element fast paths must give exactly what pydicom's decoding/encoding gives."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from desktop_client.dicomedit import compile_script
from desktop_client.dicomedit.paths import read_value, render


def encoded(transfer_syntax: str, charset: str | None) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2.3.4"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.StudyDate = "20230519"
    ds.StudyTime = "133022.123 "
    ds.AcquisitionDateTime = "20230519133022"
    ds.Modality = "CT"
    ds.PatientName = "Müller^Jürgen" if charset else "Doe^John"
    ds.OtherPatientIDs = "A1\\B2 \\C3"
    ds.StudyDescription = "Caf\u00e9 study" if charset else "Study"
    ds.ImageComments = "trailing spaces   "
    ds.AccessionNumber = "ACC1"
    ds.StudyInstanceUID = "1.2.3"
    ds.SliceThickness = "1.25"
    ds.PixelSpacing = [" 0.5", "0.50 "]
    ds.AcquisitionNumber = " 12 "
    ds.PatientAge = "045Y"
    ds.SeriesNumber = 3
    ds.Rows = 2
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3.4.5"
    item.CodeMeaning = "Ünïcode" if charset else "plain"
    ds.ReferencedImageSequence = Sequence([item])
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "LO", "private text")
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


CASES = [(ExplicitVRLittleEndian, None), (ExplicitVRLittleEndian, "ISO_IR 100"),
         (ExplicitVRLittleEndian, "ISO_IR 192"), (ImplicitVRLittleEndian, "ISO_IR 192")]


@pytest.mark.parametrize("syntax, charset", CASES)
def test_read_value_matches_pydicom_for_every_element(syntax: str, charset: str | None) -> None:
    blob = encoded(syntax, charset)
    fast, slow = pydicom.dcmread(io.BytesIO(blob)), pydicom.dcmread(io.BytesIO(blob))

    def compare(a: Dataset, b: Dataset) -> int:
        count = 0
        for tag in list(a.keys()):
            assert read_value(a, tag) == render(b[tag]), hex(tag)
            count += isinstance(a._dict[tag], RawDataElement)
            if b[tag].VR == "SQ":
                for ia, ib in zip(a[tag].value, b[tag].value):
                    count += compare(ia, ib)
        return count
    assert compare(fast, slow) > 5  # the fast path was really exercised


@pytest.mark.parametrize("syntax, charset", CASES)
def test_raw_writes_round_trip_like_decoded_writes(syntax: str, charset: str | None) -> None:
    script = compile_script('version "6.6"\n(0010,0010) := "Anon^Ymous"\n(0010,1000) := "X\\\\Y"\n'
                            '(0008,0018) := "1.2.345"\n(0008,103E) := "Séries"\n'
                            '(0008,1140)[0]/(0008,0104) := "odd"\n(0020,4000) := "Note."\n'
                            '(0008,0020) := shiftDateByIncrement[(0008,0020), 1]\n')
    blob = encoded(syntax, charset)
    from_file = pydicom.dcmread(io.BytesIO(blob))
    in_memory = pydicom.dcmread(io.BytesIO(blob))
    for tag in list(in_memory.keys()):
        in_memory[tag]  # decode everything: the slow, pydicom-only path
    in_memory.ReferencedImageSequence[0].CodeMeaning  # noqa: B018
    for ds in (from_file, in_memory):
        assert script.apply(ds).ok
    assert isinstance(from_file._dict[0x00100010], RawDataElement)
    outputs = []
    for ds in (from_file, in_memory):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        outputs.append(pydicom.dcmread(io.BytesIO(buf.getvalue())))
    a, b = outputs
    for tag in b.keys():
        assert render(a[tag]) == render(b[tag]), hex(tag)
    assert str(a.PatientName) == "Anon^Ymous" and list(a.OtherPatientIDs) == ["X", "Y"]
    assert a.SOPInstanceUID == "1.2.345" and a.StudyDate == "20230520"
    assert a.ReferencedImageSequence[0].CodeMeaning == "odd"
