"""The generated demo: determinism, validity, coverage and burned-in text boxes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import uid as u
from pydicom.pixels import pixel_array

from desktop_client.core.sop_classes import is_image_storage
from desktop_client.demo import DemoError, DemoManifest, generate_demo
from tests.demo.conftest import SMALL

UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
LOSSLESS = {u.ExplicitVRLittleEndian, u.ImplicitVRLittleEndian, u.ExplicitVRBigEndian,
            u.RLELossless, u.JPEGLSLossless, u.JPEG2000Lossless}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(demo, tmp_path):
    folder, _ = demo
    again = tmp_path / "again"
    generate_demo(again, seed=0)
    first, second = _files(folder), _files(again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_other_seed_changes_people_and_uids(tmp_path):
    a = generate_demo(tmp_path / "a", seed=1, **SMALL)
    b = generate_demo(tmp_path / "b", seed=2, **SMALL)
    assert {f.sop_instance_uid for f in a.files}.isdisjoint({f.sop_instance_uid for f in b.files})
    assert {f.patient_id for f in a.files} != {f.patient_id for f in b.files}


def test_every_file_is_valid_part10_and_pixels_decode(demo):
    folder, manifest = demo
    assert manifest.total_bytes < 40 * 1024 * 1024
    for entry in manifest.files:
        ds = pydicom.dcmread(folder / entry.path)
        meta = ds.file_meta
        assert meta.TransferSyntaxUID == entry.transfer_syntax_uid
        assert meta.MediaStorageSOPClassUID == ds.SOPClassUID == entry.sop_class_uid
        assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == entry.sop_instance_uid
        for value in (ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID):
            assert len(value) <= 64 and UID_RE.match(value), value
        assert ds.PatientName and ds.PatientID and ds.PatientBirthDate and ds.StudyDate
        if "PixelData" not in ds:
            assert entry.rows is None
            continue
        arr = ds.pixel_array
        frames = int(ds.get("NumberOfFrames", 1))
        shape = (ds.Rows, ds.Columns) if frames == 1 else (frames, ds.Rows, ds.Columns)
        if ds.SamplesPerPixel == 3:
            shape = (*shape, 3)
        assert arr.shape == shape, entry.path
        assert (entry.rows, entry.columns, entry.frames) == (ds.Rows, ds.Columns, frames)
        if ds.PixelRepresentation == 0:
            assert int(arr.max()) < 2 ** ds.BitsStored, entry.path  # catches unswapped Big Endian
        else:
            assert -(2 ** (ds.BitsStored - 1)) <= int(arr.min())


def test_required_modalities_classes_and_syntaxes_are_present(demo):
    _, manifest = demo
    assert len(manifest.patients) >= 3 and len(manifest.studies) >= 4
    syntaxes = {f.transfer_syntax_uid for f in manifest.files}
    assert {u.ExplicitVRLittleEndian, u.ImplicitVRLittleEndian, u.ExplicitVRBigEndian, u.RLELossless,
            u.JPEGBaseline8Bit} <= syntaxes
    assert syntaxes & {u.JPEGLSLossless, u.JPEG2000Lossless}
    kinds = {(f.modality, f.photometric_interpretation, f.transfer_syntax_uid) for f in manifest.files}
    assert ("CR", "MONOCHROME1", u.ExplicitVRLittleEndian) in kinds
    assert ("US", "RGB", u.ExplicitVRLittleEndian) in kinds
    assert ("US", "YBR_FULL_422", u.JPEGBaseline8Bit) in kinds
    assert any(f.modality == "MR" for f in manifest.files)
    ct = [f for f in manifest.files if f.modality == "CT"]
    assert ct and all((f.rows, f.columns, f.photometric_interpretation) == (512, 512, "MONOCHROME2") for f in ct)
    assert all(f.frames and f.frames > 1 for f in manifest.files if f.modality == "US")
    classes = {f.modality: f.sop_class_uid for f in manifest.files}
    assert classes["RTDOSE"] == "1.2.840.10008.5.1.4.1.1.481.2"
    assert classes["RTSTRUCT"] == "1.2.840.10008.5.1.4.1.1.481.3"
    assert classes["SR"].startswith("1.2.840.10008.5.1.4.1.1.88.")
    assert classes["DOC"] == "1.2.840.10008.5.1.4.1.1.104.1"


def test_ct_header_is_realistic(demo):
    folder, manifest = demo
    entry = next(f for f in manifest.files if f.modality == "CT")
    ds = pydicom.dcmread(folder / entry.path)
    assert (ds.BitsAllocated, ds.PixelRepresentation) == (16, 1)
    assert float(ds.RescaleIntercept) == -1024 and ds.RescaleType == "HU"
    assert len(ds.ImagePositionPatient) == 3 and len(ds.ImageOrientationPatient) == 6
    assert ds.PixelSpacing and ds.SliceThickness and ds.WindowCenter and ds.WindowWidth
    assert ds.BurnedInAnnotation == "YES"


def test_burned_in_text_lies_exactly_inside_recorded_boxes(demo, clean_twin):
    folder, manifest = demo
    clean_folder, clean = clean_twin
    assert [f.path for f in manifest.files] == [f.path for f in clean.files]
    images = [f for f in manifest.files if is_image_storage(f.sop_class_uid)]
    assert images and all(f.burned_in for f in images)
    assert all(not f.burned_in for f in manifest.files if not is_image_storage(f.sop_class_uid))
    for entry in images:
        fields = {b.field for b in entry.burned_in if b.phi}
        assert {"PatientName", "PatientID", "PatientBirthDate", "StudyDate"} <= fields
        text = pydicom.dcmread(folder / entry.path).pixel_array.astype(np.int64)
        plain = pydicom.dcmread(clean_folder / entry.path).pixel_array.astype(np.int64)
        changed = text != plain
        if changed.shape[-1] == 3 and changed.ndim in (3, 4):  # colour: any sample changed
            changed = changed.any(axis=-1)
        if changed.ndim == 3:  # multi-frame: any frame changed
            changed = changed.any(axis=0)
        inside = np.zeros((entry.rows, entry.columns), dtype=bool)
        for b in entry.burned_in:
            left, top, right, bottom = b.box
            assert 0 <= left < right <= entry.columns and 0 <= top < bottom <= entry.rows
            assert changed[top:bottom, left:right].sum() >= 10, (entry.path, b.field)
            inside[top:bottom, left:right] = True
        if entry.transfer_syntax_uid in LOSSLESS:
            assert not (changed & ~inside).any(), entry.path


def test_monochrome1_text_is_drawn_with_low_values(demo):
    folder, manifest = demo
    entry = next(f for f in manifest.files if f.photometric_interpretation == "MONOCHROME1")
    arr = pydicom.dcmread(folder / entry.path).pixel_array
    left, top, right, bottom = entry.burned_in[0].box
    assert arr[top:bottom, left:right].min() < 200 < arr[top:bottom, left:right].max()


def test_rt_sr_and_pdf_objects(demo):
    folder, manifest = demo
    by_modality = {f.modality: f for f in manifest.files}
    ct_files = {f.sop_instance_uid for f in manifest.files if f.modality == "CT"}
    dose = pydicom.dcmread(folder / by_modality["RTDOSE"].path)
    assert dose.DoseUnits == "GY" and float(dose.DoseGridScaling) > 0
    assert len(dose.GridFrameOffsetVector) == dose.NumberOfFrames == dose.pixel_array.shape[0]
    assert not is_image_storage(dose.SOPClassUID)
    rtss = pydicom.dcmread(folder / by_modality["RTSTRUCT"].path)
    assert "PixelData" not in rtss
    ct = pydicom.dcmread(folder / next(f.path for f in manifest.files if f.modality == "CT"))
    frame = rtss.ReferencedFrameOfReferenceSequence[0]
    assert frame.FrameOfReferenceUID == ct.FrameOfReferenceUID == dose.FrameOfReferenceUID
    refs = frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].ContourImageSequence
    assert {r.ReferencedSOPInstanceUID for r in refs} <= ct_files
    contour = rtss.ROIContourSequence[0].ContourSequence[0]
    assert len(contour.ContourData) == 3 * contour.NumberOfContourPoints
    sr = pydicom.dcmread(folder / by_modality["SR"].path)
    assert sr.ValueType == "CONTAINER" and sr.ContentSequence[0].ContentSequence[0].TextValue
    pdf = pydicom.dcmread(folder / by_modality["DOC"].path)
    doc = bytes(pdf.EncapsulatedDocument)[: int(pdf.EncapsulatedDocumentLength)]
    assert doc.startswith(b"%PDF-") and doc.rstrip().endswith(b"%%EOF")
    assert pdf.MIMETypeOfEncapsulatedDocument == "application/pdf"


def test_manifest_matches_files(demo):
    folder, manifest = demo
    loaded = DemoManifest.load(folder)
    assert loaded == manifest
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*.dcm")}
    assert on_disk == {f.path for f in manifest.files}


@pytest.mark.skipif(shutil.which("dcmdump") is None, reason="dcmtk is not installed")
def test_dcmtk_reads_every_file(demo):
    folder, manifest = demo
    paths = [str(folder / f.path) for f in manifest.files]
    result = subprocess.run(["dcmdump", "-q", "+E", *paths], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "E:" not in result.stderr


_DCMTK_DECODERS = {u.ExplicitVRBigEndian: ["dcmconv", "+te"], u.JPEGLSLossless: ["dcmdjpls"],
                   u.RLELossless: ["dcmdrle"], u.JPEGBaseline8Bit: ["dcmdjpeg"]}


@pytest.mark.skipif(shutil.which("dcmdrle") is None, reason="dcmtk is not installed")
def test_independent_decoders_agree_with_pydicom(demo, tmp_path):
    """DCMTK (Big Endian, JPEG-LS, RLE, JPEG) and GDCM (JPEG 2000) decode the same pixels."""
    folder, manifest = demo
    firsts = {f.transfer_syntax_uid: f for f in reversed(manifest.files) if f.rows}
    for ts, command in _DCMTK_DECODERS.items():
        entry = firsts[ts]
        native = tmp_path / f"{entry.modality}-{len(command)}-{ts}.dcm"
        subprocess.run([*command, str(folder / entry.path), str(native)], check=True, capture_output=True)
        ours = pydicom.dcmread(folder / entry.path).pixel_array.astype(np.int64)
        theirs = pydicom.dcmread(native).pixel_array.astype(np.int64)
        tolerance = 1 if ts == u.JPEGBaseline8Bit else 0  # YCbCr→RGB rounding differs by 1
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= tolerance, entry.path
    j2k = folder / firsts[u.JPEG2000Lossless].path
    by_gdcm = pixel_array(j2k, decoding_plugin="gdcm")
    by_openjpeg = pixel_array(j2k, decoding_plugin="pylibjpeg")
    assert np.array_equal(by_gdcm, by_openjpeg)


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools is not installed")
def test_dciodvfy_finds_no_errors(demo):
    """One object per (modality, transfer syntax) passes the IOD validator without errors."""
    folder, manifest = demo
    firsts = {(f.modality, f.transfer_syntax_uid): f for f in reversed(manifest.files)}
    for entry in firsts.values():
        result = subprocess.run(["dciodvfy", str(folder / entry.path)], capture_output=True,
                                text=True, check=False)
        errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]
        assert errors == [], (entry.path, errors)


def test_refuses_non_empty_folder_and_bad_options(tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(DemoError):
        generate_demo(tmp_path, seed=0, **SMALL)
    assert (tmp_path / "x.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="unknown"):
        generate_demo(tmp_path / "a", ct_sclies=4)
    with pytest.raises(ValueError, match="seed"):
        generate_demo(tmp_path / "b", seed=-1)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
