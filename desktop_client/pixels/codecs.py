"""Which library decodes and encodes each transfer syntax, frame by frame.

Choices are by Transfer Syntax UID only. Every frame is decoded with ``raw=True`` (no YBR→RGB
conversion in NumPy: slow, lossy and the trigger for pydicom's silent new SOP Instance UID), so the
decoded array keeps the stored colour space except where the codec itself removes it (JPEG 2000
multi-component transforms → RGB; JPEG decoders upsample 4:2:x chroma → YBR_FULL).

Verification decodes the *output* with a different implementation than the one that encoded it
whenever two exist, so an encoder bug cannot vouch for itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
from pydicom import uid as U
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder, get_encoder

from desktop_client.core.errors import one_line
from desktop_client.core.transfer_syntaxes import NATIVE
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import FrameOptions, ImageModel

#: Plugin used to decode *input* frames (fastest first; pydicom falls back if unavailable).
_DECODE_PLUGIN: dict[str, str] = {
    U.RLELossless: "pylibjpeg",
    U.JPEGLSLossless: "pyjpegls",
    U.JPEGLSNearLossless: "pyjpegls",
    U.JPEG2000Lossless: "pylibjpeg",
    U.JPEG2000: "pylibjpeg",
    U.HTJ2KLossless: "pylibjpeg",
    U.HTJ2KLosslessRPCL: "pylibjpeg",
    U.HTJ2K: "pylibjpeg",
    U.JPEGBaseline8Bit: "pillow",
    U.JPEGExtended12Bit: "pillow",
    U.JPEGLossless: "gdcm",
    U.JPEGLosslessSV1: "gdcm",
}

#: Plugin used to decode *output* frames for verification: never the encoder's own library.
_VERIFY_PLUGIN: dict[str, str] = {
    U.JPEGLSLossless: "gdcm",
    U.JPEG2000Lossless: "gdcm",
    U.JPEGLossless: "gdcm",
    U.JPEGLosslessSV1: "gdcm",
    U.JPEGBaseline8Bit: "gdcm",
    U.HTJ2KLossless: "pylibjpeg",       # openjpeg decodes what OpenJPH encoded
    U.HTJ2KLosslessRPCL: "pylibjpeg",
}

#: RLE encoders in order of preference (GDCM is the fastest and independent of the decoders).
_RLE_ENCODERS = ("gdcm", "pylibjpeg", "pydicom")

_JPEG_FAMILY = frozenset({U.JPEGBaseline8Bit, U.JPEGExtended12Bit, U.JPEGLossless, U.JPEGLosslessSV1})


def _encode_pydicom(ts: str, plugins: tuple[str, ...]) -> Callable[[np.ndarray, ImageModel], bytes]:
    """pydicom frame encoder trying ``plugins`` in order (they differ in the bit depths they take)."""
    def encode(arr: np.ndarray, model: ImageModel) -> bytes:
        kwargs = model.decode_kwargs()
        if model.samples > 1:
            kwargs["planar_configuration"] = 0
        errors: list[str] = []
        for plugin in plugins:
            try:
                # pydicom's validator rejects legal RLE layouts (32-bit RGB = 12 of the 15 allowed
                # segments); every frame is re-decoded and compared afterwards anyway.
                return get_encoder(ts).encode(np.ascontiguousarray(arr), encoding_plugin=plugin,
                                              validate=ts != U.RLELossless, **kwargs)
            except Exception as exc:
                errors.append(f"{plugin}: {exc}")
        raise RedactionError("; ".join(errors))
    return encode


def _encode_ljpeg(arr: np.ndarray, model: ImageModel) -> bytes:
    """JPEG Lossless first-order prediction (SV1), valid for both .57 and .70 (see ``ljpeg``)."""
    from desktop_client.pixels.ljpeg import encode_sv1

    return encode_sv1(arr, max(2, model.bits_stored))


def _encode_htj2k(tlm: bool) -> Callable[[np.ndarray, ImageModel], bytes]:
    """HTJ2K reversible (5/3) via OpenJPH (imagecodecs): RPCL progression, TLM markers for .202.

    The colour transform (RCT) is used exactly when the image is described as YBR_RCT.
    """
    def encode(arr: np.ndarray, model: ImageModel) -> bytes:
        import imagecodecs

        colour = model.samples == 3 and model.photometric == "YBR_RCT"
        return bytes(imagecodecs.htj2k_encode(np.ascontiguousarray(arr), reversible=True, rgb=colour,
                                              tlm=tlm or None))
    return encode


def encoder_for(ts: str) -> Callable[[np.ndarray, ImageModel], bytes] | None:
    """Frame encoder that writes ``ts`` losslessly, or None when we have none."""
    if ts == U.RLELossless:
        enc = get_encoder(ts)
        plugins = tuple(p for p in _RLE_ENCODERS if p in enc._available)  # noqa: SLF001
        return _encode_pydicom(ts, plugins) if plugins else None
    if ts in (U.JPEGLSLossless, U.JPEG2000Lossless):
        enc = get_encoder(ts)
        if not enc.is_available:
            return None
        return _encode_pydicom(ts, ("pyjpegls",) if ts == U.JPEGLSLossless else ("pylibjpeg",))
    if ts in (U.JPEGLossless, U.JPEGLosslessSV1):
        return _encode_ljpeg
    if ts in (U.HTJ2KLossless, U.HTJ2KLosslessRPCL):
        try:
            import imagecodecs
        except ImportError:
            return None
        return _encode_htj2k(ts == U.HTJ2KLosslessRPCL) if imagecodecs.HTJ2K.available else None
    return None


@dataclass(frozen=True, slots=True)
class DecodedFrames:
    """Lazily decoded frames and the image model their arrays follow."""

    model: ImageModel
    frames: Iterator[np.ndarray]


def _decoded_pi(ts: str, stored_pi: str, meta_pi: str) -> str:
    if ts in (U.JPEGBaseline8Bit, U.JPEGExtended12Bit) and stored_pi.startswith("YBR"):
        return "YBR_FULL"  # JPEG decoders return full-resolution Y, Cb, Cr
    return meta_pi or stored_pi


def _native_422_frames(data: bytes, model: ImageModel, count: int) -> DecodedFrames:
    """Native YBR_FULL_422 / YBR_PARTIAL_422 (``Y0 Y1 Cb Cr`` per pixel pair) to full-resolution
    Y, Cb, Cr frames, each pair's chroma given to both of its pixels.

    Done here rather than by pydicom, whose frame iterator mis-sizes every frame after the
    first of a 4:2:2 cine and which does not read YBR_PARTIAL_422 at all; the layout is simple
    enough that the upsampling is two slices and a repeat.
    """
    rows, cols, width = model.rows, model.columns, (model.columns + 1) // 2
    if model.bits_allocated != 8:
        raise RedactionError(f"PhotometricInterpretation of {model.photometric} with BitsAllocated of "
                             f"{model.bits_allocated} is not a layout this understands, cannot alter pixels.")
    frame_bytes = rows * width * 4  # an odd width ends with a pair whose second luma is padding
    if len(data) < frame_bytes * count:
        raise RedactionError(f"Pixel Data holds {len(data) // frame_bytes} whole frame(s) but {count} are needed")

    def frames() -> Iterator[np.ndarray]:
        for index in range(count):
            pairs = np.frombuffer(data, np.uint8, count=frame_bytes, offset=index * frame_bytes)
            pairs = pairs.reshape(rows, width, 4)
            out = np.empty((rows, width * 2, 3), np.uint8)
            out[:, 0::2, 0] = pairs[..., 0]
            out[:, 1::2, 0] = pairs[..., 1]
            out[..., 1] = np.repeat(pairs[..., 2], 2, axis=1)
            out[..., 2] = np.repeat(pairs[..., 3], 2, axis=1)
            yield out[:, :cols]

    decoded_pi = "YBR_FULL" if model.photometric == "YBR_FULL_422" else model.photometric
    return DecodedFrames(replace(model, photometric=decoded_pi, planar=0, frames=count), frames())


def decode_frames(source: Dataset | bytes, ts: str, model: ImageModel, count: int, *,
                  plugin: str | None = None, view_only: bool = False) -> DecodedFrames:
    """Decode ``count`` frames of ``source`` (a Dataset, or Pixel Data bytes described by ``model``).

    Returns the model of the decoded arrays (photometric interpretation may change, planar is
    always 0) and an iterator of frames; nothing beyond one frame is held in memory. With
    ``view_only``, native frames may be read-only views of ``source`` (no copy): for checks that
    only read.
    """
    if ts in NATIVE and model.is_ybr_422_native:
        data = source.PixelData if isinstance(source, Dataset) else source
        return _native_422_frames(bytes(data), model, count)
    decoder = get_decoder(ts)
    chosen = plugin if plugin is not None else _DECODE_PLUGIN.get(ts, "")
    if chosen and chosen not in decoder._available:  # noqa: SLF001
        chosen = ""
    if not decoder.is_available:
        raise RedactionError(f"no decoder is installed for {U.UID(ts).name}")
    kwargs = FrameOptions(view_only=True) if view_only and ts in NATIVE else FrameOptions()
    if not isinstance(source, Dataset):
        kwargs.update(model.decode_kwargs())
        kwargs.update(FrameOptions(number_of_frames=count, pixel_keyword="PixelData"))
    if model.bits_allocated == 1:
        # pydicom 3.0 iter_array mis-slices frames that do not start on a byte boundary; 1-bit
        # images are small, so decode them whole (as_array handles the bit offsets correctly).
        try:
            whole, meta = decoder.as_array(source, raw=True, **kwargs)  # type: ignore[arg-type]  # pydicom types **kwargs as DecodeOptions, no Unpack
        except Exception as exc:
            raise RedactionError(f"the pixel data cannot be decoded ({type(exc).__name__}: {exc})") from None
        whole = whole.reshape(-1, model.rows, model.columns)
        return DecodedFrames(replace(model, frames=count), iter(list(whole)))
    first: np.ndarray | None = None
    iterator: Iterator[tuple[np.ndarray, dict[str, str | int]]] = iter(())
    failure = ""
    for attempt in dict.fromkeys((chosen, "")):  # preferred plugin, then any plugin that can
        try:
            if count == 1 and ts not in NATIVE:  # 3.0 iter_array+gdcm fails on signed JPEG-LS
                first, meta = decoder.as_array(source, raw=True, decoding_plugin=attempt, **kwargs)  # type: ignore[arg-type]  # pydicom types **kwargs as DecodeOptions, no Unpack
            else:
                iterator = decoder.iter_array(source, raw=True, decoding_plugin=attempt, **kwargs)
                first, meta = next(iterator)
            break
        except StopIteration:
            raise RedactionError("the image has no frames to decode") from None
        except Exception as exc:
            failure = one_line(exc)
    if first is None:
        if ts in _JPEG_FAMILY:  # e.g. 12-bit JPEG Extended, which pydicom's free plugins refuse
            data = source.PixelData if isinstance(source, Dataset) else source
            return _imagecodecs_frames(bytes(data), ts, model, count)
        raise RedactionError(f"the pixel data cannot be decoded ({failure})")
    pi = _decoded_pi(ts, model.photometric, str(meta.get("photometric_interpretation") or ""))
    decoded = replace(model, photometric=pi, planar=0, frames=count,
                          bits_stored=int(meta.get("bits_stored") or model.bits_stored),
                          pixel_representation=int(meta.get("pixel_representation", model.pixel_representation)))

    def frames() -> Iterator[np.ndarray]:
        yield first
        produced = 1
        try:
            for arr, _ in iterator:
                produced += 1
                yield arr
        except Exception as exc:
            raise RedactionError(f"frame {produced + 1} cannot be decoded ({type(exc).__name__}: {exc})") from None
        if produced < count:
            raise RedactionError(f"only {produced} of {count} frames could be decoded")

    return DecodedFrames(decoded, frames())


def _imagecodecs_frames(pixel_data: bytes, ts: str, model: ImageModel, count: int) -> DecodedFrames:
    """JPEG frames decoded by libjpeg-turbo (imagecodecs), which also reads 12-bit and lossless JPEG.

    Components are returned as stored (same in/out colour space); signed data are sign-extended
    from Bits Stored as pydicom's own decoders do.
    """
    try:
        import imagecodecs
    except ImportError:
        raise RedactionError(f"no decoder is installed for {U.UID(ts).name}") from None
    from pydicom.encaps import generate_frames

    size = max(1, model.bits_allocated // 8)
    dtype = np.dtype(f"{'i' if model.signed else 'u'}{size}")

    def frames() -> Iterator[np.ndarray]:
        produced = 0
        for frame in generate_frames(pixel_data, number_of_frames=count):
            space = "YCBCR" if model.samples == 3 else None
            try:
                arr = np.asarray(imagecodecs.jpeg8_decode(frame, colorspace=space, outcolorspace=space))
            except Exception as exc:
                raise RedactionError(f"frame {produced + 1} cannot be decoded ({exc})") from None
            if model.signed:
                wide = arr.astype(np.int64)
                half = 1 << (model.bits_stored - 1)
                arr = np.where(wide >= half, wide - (half << 1), wide)
            produced += 1
            yield arr.astype(dtype, copy=False)
        if produced < count:
            raise RedactionError(f"only {produced} of {count} frames could be decoded")

    pi = _decoded_pi(ts, model.photometric, model.photometric)
    return DecodedFrames(replace(model, photometric=pi, planar=0, frames=count), frames())


def decode_encapsulated(ds: Dataset, ts: str, model: ImageModel) -> DecodedFrames:
    """Decode every encapsulated frame, one at a time, *including frames beyond Number of Frames*.

    Frames are cut by pydicom's Basic/Extended Offset Table logic (as the DCT path does) and each
    is decoded on its own, so none is silently dropped and memory stays at one decoded frame.
    """
    from pydicom.encaps import generate_frames

    pieces = generate_frames(ds.PixelData, number_of_frames=model.frames)
    one = replace(model, frames=1)
    try:
        first_piece = next(pieces)
    except StopIteration:
        raise RedactionError("the image has no frames to decode") from None
    except Exception as exc:
        raise RedactionError(f"the encapsulated pixel data cannot be split into frames ({exc})") from None
    first = decode_frames(encapsulate_frames([first_piece]), ts, one, 1)

    def frames() -> Iterator[np.ndarray]:
        yield next(first.frames)
        index = 1
        try:
            for piece in pieces:
                index += 1
                yield next(decode_frames(encapsulate_frames([piece]), ts, one, 1).frames)
        except RedactionError as exc:
            raise RedactionError(f"frame {index}: {exc.reason}") from None
        except Exception as exc:
            raise RedactionError(f"frame {index} cannot be decoded ({exc})") from None

    return DecodedFrames(replace(first.model, frames=model.frames), frames())


def verify_plugin(ts: str) -> str:
    if ts == U.RLELossless:
        # GDCM encodes when present, so the fast pylibjpeg-rle decoder is independent of it;
        # otherwise pylibjpeg encodes and pydicom's own RLE decoder checks.
        available = get_encoder(ts)._available  # noqa: SLF001
        return "pylibjpeg" if "gdcm" in available else "pydicom"
    return _VERIFY_PLUGIN.get(ts, "")


def encapsulate_frames(frames: list[bytes]) -> bytes:
    """Encapsulated Pixel Data: Basic Offset Table + one fragment per frame, each padded to even length.

    The layout of pydicom's ``encapsulate(frames, has_bot=True)`` (PS3.5 A.4), assembled with one
    join: pydicom builds a bytearray and copies it into bytes, two whole copies of the stream at
    once, which for a long cine is the peak of the whole redaction. ``check_encapsulation`` splits
    the result with pydicom's own parser before it is used.
    """
    if sum(len(f) + 9 for f in frames) > 0xFFFFFFFF:  # offsets past 4 GiB: no Basic Offset Table
        return encapsulate(frames, fragments_per_frame=1, has_bot=True)  # pydicom raises the error
    offsets: list[int] = []
    pieces: list[bytes] = []
    position = 0
    for frame in frames:
        padded = len(frame) + len(frame) % 2
        offsets.append(position)
        pieces += (_ITEM + padded.to_bytes(4, "little"), frame, b"\x00" * (padded - len(frame)))
        position += 8 + padded
    table = b"".join(o.to_bytes(4, "little") for o in offsets)
    return b"".join([_ITEM, len(table).to_bytes(4, "little"), table, *pieces])


_ITEM = b"\xfe\xff\x00\xe0"  # (FFFE,E000) Item tag, little endian
