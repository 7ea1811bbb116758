"""Synthetic DICOM images with text burned in at a known place (Pillow's bundled font)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from desktop_client.core.geometry import Rect


def text_mask(shape: tuple[int, int], text: str, size: int, at: tuple[int, int]) -> tuple[np.ndarray, Rect]:
    """An (H, W) float mask 0..1 of ``text`` drawn at ``at`` and the bounding box of its ink."""
    img = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(img).text(at, text, fill=255, font=ImageFont.load_default(size=size))
    mask = np.asarray(img, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(mask > 0.2)
    return mask, Rect(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def textured(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    """A smooth 'anatomy' background 0..1 (blobs and noise), so the text is not on a flat field."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    body = np.exp(-(((x - shape[1] / 2) / (shape[1] / 3)) ** 2 + ((y - shape[0] / 2) / (shape[0] / 2.5)) ** 2))
    return np.clip(0.6 * body + rng.normal(0, 0.02, shape).astype(np.float32), 0, 1)


def dataset(pixels: np.ndarray, *, photometric: str = "MONOCHROME2", bits: int = 8, frames: int = 1,
            modality: str = "OT", patient: str = "DOE^JANE", extra: dict | None = None) -> Dataset:
    """A Secondary Capture object holding ``pixels`` (native, little endian)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = patient, "PID77123", "19700102"
    ds.StudyDate, ds.AccessionNumber = "20240315", "ACC55501"
    samples = 3 if pixels.ndim == (4 if frames > 1 else 3) else 1
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if samples == 3 else pixels.shape[-2:]
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    if samples == 3:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    dtype = np.uint8 if bits <= 8 else np.uint16
    ds.PixelData = np.ascontiguousarray(pixels.astype(dtype)).tobytes()
    ds.set_original_encoding(False, True)
    return ds
