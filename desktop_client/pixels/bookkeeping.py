"""Header attributes that must describe the pixels actually written, and the de-identification record.

PS3.15 E.3.1: when burned-in information was removed, Burned In Annotation is set to NO and a
De-identification Method Code Sequence item 113101 "Clean Pixel Data Option" is added. The
Extended Offset Table is only valid for the encapsulated fragments it was computed for, so it is
always dropped when Pixel Data is rewritten.
"""

from __future__ import annotations

import functools

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from desktop_client.pixels import attributes as A
from desktop_client.pixels.imagemodel import ImageModel

EXTENDED_OFFSET_TABLE = (Tag(0x7FE0, 0x0001), Tag(0x7FE0, 0x0002))
CLEAN_PIXEL_DATA = ("113101", "DCM", "Clean Pixel Data Option")
DEIDENTIFICATION_METHOD_CODE_SEQUENCE = 0x00120064
CODE_TAGS = (0x00080100, 0x00080102, 0x00080104)  # Code Value, Coding Scheme Designator, Code Meaning


def drop_extended_offset_table(ds: Dataset) -> None:
    for tag in EXTENDED_OFFSET_TABLE:
        if tag in ds:
            del ds[tag]


def describe_pixels(ds: Dataset, model: ImageModel) -> None:
    """Photometric Interpretation / Planar Configuration / sample description of what was written.

    Only values that differ are set (pydicom validates on every assignment).
    """
    wanted: dict[int, tuple[str, object]] = {
        A.PHOTOMETRIC_INTERPRETATION: ("PhotometricInterpretation", model.photometric),
        A.SAMPLES_PER_PIXEL: ("SamplesPerPixel", model.samples),
        A.BITS_STORED: ("BitsStored", model.bits_stored), A.HIGH_BIT: ("HighBit", model.bits_stored - 1),
        A.PIXEL_REPRESENTATION: ("PixelRepresentation", model.pixel_representation),
    }
    if model.samples > 1:
        wanted[A.PLANAR_CONFIGURATION] = ("PlanarConfiguration", model.planar)
    elif A.PLANAR_CONFIGURATION in ds:
        del ds[A.PLANAR_CONFIGURATION]
    for tag, (keyword, value) in wanted.items():
        if A.value(ds, tag) != value:
            setattr(ds, keyword, value)


def record_clean_pixel_data(ds: Dataset) -> None:
    """Burned In Annotation = NO and a 113101 De-identification Method Code Sequence item (once).

    In the usual case (no such sequence yet, a known little-endian encoding) both elements are
    added as raw elements whose bytes pydicom encoded once per encoding (``_encoded``): pydicom
    writes raw elements as they are, while writing a freshly built sequence costs more than
    painting a CT slice, and this runs for every redacted object. Reading them back goes through
    pydicom's own parser, like any element read from a file.
    """
    encoding = ds.original_encoding
    if ds.get_item(DEIDENTIFICATION_METHOD_CODE_SEQUENCE) is None and encoding in _RAW_ENCODINGS:
        for raw in _encoded(*encoding):
            ds[raw.tag] = raw
        return
    if A.value(ds, A.BURNED_IN_ANNOTATION) != "NO":
        ds[A.BURNED_IN_ANNOTATION] = DataElement(A.BURNED_IN_ANNOTATION, "CS", "NO")
    elem = ds.get(DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
    if elem is None or not isinstance(elem.value, DicomSequence):
        ds[DEIDENTIFICATION_METHOD_CODE_SEQUENCE] = DataElement(DEIDENTIFICATION_METHOD_CODE_SEQUENCE, "SQ",
                                                                DicomSequence())
        elem = ds[DEIDENTIFICATION_METHOD_CODE_SEQUENCE]
    seq = elem.value
    for item in seq:
        if str(item.get("CodeValue", "")) == CLEAN_PIXEL_DATA[0] and str(item.get("CodingSchemeDesignator", "")) == "DCM":
            return
    seq.append(_clean_pixel_data_item())


def _clean_pixel_data_item() -> Dataset:
    item = Dataset()
    for tag, vr, text in zip(CODE_TAGS, ("SH", "SH", "LO"), CLEAN_PIXEL_DATA):
        item.add_new(tag, vr, text)
    return item


_RAW_ENCODINGS = ((False, True), (True, True))  # (implicit VR, little endian)


@functools.cache
def _encoded(implicit: bool, little: bool) -> tuple[RawDataElement, RawDataElement]:
    """Burned In Annotation and the code sequence as raw elements, encoded by pydicom."""
    source = Dataset()
    source.add_new(A.BURNED_IN_ANNOTATION, "CS", "NO")
    source.add_new(DEIDENTIFICATION_METHOD_CODE_SEQUENCE, "SQ", DicomSequence([_clean_pixel_data_item()]))
    raws = []
    for elem in source:
        fp = DicomBytesIO()
        fp.is_implicit_VR, fp.is_little_endian = implicit, little
        write_data_element(fp, elem)
        data = fp.getvalue()
        # Header: tag + 4-byte length (implicit), tag + VR + 2-byte length (explicit CS), or
        # tag + VR + 2 reserved + 4-byte length (explicit SQ).
        header = 8 if implicit or elem.VR == "CS" else 12
        value = data[header:]
        if int.from_bytes(data[header - (2 if header == 8 and not implicit else 4):header],
                          "little" if little else "big") != len(value):
            raise AssertionError("unexpected element encoding")  # pydicom changed its writer
        raws.append(RawDataElement(elem.tag, None if implicit else elem.VR, len(value), value, 0, implicit,
                                   little))
    burned_in, method_code = raws
    return burned_in, method_code


def widen_pixel_value_range(ds: Dataset, model: ImageModel, values: list[int]) -> None:
    """Keep Smallest/Largest Image Pixel Value true after painting ``values`` (monochrome only)."""
    if model.samples != 1 or not values:
        return
    for tag, pick in ((A.SMALLEST_IMAGE_PIXEL_VALUE, min), (A.LARGEST_IMAGE_PIXEL_VALUE, max)):
        current = A.pixel_word(ds, tag, model.signed)
        if current is None:
            continue
        new = pick(current, pick(values))
        if new != current:
            ds[tag].value = new


def record_lossy_history(ds: Dataset) -> None:
    """Decoded lossy input stays 'lossy' forever (PS3.3 C.7.6.1.1.5); ratio/method are kept as-is."""
    ds.LossyImageCompression = "01"
