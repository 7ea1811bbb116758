"""Write the self-test samples (``desktop_client/selftest_data/*.dcm``), one per transfer syntax.

Run from the repository root with the project's virtual environment::

    .venv/bin/python packaging/make_selftest_samples.py

Every sample stores ``desktop_client.selftest.reference_image`` in a synthetic Secondary Capture
object with fixed UIDs (names are ``SELFTEST^SAMPLE``, never patient data), so the output is
reproducible and the self-test can compare decoded pixels with the reference exactly. The
encoders are independent of the pixel engine under test where possible:

* native syntaxes, RLE, JPEG-LS, JPEG 2000: the shared synthetic DICOM factory
  (``tests.dicomfactory`` on ``desktop_client.demo.writer``: Big Endian words swapped by hand, the
  others through pydicom's encoders pylibjpeg-rle, pyjpegls, pylibjpeg-openjpeg);
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
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_client.selftest import DATA_DIR, SAMPLES, Sample, reference_image  # noqa: E402
from tests.dicomfactory import image as synthetic_image  # noqa: E402  (the one synthetic DICOM factory)

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
IMPLEMENTATION_CLASS_UID = U.generate_uid(entropy_srcs=["xnat-desktop-uploader", "selftest", "impl"])


def _uid(*parts: str) -> U.UID:
    return U.generate_uid(entropy_srcs=["xnat-desktop-uploader", "selftest", *parts])


def base_dataset(filename: str, pixels: np.ndarray, bits: int,
                 transfer_syntax: str = U.ExplicitVRLittleEndian) -> Dataset:
    """A sample's Secondary Capture object holding ``pixels``, from the shared synthetic DICOM
    factory (``tests.dicomfactory``): deterministic UIDs, synthetic names, the pixels native or in
    one of the syntaxes the demo writer encodes (``transfer_syntax``)."""
    rows, columns = pixels.shape
    ds = synthetic_image(
        modality="OT", sop_class=SECONDARY_CAPTURE, study_uid=_uid("study"), series_uid=_uid("series"),
        sop_uid=_uid(filename), series_number=1, instance_number=1, patient_name="SELFTEST^SAMPLE",
        patient_id="SELFTEST", study_date="20000101", study_time="000000", accession="", study_id="1",
        study_description="Self-test", series_description="Self-test sample", rows=rows, columns=columns,
        bits_allocated=bits, bits_stored=bits, pixels=pixels, transfer_syntax=transfer_syntax,
        extra={"InstitutionName": "Self-test Institution", "ConversionType": "SYN"})
    _meta(ds, transfer_syntax)
    return ds


def _meta(ds: Dataset, transfer_syntax: str) -> None:
    """The file meta says the self-test wrote it and in which syntax the Pixel Data now is."""
    ds.file_meta.TransferSyntaxUID = U.UID(transfer_syntax)
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = "XNATSELFTEST"


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

    native = base_dataset("native.dcm", image, sample.bits)
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


#: Syntaxes the demo writer encodes (``desktop_client.demo.writer``: native by hand, RLE, JPEG-LS
#: and JPEG 2000 through pydicom's encoders); the rest are encapsulated here.
_FACTORY_SYNTAXES = (U.ExplicitVRLittleEndian, U.ImplicitVRLittleEndian, U.ExplicitVRBigEndian,
                     U.RLELossless, U.JPEGLSLossless, U.JPEG2000Lossless)


def build(sample: Sample) -> Dataset:
    """The sample's dataset with its pixel data encoded in its transfer syntax."""
    ts = sample.transfer_syntax
    image = reference_image(sample.bits)
    if ts in _FACTORY_SYNTAXES:
        return base_dataset(sample.filename, image, sample.bits, ts)
    ds = base_dataset(sample.filename, image, sample.bits)
    if ts == U.DeflatedExplicitVRLittleEndian:
        pass  # native pixels; pydicom deflates the whole data set on writing
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
    _meta(ds, ts)
    return ds


def build_text_sample() -> Dataset:
    """The text finder's sample: synthetic patient text burned into a small native image."""
    from PIL import ImageDraw, ImageFont

    from desktop_client.selftest import TEXT_SAMPLE, TEXT_SAMPLE_LINE

    canvas = Image.fromarray((40 + 30 * np.sin(np.arange(320) / 17.0)[None, :].repeat(96, 0)).astype(np.uint8))
    ImageDraw.Draw(canvas).text((10, 30), TEXT_SAMPLE_LINE, fill=240, font=ImageFont.load_default(size=18))
    return base_dataset(TEXT_SAMPLE, np.asarray(canvas), bits=8)


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
