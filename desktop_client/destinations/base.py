"""The one interface every upload destination implements.

The engine drives a destination through a fixed life cycle, once per attempt of a transfer:
``open`` (connect, log in, check the target) → ``send_unit`` for each unit not yet done (a scan
or a chunk of one; objects arrive as an iterator so they can be streamed) → ``finish`` (commit,
move into place) → ``verify`` (ask the target what it really holds) → ``close``.

Crash safety contract: ``send_unit`` may be called again for a unit whose earlier attempt was
interrupted at any point. A destination must make that harmless — by storing objects under keys
derived from the objects (SOP Instance UID), or by staging each unit and clearing the stage at the
start of every attempt. ``finish`` may also be repeated after a crash and must be idempotent.
Anything a destination must remember across restarts (an XNAT prearchive URI, say) goes into
``ctx.state`` followed by ``ctx.save_state()``: the engine persists it in the queue.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from desktop_client.core.errors import UploaderError
from desktop_client.destinations.model import DestinationKind, DestinationSpec, ObjectOutcome
from desktop_client.scripts import ScriptChoiceError, ScriptSlots, ScriptSource


class DestinationError(UploaderError):
    """A failure talking to a destination.

    ``retriable``: a later attempt may succeed (network drop, 5xx, timeout). ``relogin``: the
    session expired; log in again, then retry. Otherwise the failure is final and its message is
    shown to the user as the reason.
    """

    def __init__(self, message: str, *, retriable: bool = False, relogin: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable or relogin
        self.relogin = relogin


class Cancelled(Exception):
    """The user paused or cancelled while a unit was being sent."""


@dataclass(slots=True)
class SendContext:
    """What a destination knows about the transfer it is serving."""

    transfer_id: str
    project: str
    subject: str
    session_label: str
    study_instance_uid: str
    overwrite: str | None = None
    tracer: str = ""
    modalities: tuple[str, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)
    save_state: Callable[[], None] = lambda: None
    cancel: threading.Event = field(default_factory=threading.Event)
    #: units whose objects are final (set before ``finish``; excluded scans' units are not in it)
    final_units: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class UnitInfo:
    idx: int
    series_uid: str
    scan_id: str
    part: int
    parts: int
    description: str = ""
    #: SOP classes and transfer syntaxes of the unit's source objects (for DICOM negotiation)
    sop_classes: tuple[str, ...] = ()
    transfer_syntaxes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finish:
    """Where the session ended up: ``uri`` on the target and a ``link`` a person can open."""

    uri: str = ""
    link: str = ""
    archived: bool | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    """What the target reported after the upload, compared with what was sent.

    ``found`` maps scan id → object count on the target; ``ok`` only when every expected object
    is there exactly once (no more, no fewer). ``method`` says how it was checked. ``state`` is
    ``"verified"``, ``"failed"`` or ``"not-verifiable"``: a node that accepted every object but
    offers no way to check (it refuses Storage Commitment and queries) is not a failure of the
    transfer, and not a confirmation either — the receipt and the exit code say so.
    """

    ok: bool
    method: str
    details: str = ""
    found: dict[str, int] = field(default_factory=dict)
    state: str = ""

    def __post_init__(self) -> None:
        if not self.state:
            object.__setattr__(self, "state", "verified" if self.ok else "failed")


#: scan id → SOP Instance UID → MD5 of the sent bytes
Expected = dict[str, dict[str, str]]


class Destination(ABC):
    """Base class of the four destinations (see module doc for the life cycle)."""

    kind: DestinationKind

    @abstractmethod
    def describe(self) -> str:
        """A one-line, secret-free description for logs and receipts."""

    def open(self, ctx: SendContext) -> None:
        """Connect and check the target; raise DestinationError if it cannot take the session."""

    def scripts(self, project: str) -> list[ScriptSource]:
        """Anonymization scripts the target requires (only XNAT has any)."""
        return []

    def routing_comment(self, ctx: SendContext) -> str:
        """Patient Comments text the pipeline writes into every object ("" = leave them alone)."""
        return ""

    def relogin(self) -> None:
        """Refresh an expired session (only meaningful for XNAT)."""

    @abstractmethod
    def send_unit(self, ctx: SendContext, unit: UnitInfo, objects: Iterator[ObjectOutcome]) -> None:
        """Send every object of the iterator (consume it fully); raise DestinationError on failure."""

    def discard(self, ctx: SendContext) -> bool:
        """Remove what a cancelled transfer left at the target, if it can; True when it did.

        Only destinations that stage (XNAT prearchive, local archive) can; objects already
        stored in a DICOM node or a DICOMweb service stay (they are complete objects).
        """
        return False

    def record(self, ctx: SendContext, manifest: dict[str, Any]) -> None:
        """Keep the transfer's manifest with the data, for destinations that have a place for it."""

    def finish(self, ctx: SendContext) -> Finish:
        """Make the session final (commit / move into place)."""
        return Finish()

    @abstractmethod
    def verify(self, ctx: SendContext, expected: Expected) -> Verification:
        """Ask the target what it holds and compare with ``expected``."""

    def close(self) -> None:
        """Release connections."""

    @classmethod
    def forget(cls, spec: DestinationSpec, keep: Callable[[str], bool]) -> list[str]:
        """Remove what this kind of destination keeps on this machine for the transfers ``keep``
        says no to (removed, cancelled or failed, or never finished before a crash); returns
        the ids of the transfers whose leftovers it removed.

        A class method because the queue calls it without a password or a connection: when a
        transfer is removed, cancelled or cleaned, and when the queue starts. Only the local
        archive keeps anything here (its staging folders).
        """
        return []


class ScriptedDestination(Destination):
    """A destination with no server of its own to anonymize (local archive, C-STORE, STOW-RS).

    It has XNAT's two script slots, applied on this machine (``desktop_client.scripts``). A
    transfer that names its scripts (the user's choice in Settings/Connect or on the command line)
    uses those; one that does not (``TransferSpec.scripts`` None) gets these slots — the shipped
    default site script — so nothing leaves with its headers untouched by default (issue 14).
    """

    slots: ScriptSlots = ScriptSlots()

    def scripts(self, project: str) -> list[ScriptSource]:
        try:
            return self.slots.chain()
        except ScriptChoiceError as exc:
            raise DestinationError(str(exc)) from None


def compare_counts(expected: Expected, found: dict[str, int], method: str) -> Verification:
    """The common verdict: every scan present with exactly the expected number of objects."""
    problems = []
    for scan_id, objects in sorted(expected.items()):
        have = found.get(scan_id, 0)
        if have != len(objects):
            problems.append(f"scan {scan_id}: expected {len(objects)}, found {have}")
    ok = not problems
    details = "; ".join(problems) if problems else (
        f"{sum(len(o) for o in expected.values())} objects in {len(expected)} scans confirmed")
    return Verification(ok, method, details, dict(found))
