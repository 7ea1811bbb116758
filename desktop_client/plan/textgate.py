"""The burned-in text gate without a screen: search, apply the command line's choices, hold back.

``xnat-upload upload`` searches every image scan it would send (the coverage policy's instances),
then applies ``plan.review.text_gate`` — the same rule the desktop app's Review step applies — to
each. A scan held back is left out with the reason (its session's other scans still go), and the
command exits non-zero. Two options are a person's decision taken in advance:

* ``--redact-detected``: every likely-PHI line found becomes a confirmed box ("detected"); the
  output is still re-checked before it is sent;
* ``--accept-visible-text SERIES_UID|all``: send the text as it is; the receipt records it.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Callable, Iterable

from desktop_client.core.sop_classes import is_image_storage
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.review import ReviewModel, ScanReviewChoice, scan_label
from desktop_client.scanning.model import Session
from desktop_client.textfind import ScanText, TextFinder, find_text_in_scan

ACCEPTED_ON_COMMAND_LINE = "accepted on the command line (--accept-visible-text)"
HELD_BACK = "held back"


@dataclass(frozen=True, slots=True)
class HeldScan:
    series_instance_uid: str
    label: str
    reason: str

    def message(self) -> str:
        return f"{self.label} ({self.series_instance_uid}): {self.reason}"


def _to_search(plans: list[SessionPlan], model: ReviewModel) -> list[str]:
    out = []
    for plan in plans:
        for uid in plan.session.scans:
            if uid in plan.included and not model.choices[uid].excluded and model.is_supported(uid):
                out.append(uid)
    return out


def prefetch_scans(finder: TextFinder, sessions: Iterable[Session]) -> None:
    """Start searching every image scan as soon as the scan result is known, while the plan is
    still being made (series filters, existing sessions, receipts); the gate then takes over the
    searches of the scans it needs and the finder's ``close`` cancels the rest."""
    for session in sessions:
        for scan in session.scans.values():
            if scan.instances and is_image_storage(scan.instances[0].sop_class_uid):
                finder.prefetch(scan.instances)


def search_scans(model: ReviewModel, uids: list[str], *, workers: int = 1,
                 progress: Callable[[int, int], None] | None = None,
                 finder: TextFinder | None = None) -> dict[str, ScanText]:
    """The finder's view of each scan: ``finder`` (the caller's, warmed and perhaps already
    searching; it stays open), else a pool of ``workers`` processes, or in-process for 0."""
    found: dict[str, ScanText] = {}
    if finder is None and workers <= 0:
        for n, uid in enumerate(uids):
            found[uid] = find_text_in_scan(model.refs[uid].scan.instances)
            if progress:
                progress(n + 1, len(uids))
        return found
    with ExitStack() as owned:
        if finder is None:
            finder = owned.enter_context(TextFinder(workers, background=False))
        pending = {uid: finder.submit_scan(model.refs[uid].scan.instances) for uid in uids}
        for n, (uid, futures) in enumerate(pending.items()):
            scan = model.refs[uid].scan
            found[uid] = ScanText(uid, [f.result() for _, f in futures],
                                  any((i.burned_in_annotation or "").upper() == "YES" for i in scan.instances),
                                  len(scan.instances))
            if progress:
                progress(n + 1, len(uids))
    return found


def apply_text_gate(plans: list[SessionPlan], decisions: dict[str, ScanReviewChoice], *,
                    redact_detected: bool = False, accept: Iterable[str] = (), workers: int = 1,
                    progress: Callable[[int, int], None] | None = None,
                    finder: TextFinder | None = None) -> tuple[list[SessionPlan], list[HeldScan]]:
    """Search, decide as the options say, hold back the rest; updates ``decisions`` in place.

    ``finder``: a warmed one the caller started early (and closes); else one is started here.

    Returns the plans that still have a scan to send and the scans held back. ``accept`` holds
    Series Instance UIDs or ``"all"``; an unknown UID is a ValueError.
    """
    model = ReviewModel([p.session for p in plans])
    for uid, choice in decisions.items():
        if uid in model.choices:
            model.choices[uid] = choice
    accepted = set(accept)
    every = "all" in accepted
    unknown = sorted(accepted - {"all"} - set(model.refs))
    if unknown:
        raise ValueError(f"--accept-visible-text names series not in the scanned paths: {', '.join(unknown)}")
    uids = _to_search(plans, model)
    for uid, found in search_scans(model, uids, workers=workers, progress=progress,
                                    finder=finder).items():
        model.set_findings(uid, found)
    held: list[HeldScan] = []
    for uid in uids:
        reason = model.gate(uid)
        if reason and (every or uid in accepted):
            model.accept_as_is([uid], ACCEPTED_ON_COMMAND_LINE)
            reason = model.gate(uid)
        if reason and redact_detected and model.findings.get(uid) is not None:
            model.accept_detected(uid)
            reason = model.gate(uid)
        if reason:
            held.append(HeldScan(uid, scan_label(model.refs[uid]), reason))
            model.exclude([uid], f"{HELD_BACK}: {reason}")
    for uid, choice in model.choices.items():
        if choice.excluded or choice.rectangles or choice.decision or choice.text_decision:
            decisions[uid] = choice
    left = [p for p in plans
            if any(uid in p.included and not model.choices[uid].excluded for uid in p.session.scans)]
    return left, held


def held_message(held: list[HeldScan]) -> str:
    """What the CLI prints (stderr) when scans were held back."""
    lines = [f"{len(held)} scan(s) held back: burned-in text that may identify the patient, and no decision:"]
    lines += [f"  {h.message()}" for h in held]
    lines.append("Give --redact-detected to black out the detected text (the output is re-checked), "
                 "--accept-visible-text SERIES_UID|all to send it as it is (the receipt records it), "
                 "--rect/--template to draw boxes, or --exclude to leave the scan out.")
    return "\n".join(lines)
