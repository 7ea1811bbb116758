"""Burned-in text: find it, suggest boxes, re-check the output (no Qt; issue 13).

PaddleOCR's PP-OCRv4 detector and recogniser run on onnxruntime through ``rapidocr-onnxruntime``
(models inside the wheel, nothing downloaded). The input is what a person sees — the frame
rendered by the previews' code — plus the full stored range of >8-bit images and the
temporal-minimum image of cines; a 90° pass finds vertical labels (not for ultrasound). Only
readable lines are kept (≥ 2 letters/digits, score ≥ 0.5), so text-free CT/MR give no boxes.

Public API (stable; the GUI review and bulk review build on it):

``FoundText(rect, frame, text, score, likely_phi, line=None, allowlisted=False)``
    one line: ``rect`` the suggested padded box (``core.geometry.Rect``, ``l,t,r,b``), ``frame``
    0-based or None for the whole image / temporal image of a cine, ``text`` as read (memory
    only), ``score`` 0..1, ``likely_phi`` (header values, dates/IDs, free text; not technical
    overlay, not allowlisted), ``line`` the unpadded detected line.
``TextResult``
    one instance: ``sop_instance_uid, rows, columns, frames, found: list[FoundText], error``.
``ScanText``
    one scan: ``results`` of the searched instances, ``burned_in_annotation``, ``likely_phi``,
    ``suggested_boxes()``.
``find_text(source, *, frames=None, temporal=None, all_frames=False, use_cache=True, allowlist=None, header=None)``
    search one instance (``scanning.model.Instance``, a path or a ``Dataset``); never raises for
    bad data (``error`` says why). Blocking: call it in a worker, never on the UI thread.
``find_text_in_scan(instances, *, all_frames=False)``
    the instances of one scan chosen by the coverage policy (``core.coverage``), in-process.
``TextFinder(workers=1, *, background=True, cache_first=False)``
    the background runner: ``submit(instance) -> Future[TextResult]``,
    ``submit_scan(instances) -> [(Pick, Future)]``, ``scan(instances) -> ScanText``,
    ``close(cancel=True, wait=True)``; each worker process loads the models once. ``warm()``
    starts the workers and loads their models ahead of the first search; ``prefetch(instances)``
    starts a scan's searches before they are asked for (``submit`` takes them over);
    ``cache_first`` answers from the cache in the calling process while it can (re-uploads).
``cached_text(source, *, frames=None, temporal=None, all_frames=False)``
    ``find_text``'s cached answer, or None, without decoding pixels or loading a model.
``recheck(output, boxes, *, accepted=False, source=None, header=None) -> Recheck``
    the re-check of the bytes to send; ``Recheck.status`` is passed / failed / accepted / error,
    ``reason`` "text still visible at l,t,r,b"; ``cut_warnings(found, boxes)`` for box edges
    that cut detected text (a warning for Review, never a block).
``coverage(line, boxes)``
    share of a line inside boxes (a line ≥ 90 % inside counts as covered).
``Allowlist.load()`` / ``allowlist_path()``
    the user-editable allowlist, ``text-allowlist.json`` in the app's data folder.

Results are cached in the app's private cache by SOP Instance UID + pixel hash; the read text is
stored only encrypted with a key derived from those pixels (see ``cache``). The re-check cannot
certify an image clean: it sees what the OCR sees.
"""

from desktop_client.textfind.find import cached_text, find_text, find_text_in_scan, padded, readable
from desktop_client.textfind.model import FoundText, ScanText, TextResult
from desktop_client.textfind.phi import Allowlist, HeaderValues, allowlist_path, likely_phi
from desktop_client.textfind.recheck import Recheck, coverage, cut_warnings, recheck
from desktop_client.textfind.runner import TextFinder

__all__ = ["Allowlist", "FoundText", "HeaderValues", "Recheck", "ScanText", "TextFinder", "TextResult",
           "allowlist_path", "cached_text", "coverage", "cut_warnings", "find_text", "find_text_in_scan", "likely_phi",
           "padded", "readable", "recheck"]
