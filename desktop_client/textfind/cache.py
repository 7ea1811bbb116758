"""On-disk cache of the finder's results, keyed by SOP Instance UID + a hash of the pixel bytes.

The cache lives in the app's private cache folder (0700, files 0600). Neither the UID nor any
read text is stored in clear: the file name is a SHA-256 of (engine, options, UID, pixel hash),
and each line's text is encrypted with a key derived from the pixel hash and the UID — so reading
it back requires the very pixels that show the text. Boxes, frames and scores are stored as is;
whether a line is likely PHI is decided again on every load (the header and the allowlist may
have changed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

from desktop_client.core import paths
from desktop_client.core.geometry import Rect

VERSION = "1"


@dataclass(frozen=True, slots=True)
class CachedLine:
    """A line without its classification: what the OCR found, in image coordinates."""

    rect: Rect
    line: Rect
    frame: int | None
    text: str
    score: float


def _folder() -> str:
    folder = paths.cache_dir() / "textfind"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(folder)


def _secret(sop_uid: str, pixel_hash: str) -> bytes:
    return hashlib.sha256(f"textfind-text|{VERSION}|{sop_uid}|{pixel_hash}".encode()).digest()


def key(engine: str, options: str, sop_uid: str, pixel_hash: str) -> str:
    return hashlib.sha256(f"{VERSION}|{engine}|{options}|{sop_uid}|{pixel_hash}".encode()).hexdigest()


def _crypt(secret: bytes, index: int, data: bytes) -> bytes:
    stream = hashlib.shake_256(secret + index.to_bytes(4, "big")).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream))


def load(name: str, sop_uid: str, pixel_hash: str) -> list[CachedLine] | None:
    """The cached lines, or None when absent or unreadable (a broken entry is just a miss)."""
    path = os.path.join(_folder(), name + ".json")
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
        secret = _secret(sop_uid, pixel_hash)
        out = []
        for i, item in enumerate(raw["lines"]):
            text = _crypt(secret, i, base64.b64decode(item["t"])).decode("utf-8")
            out.append(CachedLine(Rect(*item["r"]), Rect(*item["l"]), item["f"], text, float(item["s"])))
        return out
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def store(name: str, sop_uid: str, pixel_hash: str, lines: list[CachedLine]) -> None:
    """Write an entry atomically, private to the user; a full or read-only disk is not an error."""
    secret = _secret(sop_uid, pixel_hash)
    payload = {"lines": [
        {"r": [ln.rect.left, ln.rect.top, ln.rect.right, ln.rect.bottom],
         "l": [ln.line.left, ln.line.top, ln.line.right, ln.line.bottom],
         "f": ln.frame, "s": round(ln.score, 4),
         "t": base64.b64encode(_crypt(secret, i, ln.text.encode("utf-8"))).decode("ascii")}
        for i, ln in enumerate(lines)]}
    try:
        folder = _folder()
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
            os.replace(tmp, os.path.join(folder, name + ".json"))
        except OSError:
            os.unlink(tmp)
            raise
    except OSError:
        pass
