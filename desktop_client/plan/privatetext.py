"""Private text and overlays in image scans: check what the scripts remove, hold back the rest.

An image scan may carry text outside its pixels that no burned-in text search sees: a private
element into which a device copied the patient's name, or an overlay plane (60xx,3000), which can
hold burned-in text of its own. Whether it leaves depends on the destination's anonymization
scripts — the default site script of a local destination removes both, but a user's own script or
an XNAT site's script may keep private tags (research sites often do, for vendor parameters). So
nothing is *claimed* here: the destination's effective script chain (the local slots, or the XNAT
site and project scripts the app fetches and applies) is run header-only on the scan's first,
middle and last objects, and the result is inspected again (:func:`check_scan`).

The rule, one for both faces (``ReviewModel.gate`` holds the scan; the CLI refuses it):

* private text whose value contains one of the object's own identifying header values (name and
  its parts, ID, birth date, accession: ``scanning.freetext.identifying_carriers``), or an overlay
  plane, that the scripts *keep* holds the scan back until a person decides: **strip** (the
  built-in step, a DicomEdit script run before the chain and recorded with the transfer,
  :func:`strip_script`) or **send as is**;
* private text that matches nothing identifying (vendor strings) is named, never held;
* every object of a scan whose identifying carriers are to be removed is checked again at upload,
  after its scripts (``transfer.pipeline``): one still carrying them fails closed.

The receipt records per scan what it carried and what happened (:func:`record`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from desktop_client.scanning.freetext import OVERLAY, PRIVATE_TEXT, Carrier, header_values, identifying_carriers
from desktop_client.scanning.model import Scan
from desktop_client.transfer.spec import PrivateTextRecord, ScriptSource

#: ``ScanReviewChoice.private_text`` values: a person's decision on identifying private text.
STRIP, SEND = "strip", "send as is"
PRIVATE_TEXT_DECISIONS = (STRIP, SEND)

#: What the receipt says happened (``PrivateTextRecord.outcome``).
REMOVED_BY_SCRIPTS = "removed by the anonymization scripts (checked on this machine)"
REMOVED_BY_STEP = "removed by the built-in step (strip private text and overlays), by decision"
SENT_BY_DECISION = "sent as it is, by a person's decision"
NOT_IDENTIFYING = "sent: it contains none of the patient's identifying header values"
REJECTED_BY_SCRIPTS = "not sent: the scripts reject these objects"
HELD = "held back until a person decides: the scripts keep text that may identify the patient"

STRIP_NAME = "built-in: private text and overlays removed (chosen scans)"


@dataclass(frozen=True)
class ScriptChain:
    """The scripts a destination will apply, as the check runs them.

    ``scripts``: in order (site, then project); ``variables``: the variables each
    session's scripts see, by Study Instance UID (labels may not be chosen yet: scripts that use
    them still run); ``known`` False when the scripts that will run cannot be read here (a dry run
    against an XNAT server): identifying carriers then count as kept.
    """

    scripts: tuple[ScriptSource, ...] = ()
    lookup_table: str = ""
    variables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    known: bool = True

    @property
    def checksums(self) -> tuple[str, ...]:
        from desktop_client.scripts import sha256

        return tuple(sha256(s.text) for s in self.scripts if s.text.strip())

    def for_session(self, study_uid: str) -> dict[str, str]:
        return dict(self.variables.get(study_uid, {}))


@functools.lru_cache(maxsize=8)
def _compiled(scripts: tuple[ScriptSource, ...], lookup_table: str) -> tuple[Any, ...]:
    from desktop_client.dicomedit import compile_script

    return tuple(compile_script(s.text, lookup_table=lookup_table or None)
                 for s in scripts if s.text.strip())


@dataclass(frozen=True, slots=True)
class PrivateTextCheck:
    """What one image scan carries and what its destination's scripts leave of it."""

    #: ``freetext.PRIVATE_TEXT`` / ``freetext.OVERLAY``: what the scan carries at all
    notes: tuple[str, ...] = ()
    #: the likely identifying carriers (before the scripts)
    identifying: tuple[Carrier, ...] = ()
    #: those of them the scripts keep (what holds the scan back)
    kept: tuple[Carrier, ...] = ()
    #: every private element holding text, and every overlay (what the built-in step removes)
    strippable: tuple[Carrier, ...] = ()
    #: the scripts leave no private text or overlay at all
    all_removed: bool = False
    rejected: bool = False
    checked_scripts: tuple[str, ...] = ()
    #: why the scripts could not be checked ("" when they were); the carriers then count as kept
    error: str = ""

    def reason(self) -> str:
        """Why this check holds the scan ("" when it does not)."""
        if not self.kept:
            return ""
        what = "; ".join(c.describe() for c in self.kept[:3]) + (" …" if len(self.kept) > 3 else "")
        why = f" ({self.error})" if self.error else ""
        return f"the anonymization scripts keep header text that may identify the patient{why}: {what}"


def check_scan(scan: Scan, chain: ScriptChain, limit: int = 3) -> PrivateTextCheck:
    """Read the first, middle and last objects' headers, find private text and overlays, run the
    chain on a copy of each header that carries some, and inspect the result (see module doc).

    An object that cannot be read adds nothing (the upload reports it). A script that fails on a
    header leaves the carriers counted as kept: fail closed.
    """
    from desktop_client.dicomedit import apply_chain
    from desktop_client.scanning import read_dataset
    from desktop_client.scanning import freetext

    instances = scan.instances
    picks = sorted({0, len(instances) // 2, len(instances) - 1})[:limit] if instances else []
    notes: set[str] = set()
    identifying: dict[str, Carrier] = {}
    kept: dict[str, Carrier] = {}
    strippable: dict[str, Carrier] = {}
    left: set[str] = set()
    rejected, error = False, ""
    compiled: list[Any] = []
    if chain.known:
        try:
            compiled = list(_compiled(chain.scripts, chain.lookup_table))
        except Exception as exc:  # noqa: BLE001 - a script that cannot run: the check fails closed
            chain = ScriptChain(chain.scripts, chain.lookup_table, chain.variables, known=False)
            error = f"the scripts cannot be used ({exc})"
    carrying: list[tuple[int, list[str], dict[str, str], list[Carrier]]] = []
    for index in picks:
        try:
            ds = read_dataset(instances[index].location, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - the upload reports unreadable objects with a reason
            continue
        found = freetext.image_text_notes(ds)
        if not found:
            continue
        notes.update(found)
        values = header_values(ds)
        carriers = identifying_carriers(ds, values)
        identifying.update((c.where, c) for c in carriers)
        strippable.update((c.where, c) for c in identifying_carriers(ds, values, all_text=True))
        carrying.append((index, found, values, carriers))
    # The chain runs on one representative object, and again only on an object with an
    # identifying carrier the earlier ones did not have (a series is written by one device; the
    # upload checks every object again after its scripts anyway).
    judged: set[str] = set()
    for n, (index, found, values, carriers) in enumerate(carrying):
        wheres = {c.where for c in carriers}
        if n and wheres <= judged:
            continue
        judged |= wheres
        if not chain.known:
            error = error or "the scripts that will run could not be read here"
            kept.update((c.where, c) for c in carriers)
            left.update(found)
            continue
        try:
            # Read again rather than copied: a fresh header costs a fraction of a deep copy.
            out = read_dataset(instances[index].location, stop_before_pixels=True)
            outcome = apply_chain(compiled, out, chain.for_session(instances[index].study_instance_uid),
                                  execute_pixels=False)
            status = outcome.status
        except Exception:  # noqa: BLE001 - any script failure: the check could not run
            status = "error"
        if status == "rejected":
            rejected = True
            continue
        if status != "ok":
            # Not the script's message: it may quote the header's values, and this reason goes
            # into the receipt (the upload reports the error itself, per object).
            error = error or "the scripts failed on this header"
            kept.update((c.where, c) for c in carriers)
            left.update(found)
            continue
        kept.update((c.where, c) for c in identifying_carriers(out, values))
        left.update(freetext.image_text_notes(out))
    ordered = tuple(n for n in (PRIVATE_TEXT, OVERLAY) if n in notes)
    return PrivateTextCheck(ordered, tuple(identifying.values()), tuple(kept.values()),
                            tuple(strippable.values()), bool(ordered) and not left and not error,
                            rejected and not left, chain.checksums, error)


def check_scans(scans: Iterable[Scan], chain: ScriptChain) -> dict[str, PrivateTextCheck]:
    """``{series uid: check}`` of the scans that carry private text or an overlay."""
    out = {}
    for scan in scans:
        check = check_scan(scan, chain)
        if check.notes:
            out[scan.series_instance_uid] = check
    return out


def private_text_gate(excluded: bool, decision: str, check: PrivateTextCheck | None) -> str:
    """The one hold-back rule for private text and overlays: "" when the scan may be sent."""
    if excluded or decision in PRIVATE_TEXT_DECISIONS or check is None:
        return ""
    return check.reason()


def record(check: PrivateTextCheck | None, decision: str) -> PrivateTextRecord | None:
    """The receipt's record of a scan that carried private text or an overlay (None otherwise)."""
    if check is None or not check.notes:
        return None
    carried = tuple(n.removeprefix("carries ") for n in check.notes)
    identifying = tuple(c.describe() for c in check.identifying)
    if check.rejected:
        outcome, verify = REJECTED_BY_SCRIPTS, False
    elif check.kept and decision == STRIP:
        outcome, verify = REMOVED_BY_STEP, True
    elif check.kept and decision == SEND:
        outcome, verify = SENT_BY_DECISION, False
    elif check.kept:
        outcome, verify = HELD, False
    elif check.all_removed or check.identifying:
        outcome, verify = REMOVED_BY_SCRIPTS, bool(check.identifying)
    else:
        outcome, verify = NOT_IDENTIFYING, False
    return PrivateTextRecord(carried, identifying, outcome, check.checked_scripts, verify)


def describe(check: PrivateTextCheck | None, decision: str) -> str:
    """One line for Review and the CLI: what the scan carries and what becomes of it ("" for none)."""
    entry = record(check, decision)
    return f"carries {' and '.join(entry.carried)}: {entry.outcome}" if entry is not None else ""


def strip_script(scans: Mapping[str, Sequence[Carrier]]) -> str:
    """The built-in step for the chosen scans (``{series uid: carriers}``) as a DicomEdit script.

    It runs first in the chain, so it still sees the original Series Instance UIDs; objects of
    other series are not touched. Each private element found holding text is deleted at any depth
    by its creator (``*/(0019,{ACME}10)``; numeric private data stays); a private element whose
    creator cannot be named makes the series lose all its private elements
    (``removeAllPrivateTags``); every overlay group goes (``-(60X@,XXXX)``).
    """
    lines = ['version "6.3"',
             "// XNAT Desktop Uploader: private text and overlays removed from the scans the user",
             "// chose (Review: 'Strip private text'; --strip-private-text). Runs before the site",
             "// and project scripts."]
    for uid in sorted(scans):
        carriers = scans[uid]
        lines.append(f'if ((0020,000E) = "{uid}") {{')
        paths = sorted({c.path for c in carriers if not c.overlay and c.path})
        lines.extend(f"    -{p}" for p in paths)
        if any(not c.overlay and not c.path for c in carriers):
            lines.append("    removeAllPrivateTags")
        lines.append("    -(60X@,XXXX)")
        lines.append("}")
    return "\n".join(lines) + "\n"


def strip_prelude(uids: Iterable[str], checks: Mapping[str, PrivateTextCheck]) -> list[ScriptSource]:
    """The built-in step as a ``ScriptSource`` for the scans chosen (none: an empty list)."""
    chosen = {uid: checks[uid].strippable for uid in uids if uid in checks and checks[uid].strippable}
    return [ScriptSource(STRIP_NAME, strip_script(chosen))] if chosen else []


def chain_from_sources(scripts: Sequence[ScriptSource] | None, *, lookup_table: str = "",
                       variables: Mapping[str, Mapping[str, str]] | None = None) -> ScriptChain:
    """A chain from the destination's scripts; None means "not known here"."""
    if scripts is None:
        return ScriptChain(known=False, lookup_table=lookup_table, variables=dict(variables or {}))
    return ScriptChain(tuple(scripts), lookup_table, dict(variables or {}))


def session_variables(plans: Iterable[Any], project: str) -> dict[str, dict[str, str]]:
    """What each session's scripts see (``transfer.spec.script_variables`` before a spec exists)."""
    out = {}
    for plan in plans:
        values = {"project": project, "subject": plan.subject, "session": plan.label,
                  "experiment_label": plan.label, **plan.variables}
        if plan.tracer:
            values["tracer"] = plan.tracer
        out[plan.session.study_instance_uid] = values
    return out


def draft_chain(draft: Any) -> ScriptChain:
    """The chain a GUI draft's uploads will apply: the scripts shown on the Project step (an
    XNAT server's site and project scripts, or the local folder's slots), or the default slots of
    a destination without a server when no settings were read."""
    from desktop_client.transfer.spec import DestinationKind

    table = draft.lookup_table.text if draft.lookup_table is not None else ""
    project = draft.project.id if draft.project is not None else ""
    variables = session_variables(draft.plans, project)
    if draft.settings is not None:
        return ScriptChain(tuple(draft.settings.named_scripts), table, variables)
    if draft.target is not None and draft.target.destination.kind is not DestinationKind.XNAT:
        from desktop_client.scripts import ScriptSlots

        return ScriptChain(tuple(ScriptSlots().chain()), table, variables)
    return ScriptChain(known=False, lookup_table=table, variables=variables)
