"""Size sanity before decoding: what the header declares against the bytes present and the budget.

Why: decoders allocate what they are told. A forged Rows × Columns × Number of Frames made pydicom
allocate gigabytes, and a JPEG-LS frame whose own header disagrees with the DICOM header made
CharLS abort the process. Every check here reads a few header bytes, allocates nothing, and
refuses with a sentence that says what is inconsistent:

* the decoded size (frames × rows × columns × samples × bytes) against the memory budget;
* native Pixel Data: the declared frames against the bytes present (nothing is copied first);
* compressed frames: the dimensions in the first frame's own header (JPEG / JPEG-LS SOF,
  JPEG 2000 / HTJ2K SIZ) against Rows and Columns; an RLE frame cannot expand more than 64×
  (one 2-byte packet per 128-byte run), so a frame that would is refused.
"""

from __future__ import annotations

import struct

from pydicom import uid as U
from pydicom.dataset import Dataset

from desktop_client.core.limits import too_large_reason
from desktop_client.core.transfer_syntaxes import NATIVE
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel

_JPEG_FAMILY = frozenset({U.JPEGBaseline8Bit, U.JPEGExtended12Bit, U.JPEGLossless, U.JPEGLosslessSV1,
                          U.JPEGLSLossless, U.JPEGLSNearLossless})
_J2K_FAMILY = frozenset({U.JPEG2000Lossless, U.JPEG2000, U.HTJ2KLossless, U.HTJ2KLosslessRPCL, U.HTJ2K})
#: Start-of-frame markers (ITU T.81 B.1.1.3, T.87 SOF55) whose segment gives the frame's size.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7})
#: Largest expansion of an RLE segment: a 2-byte packet repeats one byte 128 times (PS3.5 G.3.1).
_RLE_MAX_RATIO = 64


def check_declared_size(ds: Dataset, ts: str, model: ImageModel) -> None:
    """Refuse, before decoding or copying, an image whose declared size is implausible."""
    reason = too_large_reason(f"decoding its pixel data ({model.frames} frame(s) of {model.rows} × "
                              f"{model.columns})", model.decoded_bytes)
    if reason:
        raise RedactionError(f"the image is too large to redact: {reason}")
    data = ds.get("PixelData")  # the value (a keyword lookup)
    if not data:
        return
    if ts in NATIVE:
        needed = model.native_frame_bits * model.frames // 8
        if len(data) < needed:
            raise RedactionError(f"Pixel Data holds {len(data):,} bytes but {model.frames} frame(s) of "
                                 f"{model.rows} × {model.columns} need {needed:,}")
        return
    first = _first_fragment(data)
    if first is None:
        return  # no fragment to look at: the decoder reports what is wrong
    frame_bytes = model.rows * model.columns * model.samples * max(1, model.bits_allocated // 8)
    if ts == U.RLELossless and frame_bytes > _RLE_MAX_RATIO * len(first) + 64:
        raise RedactionError(f"the first RLE frame holds {len(first):,} bytes, which cannot expand to the "
                             f"{model.rows} × {model.columns} image the header declares")
    size = _jpeg_size(first) if ts in _JPEG_FAMILY else _j2k_size(first) if ts in _J2K_FAMILY else None
    if size is not None and size != (model.columns, model.rows):
        raise RedactionError(f"the compressed frame is {size[0]} × {size[1]} pixels but the header says "
                             f"{model.columns} × {model.rows} (Columns × Rows)")


def _first_fragment(data: bytes) -> bytes | None:
    """The first data fragment after the Basic Offset Table (PS3.5 A.4), without copying the rest."""
    view = memoryview(data)
    pos = 0
    for index in range(2):
        if pos + 8 > len(view) or bytes(view[pos:pos + 4]) != b"\xfe\xff\x00\xe0":
            return None
        (length,) = struct.unpack_from("<I", view, pos + 4)
        pos += 8
        if index == 1:
            return bytes(view[pos:pos + min(length, 1 << 20)])  # headers are at the start
        pos += length
    return None


def _jpeg_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOF segment of a JPEG / JPEG-LS stream; None when absent."""
    if frame[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(frame):
        if frame[pos] != 0xFF:
            return None
        marker = frame[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", frame, pos + 2)
        if marker in _SOF and pos + 9 <= len(frame):
            height, width = struct.unpack_from(">HH", frame, pos + 5)
            return (width, height) if height else None  # height 0: given later by DNL
        if marker == 0xDA:  # start of scan before any SOF
            return None
        pos += 2 + length
    return None


def _j2k_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from the SIZ segment of a JPEG 2000 / HTJ2K codestream (JP2 wrapped too)."""
    at = frame.find(b"\xff\x4f\xff\x51")
    if at < 0 or at + 4 + 18 > len(frame):
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack_from(">IIII", frame, at + 8)
    return (xsiz - xosiz, ysiz - yosiz)
