"""How this engine compares with XNAT's DicomEdit: the feature catalogue and its deviations.

One home for the answer to "will the client's archive equal the server's?": every DicomEdit
feature (statements, operators, functions, variables, DicomEdit 4 constructs, ``alterPixels``
per photometric interpretation and bit depth) has an entry here, marked as matching XNAT or as a
deliberate deviation with its reason. Three things read it:

* ``scripts/dicomedit_conformance.py`` joins it with the tests that prove each entry (tests
  carry ``@conforms("feature-id", ...)`` from ``tests/dicomedit/helpers.py``) and writes
  ``docs/dicomedit-conformance.md``;
* ``xnat-upload check-script`` calls ``deviations_in`` to warn, at the line and column of the
  construct, when a script uses something listed as a deviation;
* the test suite checks that every entry is proven by at least one test and that the committed
  document is the one the script generates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, private_dictionary_VR

from desktop_client.dicomedit import ast
from desktop_client.dicomedit.errors import ScriptRuntimeError
from desktop_client.dicomedit.paths import ElementStep, TagPath
from desktop_client.dicomedit.runtime import compile_regex

MATCH = "matches"
DEVIATION = "deliberate deviation"
BETTER = "deliberately better"

CATEGORIES = (
    "DicomEdit 6 statements", "Operators and conditions", "Tag paths and values", "Functions",
    "Variables", "DicomEdit 4", "XNAT integration", "Error messages",
    "alterPixels by photometric interpretation and bit depth", "alterPixels encodings and carriers",
)


@dataclass(frozen=True, slots=True)
class Feature:
    """One behaviour of XNAT's engine; ``reason`` says why a deviation is deliberate."""

    id: str
    category: str
    title: str
    status: str = MATCH
    reason: str = ""


def _f(category: int, fid: str, title: str, status: str = MATCH, reason: str = "") -> Feature:
    return Feature(fid, CATEGORIES[category], title, status, reason)


_FUNCTIONS = (
    "concatenate", "format", "lowercase", "uppercase", "substring", "replace", "hashUID",
    "hashUIDList", "newUID", "getURL", "retainPrivateTags", "lookup", "shiftDateByIncrement",
    "shiftDateTimeListByIncrement", "shiftDateTimeByIncrement", "shiftDateTimeSequenceByIncrement",
    "mapUID", "mapReferencedUIDs", "delete", "set", "match", "ismatch", "isPresent", "alterPixels",
    "removeTags", "normalizeString", "scalePatientAgeAndDobFromStudyDate", "collectValues",
    "blankValues", "reject", "true", "false",
)

_PIXEL_BYTES = ("the pixel bytes written are identical to XNAT's for the same script "
                "(the object gains De-identification and Burned In Annotation records, see "
                "px.records)")

FEATURES: tuple[Feature, ...] = (
    # -- DicomEdit 6 statements
    _f(0, "de6.syntax", "Pre-processing (line continuations, // comments), lexical rules and "
                        "syntax errors with line and column"),
    _f(0, "de6.assign", "`tag := value` creates or overwrites; a null value assigns nothing"),
    _f(0, "de6.assign-if-exists", "`tag ?= value` on every existing match of any wildcard path"),
    _f(0, "de6.delete", "`- tag` with every wildcard kind; deleting an item keeps it, empty"),
    _f(0, "de6.init", "`name := value` / `name := {list}` variable initialisation"),
    _f(0, "de6.conditional", "`condition ? action : action`"),
    _f(0, "de6.if", "`if (…) {…} elseif (…) {…} else {…}`, nested"),
    _f(0, "de6.echo", "`echo value` (bare `echo` is a run-time error)"),
    _f(0, "de6.describe", "`describe name \"text\"`, `hidden`, `const`, `immutable`"),
    _f(0, "de6.export", "`export name \"field\"` sets the variable's export field"),
    _f(0, "de6.remove-all-private", "`removeAllPrivateTags` at every level"),
    _f(0, "de6.version", "`version \"6.x\"` checked when executed (6.0–6.7)"),
    _f(0, "de6.order", "Statements run top to bottom, the last write wins, edits before an "
                       "error stay"),
    # -- operators
    _f(1, "op.equals", "`=` and `!=` with the null rules"),
    _f(1, "op.regex", "`~` and `!~`: whole-value Java regular expressions"),
    _f(1, "op.regex-tag", "A tag path on the right of `~`/`!~` is the regex; absent (null) it "
                          "never matches and is not an error"),
    _f(1, "op.function-condition", "A bare function call as a condition (`isPresent[…]`, "
                                   "`true[]`)"),
    _f(1, "op.java-regex", "Java-only regex syntax", DEVIATION,
       "Regexes run on Python's `re` after translating `\\p{…}` classes and `\\Q…\\E`; Java "
       "syntax with no translation (class intersections `&&`, `\\p{InBlock}` …) is refused as an "
       "invalid regex instead of being guessed at. `check-script` names such a regex."),
    # -- tag paths and values
    _f(2, "path.wildcards", "Digit wildcards `X` `@` `#`, sequence wildcards `*` `+` `.`, any "
                            "item `[%]`"),
    _f(2, "path.private", "Private creator syntax `(gggg,{creator}hh)`: resolution, reservation "
                          "on write, duplicate creators"),
    _f(2, "path.private-read-reserves", "Reading a private tag of an absent creator reserves a "
                                        "creator slot (XNAT quirk, reproduced)"),
    _f(2, "path.private-pattern-creators", "`?=` / `collectValues` with a private element "
                                           "wildcard", DEVIATION,
       "XNAT's regex matcher can hit the creator element itself (e.g. `(0029,{C}XX) ?= \"\"` "
       "blanks the creator and orphans the block); this engine never matches creator elements "
       "with a creator-syntax step, so the private block stays readable."),
    _f(2, "path.sequences", "Writing through sequences creates the items"),
    _f(2, "value.numeric", "Numeric VRs parse the text; US/SS/UL/SL wrap like Java"),
    _f(2, "value.at", "A string assigned to an AT attribute stores the tag it names and reads "
                      "back as 8 hex digits"),
    _f(2, "value.sq", "A string assigned to an SQ attribute creates an empty sequence"),
    _f(2, "value.strings", "String escapes: `\\\\` collapses in values, list strings keep it"),
    _f(2, "value.unknown-vr", "DE6 assignment creating a tag with no dictionary VR", DEVIATION,
       "XNAT's DE6 toolkit writes such an element as UN, which downstream readers cannot "
       "interpret; this engine writes LO (DicomEdit 4's rule). The value is the same."),
    # -- functions
    *(_f(3, f"fn.{name}", f"`{name}[…]`") for name in _FUNCTIONS if name not in ("getURL",)),
    _f(3, "fn.getURL", "`getURL[url]`", DEVIATION,
       "Scripts cannot reach the network unless the host supplies an HTTP getter: an upload "
       "tool must not send data to a URL written in a script without a person's decision. "
       "With a getter it behaves as XNAT's (lines joined; DE4 trims)."),
    _f(3, "fn.unknown", "An unknown function fails only when the call runs (DE6)"),
    _f(3, "fn.custom", "Host-registered functions (`namespace_name`), built-ins win"),
    # -- variables
    _f(4, "var.external", "Variables read before they are set are external; only those receive "
                          "supplied values"),
    _f(4, "var.persist", "Variable values and UID maps persist across the objects of one "
                         "script"),
    _f(4, "var.metadata", "`Variable` objects carry description, hidden and export field; a "
                          "variable assigned from another does not inherit them"),
    _f(4, "var.case", "DE6 names are case-sensitive, DE4 names case-insensitive"),
    # -- DicomEdit 4
    _f(5, "de4.dialect", "Scripts without a `version` line are DicomEdit 4"),
    _f(5, "de4.order", "Every value and condition read from the original object; the earliest "
                       "applicable statement wins"),
    _f(5, "de4.patterns", "Tag patterns with `X` `@` `#` anywhere, assignment and deletion"),
    _f(5, "de4.strings", "String escapes are translated (`\\\\` is one backslash)"),
    _f(5, "de4.constraint", "`tag ~ \"regex\" : action`: whole-value match, ANDed constraints, "
                            "each object judged on its own values"),
    _f(5, "de4.absent-create", "Assignment to an absent exact tag creates it, whatever the tag"),
    _f(5, "de4.absent-vr", "VR of an attribute DE4 creates", DEVIATION,
       "XNAT's DE4 creates every absent attribute as LO; this engine uses the dictionary VR "
       "when the value fits it (a date stays DA, a name PN) and LO only otherwise. The value is "
       "the same; the element's VR is correct instead of LO."),
    _f(5, "de4.new-uid", "`tag := new UID`"),
    _f(5, "de4.variables", "Initialised once, implicit `\"format {0}\" args`, `describe`, "
                           "`export`"),
    _f(5, "de4.functions", "format, hashUID, urlEncode, lowercase, uppercase, match, replace, "
                           "substring"),
    _f(5, "de4.makeSessionLabel", "`makeSessionLabel[format]` against existing session labels"),
    _f(5, "de4.syntax", "DE4 syntax errors (unknown functions are parse errors)"),
    # -- XNAT integration
    _f(6, "xnat.chain", "Site script then project script on the same object"),
    _f(6, "xnat.record", "Record of anonymization in (0012,0064)"),
    _f(6, "xnat.reject", "`reject[]` drops the object (unless rejections are ignored)"),
    # -- error messages
    _f(7, "err.position", "Run-time errors start with `line L, column C:` then XNAT's wording"),
    _f(7, "err.plural-path", "Assignment to a wildcard path: XNAT's sentence with the path "
                             "printed as XNAT prints it (`0018901X`)"),
    _f(7, "err.date-shift", "Date/time shifts of an absent or unparsable attribute: "
                            "\"Failed to parse DICOM time string …\""),
    _f(7, "err.alter-pixels", "`alterPixels` refusals in XNAT's words (Bits Allocated 12, "
                              "YBR_FULL_422 with one sample, YBR 4:2:0)"),
    _f(7, "err.alter-pixels-literal", "A malformed literal `alterPixels`", DEVIATION,
       "Rejected when the script is compiled (with its line and column) instead of failing on "
       "every object at upload; XNAT accepts the script and errors per object."),
    # -- alterPixels by photometric interpretation and bit depth
    _f(8, "px.monochrome2-8", "MONOCHROME2, 8 bits: " + _PIXEL_BYTES),
    _f(8, "px.monochrome2-16", "MONOCHROME2, 16 bits (signed and unsigned): " + _PIXEL_BYTES),
    _f(8, "px.monochrome2-32", "MONOCHROME2, 32 bits: " + _PIXEL_BYTES),
    _f(8, "px.monochrome1-16", "MONOCHROME1, 16 bits, `v=` fill: " + _PIXEL_BYTES),
    _f(8, "px.palette-8", "PALETTE COLOR, 8 bits, `v=` fill (a palette index): " + _PIXEL_BYTES),
    _f(8, "px.rgb-8", "RGB, 8 bits, colour-by-pixel and colour-by-plane: " + _PIXEL_BYTES),
    _f(8, "px.ybr-full-8", "YBR_FULL, 8 bits (fill converted to YBR as XNAT does): "
                           + _PIXEL_BYTES),
    _f(8, "px.ybr-full-422-8", "YBR_FULL_422 and YBR_PARTIAL_422, 8 bits: the box widened to "
                               "whole chroma pairs; " + _PIXEL_BYTES),
    _f(8, "px.colour-on-grey", "`r=, g=, b=` fill on a one-sample image writes the red value"),
    _f(8, "px.bits-1", "Bits Allocated 1", BETTER,
       "XNAT refuses (\"BitsAllocated of 1 is not byte-aligned\"), so the burned-in text would "
       "stay; this engine edits the packed bits and verifies them."),
    _f(8, "px.bits-12", "Bits Allocated 12 (not byte-aligned): refused as XNAT refuses"),
    _f(8, "px.ybr-one-sample", "YBR_FULL_422 declared with one sample per pixel: refused as "
                               "XNAT refuses"),
    _f(8, "px.ybr-420", "Native YBR_PARTIAL_420: refused as XNAT refuses"),
    _f(8, "px.ybr-422-odd-columns", "Native 4:2:2 with an odd number of columns: each row ends "
                                    "with a padded pair, written whole when the box reaches it"),
    _f(8, "px.black-fill", "`alterPixels` with no or an unparseable fill", BETTER,
       "XNAT writes stored value 0, which is white on MONOCHROME1 and an arbitrary colour on "
       "PALETTE COLOR; this engine writes the darkest displayable value (Pixel Padding Value "
       "when present), so the box always looks black."),
    _f(8, "px.palette-rgb", "`r=, g=, b=` fill on PALETTE COLOR", DEVIATION,
       "XNAT writes the red value as a palette index; this engine writes the index of the "
       "palette entry nearest to the requested colour."),
    _f(8, "px.outside", "A box outside the image changes nothing; boxes are clipped"),
    _f(8, "px.no-pixel-data", "Objects without pixel data are skipped with a message"),
    # -- alterPixels encodings and carriers
    _f(9, "px.truncated", "Pixel Data shorter than the frames declared", DEVIATION,
       "XNAT redacts the bytes that are present. This engine refuses the object (it is not "
       "sent): it cannot verify a partial frame, and a writer that truncated the data may "
       "have put the pixels elsewhere. Fail closed."),
    _f(9, "px.big-endian", "Explicit VR Big Endian input", DEVIATION,
       "XNAT keeps big endian; this engine writes Explicit VR Little Endian (big endian is "
       "retired and poorly supported by readers). Pixel values are identical."),
    _f(9, "px.jpeg-baseline", "JPEG Baseline input", BETTER,
       "XNAT decodes and writes the object uncompressed (Explicit VR Little Endian, lossy "
       "history recorded). This engine wipes the box in the DCT domain (block-aligned, grey), "
       "so the file stays JPEG and no new loss is added outside the box."),
    _f(9, "px.lossless", "JPEG-LS and JPEG 2000 lossless input: decoded, redacted and re-encoded "
                         "in the same transfer syntax"),
    _f(9, "px.lossy-other", "Other lossy input (e.g. JPEG Extended): written uncompressed as "
                            "Explicit VR Little Endian with Lossy Image Compression 01"),
    _f(9, "px.float", "Float and Double Float Pixel Data (parametric maps)", DEVIATION,
       "Refused (the object is not sent). XNAT's handler writes the fill's integer bits into "
       "the float samples; a redaction whose values depend on that is not one this engine can "
       "verify, so it fails closed."),
    _f(9, "px.rle", "RLE Lossless input", DEVIATION,
       "XNAT writes the redacted object uncompressed; this engine re-encodes it as RLE "
       "Lossless (same pixels, same transfer syntax as the source)."),
    _f(9, "px.records", "Icon Image Sequence and Burned In Annotation", BETTER,
       "In addition to XNAT's edit, the Icon Image Sequence (a thumbnail with the same burned-in "
       "text) is removed, overlay bits under the boxes are cleared, Burned In Annotation is set "
       "to NO, a Clean Pixel Data Option code is recorded and Smallest/Largest Image Pixel "
       "Value are widened to include the fill. The pixel bytes are XNAT's."),
)

FEATURE_IDS = frozenset(f.id for f in FEATURES)


def feature(fid: str) -> Feature:
    for f in FEATURES:
        if f.id == fid:
            return f
    raise KeyError(fid)


# ---- check-script warnings ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviationWarning:
    """One deviation a script runs into, at the first place it does."""

    feature: Feature
    line: int
    column: int
    detail: str
    count: int = 1

    @property
    def message(self) -> str:
        more = f" ({self.count} places)" if self.count > 1 else ""
        return (f"{self.detail}{more}: differs from XNAT ({self.feature.status}). "
                f"{self.feature.reason} [{self.feature.id} in docs/dicomedit-conformance.md]")


_PIXEL_DEVIATIONS = ("px.bits-1", "px.truncated", "px.jpeg-baseline", "px.rle", "px.big-endian",
                     "px.float", "px.records")
_REGEX_FUNCTIONS = {"match": 1, "ismatch": 1}


def _steps_private_wildcard(path: TagPath) -> bool:
    return any(isinstance(s, ElementStep) and s.creator is not None and s.emask != 0xFF
               for s in path.steps)


def _no_dictionary_vr(path: TagPath) -> bool:
    last = path.steps[-1]
    if not isinstance(last, ElementStep) or not last.exact:
        return False
    try:
        if last.creator is not None:  # the private dictionary knows some vendors' blocks
            vr = private_dictionary_VR((last.value << 16) | 0x1000 | last.evalue, last.creator)
        else:
            vr = dictionary_VR(last.value)
    except KeyError:
        return True
    return vr in ("", "UN", "NONE")


def _regex_literals(node: ast.Node) -> Iterator[tuple[ast.Node, str]]:
    if isinstance(node, ast.Compare) and node.op in ("~", "!~") and isinstance(node.right, ast.Str):
        yield node.right, node.right.value
    for expr in ast.walk_exprs(node):
        if isinstance(expr, ast.Call) and expr.name in _REGEX_FUNCTIONS \
                and len(expr.args) > _REGEX_FUNCTIONS[expr.name]:
            arg = expr.args[_REGEX_FUNCTIONS[expr.name]]
            if isinstance(arg, ast.Str):
                yield arg, arg.value


def _conditions(st: ast.Node) -> list[ast.Node]:
    if isinstance(st, ast.Conditional):
        return list(st.conditions)
    if isinstance(st, ast.IfChain):
        return [c for c, _ in st.branches]
    return []


def deviations_in(statements: list[ast.Statement], dialect: str) -> list[DeviationWarning]:
    """The deviations a parsed script can run into, each once, at its first construct."""
    found: dict[str, list[tuple[int, int, str]]] = {}

    def hit(fid: str, node: ast.Node, detail: str) -> None:
        found.setdefault(fid, []).append((node.line, node.column, detail))

    for st in ast.walk_statements(statements):
        if isinstance(st, ast.Assign):
            if st.if_exists and _steps_private_wildcard(st.path):
                hit("path.private-pattern-creators", st, f"{st.path} ?= … with a private "
                                                         "element wildcard")
            if dialect == "DE6" and not st.if_exists and _no_dictionary_vr(st.path):
                hit("value.unknown-vr", st, f"{st.path} := … creates an element with no "
                                            "dictionary VR")
            if dialect == "DE4" and st.path.singular:
                last = st.path.steps[-1]
                try:
                    vr = dictionary_VR(last.value) if isinstance(last, ElementStep) else ""
                except KeyError:
                    vr = "LO"
                if vr not in ("LO", "UN", "NONE", ""):
                    hit("de4.absent-vr", st, f"{st.path} := … creates the attribute as {vr} "
                                             "when it is absent")
        for node in [st, *_conditions(st)]:
            for where, regex in _regex_literals(node):
                try:
                    compile_regex(regex)
                except ScriptRuntimeError:
                    hit("op.java-regex", where, f"the regex \"{regex}\" uses Java-only syntax")
        for expr in ast.walk_exprs(st):
            if not isinstance(expr, ast.Call):
                continue
            if expr.name == "getURL":
                hit("fn.getURL", expr, "getURL[…]")
            elif expr.name == "collectValues" and any(
                    isinstance(a, ast.Path) and _steps_private_wildcard(a.path) for a in expr.args):
                hit("path.private-pattern-creators", expr,
                    "collectValues[…] with a private element wildcard")
            elif expr.name == "alterPixels":
                for fid in _PIXEL_DEVIATIONS:
                    hit(fid, expr, f"alterPixels[…] on data of this kind: {feature(fid).title}")
                fill = expr.args[3] if len(expr.args) == 4 else None
                if isinstance(fill, ast.Str):
                    text = fill.value.replace(" ", "").lower()
                    keys = {part.split("=")[0] for part in text.split(",") if "=" in part}
                    if not keys & {"v", "value", "r", "red", "g", "green", "b", "blue"}:
                        hit("px.black-fill", expr, "alterPixels[…] without a fill value")
                    elif keys & {"r", "red", "g", "green", "b", "blue"} and \
                            not keys & {"v", "value"}:
                        hit("px.palette-rgb", expr, "alterPixels[…] with an r, g, b fill "
                                                    "(PALETTE COLOR images)")
    out = []
    for fid, places in found.items():
        line, column, detail = places[0]
        out.append(DeviationWarning(feature(fid), line, column, detail, len(places)))
    out.sort(key=lambda w: (w.line, w.column, w.feature.id))
    return out

