"""Header attributes that must describe the pixels actually written, and the de-identification record.

PS3.15 E.3.1: when burned-in information was removed, Burned In Annotation is set to NO and a
De-identification Method Code Sequence item 113101 "Clean Pixel Data Option" is added. The
Extended Offset Table is only valid for the encapsulated fragments it was computed for, so it is
always dropped when Pixel Data is rewritten.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from desktop_client.pixels.imagemodel import ImageModel

EXTENDED_OFFSET_TABLE = (Tag(0x7FE0, 0x0001), Tag(0x7FE0, 0x0002))
CLEAN_PIXEL_DATA = ("113101", "DCM", "Clean Pixel Data Option")


def drop_extended_offset_table(ds: Dataset) -> None:
    for tag in EXTENDED_OFFSET_TABLE:
        if tag in ds:
            del ds[tag]


def describe_pixels(ds: Dataset, model: ImageModel) -> None:
    """Photometric Interpretation / Planar Configuration / sample description of what was written.

    Only values that differ are set (pydicom validates on every assignment).
    """
    wanted: dict[str, object] = {
        "PhotometricInterpretation": model.photometric, "SamplesPerPixel": model.samples,
        "BitsStored": model.bits_stored, "HighBit": model.bits_stored - 1,
        "PixelRepresentation": model.pixel_representation,
    }
    if model.samples > 1:
        wanted["PlanarConfiguration"] = model.planar
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    for keyword, value in wanted.items():
        if ds.get(keyword) != value:
            setattr(ds, keyword, value)


def record_clean_pixel_data(ds: Dataset) -> None:
    """Burned In Annotation = NO and a 113101 De-identification Method Code Sequence item (once)."""
    ds.BurnedInAnnotation = "NO"
    seq = ds.get("DeidentificationMethodCodeSequence")
    if seq is None:
        ds.DeidentificationMethodCodeSequence = DicomSequence()
        seq = ds.DeidentificationMethodCodeSequence
    for item in seq:
        if str(item.get("CodeValue", "")) == CLEAN_PIXEL_DATA[0] and str(item.get("CodingSchemeDesignator", "")) == "DCM":
            return
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = CLEAN_PIXEL_DATA
    seq.append(item)


def widen_pixel_value_range(ds: Dataset, model: ImageModel, values: list[int]) -> None:
    """Keep Smallest/Largest Image Pixel Value true after painting ``values`` (monochrome only)."""
    if model.samples != 1 or not values:
        return
    for keyword, pick in (("SmallestImagePixelValue", min), ("LargestImagePixelValue", max)):
        current = ds.get(keyword)
        if current is None or isinstance(current, (bytes, bytearray)):
            continue
        new = pick(int(current), pick(values))
        if new != int(current):
            ds[keyword].value = new


def record_lossy_history(ds: Dataset) -> None:
    """Decoded lossy input stays 'lossy' forever (PS3.3 C.7.6.1.1.5); ratio/method are kept as-is."""
    ds.LossyImageCompression = "01"
