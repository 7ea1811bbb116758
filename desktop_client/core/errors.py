"""One rule for every per-object step: a failure belongs to the object, never to the batch.

Every stage that handles one object at a time (read, script, redaction, verification, write,
send) turns *any* exception of that object — pydicom's ``BytesLengthException``, ``zlib.error``,
``RecursionError``, pyo3's ``PanicException`` (a ``BaseException``) — into that object's
recorded failure with a one-line reason, and the command goes on with the next object. Only the
user's own interruption (``KeyboardInterrupt``) and a deliberate exit (``SystemExit``) pass.
"""

from __future__ import annotations

#: What a per-object boundary lets through: the user's Ctrl+C and a deliberate exit.
PASS_THROUGH = (KeyboardInterrupt, SystemExit)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` on one line (codec and pydicom messages span many), for a reason sentence."""
    lines = []
    for line in str(exc).splitlines():
        if line.lstrip().startswith("Traceback ("):  # pydicom embeds a formatted traceback in some messages
            break
        lines.append(line)
    text = " ".join(" ".join(lines).split())
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
