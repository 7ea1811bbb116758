"""Encode pixel arrays in a chosen transfer syntax and write Part-10 files.

Native syntaxes are written by hand (Big Endian needs the 16-bit words swapped, because pydicom
writes Pixel Data bytes as given); lossless compressed syntaxes go through pydicom's encoders;
JPEG Baseline (which pydicom cannot encode) is written with Pillow per frame and encapsulated.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from desktop_client.demo.seeding import UID_ROOT

IMPLEMENTATION_CLASS_UID = UID_ROOT + "777.1"
IMPLEMENTATION_VERSION = "XNATDEMO_1"
JPEG_QUALITY = 90

_PLUGINS = {RLELossless: "pylibjpeg", JPEGLSLossless: "pyjpegls", JPEG2000Lossless: "pylibjpeg"}


def set_pixels(ds: Dataset, arr: np.ndarray, transfer_syntax: UID) -> None:
    """Store ``arr`` (frames, rows, cols[, 3]) or (rows, cols[, 3]) as Pixel Data in ``transfer_syntax``.

    The Image Pixel module attributes (Rows, Bits Allocated, Photometric Interpretation, ...)
    must already be set on ``ds``; for JPEG Baseline the array is RGB and the dataset says
    YBR_FULL_422 (the colour space of the compressed stream, PS3.5 8.2.1).
    """
    if transfer_syntax in (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian):
        order: Literal[">", "<"] = ">" if transfer_syntax == ExplicitVRBigEndian else "<"
        data = arr.astype(arr.dtype.newbyteorder(order), copy=False).tobytes()
        if len(data) % 2:
            data += b"\0"
        ds.PixelData = data
        ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    elif transfer_syntax in _PLUGINS:
        ds.compress(transfer_syntax, arr, encoding_plugin=_PLUGINS[transfer_syntax],
                    generate_instance_uid=False)
    elif transfer_syntax == JPEGBaseline8Bit:
        frames = arr if arr.ndim == 4 else arr[None]
        encoded = [_jpeg(frame) for frame in frames]
        ds.PixelData = encapsulate(encoded, has_bot=True)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ratio = arr.nbytes / sum(len(e) for e in encoded)
        ds.LossyImageCompressionRatio = f"{ratio:.2f}"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    else:
        raise ValueError(f"the demo generator cannot write transfer syntax {transfer_syntax}")
    _meta(ds, transfer_syntax)


def finish(ds: Dataset, transfer_syntax: UID) -> None:
    """File meta for a dataset without Pixel Data (RT Structure Set, SR, PDF)."""
    _meta(ds, transfer_syntax)


def _meta(ds: Dataset, transfer_syntax: UID) -> None:
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta


def _jpeg(frame: np.ndarray) -> bytes:
    """One RGB frame as a baseline JPEG with 4:2:2 chroma (→ YBR_FULL_422)."""
    buf = io.BytesIO()
    Image.fromarray(frame, "RGB").save(buf, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:2",
                                       optimize=False, progressive=False)
    data = buf.getvalue()
    return data + b"\0" if len(data) % 2 else data


def write(ds: Dataset, path: Path) -> tuple[int, str]:
    """Write ``ds`` as a Part-10 file; returns (size, sha256) of what was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    path.write_bytes(data)
    return len(data), hashlib.sha256(data).hexdigest()
