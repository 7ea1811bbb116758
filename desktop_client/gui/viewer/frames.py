"""Decoded frames for the viewer: raw values (for window/level and the value under the cursor).

Runs in worker threads only. The viewer needs the *modality* values (stored value × slope +
intercept) so window/level is done on real numbers and the status bar shows what a radiologist
expects (HU for CT); colour images are decoded to RGB. One frame is decoded at a time (pydicom's
``pixel_array(index=…)``) so scrolling a 1,000-frame cine never decodes the whole file, and the
last few datasets are kept (compressed bytes, not decoded pixels) so the next frame is quick.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset

from desktop_client.scanning import read_dataset
from desktop_client.scanning.model import Instance, Location, Scan


@dataclass(slots=True)
class RawFrame:
    """One decoded frame: ``values`` is (rows, cols) float32 for grey, (rows, cols, 3) uint8 for colour."""

    values: np.ndarray
    colour: bool
    invert: bool  # MONOCHROME1: low values are white
    window_center: float
    window_width: float

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def columns(self) -> int:
        return int(self.values.shape[1])

    def value_text(self, column: int, row: int) -> str:
        """The pixel's value as shown in the status bar."""
        v = self.values[row, column]
        if self.colour:
            return f"RGB {int(v[0])}, {int(v[1])}, {int(v[2])}"
        f = float(v)
        return f"{f:.0f}" if f.is_integer() else f"{f:.2f}"


def frame_index(scan: Scan, index: int) -> tuple[Instance, int]:
    """Scan-wide frame number → (instance, frame within that instance)."""
    if index < 0:
        raise IndexError(index)
    for inst in scan.instances:
        frames = max(1, inst.frames)
        if index < frames:
            return inst, index
        index -= frames
    raise IndexError("frame beyond the end of the scan")


def frame_count(scan: Scan) -> int:
    return sum(max(1, i.frames) for i in scan.instances)


def _first(value: object) -> float | None:
    """The first number of an element that may hold several (``WindowCenter`` "40\\400"), or None."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):  # pydicom's MultiValue
        value = value[0] if len(value) else None
    if not isinstance(value, (int, float, str, bytes)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def default_window(ds: Dataset, values: np.ndarray) -> tuple[float, float]:
    """The file's first Window Center/Width, else a robust min/max (0.5–99.5 percentiles)."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and width > 0:
        return center, width
    lo, hi = np.percentile(values[:: max(1, values.shape[0] // 256), :: max(1, values.shape[1] // 256)],
                           (0.5, 99.5))
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    return (float(lo) + float(hi)) / 2, max(1.0, float(hi) - float(lo))


def window_to_uint8(values: np.ndarray, center: float, width: float, invert: bool) -> np.ndarray:
    """DICOM linear window (PS3.3 C.11.2.1.2.1) to 0–255."""
    width = max(1.0, width)
    low = center - 0.5 - (width - 1) / 2
    scaled = (values - low) * (255.0 / (width - 1 if width > 1 else 1.0))
    out = np.clip(scaled, 0, 255).astype(np.uint8)
    return 255 - out if invert else out


class FrameReader:
    """Thread-safe frame decoding with a small cache of open datasets."""

    def __init__(self, keep: int = 2) -> None:
        self._keep = keep
        self._datasets: OrderedDict[Location, Dataset] = OrderedDict()
        self._lock = threading.Lock()

    def _dataset(self, instance: Instance) -> Dataset:
        with self._lock:
            ds = self._datasets.get(instance.location)
            if ds is not None:
                self._datasets.move_to_end(instance.location)
                return ds
        ds = read_dataset(instance.location)
        with self._lock:
            self._datasets[instance.location] = ds
            while len(self._datasets) > self._keep:
                self._datasets.popitem(last=False)
        return ds

    def read(self, instance: Instance, frame: int = 0) -> RawFrame:
        """Decode one frame; raises ValueError with a readable reason when it cannot."""
        ds = self._dataset(instance)
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            raise ValueError("this object has no pixel data (it is not an image)")
        from desktop_client.pixels import RedactionError, display_frame

        try:
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            arr = display_frame(ds, frame if frames > 1 else None)  # compressed: in the codec helper
        except RedactionError as exc:
            raise ValueError(f"the image cannot be decoded ({exc.reason})") from None
        except Exception as exc:  # pydicom raises many types for unsupported/corrupt data
            raise ValueError(f"the image cannot be decoded ({exc})") from None
        photometric = str(ds.get("PhotometricInterpretation", "")).upper()
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        if samples == 3 or arr.ndim == 3 and arr.shape[-1] == 3:
            rgb = arr if arr.dtype == np.uint8 else _to_uint8(arr)
            return RawFrame(rgb, True, False, 127.5, 256.0)
        values = arr.astype(np.float32)
        slope = _first(ds.get("RescaleSlope")) or 1.0
        intercept = _first(ds.get("RescaleIntercept")) or 0.0
        if slope != 1.0 or intercept != 0.0:
            values = values * np.float32(slope) + np.float32(intercept)
        center, width = default_window(ds, values)
        return RawFrame(values, False, photometric == "MONOCHROME1", center, width)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    return np.zeros(a.shape, np.uint8) if hi <= lo else ((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
