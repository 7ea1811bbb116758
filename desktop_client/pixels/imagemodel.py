"""The image-pixel attributes that decide how stored bytes map to pixels.

Everything is read from the Image Pixel module (never guessed from array shapes or byte counts),
and refused with a clear reason when it is missing or inconsistent, so later stages can index
pixel data without defensive checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from pydicom.dataset import Dataset

from desktop_client.pixels import attributes as A
from desktop_client.pixels.errors import RedactionError

COLOUR_PIS = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
                        "YBR_ICT", "YBR_RCT"})
MONO_PIS = frozenset({"MONOCHROME1", "MONOCHROME2"})

_PIXEL_DATA, _FLOAT_PIXEL_DATA, _DOUBLE_PIXEL_DATA = 0x7FE00010, 0x7FE00008, 0x7FE00009
_TAGS = (A.ROWS, A.COLUMNS, A.SAMPLES_PER_PIXEL, A.BITS_ALLOCATED, A.BITS_STORED, A.PIXEL_REPRESENTATION,
         A.PHOTOMETRIC_INTERPRETATION, A.PLANAR_CONFIGURATION, A.NUMBER_OF_FRAMES)


class FrameOptions(TypedDict, total=False):
    """The keyword options of pydicom's decoders and encoders this package passes (a subset of
    pydicom's own ``DecodeOptions``), typed so a misspelt or mistyped option fails mypy."""

    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric_interpretation: str
    planar_configuration: int
    number_of_frames: int
    pixel_keyword: str
    view_only: bool


@dataclass(frozen=True, slots=True)
class ImageModel:
    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    planar: int
    frames: int

    @classmethod
    def from_dataset(cls, ds: Dataset) -> "ImageModel":
        # Read raw (see attributes.py): this runs for every redacted object.
        if _PIXEL_DATA not in ds:
            if _FLOAT_PIXEL_DATA in ds or _DOUBLE_PIXEL_DATA in ds:
                raise RedactionError("floating-point pixel data cannot be redacted here")
            raise RedactionError("the object has no Pixel Data to redact")
        (rows, columns, samples, allocated, stored, representation, photometric, planar,
         frames) = (A.value(ds, tag) for tag in _TAGS)
        missing = [k for k, v in (("Rows", rows), ("Columns", columns), ("BitsAllocated", allocated))
                   if v in (None, "")]
        if missing:
            raise RedactionError(f"the image description is incomplete (missing {', '.join(missing)}): "
                                 "DICOM object has no image dimensions (Rows/Columns), cannot alter pixels.")
        rows, columns = _whole(rows, "Rows"), _whole(columns, "Columns")
        if rows <= 0 or columns <= 0:
            raise RedactionError(f"the image has an invalid size ({rows} rows × {columns} columns)")
        samples = _whole(samples or 1, "Samples per Pixel")
        allocated = _whole(allocated, "Bits Allocated")
        stored = _whole(stored or allocated, "Bits Stored")
        photometric = str(photometric or "").strip().upper()
        if not photometric:
            photometric = "MONOCHROME2" if samples == 1 else "RGB"
        frames = _whole(frames or 1, "Number of Frames")
        if samples not in (1, 3):
            raise RedactionError(f"{samples} samples per pixel is not a supported image model")
        if allocated not in (1, 8, 16, 32):
            # XNAT's wording for the same refusal (its alterPixels handler), so it is recognised.
            raise RedactionError(f"BitsAllocated of {allocated} is not byte-aligned, cannot alter pixels."
                                 if allocated % 8 else f"Bits Allocated {allocated} is not supported")
        if not 1 <= stored <= allocated:
            raise RedactionError(f"Bits Stored {stored} does not fit Bits Allocated {allocated}")
        if samples == 3 and photometric not in COLOUR_PIS:
            raise RedactionError(f"photometric interpretation {photometric} with 3 samples is not supported")
        if samples == 1 and photometric in COLOUR_PIS:
            raise RedactionError(f"PhotometricInterpretation of {photometric} with SamplesPerPixel of 1 "
                                 "is not a layout this understands, cannot alter pixels.")
        if samples == 1 and photometric not in MONO_PIS | {"PALETTE COLOR"}:
            raise RedactionError(f"photometric interpretation {photometric} is not supported")
        return cls(rows=rows, columns=columns, samples=samples, bits_allocated=allocated,
                   bits_stored=stored, pixel_representation=_whole(representation or 0, "Pixel Representation"),
                   photometric=photometric,
                   planar=_whole(planar or 0, "Planar Configuration") if samples > 1 else 0,
                   frames=max(1, frames))

    @property
    def signed(self) -> bool:
        return self.pixel_representation == 1

    @property
    def is_ybr_422_native(self) -> bool:
        return self.photometric in ("YBR_FULL_422", "YBR_PARTIAL_422")

    @property
    def native_frame_bits(self) -> int:
        """Bits one frame occupies in *native* (uncompressed) Pixel Data (PS3.5 8.1.1, C.7.6.3.1.2)."""
        if self.is_ybr_422_native:  # Y Y Cb Cr per pixel pair; an odd last pixel has a padded pair
            return self.rows * ((self.columns + 1) // 2) * 4 * self.bits_allocated
        return self.rows * self.columns * self.samples * self.bits_allocated

    @property
    def decoded_bytes(self) -> int:
        """Bytes all frames take once decoded (one byte at least per sample): the memory a decode asks for."""
        return self.rows * self.columns * self.samples * max(1, self.bits_allocated // 8) * self.frames

    def decode_kwargs(self) -> FrameOptions:
        """Options for pydicom's per-frame decoders/encoders describing one frame of this model."""
        kw = FrameOptions(rows=self.rows, columns=self.columns, samples_per_pixel=self.samples,
                          bits_allocated=self.bits_allocated, bits_stored=self.bits_stored,
                          pixel_representation=self.pixel_representation,
                          photometric_interpretation=self.photometric, number_of_frames=1)
        if self.samples > 1:
            kw["planar_configuration"] = self.planar
        return kw


def _whole(value: object, name: str) -> int:
    """``value`` as an int, or a RedactionError naming the attribute (several values, text, ...)."""
    if isinstance(value, (int, float, str)):
        try:
            return int(value)
        except (ValueError, OverflowError):
            pass
    raise RedactionError(f"{name} is not a whole number")
