"""The burned-in text gate without a screen: search, apply the command line's choices, hold back.

``xnat-upload upload`` searches every image scan it would send (the coverage policy's instances),
then applies ``plan.review.text_gate`` — the same rule the desktop app's Review step applies — to
each. A scan held back is left out with the reason (its session's other scans still go), and the
command exits non-zero. Two options are a person's decision taken in advance:

* ``--redact-detected``: every likely-PHI line found becomes a confirmed box ("detected"); the
  output is still re-checked before it is sent;
* ``--accept-visible-text SERIES_UID|all``: send the text as it is; the receipt records it.

The same pass applies the private text rule (``plan.privatetext``): a scan whose private elements
or overlays may identify the patient and which the destination's scripts keep is held back too,
unless ``--strip-private-text`` (the built-in step removes them) or ``--accept-private-text``
(send them; recorded) names it.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable, Iterable

from desktop_client.core.sop_classes import is_image_storage
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.privatetext import SEND, STRIP, PrivateTextCheck, ScriptChain, check_scans
from desktop_client.plan.review import ReviewModel, ScanReviewChoice, scan_label
from desktop_client.scanning.model import Session, says_burned_in
from desktop_client.textfind import ScanText, TextFinder, find_text_in_scan

ACCEPTED_ON_COMMAND_LINE = "accepted on the command line (--accept-visible-text)"
HELD_BACK = "held back"


@dataclass(frozen=True, slots=True)
class HeldScan:
    series_instance_uid: str
    label: str
    reason: str
    #: held by the private text rule / by the burned-in text rule
    private: bool = False
    burned: bool = True

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
                                  says_burned_in(scan.instances),
                                  len(scan.instances))
            if progress:
                progress(n + 1, len(uids))
    return found


@dataclass
class PrivateTextOptions:
    """The private text rule's inputs on the command line, and the checks it made (``checks``,
    by Series Instance UID, for ``build_specs``)."""

    chain: ScriptChain = field(default_factory=lambda: ScriptChain(known=False))
    #: Series Instance UIDs or "all": ``--strip-private-text`` / ``--accept-private-text``
    strip: Iterable[str] = ()
    accept: Iterable[str] = ()
    checks: dict[str, PrivateTextCheck] = field(default_factory=dict)


def _series_option(values: Iterable[str], option: str, known: Iterable[str]) -> tuple[set[str], bool]:
    chosen = set(values)
    unknown = sorted(chosen - {"all"} - set(known))
    if unknown:
        raise ValueError(f"{option} names series not in the scanned paths: {', '.join(unknown)}")
    return chosen, "all" in chosen


def apply_text_gate(plans: list[SessionPlan], decisions: dict[str, ScanReviewChoice], *,
                    redact_detected: bool = False, accept: Iterable[str] = (), workers: int = 1,
                    progress: Callable[[int, int], None] | None = None,
                    private: PrivateTextOptions | None = None,
                    finder: TextFinder | None = None) -> tuple[list[SessionPlan], list[HeldScan]]:
    """Search, decide as the options say, hold back the rest; updates ``decisions`` in place.

    ``finder``: a warmed one the caller started early (and closes); else one is started here.

    Returns the plans that still have a scan to send and the scans held back. ``accept`` holds
    Series Instance UIDs or ``"all"``; an unknown UID is a ValueError. ``private``: the private
    text rule's chain and options (default: the chain is unknown, so identifying private text and
    overlays count as kept); its ``checks`` are filled.
    """
    private = private if private is not None else PrivateTextOptions()
    model = ReviewModel([p.session for p in plans], chain=private.chain)
    for uid, choice in decisions.items():
        if uid in model.choices:
            model.choices[uid] = choice
    accepted, every = _series_option(accept, "--accept-visible-text", model.refs)
    strip, strip_all = _series_option(private.strip, "--strip-private-text", model.refs)
    send, send_all = _series_option(private.accept, "--accept-private-text", model.refs)
    both = (strip - {"all"}) & (send - {"all"})
    if both or (strip_all and send_all):
        raise ValueError("--strip-private-text and --accept-private-text name the same series: "
                         "choose one for each")
    uids = _to_search(plans, model)
    model.apply_image_text_checks(check_scans((model.scan(uid) for uid in uids), model.chain))
    private.checks.update(model.private_checks)
    for uid in uids:
        if not model.private_text_held(uid):
            continue
        if uid in strip or (strip_all and uid not in send):
            model.decide_private_text([uid], STRIP)
        elif uid in send or send_all:
            model.decide_private_text([uid], SEND)
    for uid, found in search_scans(model, uids, workers=workers, progress=progress,
                                    finder=finder).items():
        model.set_findings(uid, found)
    held: list[HeldScan] = []
    for uid in uids:
        if model.burned_text_held(uid) and (every or uid in accepted):
            model.accept_as_is([uid], ACCEPTED_ON_COMMAND_LINE)
        if model.burned_text_held(uid) and redact_detected and model.findings.get(uid) is not None:
            model.accept_detected(uid)
        reason = model.gate(uid)
        if reason:
            held.append(HeldScan(uid, scan_label(model.refs[uid]), reason,
                                 bool(model.private_text_held(uid)), bool(model.burned_text_held(uid))))
            model.exclude([uid], f"{HELD_BACK}: {reason}")
    for uid, choice in model.choices.items():
        if choice.excluded or choice.rectangles or choice.decision or choice.text_decision \
                or choice.private_text:
            decisions[uid] = choice
    left = [p for p in plans
            if any(uid in p.included and not model.choices[uid].excluded for uid in p.session.scans)]
    return left, held


def held_message(held: list[HeldScan]) -> str:
    """What the CLI prints (stderr) when scans were held back."""
    lines = [f"{len(held)} scan(s) held back: patient data the tool can see (burned-in text, or "
             "header text the scripts keep), and no decision:"]
    lines += [f"  {h.message()}" for h in held]
    if any(h.burned for h in held):
        lines.append("Burned-in text: give --redact-detected to black out the detected text (the output "
                     "is re-checked), --accept-visible-text SERIES_UID|all to send it as it is (the "
                     "receipt records it), --rect/--template to draw boxes, or --exclude to leave the "
                     "scan out.")
    if any(h.private for h in held):
        lines.append("Header text: give --strip-private-text SERIES_UID|all to remove the private "
                     "elements holding text and the overlays before the scripts run, "
                     "--accept-private-text SERIES_UID|all to send them (the receipt records it), "
                     "or --exclude to leave the scan out.")
    return "\n".join(lines)
