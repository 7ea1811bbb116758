"""Valid / Unsupported grouping, with real pydicom test files and synthetic edge cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydicom.encaps import encapsulate
from pydicom.data import get_testdata_file
from pydicom.uid import EncapsulatedPDFStorage, MPEG2MPML, RTDoseStorage, SecondaryCaptureImageStorage

from desktop_client.grouping import (
    FREE_TEXT,
    MIXED_SIZES,
    MIXED_SOP_CLASSES,
    NO_PIXEL_DATA,
    NON_IMAGE_SOP_CLASS,
    UNDECODABLE_TRANSFER_SYNTAX,
    classify_scan,
    group_scans,
)
from desktop_client.scanning import scan_paths
from tests.dicomfactory import image, write


def _scan_of(tmp_path: Path, name: str):
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(get_testdata_file(name), folder / name)
    (session,) = scan_paths([folder], use_cache=False).sessions
    (scan,) = session.scans.values()
    return scan


@pytest.mark.parametrize("name, expected", [
    ("CT_small.dcm", "CT|128x128|1.2.840.10008.5.1.4.1.1.2"),
    ("MR_small.dcm", "MR|64x64|1.2.840.10008.5.1.4.1.1.4"),
    ("examples_ybr_color.dcm", "US|240x320|1.2.840.10008.5.1.4.1.1.3.1"),  # multi-frame, JPEG baseline
    ("ExplVR_BigEnd.dcm", "US|60x80|1.2.840.10008.5.1.4.1.1.6.1"),  # big endian
    ("SC_rgb_rle.dcm", "OT|100x100|1.2.840.10008.5.1.4.1.1.7"),  # RLE
    ("693_J2KI.dcm", "CT|512x512|1.2.840.10008.5.1.4.1.1.2"),  # JPEG 2000
])
def test_valid_keys_match_the_official_client(tmp_path: Path, name: str, expected: str) -> None:
    result = classify_scan(_scan_of(tmp_path, name))
    assert result.valid and result.key == expected and result.reason is None


@pytest.mark.parametrize("name", ["rtdose.dcm", "rtplan.dcm", "waveform_ecg.dcm"])
def test_non_images_are_unsupported_even_with_rows_and_columns(tmp_path: Path, name: str) -> None:
    scan = _scan_of(tmp_path, name)
    if name == "rtdose.dcm":
        assert scan.representative.rows and scan.representative.has_pixel_data  # the official client's trap
    assert classify_scan(scan).reason == NON_IMAGE_SOP_CLASS


@pytest.mark.parametrize("name", ["rtstruct.dcm", "reportsi.dcm"])
def test_objects_with_free_text_form_their_own_group(tmp_path: Path, name: str) -> None:
    """RT structure sets (ROI names) and SRs (text items) are not just non-images: issue 14."""
    assert classify_scan(_scan_of(tmp_path, name)).reason == FREE_TEXT


def _classify_synthetic(tmp_path: Path, datasets) -> str | None:
    for n, ds in enumerate(datasets):
        write(tmp_path / f"{n}.dcm", ds)
    (session,) = scan_paths([tmp_path], use_cache=False).sessions
    (scan,) = session.scans.values()
    return classify_scan(scan).reason


def test_mixed_sizes(tmp_path: Path) -> None:
    assert _classify_synthetic(tmp_path, [image(sop_uid="1", rows=8), image(sop_uid="2", rows=16)]) == MIXED_SIZES


def test_mixed_sop_classes(tmp_path: Path) -> None:
    other = image(sop_uid="2", sop_class=SecondaryCaptureImageStorage)
    assert _classify_synthetic(tmp_path, [image(sop_uid="1"), other]) == MIXED_SOP_CLASSES


def test_no_pixel_data(tmp_path: Path) -> None:
    assert _classify_synthetic(tmp_path, [image(sop_uid="1"), image(sop_uid="2", header_only=True)]) == NO_PIXEL_DATA


def test_encapsulated_pdf_contains_free_text(tmp_path: Path) -> None:
    pdf = image(sop_uid="1", sop_class=EncapsulatedPDFStorage, header_only=True, modality="DOC")
    pdf.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    assert _classify_synthetic(tmp_path, [pdf]) == FREE_TEXT


def test_undecodable_transfer_syntax(tmp_path: Path) -> None:
    ds = image(sop_uid="1")
    path = write(tmp_path / "0.dcm", ds)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    ds.save_as(path, enforce_file_format=True)
    (session,) = scan_paths([tmp_path], use_cache=False).sessions
    (scan,) = session.scans.values()
    assert classify_scan(scan).reason == UNDECODABLE_TRANSFER_SYNTAX


def test_groups_mix_sessions_and_unsupported_are_grouped_by_reason_and_class(tmp_path: Path) -> None:
    for study in ("1", "2"):
        write(tmp_path / study / "ct.dcm", image(study_uid=study, series_uid=f"{study}.1", sop_uid=f"{study}.1.1"))
        dose = image(study_uid=study, series_uid=f"{study}.2", sop_uid=f"{study}.2.1", sop_class=RTDoseStorage,
                     modality="RTDOSE")
        write(tmp_path / study / "dose.dcm", dose)
    grouping = group_scans(scan_paths([tmp_path], use_cache=False).sessions)
    (valid,) = grouping.valid
    assert valid.key == "CT|8x8|1.2.840.10008.5.1.4.1.1.2" and len(valid.members) == 2 and valid.sessions == 2
    assert valid.sop_class_name == "CT Image Storage" and valid.photometric_interpretations == ["MONOCHROME2"]
    (unsupported,) = grouping.unsupported
    assert (unsupported.reason, unsupported.sop_class_name, len(unsupported.members)) == (
        NON_IMAGE_SOP_CLASS, "RT Dose Storage", 2)
    assert grouping.classification_of("1.2").reason == NON_IMAGE_SOP_CLASS
