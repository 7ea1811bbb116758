"""DicomEdit 4, the legacy dialect XNAT still runs for scripts without a ``version`` line (§17).

It is a different language, not an older DE6: tags are single tokens with ``X``/``@``/``#``
allowed anywhere (``(50XX,XXXX)``, ``(XXX#,XXXX)``) and no private-creator syntax or sequence
paths; strings translate their escapes; one statement per line; several ``cond :`` prefixes are
ANDed. Above all the evaluation order differs: every condition and value is evaluated against
the **original** object, then the actions are applied in reverse statement order, so the
*earliest* applicable statement wins (§17.2). Variables are case-insensitive and hold an initial
*expression* that is evaluated per object unless the host supplied a value; unknown functions
are parse errors.

``makeSessionLabel[format]`` (XNAT's DE4 function, §17.4) draws on the existing session labels
handed to ``compile_script``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable
from urllib.parse import quote_plus

from desktop_client.dicomedit import ast, paths
from desktop_client.dicomedit.errors import ScriptRuntimeError, ScriptSyntaxError, located
from desktop_client.dicomedit.functions import hash_uid, new_uid
from desktop_client.dicomedit.msgformat import format_message
from desktop_client.dicomedit.paths import ElementStep, TagPath, nibble_pattern
from desktop_client.dicomedit.runtime import Context, compile_regex, to_string

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\f]+|\\\r?\n)
  | (?P<comment>//[^\n]*)
  | (?P<newline>\r?\n)
  | (?P<tag>\([0-9a-fA-FX@#]{4},[0-9a-fA-FX@#]{4}\))
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>0(?![0-9])|-?[1-9][0-9]*)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>:=|[:=~\-\[\],])
""", re.VERBOSE)
_KEYWORDS = {"echo", "new", "describe", "hidden", "export"}
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
FUNCTIONS = {"format", "hashUID", "urlEncode", "getURL", "lowercase", "uppercase", "match",
             "replace", "substring", "makeSessionLabel"}


class Tok:
    __slots__ = ("kind", "text", "line", "column")

    def __init__(self, kind: str, text: str, line: int, column: int) -> None:
        self.kind, self.text, self.line, self.column = kind, text, line, column


def tokenize(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            column = pos - line_start + 1
            if text[pos] == "(":
                raise ScriptSyntaxError("malformed tag: DicomEdit 4 tags are (gggg,eeee) with hex "
                                        "digits or the wildcards X @ # and no spaces", line, column)
            raise ScriptSyntaxError(f"unexpected character {text[pos]!r}", line, column)
        kind = m.lastgroup or ""
        value = m.group()
        column = pos - line_start + 1
        if kind in ("ws", "comment"):
            pass
        elif kind == "newline":
            tokens.append(Tok("NEWLINE", value, line, column))
        elif kind == "string":
            tokens.append(Tok("STRING", _unescape(value, line, column), line, column))
        elif kind == "id" and value in _KEYWORDS:
            tokens.append(Tok(value, value, line, column))
        else:
            tokens.append(Tok(kind.upper() if kind != "op" else value, value, line, column))
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = pos + value.rfind("\n") + 1
        pos = m.end()
    tokens.append(Tok("EOF", "", line, pos - line_start + 1))
    return tokens


def _unescape(literal: str, line: int, column: int) -> str:
    out = []
    i = 1
    while i < len(literal) - 1:
        ch = literal[i]
        if ch == "\\":
            nxt = literal[i + 1]
            if nxt not in _ESCAPES:
                raise ScriptSyntaxError(f"invalid escape sequence '\\{nxt}' in string", line,
                                        column + i)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tag_path(text: str) -> TagPath:
    mask, value = nibble_pattern(text[1:5] + text[6:10])
    return TagPath((ElementStep(text, mask, value),), text)


class Parser:
    def __init__(self, tokens: list[Tok]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.initialised: set[str] = set()

    @property
    def tok(self) -> Tok:
        return self.tokens[self.pos]

    def advance(self) -> Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def error(self, message: str, tok: Tok | None = None) -> ScriptSyntaxError:
        tok = tok or self.tok
        return ScriptSyntaxError(message, tok.line, tok.column)

    def expect(self, kind: str, what: str) -> Tok:
        if self.tok.kind != kind:
            found = "end of line" if self.tok.kind in ("NEWLINE", "EOF") else repr(self.tok.text)
            raise self.error(f"expected {what}, found {found}")
        return self.advance()

    def script(self) -> list[ast.Statement]:
        statements: list[ast.Statement] = []
        while self.tok.kind != "EOF":
            if self.tok.kind == "NEWLINE":
                self.advance()
                continue
            statements.append(self.statement())
            if self.tok.kind not in ("NEWLINE", "EOF"):
                raise self.error(f"unexpected {self.tok.text!r}: DicomEdit 4 allows one statement "
                                 "per line")
        return statements

    def statement(self) -> ast.Statement:
        tok = self.tok
        if tok.kind == "describe":
            self.advance()
            name = self.expect("ID", "a variable name after 'describe'")
            if self.tok.kind == "hidden":
                self.advance()
                return ast.Describe(name.text, hidden=True, line=tok.line, column=tok.column)
            text = self.expect("STRING", "a \"description\" or 'hidden'")
            return ast.Describe(name.text, text=text.text, line=tok.line, column=tok.column)
        if tok.kind == "export":
            self.advance()
            name = self.expect("ID", "a variable name after 'export'")
            field = self.expect("STRING", "the \"export field\" string")
            return ast.Export(name.text, field.text, line=tok.line, column=tok.column)
        conditions: list[ast.Condition] = []
        while True:
            if self.tok.kind in ("-", "echo"):
                action = self.action(None)
                break
            left = self.value()
            if self.tok.kind in ("=", "~"):
                op = self.advance().text
                cond = ast.Compare(left, op, self.value(), line=left.line, column=left.column)
                conditions.append(cond)
                self.expect(":", "':' after the condition")
                continue
            if self.tok.kind == ":=" and isinstance(left, ast.Var) and not conditions:
                self.advance()
                key = left.name.lower()
                if key in self.initialised:
                    raise self.error(f"variable {left.name} is initialised twice", tok)
                self.initialised.add(key)
                return ast.Init(left.name, self.value(), line=tok.line, column=tok.column)
            action = self.action(left)
            break
        if conditions:
            return ast.Conditional(conditions, action, line=tok.line, column=tok.column)
        return action

    def action(self, left: ast.Expr | None) -> ast.Statement:
        tok = self.tok
        if left is None and tok.kind == "-":
            self.advance()
            target = self.expect("TAG", "a tag after '-'")
            return ast.Delete(tag_path(target.text), line=tok.line, column=tok.column)
        if left is None and tok.kind == "echo":
            self.advance()
            echoed = None if self.tok.kind in ("NEWLINE", "EOF") else self.value()
            return ast.Echo(echoed, line=tok.line, column=tok.column)
        if not isinstance(left, ast.Path) or self.tok.kind != ":=":
            raise self.error("expected 'tag := value', '- tag', 'echo', a condition followed by "
                             "':' or 'variable := value'")
        self.advance()
        if self.tok.kind == "new":
            new_tok = self.advance()
            kind = self.expect("ID", "a constructor after 'new' (new UID)")
            if kind.text != "UID":
                raise self.error(f"unknown constructor 'new {kind.text}' (only 'new UID' exists)",
                                 kind)
            if self.tok.kind == "[":
                self.advance()
                self.termlist()
                self.expect("]", "']'")
            value: ast.Expr = ast.NewUID(line=new_tok.line, column=new_tok.column)
        else:
            value = self.value()
        return ast.Assign(left.path, value, line=left.line, column=left.column)

    def value(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == "STRING" and self.tokens[self.pos + 1].kind in ("STRING", "NUMBER", "TAG",
                                                                        "ID"):
            self.advance()
            args = self.termlist()
            return ast.ImplicitFormat(tok.text, args, line=tok.line, column=tok.column)
        return self.term()

    def term(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == "STRING":
            self.advance()
            return ast.Str(tok.text, line=tok.line, column=tok.column)
        if tok.kind == "NUMBER":
            self.advance()
            return ast.Num(tok.text, line=tok.line, column=tok.column)
        if tok.kind == "TAG":
            self.advance()
            return ast.Path(tag_path(tok.text), line=tok.line, column=tok.column)
        if tok.kind == "ID":
            self.advance()
            if self.tok.kind != "[":
                return ast.Var(tok.text, line=tok.line, column=tok.column)
            if tok.text not in FUNCTIONS:
                raise self.error(f"undefined function {tok.text}", tok)
            self.advance()
            args = self.termlist()
            self.expect("]", f"']' to close {tok.text}[...]")
            if tok.text == "match" and (len(args) != 3 or not isinstance(args[2], ast.Num)):
                raise self.error("match needs three arguments and a literal group number: "
                                 "match[value, \"regex\", 1]", tok)
            return ast.Call(tok.text, args, line=tok.line, column=tok.column)
        found = "end of line" if tok.kind in ("NEWLINE", "EOF") else repr(tok.text)
        raise self.error(f"expected a value, found {found}")

    def termlist(self) -> list[ast.Expr]:
        args = [self.term()]
        while self.tok.kind == ",":
            self.advance()
            args.append(self.term())
        return args


def parse(text: str) -> list[ast.Statement]:
    return Parser(tokenize(text)).script()


# ---- evaluation -----------------------------------------------------------------------------

Eval = Callable[[Context], Any]
Action = Callable[[Context], None]


def session_label(pattern: str, existing: Any) -> str:
    """``makeSessionLabel``: first run of ``#`` → smallest free zero-padded number (§17.4)."""
    if not pattern.strip() or "#" not in pattern:
        return ""
    m = re.search(r"#+", pattern)
    assert m is not None
    taken: set[str] = set()
    if isinstance(existing, Mapping):
        taken.update(str(k) for k in existing.keys())
        taken.update(str(v) for v in existing.values())
    else:
        taken.update(str(v) for v in existing or ())
    width = m.end() - m.start()
    n = 0
    while True:
        label = pattern[:m.start()] + str(n).zfill(width) + pattern[m.end():]
        if label not in taken:
            return label
        n += 1


def _create_or_write(ds: Any, tag: int, path: TagPath, text: str) -> None:
    """An exact-tag assignment: overwrite, or create the attribute whatever the tag is (§17.2).

    An absent attribute is created with its dictionary VR when the value fits it, and as LO
    otherwise — XNAT's DE4 creates every absent attribute as LO, so a value such as ``"1.5mm"``
    for an FD attribute, or any value for a tag outside the dictionary, is stored as given
    instead of failing on a numeric parse.
    """
    try:
        paths.write(ds, path, text)
    except ScriptRuntimeError:
        if tag in ds._dict:  # noqa: SLF001 - an existing attribute keeps its VR and the error
            raise
        paths.store(ds, paths.new_element(ds, tag, "LO", text))


class Evaluator:
    """Compiles DE4 statements into "evaluate now, act later" closures."""

    def __init__(self, statements: list[ast.Statement]) -> None:
        self.initialisers: dict[str, Eval] = {}
        for st in statements:
            if isinstance(st, ast.Init):
                self.initialisers[st.name.lower()] = self.value(st.value)
        self.compiled = [self._located(st, self.statement(st)) for st in statements
                         if not isinstance(st, ast.Init)]

    @staticmethod
    def _located(node: ast.Statement, evaluate: Callable[[Context], Action | None],
                 ) -> Callable[[Context], Action | None]:
        """Errors of the statement, when evaluated and when its action is applied, carry its
        position (``line L, column C: ...``), as DE6 errors do."""
        def run(ctx: Context) -> Action | None:
            try:
                action = evaluate(ctx)
            except ScriptRuntimeError as exc:
                raise located(exc, node.line, node.column) from exc
            if action is None:
                return None

            def apply(c: Context) -> None:
                try:
                    action(c)
                except ScriptRuntimeError as exc:
                    raise located(exc, node.line, node.column) from exc
            return apply
        return run

    def variable(self, ctx: Context, name: str) -> Any:
        key = name.lower()
        cache = ctx.state.variables
        if key in cache:
            return cache[key]
        init = self.initialisers.get(key)
        value = init(ctx) if init is not None else None
        cache[key] = value
        return value

    def value(self, node: ast.Expr) -> Eval:
        if isinstance(node, (ast.Str, ast.Num)):
            text = node.value if isinstance(node, ast.Str) else node.text
            return lambda ctx: text
        if isinstance(node, ast.Path):
            path = node.path
            if not path.singular:
                message = f"Cannot use the tag pattern {path} as a value"

                def bad(ctx: Context) -> Any:
                    raise ScriptRuntimeError(message)
                return bad
            return lambda ctx: paths.read(ctx.ds, path)
        if isinstance(node, ast.Var):
            name = node.name
            return lambda ctx: self.variable(ctx, name)
        if isinstance(node, ast.NewUID):
            return lambda ctx: new_uid()
        if isinstance(node, ast.ImplicitFormat):
            pattern = node.pattern
            args = [self.value(a) for a in node.args]
            return lambda ctx: format_message(pattern, [to_string(a(ctx)) for a in args])
        if isinstance(node, ast.Call):
            return self.call(node)
        raise AssertionError(f"unexpected DE4 expression {node!r}")

    def call(self, node: ast.Call) -> Eval:
        name = node.name
        args = [self.value(a) for a in node.args]

        def need(values: list[Any], count: int) -> list[str]:
            if len(values) < count:
                raise ScriptRuntimeError(f"{name} needs {count} argument(s)")
            if any(v is None for v in values[:count]):
                raise ScriptRuntimeError(f"{name}: an argument is null (absent attribute or "
                                         "unset variable)")
            return [to_string(v) for v in values]

        def run(ctx: Context) -> Any:
            values = [a(ctx) for a in args]
            if name == "format":
                if not values or values[0] is None:
                    raise ScriptRuntimeError("format needs a pattern")
                return format_message(to_string(values[0]), [to_string(v) for v in values[1:]])
            if name == "hashUID":
                need(values, 0)
                return None if not values or values[0] is None else hash_uid(to_string(values[0]))
            if name == "urlEncode":
                # Java URLEncoder: like quote_plus, but '*' stays and '~' is encoded
                return quote_plus(need(values, 1)[0], safe="*").replace("~", "%7E")
            if name == "getURL":
                url = need(values, 1)[0]
                getter = ctx.state.http_get
                if getter is None:
                    raise ScriptRuntimeError(f"getURL is disabled in this client (the script "
                                             f"wanted {url})")
                return (getter(url) or "").strip()
            if name in ("lowercase", "uppercase", "match") and values and values[0] is None:
                if len(values) < (3 if name == "match" else 1):
                    raise ScriptRuntimeError(f"{name} needs more arguments")
                return None  # a null value stays null (reference MatchTest.testApplyNullValue)
            if name == "lowercase":
                return need(values, 1)[0].lower()
            if name == "uppercase":
                return need(values, 1)[0].upper()
            if name == "match":
                text, regex, group = need(values, 3)[:3]
                m = compile_regex(regex).search(text)
                return None if m is None else m.group(int(group))
            if name == "replace":
                text, target, replacement = need(values, 3)[:3]
                return text.replace(target, replacement)
            if name == "substring":
                text, begin, end = need(values, 3)[:3]
                b, e = int(begin), int(end)
                if not 0 <= b <= e <= len(text):
                    raise ScriptRuntimeError(f"begin {b}, end {e}, length {len(text)}")
                return text[b:e]
            if name == "makeSessionLabel":
                return session_label(need(values, 1)[0], ctx.state.existing_session_labels)
            raise AssertionError(name)
        return run

    def condition(self, node: ast.Condition) -> Callable[[Context], bool]:
        assert isinstance(node, ast.Compare)
        left, right = self.value(node.left), self.value(node.right)
        if node.op == "=":
            def equals(ctx: Context) -> bool:
                a, b = left(ctx), right(ctx)
                if a is None or b is None:
                    return a is None and b is None
                return to_string(a) == to_string(b)
            return equals

        def matches(ctx: Context) -> bool:
            a, b = left(ctx), right(ctx)
            if a is None or b is None:
                return False
            return compile_regex(to_string(b)).fullmatch(to_string(a)) is not None
        return matches

    def statement(self, node: ast.Statement) -> Callable[[Context], Action | None]:
        """A closure that evaluates ``node`` now and returns the action to apply later."""
        if isinstance(node, ast.Conditional):
            conds = [self.condition(c) for c in node.conditions]
            inner = self.statement(node.then)

            def conditional(ctx: Context) -> Action | None:
                return inner(ctx) if all(c(ctx) for c in conds) else None
            return conditional
        if isinstance(node, ast.Assign):
            value = self.value(node.value)
            path = node.path
            element = path.steps[0]
            assert isinstance(element, ElementStep)

            def assign(ctx: Context) -> Action | None:
                v = value(ctx)
                if v is None:
                    return None
                text = to_string(v)
                if path.singular:
                    return lambda c: _create_or_write(c.ds, element.value, path, text)

                def assign_pattern(c: Context) -> None:
                    for tag in [t for t in c.ds._dict if t & element.mask == element.value]:  # noqa: SLF001
                        paths.set_element(c.ds, tag, text)
                return assign_pattern
            return assign
        if isinstance(node, ast.Delete):
            step = node.path.steps[0]
            assert isinstance(step, ElementStep)

            def delete(ctx: Context) -> Action | None:
                def act(c: Context) -> None:
                    for tag in [t for t in c.ds._dict if t & step.mask == step.value]:  # noqa: SLF001
                        del c.ds[tag]
                return act
            return delete
        if isinstance(node, ast.Echo):
            echo_value = self.value(node.value) if node.value is not None else None

            def echo(ctx: Context) -> Action | None:
                ctx.messages.append("" if echo_value is None else to_string(echo_value(ctx)))
                return None
            return echo
        if isinstance(node, (ast.Describe, ast.Export)):
            return lambda ctx: None
        raise AssertionError(f"unexpected DE4 statement {node!r}")

    def run(self, ctx: Context, supplied: Mapping[str, Any]) -> None:
        ctx.state.variables.clear()
        for name, value in supplied.items():
            ctx.state.variables[name.lower()] = value
        actions = []
        for st in self.compiled:
            action = st(ctx)
            if action is not None:
                actions.append(action)
        for name in self.initialisers:  # report every variable's value (e.g. session labels)
            if name not in ctx.state.variables:
                try:
                    self.variable(ctx, name)
                except ScriptRuntimeError:
                    ctx.state.variables[name] = None  # unused by the script: not its error
        for action in reversed(actions):
            action(ctx)
