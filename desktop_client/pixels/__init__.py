"""Pixel redaction engine: rectangles painted into every frame, for every transfer syntax, verified.

Public API: ``redact_dataset`` (in-place, fail-closed), ``render`` and ``thumbnail`` (previews made
by the same redaction code that runs at upload), ``RedactionError`` and ``RedactionReport``.
"""

from desktop_client.pixels.engine import redact_dataset
from desktop_client.pixels.errors import RedactionError, RedactionReport
from desktop_client.pixels.preview import render, thumbnail

__all__ = ["RedactionError", "RedactionReport", "redact_dataset", "render", "thumbnail"]
