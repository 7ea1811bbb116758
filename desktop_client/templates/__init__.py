"""Redaction templates: named rectangle sets matched to kinds of images (no Qt here).

``TemplateStore`` keeps them as JSON files (user folder + shipped read-only examples),
``to_dicomedit`` writes rectangles as the ``alterPixels`` statements XNAT's DicomEdit accepts.
"""

from desktop_client.templates.dicomedit import alter_pixels_statement, rectangles_from_dicomedit, to_dicomedit
from desktop_client.templates.model import MatchKeys, Template, TemplateError
from desktop_client.templates.store import CtpImportResult, TemplateStore

__all__ = [
    "CtpImportResult", "MatchKeys", "Template", "TemplateError", "TemplateStore",
    "alter_pixels_statement", "matching", "rectangles_from_dicomedit", "to_dicomedit",
]


def matching(instance_or_scan: object, store: TemplateStore | None = None) -> list[Template]:
    """Templates fitting an instance or scan, from ``store`` (default: the user's store)."""
    return (store if store is not None else TemplateStore()).matching(instance_or_scan)
