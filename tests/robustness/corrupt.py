"""Malformed inputs, built from real files: each reproduces one failure seen in the field.

Shared by the regression tests, the bounded fuzz test in the suite and ``bench/fuzz.py``. Every
builder is deterministic (a seed where it draws), writes only under the folder it is given and
returns the paths it wrote.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

VRS = [b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"OB", b"OD",
       b"OF", b"OL", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"TM", b"UC", b"UI", b"UL", b"UN",
       b"UR", b"US", b"UT"]


def testdata(name: str) -> str:
    """A file shipped with pydicom or pydicom-data (installed by the test extra)."""
    path = get_testdata_file(name, download=False)
    if path is None:
        raise FileNotFoundError(name)
    return str(path)


def deid(name: str) -> str:
    import deid_data

    return str(Path(deid_data.__file__).parent / "data" / name)


def small_image(*, seed: int = 0, rows: int = 16, columns: int = 16, pixels: bool = True) -> Dataset:
    """A valid little secondary-capture image, explicit VR little endian (``pixels=False``: no Pixel Data)."""
    sop = generate_uid(entropy_srcs=[f"robust-sop-{seed}"])
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["robust-study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["robust-series"])
    ds.PatientName = "ROBUST^TEST"
    ds.PatientID = "R1"
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if pixels:
        ds.PixelData = (bytes(range(256)) * (rows * columns // 256 + 1))[seed % 256:][:rows * columns]
    ds.set_original_encoding(False, True)
    return ds


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---- the field reports, one builder each ---------------------------------------------------------


def bad_meta_group_length(path: Path) -> Path:
    """(0002,0000) File Meta Group Length with a 2-byte value: pydicom's ``BytesLengthException``."""
    data = bytearray(to_bytes(small_image(seed=1)))
    at = data.index(b"\x02\x00\x00\x00UL", 128)
    data[at + 6:at + 12] = b"\x02\x00" + b"\xff\xff"  # length 2, then the value's first bytes
    del data[at + 10:at + 12]
    return write(path, bytes(data))


def set_transfer_syntax(data: bytes, uid: str) -> bytes:
    """``data`` (a Part-10 file) claiming ``uid`` in its file meta; the dataset bytes are unchanged."""
    at = data.index(b"\x02\x00\x10\x00UI", 128)
    old_length = struct.unpack_from("<H", data, at + 6)[0]
    value = uid.encode() + (b"\x00" if len(uid) % 2 else b"")
    out = bytearray(data[:at] + b"\x02\x00\x10\x00UI" + struct.pack("<H", len(value)) + value
                    + data[at + 8 + old_length:])
    group = out.index(b"\x02\x00\x00\x00UL\x04\x00", 128)
    length = struct.unpack_from("<I", out, group + 8)[0]
    struct.pack_into("<I", out, group + 8, length + len(value) - old_length)
    return bytes(out)


def fake_deflated(path: Path) -> Path:
    """Transfer Syntax says Deflated Explicit VR Little Endian, the dataset is not deflated: ``zlib.error``."""
    return write(path, set_transfer_syntax(to_bytes(small_image(seed=2)), "1.2.840.10008.1.2.1.99"))


def invalid_transfer_syntax(path: Path) -> Path:
    """A Transfer Syntax UID that is no transfer syntax at all (pydicom: 'str' has no 'is_private')."""
    return write(path, set_transfer_syntax(to_bytes(small_image(seed=3)), "1.2.3.4.5.6.7.8.9.0"))


def false_explicit_vr(path: Path) -> Path:
    """pydicom's SC_rgb_jpeg.dcm: its explicit-VR claim is false; saving it raises ``TypeError``."""
    return write(path, Path(testdata("SC_rgb_jpeg.dcm")).read_bytes())


def rle_panic(path: Path) -> Path:
    """An RLE segment offset one past the end: the Rust RLE decoder panics (``PanicException``)."""
    ds = pydicom.dcmread(testdata("MR_small_RLE.dcm"))
    frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    frame[8] = 40
    ds.PixelData = encapsulate([bytes(frame)])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["robust-panic"])
    return write(path, to_bytes(ds))


def charls_abort(path: Path) -> Path:
    """A JPEG-LS frame whose SOF declares 65,535 × 65,535: CharLS aborts the process (SIGABRT)."""
    ds = pydicom.dcmread(testdata("JPEGLSNearLossless_16.dcm"))
    frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    at = frame.index(b"\xff\xf7")
    struct.pack_into(">HH", frame, at + 5, 65535, 65535)
    ds.PixelData = encapsulate([bytes(frame)])
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["robust-abort-study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["robust-abort-series"])
    return write(path, to_bytes(ds))


def deep_nesting(path: Path, depth: int = 3000) -> Path:
    """A sequence nested ``depth`` deep (undefined lengths): ``RecursionError`` in recursive readers."""
    head = to_bytes(small_image(seed=4))
    pixel = head.index(b"\xe0\x7f\x10\x00")
    seq_open = b"\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    seq_close = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    # (0008,1115) Referenced Series Sequence sorts before (7FE0,0010); items nest the same sequence.
    return write(path, head[:pixel] + seq_open * depth + seq_close * depth + head[pixel:])


def huge_pixel_zip(path: Path, declared_mib: int = 1024) -> Path:
    """A small zip holding a DICOM whose Pixel Data really inflates to ``declared_mib`` MiB of zeros."""
    side = 32768
    frames = max(1, declared_mib * 1024 * 1024 // (side * side))
    ds = small_image(seed=5, rows=side, columns=side, pixels=False)
    ds.NumberOfFrames = frames
    head = to_bytes(ds)
    size = side * side * frames
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("study/bomb.dcm", "w", force_zip64=True) as member:
            member.write(head + b"\xe0\x7f\x10\x00OB\x00\x00" + struct.pack("<I", size))
            chunk = bytes(16 * 1024 * 1024)
            left = size
            while left:
                member.write(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
    return path


def huge_dimensions(path: Path) -> Path:
    """A 2 KB file declaring 65,535 × 65,535 × 1,000 frames of 16-bit colour."""
    ds = small_image(seed=6)
    ds.Rows = ds.Columns = 65535
    ds.NumberOfFrames = 1000
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    return write(path, to_bytes(ds))


def zip_slip(path: Path) -> Path:
    """A zip whose members' names climb out of any extraction folder."""
    good = to_bytes(small_image(seed=7))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../../escape.dcm", good)
        zf.writestr("/abs/escape.dcm", good)
        zf.writestr("inner/ok.dcm", to_bytes(small_image(seed=8)))
    return path


def nested_zip(path: Path) -> Path:
    """A zip inside a zip inside a zip."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.dcm", to_bytes(small_image(seed=9)))
    middle = io.BytesIO()
    with zipfile.ZipFile(middle, "w") as zf:
        zf.writestr("inner.zip", inner.getvalue())
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("middle.zip", middle.getvalue())
        zf.writestr("top.dcm", to_bytes(small_image(seed=10)))
    return path


# ---- random mutations for the fuzz runs ----------------------------------------------------------


def _element_offsets(data: bytes) -> list[int]:
    """Offsets that look like explicit-VR element headers (tag + a known VR)."""
    found = []
    start = 132 if data[128:132] == b"DICM" else 0
    for i in range(start, min(len(data) - 8, 64 * 1024)):
        if data[i + 4:i + 6] in VRS and data[i + 1] == 0 and data[i] % 2 == 0:
            found.append(i)
    return found


def mutate(data: bytes, rnd: random.Random) -> tuple[str, bytes]:
    """One random mutation of a DICOM file: (kind, mutated bytes)."""
    kind = rnd.choice(["truncate", "flip", "length", "wrong-vr", "unknown-vr", "transfer-syntax",
                       "dimensions"])
    buf = bytearray(data)
    offsets = _element_offsets(data)
    if kind == "truncate":
        return kind, bytes(buf[:rnd.randrange(1, max(2, len(buf)))])
    if kind == "flip" or not offsets:
        limit = min(len(buf), 2048)
        for _ in range(rnd.randint(1, 8)):
            buf[rnd.randrange(limit)] = rnd.randrange(256)
        return "flip", bytes(buf)
    at = rnd.choice(offsets)
    if kind == "length":
        vr = bytes(buf[at + 4:at + 6])
        if vr in (b"OB", b"OD", b"OF", b"OL", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"):
            value = rnd.choice([0xFFFFFFF0, 0x7FFFFFFF, len(buf) * 2, 1, 3])
            struct.pack_into("<I", buf, at + 8, value)
        else:
            struct.pack_into("<H", buf, at + 6, rnd.choice([0xFFFF, 0xFFF1, 1, 3, len(buf) % 0xFFFF]))
        return kind, bytes(buf)
    if kind == "wrong-vr":
        buf[at + 4:at + 6] = rnd.choice(VRS)
        return kind, bytes(buf)
    if kind == "unknown-vr":
        buf[at + 4:at + 6] = rnd.choice([b"ZZ", b"\x00\x00", b"??", b"xy"])
        return kind, bytes(buf)
    if kind == "transfer-syntax":
        uids = [b"1.2.840.10008.1.2\x00", b"1.2.840.10008.1.2.2", b"1.2.840.10008.1.2.5",
                b"1.2.840.10008.1.2.4.50", b"1.2.840.10008.1.2.4.80", b"1.2.840.10008.1.2.4.90",
                b"1.2.840.10008.1.2.1.99", b"9.9.9\x00", b"\x00" * 8]
        for old in (b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2\x00\x00"):
            if old in buf[:1024]:
                new = rnd.choice(uids)
                new = (new + b"\x00" * len(old))[:len(old)]
                return kind, bytes(buf).replace(old, new, 1)
        return kind, bytes(buf)
    # dimensions: Rows / Columns / Number of Frames / Bits Allocated set absurd
    for tag in (b"\x28\x00\x10\x00US\x02\x00", b"\x28\x00\x11\x00US\x02\x00"):
        i = buf.find(tag)
        if i >= 0:
            struct.pack_into("<H", buf, i + 8, rnd.choice([65535, 0, 1, 40000]))
    i = buf.find(b"\x28\x00\x00\x01US\x02\x00")
    if i >= 0 and rnd.random() < 0.3:
        struct.pack_into("<H", buf, i + 8, rnd.choice([0, 12, 24, 64]))
    return kind, bytes(buf)


def corpus_files() -> list[str]:
    """Real files to mutate: pydicom's test files, pydicom-data's and deid-data's."""
    names = ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
             "JPEGLSNearLossless_16.dcm", "JPEG-LL.dcm", "SC_rgb.dcm", "SC_rgb_rle.dcm",
             "SC_rgb_jpeg_gdcm.dcm", "US1_UNCR.dcm", "rtplan.dcm", "ExplVR_BigEnd.dcm",
             "image_dfl.dcm", "MR2_J2KI.dcm", "emri_small.dcm", "SC_ybr_full_uncompressed.dcm",
             "OBXXXX1A.dcm", "JPEG2000.dcm", "examples_ybr_color.dcm"]
    files = []
    for name in names:
        try:
            files.append(testdata(name))
        except (FileNotFoundError, ValueError):
            continue
    for name in ("dicom-cookies/image1.dcm", "dicom-cookies/image2.dcm", "humans/ctbrain1.dcm"):
        path = Path(deid(name))
        if path.exists():
            files.append(str(path))
    return files
