"""Compiled scripts, their variables, and the outcome of applying them (the public API).

``compile_script`` parses once; ``Script.apply`` runs the compiled closures on one pydicom
dataset, editing it in place, and reports ``ok`` / ``error`` / ``rejected`` like the reference
applicator (edits made before an error stay, §1.2). ``apply_chain`` applies XNAT's site script
then project script to the same object, stopping at the first error or rejection, and runs the
collected ``alterPixels`` requests once at the end.

Pixel edits are never silently dropped: with ``execute_pixels`` the pixel engine
(``desktop_client.pixels.redact_dataset``) runs them, and if that engine is missing or fails the
object is an *error* (fail closed); with ``execute_pixels=False`` they are only returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as PydicomSequence

from desktop_client.core.geometry import PixelEdit
from desktop_client.dicomedit import ast, de4, de6, de6_parser
from desktop_client.dicomedit.errors import Rejected, ScriptRuntimeError, ScriptSyntaxError
from desktop_client.dicomedit.functions import parse_alter_pixels
from desktop_client.dicomedit.runtime import Context, HttpGet, ScriptState, parse_lookup_table

_VERSION_LINE = re.compile(r'^version "\d[\d.]+"\r?$', re.MULTILINE)
DIALECTS = ("DE6", "DE4")
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float


def detect_dialect(text: str) -> str:
    """XNAT's rule: a ``version "x.y"`` line selects DicomEdit 6, otherwise DicomEdit 4 (§1.1)."""
    return "DE6" if _VERSION_LINE.search(text) else "DE4"


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable a script uses, with what upload tools need to prompt for it (§8, §14).

    ``external`` is true when the script reads the variable before setting it, i.e. its value
    must come from the host (XNAT context or the user); only those receive supplied values.
    """

    name: str
    description: str | None = None
    hidden: bool = False
    export_field: str | None = None
    initial_value: str | None = None
    external: bool = False


@dataclass(slots=True)
class Outcome:
    status: str = "ok"  # "ok" | "error" | "rejected"
    error: str | None = None
    messages: list[str] = field(default_factory=list)
    pixel_edits: list[PixelEdit] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    #: (line, column) of the first ``alterPixels`` call, so a refusal names the statement.
    pixel_position: tuple[int, int] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def raise_for_status(self) -> None:
        """Raise ``ScriptRuntimeError`` for an error or a rejection (for callers that prefer it)."""
        if self.status != "ok":
            raise ScriptRuntimeError(self.error or self.status)


def _discover(statements: list[ast.Statement], case_insensitive: bool) -> list[Variable]:
    """Every variable used, initialised, described or exported, in first-appearance order."""
    order: list[str] = []
    info: dict[str, dict[str, Any]] = {}
    initialised: set[str] = set()

    def key(name: str) -> str:
        return name.lower() if case_insensitive else name

    def note(name: str) -> dict[str, Any]:
        k = key(name)
        if k not in info:
            order.append(k)
            info[k] = {"name": name, "description": None, "hidden": False, "export_field": None,
                       "initial_value": None, "external": False}
        return info[k]

    all_inits = {key(st.name) for st in ast.walk_statements(statements) if isinstance(st, ast.Init)}
    for st in ast.walk_statements(statements):
        for expr in ast.walk_exprs(st):
            if isinstance(expr, ast.Var):
                entry = note(expr.name)
                k = key(expr.name)
                if k not in initialised and (not case_insensitive or k not in all_inits):
                    entry["external"] = True
        if isinstance(st, ast.Init):
            entry = note(st.name)
            if key(st.name) not in initialised:
                if isinstance(st.value, ast.Str):
                    entry["initial_value"] = st.value.value
                elif isinstance(st.value, ast.Num):
                    entry["initial_value"] = st.value.text
            if not case_insensitive:
                entry["description"] = None  # re-initialising drops metadata (§18 quirk 6)
                entry["hidden"] = False
            initialised.add(key(st.name))
        elif isinstance(st, ast.Describe):
            entry = note(st.name)
            if st.text is not None:
                entry["description"] = st.text
            if st.hidden:
                entry["hidden"] = True
        elif isinstance(st, ast.Export):
            note(st.name)["export_field"] = st.field_name
    return [Variable(**info[k]) for k in order]


def _check_alter_pixels(statements: list[ast.Statement]) -> tuple[int, tuple[int, int] | None]:
    """Validate literal ``alterPixels`` calls at compile time; return how many there are and
    where the first one is."""
    count = 0
    first: tuple[int, int] | None = None
    for st in ast.walk_statements(statements):
        for expr in ast.walk_exprs(st):
            if isinstance(expr, ast.Call) and expr.name == "alterPixels":
                count += 1
                first = first or (expr.line, expr.column)
                if len(expr.args) != 4:
                    raise ScriptSyntaxError(
                        "alterPixels takes four arguments: alterPixels[\"rectangle\", "
                        "\"l=..., t=..., r=..., b=...\", \"solid\", \"v=...\"]",
                        expr.line, expr.column)
                texts = [a.value for a in expr.args if isinstance(a, ast.Str)]
                if len(texts) == 4:  # all literal strings: checked now, not at the first object
                    try:
                        parse_alter_pixels(*texts)
                    except ValueError as exc:
                        raise ScriptSyntaxError(str(exc), expr.line, expr.column) from None
    return count, first


class Script:
    """One parsed script; keeps its state (UID maps, lookup table, variables) across objects."""

    def __init__(self, text: str, dialect: str, statements: list[ast.Statement],
                 state: ScriptState, custom: dict[str, Callable[..., Any]],
                 record_id: str | None = None) -> None:
        self.text = text
        self.record_id = record_id
        self.dialect = dialect
        self.statements = statements
        self.state = state
        self.variables = _discover(statements, case_insensitive=dialect == "DE4")
        self._externals = [v.name for v in self.variables if v.external]
        self.pixel_statements, self._pixel_position = _check_alter_pixels(statements)
        if dialect == "DE6":
            self._run6 = de6.compile_statements(statements, custom)
            self._de4: de4.Evaluator | None = None
        else:
            self._de4 = de4.Evaluator(statements)

    def __repr__(self) -> str:
        return f"<Script {self.dialect}, {len(self.statements)} statements>"

    def variable(self, name: str) -> Variable | None:
        """The ``Variable`` (description, hidden, export field, ...) named ``name``, if used."""
        key = name.lower() if self.dialect == "DE4" else name
        for var in self.variables:
            if (var.name.lower() if self.dialect == "DE4" else var.name) == key:
                return var
        return None

    @property
    def external_variables(self) -> list[Variable]:
        return [v for v in self.variables if v.external]

    def _supplied(self, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        if not variables:
            return {}
        if self.dialect == "DE4":
            lowered = {k.lower(): v for k, v in variables.items()}
            return {name: lowered[name.lower()] for name in self._externals
                    if name.lower() in lowered}
        return {name: variables[name] for name in self._externals if name in variables}

    def apply(self, dataset: Dataset, variables: Mapping[str, Any] | None = None, *,
              execute_pixels: bool = True) -> Outcome:
        """Run the script on ``dataset`` (edited in place) and report what happened."""
        ctx = Context(dataset, self.state)
        outcome = Outcome(messages=ctx.messages, pixel_edits=ctx.pixel_edits,
                          pixel_position=self._pixel_position)
        supplied = self._supplied(variables)
        try:
            if self._de4 is not None:
                self._de4.run(ctx, supplied)
            else:
                self.state.variables.update(supplied)
                self._run6(ctx)
        except Rejected as exc:
            outcome.status, outcome.error = "rejected", str(exc)
        except ScriptRuntimeError as exc:
            outcome.status, outcome.error = "error", str(exc) or type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - any failure is this object's error (§1.2)
            # e.g. a toolkit failure on odd data; the reference reports its exception the same way.
            outcome.status = "error"
            outcome.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        outcome.variables = self._values()
        if outcome.ok and self.record_id is not None and self.dialect == "DE6":
            _record_deidentification(dataset, self.record_id)
        if outcome.ok and execute_pixels and outcome.pixel_edits:
            run_pixel_edits(dataset, outcome)
        return outcome

    def _values(self) -> dict[str, Any]:
        store = self.state.variables
        if self.dialect == "DE4":
            return {v.name: store.get(v.name.lower()) for v in self.variables}
        return {v.name: store.get(v.name) for v in self.variables}


def _record_deidentification(dataset: Dataset, script_id: str) -> None:
    """XNAT's optional record of anonymization: an item in (0012,0064) (§14)."""
    item = Dataset()
    item.CodeValue = script_id
    item.CodingSchemeDesignator = "XNAT"
    item.CodingSchemeVersion = "1.0"
    item.CodeMeaning = "XNAT DicomEdit 6 Script"
    if "DeidentificationMethodCodeSequence" not in dataset:
        dataset.DeidentificationMethodCodeSequence = PydicomSequence()
    dataset.DeidentificationMethodCodeSequence.append(item)


def run_pixel_edits(dataset: Dataset, outcome: Outcome) -> None:
    """Execute ``outcome.pixel_edits`` through the pixel engine; fail closed (see module doc).

    Objects without any pixel data element are skipped with a message, as the reference handler
    does (§9.7): a script with ``alterPixels`` must still pass an SR or a presentation state.
    """
    if not any(tag in dataset._dict for tag in _PIXEL_TAGS):  # noqa: SLF001
        outcome.messages.append("alterPixels skipped: the object has no pixel data")
        return
    try:
        from desktop_client.pixels import RedactionError, redact_dataset
    except ImportError:
        outcome.status = "error"
        outcome.error = ("pixel redaction is not available in this installation, so the script's "
                         f"{len(outcome.pixel_edits)} alterPixels request(s) cannot be executed")
        return
    try:
        redact_dataset(dataset, outcome.pixel_edits)
    except RedactionError as exc:
        where = "line {}, column {}: ".format(*outcome.pixel_position) if outcome.pixel_position else ""
        outcome.status = "error"
        outcome.error = f"{where}alterPixels: pixel redaction failed: {exc}"


def apply_chain(scripts: Iterable[Script], dataset: Dataset,
                variables: Mapping[str, Any] | None = None, *,
                execute_pixels: bool = True) -> Outcome:
    """XNAT's order: each script in turn (site, then project) on the same object (§14)."""
    total = Outcome()
    for script in scripts:
        outcome = script.apply(dataset, variables, execute_pixels=False)
        total.messages.extend(outcome.messages)
        total.pixel_edits.extend(outcome.pixel_edits)
        if outcome.pixel_edits and total.pixel_position is None:
            total.pixel_position = outcome.pixel_position
        total.variables.update(outcome.variables)
        if not outcome.ok:
            total.status, total.error = outcome.status, outcome.error
            return total
    if execute_pixels and total.pixel_edits:
        run_pixel_edits(dataset, total)
    return total


def compile_script(text: str, dialect: str | None = None, *,
                   lookup_table: str | Mapping[str, str] | None = None,
                   http_get: HttpGet | None = None,
                   existing_session_labels: Iterable[str] | Mapping[str, str] | None = None,
                   ignore_rejections: bool = False,
                   functions: Mapping[str, Callable[..., Any]] | None = None,
                   record_id: str | None = None) -> Script:
    """Parse ``text`` as DicomEdit 6 or 4 (``None``: XNAT's rule) and compile it.

    ``functions`` registers extra DE6 functions ``name -> f(context, args)`` (built-ins win,
    §9.9). ``record_id``, when given, makes a successful DE6 run append the XNAT record of
    anonymization to (0012,0064) with that script ID (§14). Raises ``ScriptSyntaxError`` for any
    lexical or syntax error.
    """
    detected = dialect is None
    dialect = (detect_dialect(text) if dialect is None else dialect).upper()
    if dialect not in DIALECTS:
        raise ValueError(f"unknown DicomEdit dialect {dialect!r}; use 'DE6' or 'DE4'")
    try:
        statements = de6_parser.parse(text) if dialect == "DE6" else de4.parse(text)
    except ScriptSyntaxError as exc:
        if detected and dialect == "DE4" and _parses_as_de6(text):
            raise ScriptSyntaxError(
                f"{exc.message} (without a version line XNAT reads this script as DicomEdit 4; "
                "it is valid DicomEdit 6: add version \"6.6\" as its first line)",
                exc.line, exc.column) from None
        raise
    try:
        table = parse_lookup_table(lookup_table)
    except ValueError as exc:
        raise ScriptSyntaxError(f"lookup table: {exc}") from None
    labels: Any = existing_session_labels or ()
    if not isinstance(labels, Mapping):
        labels = tuple(labels)
    state = ScriptState(lookup_table=table, http_get=http_get, existing_session_labels=labels,
                        ignore_rejections=ignore_rejections, custom_functions=dict(functions or {}))
    return Script(text, dialect, statements, state, dict(functions or {}), record_id)


def _parses_as_de6(text: str) -> bool:
    try:
        de6_parser.parse(text)
    except ScriptSyntaxError:
        return False
    return True


def variables_of(scripts: Sequence[Script]) -> list[Variable]:
    """The variables a chain of scripts asks for, merged by name (first description wins)."""
    merged: dict[str, Variable] = {}
    for script in scripts:
        for var in script.variables:
            if var.name not in merged:
                merged[var.name] = var
    return list(merged.values())
