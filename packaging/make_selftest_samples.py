"""Write the self-test samples (``desktop_client/selftest_data/*.dcm``), one per transfer syntax.

Run from the repository root with the project's virtual environment::

    .venv/bin/python packaging/make_selftest_samples.py

Every sample stores ``desktop_client.selftest.reference_image`` in a synthetic Secondary Capture
object with fixed UIDs (names are ``SELFTEST^SAMPLE``, never patient data), so the output is
reproducible and the self-test can compare decoded pixels with the reference exactly. The
encoders are independent of the pixel engine under test where possible:

* native syntaxes: written by hand / pydicom (Big Endian words swapped here);
* RLE, JPEG-LS, JPEG 2000: pydicom's encoders (pylibjpeg-rle, pyjpegls, pylibjpeg-openjpeg);
* JPEG Baseline: Pillow (libjpeg-turbo); JPEG Lossless (process 14, predictor 6): imagecodecs;
* JPEG Lossless SV1: GDCM (the only installed encoder that writes predictor 1);
* HTJ2K Lossless: imagecodecs (OpenJPH).
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom import uid as U
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_client.selftest import COLUMNS, DATA_DIR, ROWS, SAMPLES, Sample, reference_image  # noqa: E402

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
IMPLEMENTATION_CLASS_UID = U.generate_uid(entropy_srcs=["xnat-desktop-uploader", "selftest", "impl"])


def _uid(*parts: str) -> U.UID:
    return U.generate_uid(entropy_srcs=["xnat-desktop-uploader", "selftest", *parts])


def base_dataset(sample: Sample) -> Dataset:
    """Header of a sample: Secondary Capture, greyscale, deterministic UIDs, synthetic names."""
    ds = Dataset()
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = _uid(sample.filename)
    ds.StudyInstanceUID = _uid("study")
    ds.SeriesInstanceUID = _uid("series")
    ds.PatientName = "SELFTEST^SAMPLE"
    ds.PatientID = "SELFTEST"
    ds.InstitutionName = "Self-test Institution"
    ds.Modality = "OT"
    ds.ConversionType = "SYN"
    ds.StudyDate = "20000101"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ROWS
    ds.Columns = COLUMNS
    ds.BitsAllocated = sample.bits
    ds.BitsStored = sample.bits
    ds.HighBit = sample.bits - 1
    ds.PixelRepresentation = 0
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = U.UID(sample.transfer_syntax)
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = "XNATSELFTEST"
    ds.file_meta = meta
    return ds


def _native(ds: Dataset, image: np.ndarray, big_endian: bool) -> None:
    order = ">" if big_endian else "<"
    ds.PixelData = image.astype(image.dtype.newbyteorder(order)).tobytes()
    ds["PixelData"].VR = "OW" if image.itemsize > 1 else "OB"


def _encapsulated(ds: Dataset, frame: bytes) -> None:
    ds.PixelData = encapsulate([frame], has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def _jpeg_baseline(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image, mode="L").save(out, format="JPEG", quality=95)
    return out.getvalue()


def _sv1_with_gdcm(sample: Sample, image: np.ndarray) -> bytes:
    """Encode with GDCM's JPEG Lossless SV1 writer (via a private temporary Part-10 file)."""
    import gdcm

    native = base_dataset(Sample("native.dcm", U.ExplicitVRLittleEndian, sample.bits))
    _native(native, image, big_endian=False)
    with tempfile.TemporaryDirectory(prefix="selftest-sv1-") as tmp:
        src, dst = Path(tmp) / "in.dcm", Path(tmp) / "out.dcm"
        native.save_as(src, enforce_file_format=True)
        reader = gdcm.ImageReader()
        reader.SetFileName(str(src))
        if not reader.Read():
            raise RuntimeError("GDCM cannot read the native sample")
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        if not change.Change():
            raise RuntimeError("GDCM cannot encode JPEG Lossless SV1")
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(dst))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        if not writer.Write():
            raise RuntimeError("GDCM cannot write the SV1 sample")
        encoded = dcmread(dst)
        return next(generate_frames(encoded.PixelData, number_of_frames=1))


def build(sample: Sample) -> Dataset:
    """The sample's dataset with its pixel data encoded in its transfer syntax."""
    ds = base_dataset(sample)
    image = reference_image(sample.bits)
    ts = sample.transfer_syntax
    if ts in (U.ExplicitVRLittleEndian, U.ImplicitVRLittleEndian, U.DeflatedExplicitVRLittleEndian):
        _native(ds, image, big_endian=False)
    elif ts == U.ExplicitVRBigEndian:
        _native(ds, image, big_endian=True)
    elif ts in (U.RLELossless, U.JPEGLSLossless, U.JPEG2000Lossless):
        plugin = {U.RLELossless: "pylibjpeg", U.JPEGLSLossless: "pyjpegls",
                  U.JPEG2000Lossless: "pylibjpeg"}[ts]
        ds.compress(ts, image, encoding_plugin=plugin, generate_instance_uid=False)
    elif ts == U.JPEGBaseline8Bit:
        _encapsulated(ds, _jpeg_baseline(image))
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    elif ts == U.JPEGLossless:
        import imagecodecs

        _encapsulated(ds, bytes(imagecodecs.ljpeg_encode(image, bitspersample=sample.bits)))
    elif ts == U.JPEGLosslessSV1:
        _encapsulated(ds, _sv1_with_gdcm(sample, image))
    elif ts == U.HTJ2KLossless:
        import imagecodecs

        _encapsulated(ds, bytes(imagecodecs.htj2k_encode(image, reversible=True)))
    else:
        raise ValueError(f"no sample writer for transfer syntax {ts}")
    return ds


def build_text_sample() -> Dataset:
    """The text finder's sample: synthetic patient text burned into a small native image."""
    from PIL import ImageDraw, ImageFont

    from desktop_client.selftest import TEXT_SAMPLE, TEXT_SAMPLE_LINE

    ds = base_dataset(Sample(TEXT_SAMPLE, U.ExplicitVRLittleEndian, bits=8))
    ds.Rows, ds.Columns = 96, 320
    canvas = Image.fromarray((40 + 30 * np.sin(np.arange(320) / 17.0)[None, :].repeat(96, 0)).astype(np.uint8))
    ImageDraw.Draw(canvas).text((10, 30), TEXT_SAMPLE_LINE, fill=240, font=ImageFont.load_default(size=18))
    _native(ds, np.asarray(canvas), big_endian=False)
    return ds


def main() -> int:
    DATA_DIR.mkdir(exist_ok=True)
    from desktop_client.selftest import TEXT_SAMPLE

    build_text_sample().save_as(DATA_DIR / TEXT_SAMPLE, enforce_file_format=True)
    total = 0
    for sample in SAMPLES:
        ds = build(sample)
        path = DATA_DIR / sample.filename
        ds.save_as(path, enforce_file_format=True)
        size = path.stat().st_size
        total += size
        print(f"{sample.filename:24} {U.UID(sample.transfer_syntax).name:60} {size:7d} bytes")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
