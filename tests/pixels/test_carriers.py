"""PHI beside the main pixels (icons, overlays) and the header bookkeeping of a redacted object."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import redact_dataset
from tests.pixels.helpers import load, roundtrip, synthetic


_SYNTAX = {(False, True): ExplicitVRLittleEndian, (True, True): ImplicitVRLittleEndian,
           (False, False): ExplicitVRBigEndian}


def _overlay_bits(ds: Dataset, group: int = 0x6000) -> np.ndarray:
    rows, cols = int(ds[Tag(group, 0x0010)].value), int(ds[Tag(group, 0x0011)].value)
    bits = np.unpackbits(np.frombuffer(bytes(ds[Tag(group, 0x3000)].value), np.uint8), bitorder="little")
    return bits[: rows * cols].reshape(rows, cols)


@pytest.mark.parametrize("name", ["examples_overlay.dcm", "MR-SIEMENS-DICOM-WithOverlays.dcm"])
def test_icon_removed_and_overlay_cleared_under_the_box(name: str) -> None:
    ds = load(name)
    assert "IconImageSequence" in ds
    before = _overlay_bits(ds)
    origin = [int(v) for v in ds[Tag(0x6000, 0x0050)].value]
    ys, xs = np.nonzero(before)
    # a box over the first overlay pixels, in image coordinates
    y, x = int(ys[0]) + origin[0] - 1, int(xs[0]) + origin[1] - 1
    rect = Rect(max(0, x - 5), max(0, y - 5), x + 40, y + 20)
    report = redact_dataset(ds, [PixelEdit(rect)])
    out = roundtrip(ds)
    assert report.icon_removed and "IconImageSequence" not in out
    assert report.overlays_cleared == 1
    after = _overlay_bits(out)
    top, left = rect.top - (origin[0] - 1), rect.left - (origin[1] - 1)
    region = after[max(0, top):rect.bottom - origin[0] + 1, max(0, left):rect.right - origin[1] + 1]
    assert region.size and not region.any()
    mask = np.zeros(before.shape, dtype=bool)
    mask[max(0, top):rect.bottom - origin[0] + 1, max(0, left):rect.right - origin[1] + 1] = True
    assert np.array_equal(after[~mask], before[~mask])


def test_overlays_removed_on_request() -> None:
    ds = load("examples_overlay.dcm")
    report = redact_dataset(ds, [PixelEdit(Rect(0, 0, 10, 10))], remove_overlays=True)
    assert report.overlays_removed == 1
    assert not any(0x6000 <= e.tag.group <= 0x601E for e in ds)


def test_nested_icon_sequences_removed() -> None:
    ds = synthetic()
    item = Dataset()
    item.IconImageSequence = Sequence([Dataset()])
    ds.ReferencedImageSequence = Sequence([item])
    ds.IconImageSequence = Sequence([Dataset()])
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 5, 5))])
    assert "IconImageSequence" not in ds and "IconImageSequence" not in ds.ReferencedImageSequence[0]


def test_bookkeeping_of_a_redacted_object() -> None:
    ds = load("MR_small_RLE.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.SmallestImagePixelValue = 0
    from pydicom.encaps import generate_frames
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.ExtendedOffsetTable = (0).to_bytes(8, "little")
    ds.ExtendedOffsetTableLengths = len(frame).to_bytes(8, "little")
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "113100", "DCM", "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = Sequence([code])
    sop = ds.SOPInstanceUID
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 8, 8))])
    redact_dataset(ds, [PixelEdit(Rect(8, 8, 16, 16))])  # a second pass must not duplicate 113101
    out = roundtrip(ds)
    assert out.BurnedInAnnotation == "NO"
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == ["113100", "113101"]
    assert "ExtendedOffsetTable" not in out and "ExtendedOffsetTableLengths" not in out
    assert out.SmallestImagePixelValue == -32768  # the fill is now the smallest value
    assert out.SOPInstanceUID == sop == out.file_meta.MediaStorageSOPInstanceUID


def test_lossy_ybr_ultrasound_keeps_uid_unlike_pydicom_decompress() -> None:
    """pydicom's decompress() mints a new SOP Instance UID on YBR→RGB; the engine never does."""
    ds = load("examples_ybr_color.dcm")
    sop = ds.SOPInstanceUID
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 64, 32))])
    assert ds.SOPInstanceUID == sop


@pytest.mark.parametrize("implicit,little", [(False, True), (True, True), (False, False)])
def test_icon_nested_in_a_raw_sequence_is_found(tmp_path, implicit: bool, little: bool) -> None:
    """Sequences read from a file stay raw bytes until parsed; a nested icon must still be found."""
    import pydicom

    ds = synthetic()
    deeper = Dataset()
    deeper.IconImageSequence = Sequence([Dataset()])
    middle = Dataset()
    middle.ReferencedImageSequence = Sequence([deeper])
    ds.SourceImageSequence = Sequence([middle])
    ds.ProcedureCodeSequence = Sequence([Dataset()])  # a sequence without an icon is left raw
    path = tmp_path / "nested.dcm"
    ds.file_meta.TransferSyntaxUID = _SYNTAX[(implicit, little)]
    pydicom.dcmwrite(path, ds, implicit_vr=implicit, little_endian=little, enforce_file_format=True)
    for edit in (Rect(0, 0, 5, 5), Rect(500, 500, 510, 510)):  # painted, and entirely outside
        read = pydicom.dcmread(path)
        report = redact_dataset(read, [PixelEdit(edit)])
        out = roundtrip(read)
        assert report.icon_removed
        assert not any(elem.tag == Tag(0x0088, 0x0200) for elem in out.iterall())
        assert "ReferencedImageSequence" in out.SourceImageSequence[0]


@pytest.mark.parametrize("implicit,little", [(False, True), (True, True), (False, False)])
def test_clean_pixel_record_reads_back_in_every_encoding(tmp_path, implicit: bool, little: bool) -> None:
    """The record is added as pre-encoded raw elements; they must parse in memory and in the file."""
    import pydicom

    from desktop_client.pixels.bookkeeping import CLEAN_PIXEL_DATA

    ds = synthetic()
    ds.BurnedInAnnotation = "YES"
    ds.file_meta.TransferSyntaxUID = _SYNTAX[(implicit, little)]
    path = tmp_path / "in.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=implicit, little_endian=little, enforce_file_format=True)
    read = pydicom.dcmread(path)
    redact_dataset(read, [PixelEdit(Rect(0, 0, 5, 5))])
    written = roundtrip(read)
    for result in (written, read):
        assert result.BurnedInAnnotation == "NO"
        codes = [(i.CodeValue, i.CodingSchemeDesignator, i.CodeMeaning)
                 for i in result.DeidentificationMethodCodeSequence]
        assert codes == [CLEAN_PIXEL_DATA]
    again = redact_dataset(written, [PixelEdit(Rect(0, 0, 5, 5))])  # a second pass adds nothing
    assert again.method and len(roundtrip(written).DeidentificationMethodCodeSequence) == 1
