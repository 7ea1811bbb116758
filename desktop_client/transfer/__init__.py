"""The transfer engine: a crash-safe background queue that anonymizes, redacts and uploads.

Public API (everything the GUI's transfer monitor and the CLI need)::

    from desktop_client.transfer import (TransferQueue, TransferSpec, ScanChoice, ScriptSource,
                                         DestinationSpec, DestinationKind, State,
                                         TransferStatus, ScanStatus, TransferEvent)

    spec = TransferSpec(session=session,                       # scanning.model.Session
                        destination=DestinationSpec.parse("https://xnat.example.org", username="me"),
                        project="DEMO", subject="S01", session_label="S01_MR1",
                        variables={"tracer": "FDG"},
                        choices={uid: ScanChoice(uid, rectangles=(PixelEdit(Rect(0, 0, 100, 40)),))},
                        scripts=None)                          # None: the server's site+project scripts
    queue = TransferQueue(db_path=None, concurrency=2)          # db under core.paths.data_dir()
    queue.start()                                              # resumes whatever a crash interrupted
                                                               # (QueueBusy if another process runs it)
    transfer_id = queue.submit(spec)                           # ValueError if the spec cannot run
    unsubscribe = queue.subscribe(callback)                    # TransferEvent, from a background thread
    queue.pause(id) / resume(id) / cancel(id) / restart(id) / remove(id) / exclude_scan(id, uid, why)
    queue.pause_all() / resume_all() / cancel_all() / restart_all()
    queue.list() -> list[TransferStatus];  queue.status(id) -> TransferStatus (with per-scan ScanStatus)
    queue.log(id) -> list[LogEntry];  queue.receipt_paths(id) -> (json, pdf) | None
    queue.wait(id, timeout=None) -> State;  queue.stop()

States: queued → running → done | failed | cancelled, and paused (by the user). ``restart`` puts
a failed or cancelled transfer back in the queue; only its unfinished scans are sent again
(a cancel removes what an XNAT prearchive or the local archive had staged, so a restart after a
cancel sends everything). A transfer is ``done`` only when the destination confirmed every object
(``TransferStatus.verification``). ``spec.overwrite`` None (the default) refuses a session label
that already exists (XNAT or local archive); ``spec.MERGE`` (``"append"``) adds the scans to it on
purpose. ``spec.lookup_table`` (a ``spec.LookupTable``) answers the scripts' ``lookup[...]``.
Events: ``kind`` (an ``EventKind``) is ``state`` (state changed), ``progress`` (files/bytes/rate,
throttled to about 10 per second), ``unit`` (a scan or chunk started) or ``log``. Callbacks run on
worker threads: a Qt GUI must hand them to its own thread (a queued signal).

Passwords are never stored in the queue: ``credentials(destination_spec) -> password | None`` is
called when a transfer starts (default: ``XNAT_PASSWORD``, then the OS keyring).
"""

from __future__ import annotations

from desktop_client.transfer.engine import RetryPolicy, TransferEvent
from desktop_client.transfer.queue import (
    QueueBusy,
    ScanStatus,
    TransferQueue,
    TransferStatus,
    default_credentials,
)
from desktop_client.transfer.spec import (
    DestinationKind,
    DestinationSpec,
    EventKind,
    LogLevel,
    RecordStatus,
    ScanChoice,
    ScriptSource,
    State,
    StopReason,
    TransferSpec,
    default_local_destination,
)
from desktop_client.transfer.store import LogEntry

__all__ = [
    "DestinationKind", "DestinationSpec", "EventKind", "LogEntry", "LogLevel", "QueueBusy",
    "RecordStatus", "RetryPolicy", "ScanChoice", "ScanStatus", "ScriptSource", "State",
    "StopReason", "TransferEvent", "TransferQueue", "TransferSpec", "TransferStatus",
    "default_credentials", "default_local_destination",
]
