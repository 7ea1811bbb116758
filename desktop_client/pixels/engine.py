"""``redact_dataset``: paint rectangles into every frame, by the policy of the transfer syntax.

Policy (decided by Transfer Syntax UID, never by byte counts; see pixel-redaction.md §6b):

* native syntaxes: stored words edited in place (Big Endian is rewritten as Explicit VR Little);
* JPEG Baseline: 8×8/MCU blocks wiped in the DCT domain (no second generation of loss); if that
  path is unavailable the image is decoded and written losslessly (uncompressed) instead;
* lossless compressed syntaxes: decoded, painted and re-encoded in the *same* syntax, or refused
  when no encoder for it is installed;
* other lossy syntaxes: decoded, painted and written as Explicit VR Little Endian with the lossy
  history kept.

The new pixel bytes are verified (independent re-decode, lockstep against the decoded input with
the boxes painted) *before* the dataset is touched, so a refusal leaves ``ds`` unchanged. pydicom's
``decompress()``/``compress()`` are never used: they mint new SOP Instance UIDs.
"""

from __future__ import annotations

from dataclasses import replace

from typing import Sequence

from pydicom import uid as U
from pydicom import config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from desktop_client.core.errors import one_line
from desktop_client.core.geometry import PixelEdit
from desktop_client.core.transfer_syntaxes import JPEG_BASELINE, LOSSLESS_COMPRESSED, NATIVE, OTHER_LOSSY
from desktop_client.pixels import attributes as A
from desktop_client.pixels import bookkeeping, carriers, native
from desktop_client.pixels.codecs import (decode_encapsulated, decode_frames, encapsulate_frames, encoder_for,
                                          verify_plugin)
from desktop_client.pixels.errors import RedactionError, RedactionReport
from desktop_client.pixels.fills import fill_values, to_word
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.isolation import run_isolated
from desktop_client.pixels.outcome import Outcome, Painted, check_encapsulation
from desktop_client.pixels.regions import Box, clip_edits
from desktop_client.pixels.sanity import check_declared_size
from desktop_client.pixels.verify import (check_band_copy, check_frame, check_lockstep, paint_expected,
                                         stored_words)

PIXEL_DATA = 0x7FE00010

def transfer_syntax_of(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    ts = A.value(meta, A.TRANSFER_SYNTAX_UID) if meta is not None else None
    if not ts:
        raise RedactionError("the object has no Transfer Syntax UID, so its pixel encoding is unknown")
    return str(ts)


def _values(model: ImageModel, boxes: Sequence[Box], ds: Dataset) -> Painted:
    return [(box.rect, fill_values(model, box.fill, ds)) for box in boxes]


def _native(ds: Dataset, ts: str, model: ImageModel, boxes: Sequence[Box]) -> Outcome:
    raw = bytes(ds.PixelData)
    count = native.native_frame_count(raw, model)
    values = _values(model, boxes, ds)
    if ts == U.ExplicitVRBigEndian:
        size = model.bits_allocated // 8 if model.bits_allocated >= 16 else (2 if ds["PixelData"].VR == "OW" else 1)
        little = native.swap_words(raw, size)
        out_ts: str = U.ExplicitVRLittleEndian
    else:
        little, out_ts = raw, ts
    words = [(rect, tuple(to_word(v, model) for v in vals)) for rect, vals in values]
    new, regions, band = native.painted_copy(little, model, words, count)
    painted: Painted = [(region, vals) for region, (_, vals) in zip(regions, values)]
    big = ts == U.ExplicitVRBigEndian
    if band is not None and not big:
        # Only a band of rows was painted: it is checked pixel by pixel as whole stored words
        # (unused high bits included), by a reader separate from the painter's view; every byte
        # outside it must equal the input's.
        check_band_copy(raw, new, model, count, painted, band)
    elif model.samples == 1 and model.bits_allocated >= (16 if big else 8):
        # One word per pixel, row by row: the written bytes are read back as whole stored words
        # (unused high bits included) by a reader separate from the painter's view, and the
        # input straight from the dataset's bytes in their own byte order, so a wrong swap, fill
        # word or slice is caught. The complex layouts below go through pydicom's decoder.
        check_lockstep(iter(stored_words(raw, model, count, big_endian=big)),
                       iter(stored_words(new, model, count)), model, painted, count)
    elif big and count == model.frames:
        # Expected: the input decoded by pydicom from the dataset itself, with its own Big Endian
        # handling, so our byte swapping is checked too.
        expected = decode_frames(ds, ts, model, count)
        actual = decode_frames(new, U.ExplicitVRLittleEndian, model, count)
        check_lockstep(expected.frames, actual.frames, expected.model, painted, count)
    else:
        # Whole-word mode: the output is decoded by pydicom as if Bits Stored were Bits Allocated,
        # so unused high bits are compared too. The expected frames come from the input bytes
        # through our own layout view (no copy) where that layout is the plain one, or through
        # pydicom as well (1-bit, 4:2:2): two independent readings of the layout must agree.
        whole_words = replace(model, bits_stored=model.bits_allocated)
        actual = decode_frames(new, U.ExplicitVRLittleEndian, whole_words, count, view_only=True)
        if model.bits_allocated >= 8 and not model.is_ybr_422_native:
            expected_frames = iter(native.frames_view(little, model, count))
        else:
            expected_frames = decode_frames(little, U.ExplicitVRLittleEndian, whole_words, count).frames
        check_lockstep(expected_frames, actual.frames, actual.model, painted, count)
    return Outcome(new, out_ts, model, "native", count, False, painted)


def _encoded_model(ts: str, source: ImageModel, decoded: ImageModel) -> ImageModel:
    """Description of the re-encoded frames: same syntax, colour transform kept where the codec has one."""
    if ts in (U.JPEG2000Lossless, U.HTJ2KLossless, U.HTJ2KLosslessRPCL) and source.photometric == "YBR_RCT" \
            and decoded.photometric == "RGB":
        return replace(decoded, photometric="YBR_RCT")
    return decoded


def _reencode(ds: Dataset, ts: str, model: ImageModel, boxes: Sequence[Box]) -> Outcome:
    encoder = encoder_for(ts)
    if encoder is None:
        raise RedactionError(f"no encoder for {U.UID(ts).name} is installed, so the redacted image "
                             "cannot be written in its own transfer syntax")
    decoded = decode_encapsulated(ds, ts, model)
    dmodel = decoded.model
    out_model = _encoded_model(ts, model, dmodel)
    painted = _values(dmodel, boxes, ds)
    encoded: list[bytes] = []
    for index, arr in enumerate(decoded.frames):
        edited = paint_expected(arr, dmodel, painted)
        try:
            data = encoder(edited, out_model)
        except Exception as exc:
            raise RedactionError(f"re-encoding frame {index + 1} as {U.UID(ts).name} failed ({exc})") from None
        check = decode_frames(encapsulate_frames([data]), ts, replace(out_model, frames=1), 1,
                              plugin=verify_plugin(ts))
        check_frame(index, next(check.frames), edited, dmodel, painted)
        encoded.append(data)
    if len(encoded) < model.frames:
        raise RedactionError(f"only {len(encoded)} of {model.frames} frames were found")
    pixel = encapsulate_frames(encoded)
    check_encapsulation(pixel, encoded)
    return Outcome(pixel, ts, replace(out_model, frames=model.frames), "reencode", len(encoded), True, painted)


def decode_to_native(ds: Dataset, ts: str, model: ImageModel, boxes: Sequence[Box], method: str) -> Outcome:
    """Decode every frame, paint, and write Explicit VR Little Endian (each frame verified as written)."""
    decoded = decode_encapsulated(ds, ts, model)
    dmodel = decoded.model
    painted = _values(dmodel, boxes, ds)
    size = max(1, dmodel.bits_allocated // 8)
    kind = "i" if dmodel.signed else "u"
    chunks: list[bytes] = []
    for index, arr in enumerate(decoded.frames):
        edited = paint_expected(arr, dmodel, painted).astype(f"<{kind}{size}", copy=False)
        data = edited.tobytes()
        again = decode_frames(data, U.ExplicitVRLittleEndian, replace(dmodel, frames=1), 1)
        check_frame(index, next(again.frames), edited, dmodel, painted)
        chunks.append(data)
    if len(chunks) < model.frames:
        raise RedactionError(f"only {len(chunks)} of {model.frames} frames were found")
    pixel = b"".join(chunks)
    if len(pixel) % 2:
        pixel += b"\x00"
    return Outcome(pixel, U.ExplicitVRLittleEndian, replace(dmodel, frames=model.frames), method,
                   len(chunks), False, painted, lossy_input=ts not in LOSSLESS_COMPRESSED)


def _pixels(ds: Dataset, ts: str, model: ImageModel, boxes: Sequence[Box]) -> Outcome:
    if ts in NATIVE:
        return _native(ds, ts, model, boxes)
    if ts == JPEG_BASELINE:
        from desktop_client.pixels.dct import DctUnavailable, redact_jpeg_baseline

        try:
            return redact_jpeg_baseline(ds, model, boxes)
        except DctUnavailable as exc:
            outcome = decode_to_native(ds, ts, model, boxes, "lossy-to-lossless")
            outcome.notes.append(f"DCT-domain redaction unavailable ({exc}); written uncompressed")
            return outcome
    if ts in LOSSLESS_COMPRESSED:
        return _reencode(ds, ts, model, boxes)
    if ts in OTHER_LOSSY:
        return decode_to_native(ds, ts, model, boxes, "lossy-to-lossless")
    raise RedactionError(f"pixel data in {U.UID(ts).name or ts} cannot be decoded here, so it cannot be redacted")


def _pixels_isolated(ds: Dataset, ts: str, model: ImageModel, boxes: Sequence[Box]) -> Outcome:
    """:func:`_pixels`, in the codec helper process for compressed syntaxes (see isolation.py)."""
    if ts in NATIVE:
        return _pixels(ds, ts, model, boxes)
    return run_isolated(_pixels, light_copy(ds), ts, model, list(boxes), ts=ts, size=len(ds.PixelData or b""))


def light_copy(ds: Dataset) -> Dataset:
    """A plain Dataset sharing the elements of ``ds``: no file handle or read buffer is pickled."""
    light = Dataset(ds)
    light.file_meta = ds.file_meta
    light.set_original_encoding(*ds.original_encoding)
    return light


def _commit(ds: Dataset, ts_in: str, outcome: Outcome) -> None:
    if ts_in == U.ExplicitVRBigEndian:
        native.swap_dataset_words(ds)  # LUT/overlay words to little endian
    vr = "OB" if outcome.encapsulated or outcome.model.bits_allocated <= 8 else "OW"
    elem = DataElement(PIXEL_DATA, vr, outcome.pixel_data, validation_mode=config.IGNORE)  # bytes, checked
    elem.is_undefined_length = outcome.encapsulated
    ds[PIXEL_DATA] = elem
    if outcome.transfer_syntax != ts_in:
        ts = U.UID(outcome.transfer_syntax)
        ds.file_meta.TransferSyntaxUID = ts
        ds.set_original_encoding(ts.is_implicit_VR, ts.is_little_endian)
    bookkeeping.describe_pixels(ds, outcome.model)
    bookkeeping.drop_extended_offset_table(ds)
    if outcome.lossy_input:
        bookkeeping.record_lossy_history(ds)


def _identity(ds: Dataset) -> tuple[object, object]:
    meta = getattr(ds, "file_meta", None)
    return (A.value(ds, A.SOP_INSTANCE_UID),
            A.value(meta, A.MEDIA_STORAGE_SOP_INSTANCE_UID) if meta is not None else None)


def redact_dataset(ds: Dataset, edits: Sequence[PixelEdit], *, remove_overlays: bool = False) -> RedactionReport:
    """Redact ``edits`` (in script order) into every frame of ``ds``, in place, verified.

    Raises ``RedactionError`` when the object cannot be redacted or verified; ``ds`` is then left
    unchanged and the caller must quarantine the object.
    """
    edits = list(edits)
    report = RedactionReport()
    if not edits and not remove_overlays:
        report.transfer_syntax_uid = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", ""))
        return report
    identity = _identity(ds)
    outcome: Outcome | None = None
    ts_in = ""
    boxes: list[Box] = []
    if edits:
        try:
            model = ImageModel.from_dataset(ds)
            ts_in = transfer_syntax_of(ds)
            boxes, report.outside = clip_edits(edits, model.columns, model.rows)
            report.applied = [box.rect for box in boxes]
            report.frames = model.frames
            if boxes:
                check_declared_size(ds, ts_in, model)
                outcome = _pixels_isolated(ds, ts_in, model, boxes)
        except RedactionError:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # fail closed: any surprise (a codec library missing, a panic) quarantines
            raise RedactionError(f"the pixel data could not be redacted ({one_line(exc)})") from None
    # Everything verified: now change the dataset.
    if outcome is not None:
        _commit(ds, ts_in, outcome)
        report.method = outcome.method
        if outcome.method == "native":
            # What was really painted: native 4:2:2 boxes widened to whole chroma pairs (as XNAT
            # does), so the preview and the receipt name the pixels that changed.
            report.applied = [rect for rect, _ in outcome.painted]
        report.frames = outcome.frames
        report.notes.extend(outcome.notes)
        report.overlays_cleared = carriers.clear_overlays(ds, [rect for rect, _ in outcome.painted])
        bookkeeping.widen_pixel_value_range(ds, outcome.model,
                                            [v for _, vals in outcome.painted for v in vals])
        bookkeeping.record_clean_pixel_data(ds)
    if edits:
        report.icon_removed = carriers.remove_icons(ds)
    if remove_overlays:
        report.overlays_removed = carriers.remove_overlays(ds)
    report.transfer_syntax_uid = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", ts_in))
    if _identity(ds) != identity:  # defence in depth: UIDs belong to DicomEdit alone
        raise RedactionError("internal error: the SOP Instance UID changed during redaction")
    return report
