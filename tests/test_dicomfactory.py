"""The synthetic DICOM factory makes what its keywords say: tests everywhere trust it blindly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import uid as U

from tests.dicomfactory import (
    BURN,
    BURN_VALUE,
    SERIES_UID,
    STUDY_UID,
    ct_slice,
    encode,
    image,
    study_entries,
    write,
    write_study,
)


def _read(ds: pydicom.Dataset) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(encode(ds)))


@pytest.mark.parametrize("syntax", [U.ExplicitVRLittleEndian, U.ImplicitVRLittleEndian, U.ExplicitVRBigEndian,
                                    U.RLELossless, U.JPEGLSLossless, U.JPEG2000Lossless])
@pytest.mark.parametrize("signed", [False, True])
def test_lossless_syntaxes_store_the_given_pixels_exactly(syntax: str, signed: bool) -> None:
    rng = np.random.default_rng(4)
    given = rng.integers(-2000 if signed else 0, 2000 if signed else 4000, size=(2, 64, 72))
    given = given.astype(np.int16 if signed else np.uint16)
    back = _read(image(rows=64, columns=72, frames=2, signed=signed, pixels=given, transfer_syntax=syntax))
    assert back.file_meta.TransferSyntaxUID == syntax
    assert back.NumberOfFrames == 2 and back.PixelRepresentation == int(signed)
    assert np.array_equal(back.pixel_array, given)


def test_colour_multiframe_as_jpeg_baseline_decodes_close_to_the_given_frames() -> None:
    given = np.full((3, 32, 48, 3), (200, 60, 30), dtype=np.uint8)
    back = _read(image(modality="US", rows=32, columns=48, frames=3, bits_allocated=8, bits_stored=8,
                       photometric="RGB", pixels=given, transfer_syntax=U.JPEGBaseline8Bit))
    assert back.PhotometricInterpretation == "YBR_FULL_422" and back.LossyImageCompression == "01"
    decoded = back.pixel_array  # pydicom converts the YBR stream to RGB
    assert decoded.shape == given.shape
    assert np.abs(decoded.astype(int) - given.astype(int)).max() <= 3


def test_defaults_make_one_series_and_distinct_objects() -> None:
    a, b = image(instance_number=1), image(instance_number=2)
    assert (a.StudyInstanceUID, a.SeriesInstanceUID) == (b.StudyInstanceUID, b.SeriesInstanceUID) == (STUDY_UID,
                                                                                                     SERIES_UID)
    assert a.SOPInstanceUID == f"{SERIES_UID}.1" and b.SOPInstanceUID == f"{SERIES_UID}.2"
    assert a.PixelData != b.PixelData  # content-hashing servers and caches see two objects
    long_series = U.generate_uid()
    sop = image(series_uid=long_series, instance_number=123456789).SOPInstanceUID
    assert sop != image(series_uid=long_series, instance_number=2).SOPInstanceUID
    assert len(sop) <= 64 and sop.is_valid


def test_identifying_values_and_extra_attributes_are_written() -> None:
    back = _read(image(patient_name="ROE^RICK", patient_id="P9", birth_date="19800202", accession="A7",
                       study_date="20200101", extra={"PatientComments": "Project: X"}))
    assert (str(back.PatientName), back.PatientID, back.PatientBirthDate, back.AccessionNumber, back.StudyDate,
            back.PatientComments) == ("ROE^RICK", "P9", "19800202", "A7", "20200101", "Project: X")
    assert "PatientBirthDate" not in image()


def test_burned_block_and_burned_text_land_where_asked() -> None:
    flat = np.full((64, 96), 100, dtype=np.uint16)
    boxed = _read(image(rows=64, columns=96, pixels=flat, burn_box=(10, 5, 30, 15), burn_value=4000)).pixel_array
    assert (boxed[5:15, 10:30] == 4000).all() and (boxed[15:, :] == 100).all() and (boxed[:, 30:] == 100).all()
    texty = _read(image(rows=64, columns=96, pixels=flat, burned_text=["DOE^JANE"])).pixel_array
    ys, xs = np.nonzero(texty != 100)
    assert len(ys) > 20 and ys.max() < 32 and xs.max() < 80  # ink, in the top-left corner only
    assert texty.max() > 2000  # bright ink on a dark image, as a modality prints it


def test_header_only_and_raw_pixel_bytes() -> None:
    bare = image(header_only=True)
    assert "PixelData" not in bare and "Rows" not in bare
    assert bare.file_meta.TransferSyntaxUID == U.ExplicitVRLittleEndian
    ybr = _read(image(rows=2, columns=4, bits_allocated=8, bits_stored=8, photometric="YBR_FULL_422",
                      pixel_bytes=bytes([100, 100, 128, 128]) * 4))
    assert ybr.SamplesPerPixel == 3 and bytes(ybr.PixelData) == bytes([100, 100, 128, 128]) * 4


def test_bare_datasets_are_written_without_preamble_or_file_meta(tmp_path: Path) -> None:
    path = write(tmp_path / "raw.bin", image(transfer_syntax=U.ImplicitVRLittleEndian), part10=False)
    data = path.read_bytes()
    assert data[128:132] != b"DICM" and data[:2] == b"\x08\x00"  # starts with group 0008
    back = pydicom.dcmread(path, force=True)
    assert back.SOPInstanceUID == f"{SERIES_UID}.1" and "TransferSyntaxUID" not in back.get("file_meta", {})


def test_write_study_is_deterministic_per_seed_and_burns_the_block(tmp_path: Path) -> None:
    one = write_study(tmp_path / "a", series=2, files=2, seed=5)
    two = write_study(tmp_path / "b", series=2, files=2, seed=5)
    other = write_study(tmp_path / "c", series=2, files=2, seed=6)
    names = sorted(p.name for p in one.iterdir())
    assert names == ["s1_0001.dcm", "s1_0002.dcm", "s2_0001.dcm", "s2_0002.dcm"]
    assert all((one / n).read_bytes() == (two / n).read_bytes() for n in names)
    assert (one / names[0]).read_bytes() != (other / names[0]).read_bytes()
    ds = pydicom.dcmread(one / names[0])
    left, top, right, bottom = BURN
    assert (ds.pixel_array[top:bottom, left:right] == BURN_VALUE).all()
    assert ds.pixel_array[bottom:, :].max() < 1000 and ds.SeriesDescription == "Series 1"


def test_study_entries_are_one_study_with_numbered_series() -> None:
    entries = study_entries({1: 2, 3: 1}, modality="PT")
    assert [name for name, _ in entries] == ["s1/i1.dcm", "s1/i2.dcm", "s3/i1.dcm"]
    datasets = [pydicom.dcmread(io.BytesIO(data)) for _, data in entries]
    assert len({d.StudyInstanceUID for d in datasets}) == 1
    assert len({d.SOPInstanceUID for d in datasets}) == 3
    assert [d.SeriesDescription for d in datasets] == ["PT series 1", "PT series 1", "PT series 3"]
    again = pydicom.dcmread(io.BytesIO(study_entries({1: 1})[0][1]))
    assert again.StudyInstanceUID != datasets[0].StudyInstanceUID  # every call is another study


def test_ct_slice_has_a_realistic_header() -> None:
    ds = _read(ct_slice(2, rows=32, columns=32, private_values=8))
    private = [e for e in ds if e.tag.is_private and not e.tag.is_private_creator]
    assert len(private) == 8
    assert len(ds) > 70 and ds.InstanceNumber == 3 and ds.Rows == 32
    assert ds.ReferencedImageSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue == "121311"
    for keyword in ("PatientName", "PatientBirthDate", "PatientAddress", "OtherPatientIDs", "InstitutionName",
                    "ReferringPhysicianName", "PhysiciansOfRecord", "OperatorsName", "AccessionNumber"):
        assert str(ds.get(keyword, "")).strip(), keyword
    assert ct_slice(1).SOPInstanceUID != ct_slice(2).SOPInstanceUID
