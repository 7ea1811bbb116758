"""Scanning: the user's selection → sessions → scans → instances, with every skip explained.

Public face::

    scan_paths(paths, progress=None, cancel=None) -> ScanResult
    read_dataset(location, stop_before_pixels=False) -> pydicom.Dataset
    open_location(location) -> binary stream (read-only)
    iter_dicom_sources(paths) -> Location | Skipped, in session/scan/instance order
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Iterable, Iterator

from desktop_client.scanning.model import (
    Instance,
    Location,
    Scan,
    ScanResult,
    Session,
    Skipped,
    build_sessions,
)
from desktop_client.core.limits import too_large_reason
from desktop_client.scanning.reader import classify_head
from desktop_client.scanning.scanner import CancelToken, ScanProgress, scan_paths
from desktop_client.scanning.sources import NotRegularFile, ObjectTooLarge, open_location

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "CancelToken", "Instance", "Location", "Scan", "ScanProgress", "ScanResult", "Session", "Skipped",
    "NotRegularFile", "ObjectTooLarge", "build_sessions", "iter_dicom_sources", "open_location", "read_dataset", "scan_paths",
]


def read_dataset(location: Location | Instance | str | os.PathLike[str], stop_before_pixels: bool = False) -> "Dataset":
    """Read a whole object (file or archive member); raw datasets without a preamble included.

    Only regular files are opened (``NotRegularFile`` otherwise, never a hang on a FIFO), and an
    object larger than the memory budget is refused (``ObjectTooLarge``) before it is read: a
    small zip may inflate to gigabytes.
    """
    from pydicom import dcmread

    if isinstance(location, Instance):
        location = location.location
    elif not isinstance(location, Location):
        location = Location(os.fspath(location))
    with open_location(location) as fh:
        if not stop_before_pixels:
            size = getattr(fh, "size", None)
            reason = too_large_reason("reading it", os.fstat(fh.fileno()).st_size if size is None else size)
            if reason:
                raise ObjectTooLarge(reason)
        head = fh.read(132)
        fh.seek(0)
        with warnings.catch_warnings():
            # Style warnings about non-conformant values are no news to the user; failures are raised.
            warnings.simplefilter("ignore")
            return dcmread(fh, force=classify_head(head) == "raw", stop_before_pixels=stop_before_pixels)


def iter_dicom_sources(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Location | Skipped]:
    """Every DICOM object of a selection (as the ``scan`` command finds them), then the skips."""
    result = scan_paths(paths)
    for session in result.sessions:
        for instance in session.iter_instances():
            yield instance.location
    yield from result.skipped
