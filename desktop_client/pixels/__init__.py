"""Pixel redaction engine: rectangles painted into every frame, for every transfer syntax, verified.

Public API: ``redact_dataset`` (in-place, fail-closed), ``render`` and ``thumbnail`` (previews made
by the same redaction code that runs at upload), ``display_frame`` (one frame as the viewer shows
it), ``RedactionError`` and ``RedactionReport``. Compressed pixel data is only ever decoded in the
codec helper process (isolation.py).
"""

from desktop_client.pixels.engine import redact_dataset
from desktop_client.pixels.errors import RedactionError, RedactionReport
from desktop_client.pixels.preview import display_frame, render, thumbnail

__all__ = ["RedactionError", "RedactionReport", "display_frame", "redact_dataset", "render", "thumbnail"]
