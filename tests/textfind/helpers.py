"""Synthetic DICOM images with text burned in at a known place (Pillow's bundled font)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

from desktop_client.core.geometry import Rect
from tests.dicomfactory import image


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
    """A Secondary Capture object holding ``pixels`` (native, little endian), from the factory."""
    samples = 3 if pixels.ndim == (4 if frames > 1 else 3) else 1
    rows, columns = pixels.shape[-3:-1] if samples == 3 else pixels.shape[-2:]
    ds = image(modality=modality, sop_class=SecondaryCaptureImageStorage, study_uid=generate_uid(),
               series_uid=generate_uid(), sop_uid=generate_uid(), patient_name=patient, patient_id="PID77123",
               birth_date="19700102", study_date="20240315", accession="ACC55501", rows=rows, columns=columns,
               frames=frames, bits_allocated=8 if bits <= 8 else 16, bits_stored=bits, photometric=photometric,
               pixels=pixels, extra=extra)
    ds.set_original_encoding(False, True)
    return ds


def long_cine_series(folder: Path, instances: int = 8, frames: int = 12, description: str = "") -> Path:
    """One ultrasound series of ``instances`` cines of ``frames`` moving frames with a burned-in
    name, fresh UIDs (never in a cache): the coverage policy searches every instance (temporal
    image + first/middle/last frame), so its search takes long enough to be stopped."""
    folder.mkdir(parents=True, exist_ok=True)
    shape = (256, 320)
    mask, _ = text_mask(shape, "DOE JANE 1970-01-02", 14, (8, 8))
    study, series = generate_uid(), generate_uid()
    for n in range(instances):
        images = [np.clip(0.1 + 0.5 * np.roll(textured(shape, seed=n * frames + f), 11 * f, axis=1) + 0.9 * mask,
                          0, 1) * 255 for f in range(frames)]
        ds = dataset(np.stack(images), frames=frames, modality="US")
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SeriesNumber, ds.InstanceNumber = 1, n + 1
        if description:
            ds.SeriesDescription = description
        ds.save_as(folder / f"cine{n:02d}.dcm", enforce_file_format=True)
    return folder
