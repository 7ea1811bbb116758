"""Exceptions of the DicomEdit engine.

Parse-time problems reject a whole script before any object is touched (``ScriptSyntaxError``,
with a line and column an author can find); run-time problems end the processing of one object
(``ScriptRuntimeError``) and leave the edits made by earlier statements in place, exactly like
the reference applicator (dicomedit.md §1.2, §13).
"""

from __future__ import annotations

from desktop_client.core.errors import UploaderError


class ScriptSyntaxError(UploaderError):
    """A script that cannot be parsed; ``line``/``column`` are 1-based positions in the source."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(f"{where}{message}")


class ScriptRuntimeError(UploaderError):
    """Evaluation of a statement failed; the message follows the reference wording (§13.2)."""

    #: True once the statement's position is in the message (see :func:`located`).
    located = False


def located(exc: ScriptRuntimeError, line: int, column: int) -> ScriptRuntimeError:
    """Prefix a run-time error with the statement position (once), then the reference's wording.

    ``line L, column C: <XNAT's message>``: the position lets an author find the statement, the
    message is the one XNAT's server logs, so a site admin recognises it.
    """
    if exc.located:
        return exc
    out = ScriptRuntimeError(f"line {line}, column {column}: {exc}")
    out.located = True
    return out


class Rejected(Exception):
    """``reject[]`` fired: the object must not be sent (not an error, §9.8)."""
