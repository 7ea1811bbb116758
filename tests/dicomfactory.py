"""The one synthetic DICOM factory of the tests, the benches and the packaging scripts.

Every synthetic object outside the demo data set is made here, so a change in what "a valid
image" needs (a new required attribute, a pydicom API change, another transfer syntax) is made
once. It is built on the demo generator (``desktop_client.demo``): the Image Pixel module comes
from ``demo.iods``, the pixel encoding and file meta (every syntax the demo writes: native little
and big endian, RLE, JPEG-LS, JPEG 2000, JPEG Baseline) from ``demo.writer``, burned-in text from
``demo.burn``, and the realistic CT header of the benches from ``demo.iods.ct_dataset``.

The module imports nothing from the test suite or pytest: ``bench/*.py`` and
``packaging/make_selftest_samples.py`` import it as ``tests.dicomfactory`` after putting the
repository root on ``sys.path`` (as they already did for ``tests.robustness`` and
``tests.pixels``), so it works from a clean clone with only the application's dependencies.

Headers are minimal and fully controlled (the attributes the scanner, grouping, anonymization
and upload code read), with defaults that are stable across calls; the keyword arguments are the
attributes tests vary. Identifying values are obviously fictional, but real enough in form
(PN, dates, IDs) that the privacy tests can check they are removed.
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    PositronEmissionTomographyImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

from desktop_client.demo import cast, iods, writer
from desktop_client.demo.burn import TextItem, blend, text_mask
from desktop_client.demo.seeding import demo_uid

#: Default UIDs: short and readable in assertions; several images made with only ``sop_uid``
#: (or ``instance_number``) varied form one series of one study, as on a scanner's disk.
STUDY_UID = "1.2.3.1"
SERIES_UID = "1.2.3.1.1"

#: SOP class by modality for the images the tests upload (the scanner groups by SOP class).
SOP_CLASSES: dict[str, str] = {
    "CT": CTImageStorage, "MR": MRImageStorage, "PT": PositronEmissionTomographyImageStorage,
    "US": UltrasoundImageStorage, "OT": SecondaryCaptureImageStorage,
}

#: The bright block ``write_study`` burns into every image (left, top, right, bottom) and its
#: value: a redaction box over it must leave it black at the destination.
BURN = (0, 0, 16, 8)
BURN_VALUE = 4000


def image(*, modality: str = "CT", sop_class: str | None = None,
          study_uid: str = STUDY_UID, series_uid: str = SERIES_UID, sop_uid: str | None = None,
          series_number: int = 3, instance_number: int | None = 1,
          patient_name: str = "DOE^JANE", patient_id: str = "PID1", birth_date: str | None = None,
          study_date: str = "20240102", study_time: str = "101112", accession: str = "ACC1",
          study_id: str = "S1", study_description: str = "Head", series_description: str = "Axial",
          rows: int = 8, columns: int = 8, frames: int = 1, bits_allocated: int = 16,
          bits_stored: int = 12, signed: bool = False, photometric: str = "MONOCHROME2",
          planar: int = 0, pixels: np.ndarray | None = None, pixel_bytes: bytes | None = None,
          header_only: bool = False,
          burn_box: tuple[int, int, int, int] | None = None, burn_value: int | None = None,
          burned_text: Sequence[str] = (), transfer_syntax: str = ExplicitVRLittleEndian,
          extra: Mapping[str, Any] | None = None) -> Dataset:
    """One synthetic image (or, with ``header_only``, an object without Image Pixel module).

    Pixels: ``pixels`` as given (``(rows, cols)``, ``(frames, rows, cols)``, a trailing 3 for
    colour), else a ramp offset by the instance number, so two instances never share pixel
    bytes (servers and caches that hash content must see different objects). ``pixel_bytes`` is
    the native Pixel Data exactly as stored, for the models an array cannot state (1-bit packed,
    YBR_FULL_422 pairs, planar configuration 1, odd layouts a codec test needs byte for byte). ``burn_box`` fills
    a rectangle with ``burn_value`` (default: the largest stored value), ``burned_text`` draws
    real text lines in the top-left corner with the demo's font, both after ``pixels``: what
    tests of redaction and of the text finder need to find again. ``extra`` sets any further
    attributes by keyword (``PatientComments``, ``BurnedInAnnotation``, ...).

    The returned dataset carries its file meta (``transfer_syntax``), ready for ``write`` or
    ``encode``. JPEG 2000 needs images of at least 32×32 (openjpeg's default resolution levels
    refuse smaller ones); JPEG Baseline takes 8-bit RGB.
    """
    ds = Dataset()
    ds.SOPClassUID = UID(sop_class or SOP_CLASSES.get(modality, SecondaryCaptureImageStorage))
    ds.SOPInstanceUID = UID(sop_uid or child_uid(series_uid, instance_number or 1))
    ds.StudyInstanceUID = UID(study_uid)
    ds.SeriesInstanceUID = UID(series_uid)
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    if birth_date is not None:
        ds.PatientBirthDate = birth_date
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.StudyDescription = study_description
    ds.StudyID = study_id
    ds.AccessionNumber = accession
    ds.Modality = modality
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    if instance_number is not None:
        ds.InstanceNumber = instance_number
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    if header_only:
        writer.finish(ds, UID(transfer_syntax))
        return ds
    samples = 1 if photometric.startswith("MONOCHROME") or photometric == "PALETTE COLOR" else 3
    iods.image_pixel(ds, rows, columns, bits_stored, signed, photometric=photometric, samples=samples,
                     bits_allocated=bits_allocated)
    if samples == 3:
        ds.PlanarConfiguration = planar
    if frames > 1:
        ds.NumberOfFrames = frames
    if pixel_bytes is not None:
        ds.PixelData = pixel_bytes + b"\0" * (len(pixel_bytes) % 2)
        ds["PixelData"].VR = "OW" if bits_allocated > 8 else "OB"
        writer.finish(ds, UID(transfer_syntax))
        return ds
    arr = _pixels(pixels, rows, columns, frames, samples, bits_allocated, bits_stored, signed,
                  instance_number or 0)
    if burned_text:
        arr = _burn_text(arr, burned_text, _top(bits_stored, signed))
    if burn_box is not None:
        left, top, right, bottom = burn_box
        arr[..., top:bottom, left:right] = _top(bits_stored, signed) if burn_value is None else burn_value
    writer.set_pixels(ds, arr if frames > 1 else arr[0], UID(transfer_syntax))
    return ds


def child_uid(parent: str, number: int) -> UID:
    """``parent.number`` while that is a valid UID (readable in assertions), else a UID hashed
    from both (the long random UIDs of ``generate_uid``)."""
    candidate = f"{parent}.{number}"
    return UID(candidate) if len(candidate) <= 64 else demo_uid(0, "factory-child", parent, number)


def write(path: Path, ds: Dataset, *, part10: bool = True) -> Path:
    """Write ``ds`` to ``path`` (parents created); ``part10=False`` writes the bare data set in
    its transfer syntax without preamble and file meta, as old archives and some PACS exports
    hold them (the scanner must still recognise those)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if part10:
        ds.save_as(path, enforce_file_format=True)
    else:
        syntax = UID(ds.file_meta.TransferSyntaxUID)
        bare = Dataset()
        bare.update(ds)
        bare.save_as(path, implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian)
    return path


def encode(ds: Dataset) -> bytes:
    """``ds`` as the bytes of a Part-10 file (zip entries, HTTP bodies, in-memory reads)."""
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def write_study(folder: Path, *, series: int = 2, files: int = 3, rows: int = 32,
                patient_name: str = "DOE^JANE", patient_id: str = "PID123", seed: int = 0) -> Path:
    """Write ``series`` CT series of ``files`` images each under ``folder`` (``s<S>_<NNNN>.dcm``).

    UIDs and pixels depend only on ``seed`` (two calls with one seed are the same study; other
    seeds are other studies). Each image is random texture with the bright ``BURN`` block, so an
    upload with a redaction box over it can be checked at the destination. Returns ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid(entropy_srcs=[f"study-{seed}"])
    rng = np.random.default_rng(seed)
    for s in range(1, series + 1):
        series_uid = generate_uid(entropy_srcs=[f"series-{seed}-{s}"])
        for n in range(1, files + 1):
            noise = rng.integers(0, 1000, size=(rows, rows), dtype=np.uint16)
            ds = image(study_uid=study_uid, series_uid=series_uid,
                       sop_uid=generate_uid(entropy_srcs=[f"sop-{seed}-{s}-{n}"]),
                       series_number=s, instance_number=n, patient_name=patient_name,
                       patient_id=patient_id, birth_date="19700101", study_time="101500",
                       accession=f"ACC{seed}", study_id="1", study_description="Chest",
                       series_description=f"Series {s}", rows=rows, columns=rows, pixels=noise,
                       burn_box=BURN, burn_value=BURN_VALUE)
            write(folder / f"s{s}_{n:04d}.dcm", ds)
    return folder


def study_entries(series: Mapping[int, int], *, modality: str = "MR", study_uid: str | None = None,
                  **header: Any) -> list[tuple[str, bytes]]:
    """``{series number: file count}`` → ``[(entry name "s<N>/i<I>.dcm", Part-10 bytes)]`` of one
    study, for XNAT upload bodies (``desktop_client.xnat.zip_stream``).

    New random UIDs on every call, so two calls are two studies on the server; series are
    described "<modality> series <N>", which XNAT's series import filters match on. ``header``
    takes ``image``'s other keyword arguments.
    """
    study = study_uid or generate_uid()
    entries = []
    for number, count in series.items():
        series_uid = generate_uid()
        for i in range(1, count + 1):
            ds = image(modality=modality, study_uid=study, series_uid=series_uid, sop_uid=generate_uid(),
                       series_number=number, instance_number=i,
                       **{"series_description": f"{modality} series {number}", **header})
            entries.append((f"s{number}/i{i}.dcm", encode(ds)))
    return entries


def ct_slice(index: int, *, rows: int = 16, columns: int = 16, study_uid: str | None = None,
             series_uid: str | None = None, sop_uid: str | None = None,
             private_values: int = 32) -> Dataset:
    """A CT slice with the header a real scanner writes (≈ 80 attributes from ``demo.iods``, the
    PHI a site script removes, a Referenced Image Sequence with a code item and a private block
    of ``private_values`` values), for the benches: parsing, scanning and anonymization costs
    depend on header size and shape, so they are measured on a realistic one. Pixels are zero.
    """
    patient = cast.Patient("DOE^JANE", "MRN0012345", _dt.date(1970, 1, 1), "F")
    study = cast.Study(patient, 0, UID(study_uid or demo_uid(0, "bench-study")), _dt.date(2024, 3, 15),
                       "101500", "A12345678", "4711", "CT CHEST W/O", "General Hospital", "WELBY^MARCUS")
    series = cast.Series(study, 2, "CT", "AXIAL 1.25mm", UID(series_uid or demo_uid(0, "bench-series")),
                         demo_uid(0, "bench-frame"), "101600", cast.CT_SCANNER)
    spacing = 0.703125
    ds = iods.ct_dataset(series, UID(sop_uid or demo_uid(0, "bench-sop", index)), index + 1, rows,
                         columns, spacing, 1.25, [-180.0, -180.0, -100.0 - 1.25 * index])
    ds.PatientWeight = "70"
    ds.PatientAddress = "2 Side Street"
    ds.OtherPatientIDs = "OTHER1"
    ds.InstitutionalDepartmentName = "Radiology"
    ds.PhysiciansOfRecord = "REC^DOCTOR"
    ref = Dataset()
    ref.ReferencedSOPClassUID = CTImageStorage
    ref.ReferencedSOPInstanceUID = demo_uid(0, "bench-localizer")
    ref.PurposeOfReferenceCodeSequence = DicomSequence([iods.code("121311", "DCM", "Localizer")])
    ds.ReferencedImageSequence = DicomSequence([ref])
    if private_values:
        block = ds.private_block(0x0009, "ACME CT PRIVATE", create=True)
        for offset in range(0x10, 0x10 + private_values):
            block.add_new(offset, "LO", f"private value {offset}")
    writer.set_pixels(ds, np.zeros((rows, columns), dtype=np.int16), ExplicitVRLittleEndian)
    return ds


def _top(bits_stored: int, signed: bool) -> int:
    """The largest stored value: how a modality inks text into the image."""
    return (1 << (bits_stored - 1)) - 1 if signed else (1 << bits_stored) - 1


def _pixels(given: np.ndarray | None, rows: int, columns: int, frames: int, samples: int,
            bits_allocated: int, bits_stored: int, signed: bool, offset: int) -> np.ndarray:
    """The frames as a writable ``(frames, rows, cols[, 3])`` array of the stored type."""
    kind = "i" if signed else "u"
    dtype = np.dtype(f"{kind}{bits_allocated // 8}") if bits_allocated >= 8 else np.dtype(np.uint8)
    shape = (frames, rows, columns) + ((3,) if samples == 3 else ())
    if given is not None:
        return np.array(given, dtype=dtype).reshape(shape)
    ramp = (np.arange(int(np.prod(shape)), dtype=np.int64) + offset) % (1 << (bits_stored - (1 if signed else 0)))
    return ramp.astype(dtype).reshape(shape)


def _burn_text(arr: np.ndarray, lines: Sequence[str], ink: int) -> np.ndarray:
    """``lines`` stacked in the top-left corner of every frame, blended with ``ink``."""
    rows, columns = arr.shape[1], arr.shape[2]
    items = [TextItem(f"line{i}", text, "tl") for i, text in enumerate(lines)]
    alpha, _ = text_mask(rows, columns, items, max(9, columns // 24))
    colour = (ink, ink, ink) if arr.ndim == 4 else float(ink)
    out = np.stack([blend(frame, alpha, colour) for frame in arr])
    limits = np.iinfo(arr.dtype)
    burned: np.ndarray = np.clip(np.rint(out), limits.min, limits.max).astype(arr.dtype)
    return burned
