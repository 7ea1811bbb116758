"""The raw header reads used on every redacted object agree with pydicom on every real file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from desktop_client.pixels import attributes as A
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.errors import RedactionError
from tests.pixels.helpers import synthetic
from tests.scanning.test_fastheader import CORPUS

_SYNTAX = {(False, True): ExplicitVRLittleEndian, (True, True): ImplicitVRLittleEndian,
           (False, False): ExplicitVRBigEndian}
TAGS = (A.ROWS, A.COLUMNS, A.SAMPLES_PER_PIXEL, A.BITS_ALLOCATED, A.BITS_STORED, A.HIGH_BIT,
        A.PIXEL_REPRESENTATION, A.PHOTOMETRIC_INTERPRETATION, A.PLANAR_CONFIGURATION, A.NUMBER_OF_FRAMES,
        A.SOP_INSTANCE_UID, A.BURNED_IN_ANNOTATION)


def _pydicom_value(ds: pydicom.Dataset, tag: int) -> object:
    if tag not in ds:
        return None
    value = ds[tag].value
    if isinstance(value, str):
        return value.strip(" \x00")
    return value


def _read(path: Path) -> pydicom.Dataset | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, force=True)
    except Exception:
        return None


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_raw_reads_agree_with_pydicom(path: Path) -> None:
    raw, converted = _read(path), _read(path)
    if raw is None or not hasattr(raw, "file_meta"):
        pytest.skip("not readable by pydicom")
    for tag in TAGS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert A.value(raw, tag) == _pydicom_value(converted, tag), hex(tag)
    meta_raw = A.value(raw.file_meta, A.MEDIA_STORAGE_SOP_INSTANCE_UID)
    assert meta_raw == _pydicom_value(converted.file_meta, A.MEDIA_STORAGE_SOP_INSTANCE_UID)


def test_raw_reads_cover_every_encoding(tmp_path: Path) -> None:
    """Explicit and implicit little endian and big endian files give the same model."""
    ds = synthetic(rows=7, columns=9, bits_allocated=16, bits_stored=12)
    models = []
    for implicit, little in ((False, True), (True, True), (False, False)):
        path = tmp_path / f"{implicit}-{little}.dcm"
        ds.file_meta.TransferSyntaxUID = _SYNTAX[(implicit, little)]
        pydicom.dcmwrite(path, ds, implicit_vr=implicit, little_endian=little, enforce_file_format=True)
        models.append(ImageModel.from_dataset(pydicom.dcmread(path)))
    assert len(set(models)) == 1
    assert (models[0].rows, models[0].columns, models[0].bits_stored) == (7, 9, 12)


def test_a_multi_valued_word_falls_back_to_pydicom(tmp_path: Path) -> None:
    """A malformed Rows (two values) is not silently read as its first word."""
    ds = synthetic(rows=7, columns=9)
    ds["Rows"].value = [7, 8]
    path = tmp_path / "bad.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises((RedactionError, TypeError)):
        ImageModel.from_dataset(pydicom.dcmread(path))
