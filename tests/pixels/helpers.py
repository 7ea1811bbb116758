"""Test data for the pixel engine: the public test files and synthetic images of any model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import pixel_array
from pydicom.uid import generate_uid

from tests.dicomfactory import image

PYDICOM_DATA = Path(pydicom.__file__).parent / "data" / "test_files"


def data_file(name: str) -> str:
    """A file from the pydicom wheel, pydicom-data or deid-data (all installed by the test extra)."""
    if name.startswith("deid:"):
        import deid_data

        return str(Path(deid_data.__file__).parent / "data" / name[5:])
    path = get_testdata_file(name, download=False)
    if path is None:
        raise FileNotFoundError(name)
    return str(path)


def load(name: str) -> Dataset:
    return pydicom.dcmread(data_file(name))


def roundtrip(ds: Dataset) -> Dataset:
    """Write ``ds`` as a file and read it back (what the receiver will see)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buf.getvalue()))


def raw_pixels(ds: Dataset) -> np.ndarray:
    """All frames decoded by pydicom without colour conversion, shape (frames, rows, cols[, 3])."""
    arr = pixel_array(ds, raw=True)
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames == 1:
        arr = arr[np.newaxis]
    return arr


def synthetic(*, rows: int = 40, columns: int = 48, frames: int = 1, samples: int = 1, bits_allocated: int = 16,
              bits_stored: int | None = None, signed: bool = False, photometric: str = "MONOCHROME2",
              planar: int = 0, seed: int = 0) -> Dataset:
    """A small Secondary Capture image of any native model, filled with random pixels (packed by
    hand: 1-bit and planar configuration 1 are models the factory's arrays cannot state)."""
    rng = np.random.default_rng(seed)
    bits_stored = bits_stored or bits_allocated
    if bits_allocated == 1:
        bits = rng.integers(0, 2, rows * columns * frames, dtype=np.uint8)
        data = np.packbits(bits, bitorder="little").tobytes()
    else:
        shape = (frames, rows, columns, samples)
        if signed:
            lo, hi = -(1 << (bits_stored - 1)), (1 << (bits_stored - 1))
        else:
            lo, hi = 0, 1 << bits_stored
        values = rng.integers(lo, hi, shape, dtype=np.int64)
        words = (values & ((1 << bits_allocated) - 1)).astype(f"<u{bits_allocated // 8}")
        if samples == 3 and planar == 1:
            words = np.moveaxis(words, -1, 1)
        data = np.ascontiguousarray(words).tobytes()
    assert samples == (1 if photometric.startswith("MONOCHROME") or photometric == "PALETTE COLOR" else 3)
    ds = image(modality="OT", study_uid=generate_uid(), series_uid=generate_uid(), sop_uid=generate_uid(),
               patient_name="Synthetic^Test", rows=rows, columns=columns, frames=frames,
               bits_allocated=bits_allocated, bits_stored=bits_stored, signed=signed, photometric=photometric,
               planar=planar, pixel_bytes=data)
    ds.set_original_encoding(False, True)
    return ds
