"""DicomEdit engine: XNAT's anonymization languages DicomEdit 6 and DicomEdit 4, in Python.

XNAT applies a site-wide script and then a project script to every object it receives; the
desktop client runs the same scripts before upload, so this engine must reproduce the reference
Java implementation (``/work/shared/reference/dicomedit.md``). Usage::

    script = compile_script(text)                       # DE6 if a `version "6.x"` line, else DE4
    outcome = script.apply(ds, variables={"project": "P1", "subject": "S1"})
    outcome.status, outcome.error, outcome.messages, outcome.pixel_edits

Decisions on the quirks the specification asks a port to settle (§18), and other choices:

1. ``mapUID[(tag), prefix]`` keys its table by the *path text*, not the element value — reproduced
   (pass a variable holding the value to key by value).
2. Only the first argument of the scalar string functions is dereferenced — reproduced
   (``replace[x, "a", (0008,1010)]`` inserts the text ``00081010``). DE4 dereferences all.
3. Reading a private tag whose creator is absent reserves a creator slot — reproduced for plain
   reads (values, conditions, dereferenced arguments); ``isPresent`` and pattern matches do not.
4. List-literal, ``describe``, ``export`` and ``version`` strings keep ``\\\\`` doubled; value
   strings collapse it — reproduced. ``\\"`` is a lexical error (latest grammar).
5. Bare ``echo`` is a run-time error in DE6 and prints an empty line in DE4 — reproduced.
6. Re-initialising a DE6 variable drops its ``describe`` metadata — reproduced in
   ``Script.variables``; ``const``/``immutable`` are parsed and ignored.
7. ``?=``/``collectValues`` hitting private creator elements — *not* reproduced: our structural
   path matcher never matches creator elements with ``{creator}`` steps. ``blankValues``
   leaves private elements alone, as the reference's own test (testBinaryVRsBlanking) shows.
8. ``version`` is validated when executed; known versions are 6.0–6.7.
9. Statement precedence: DE4 earliest applicable wins, DE6 last wins — reproduced.
10. ``alterPixels`` follows the newer handler (fill honoured); requests become
    ``core.geometry.PixelEdit`` objects executed by ``desktop_client.pixels`` after the script.
    Literal ``alterPixels`` calls are validated at compile time (a bad one is a
    ``ScriptSyntaxError`` instead of an error on every object).
11. US/SS/UL/SL assignments wrap like Java's narrowing conversion (``1234567`` → ``54919``).
12. ``shiftDateTimeListByIncrement`` parses any VR as DT (a TM ``1330`` is the year 1330) —
    reproduced; in-place shifts skip empty values and shift each value of a multi-valued element.
13. Values follow the dcm4che3 generation of the toolkit; unknown tags are written as LO
    (DE4's rule) rather than UN. DE4 creates an absent attribute with its dictionary VR when the
    value fits it and as LO otherwise (XNAT's DE4 always writes LO).
14. Unknown functions fail only when the call executes (DE6); DE4 rejects them at parse time.
16. Creator names are limited to the grammar's letter-initial ``[A-Za-z0-9 _.:-]``.
* ``getURL`` needs an ``http_get`` callable from the host (off by default).
* A null regex (a right-hand side tag path that is absent) matches nothing: ``~`` is false and
  ``!~`` true, never an error. Run-time errors read ``line L, column C: <XNAT's message>``.

Every deliberate difference from XNAT, with its reason, is catalogued in ``conformance.py``
(which ``check-script`` uses to warn and ``docs/dicomedit-conformance.md`` is generated from).
* Variables persist across objects within one ``Script`` (DE6), like the reference context; a
  host-supplied value is injected only into variables the script reads before setting.
"""

from desktop_client.dicomedit.errors import Rejected, ScriptRuntimeError, ScriptSyntaxError
from desktop_client.dicomedit.functions import hash_uid
from desktop_client.dicomedit.script import (Outcome, Script, Variable, apply_chain,
                                             compile_script, detect_dialect, variables_of)

__all__ = [
    "compile_script", "Script", "Variable", "Outcome", "apply_chain", "detect_dialect",
    "variables_of", "hash_uid", "ScriptSyntaxError", "ScriptRuntimeError", "Rejected",
]
