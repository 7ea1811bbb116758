"""Transfer syntax facts the stages agree on, decided by UID only (never by byte counts)."""

from __future__ import annotations

from pydicom import uid as _u

NATIVE = frozenset({
    _u.ImplicitVRLittleEndian,
    _u.ExplicitVRLittleEndian,
    _u.ExplicitVRBigEndian,
    _u.DeflatedExplicitVRLittleEndian,
})

JPEG_BASELINE = _u.JPEGBaseline8Bit

LOSSLESS_COMPRESSED = frozenset({
    _u.JPEGLossless,
    _u.JPEGLosslessSV1,
    _u.JPEGLSLossless,
    _u.JPEG2000Lossless,
    _u.HTJ2KLossless,
    _u.HTJ2KLosslessRPCL,
    _u.RLELossless,
})

OTHER_LOSSY = frozenset({
    _u.JPEGExtended12Bit,
    _u.JPEGLSNearLossless,
    _u.JPEG2000,
    _u.HTJ2K,
})

#: Everything the pixel engine can decode (and so preview, redact and verify).
DECODABLE = NATIVE | {JPEG_BASELINE} | LOSSLESS_COMPRESSED | OTHER_LOSSY


def is_decodable(transfer_syntax_uid: str) -> bool:
    """True when pixel data in this transfer syntax can be decoded here."""
    return transfer_syntax_uid in DECODABLE


def transfer_syntax_name(transfer_syntax_uid: str) -> str:
    """Readable name of a transfer syntax, or the UID when unknown."""
    if not transfer_syntax_uid:
        return "(no transfer syntax)"
    name = _u.UID(transfer_syntax_uid).name
    return name or transfer_syntax_uid
