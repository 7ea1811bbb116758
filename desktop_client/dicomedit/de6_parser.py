"""DicomEdit 6 pre-processor, lexer and parser (dicomedit.md §1.2, §2, §3).

The lexer reproduces the reference ANTLR lexer's *longest match, first rule wins* behaviour by
hand, because several scripts only make sense under it: ``(0010`` is one "group" token (so
``if ((0010,0010) = …)`` needs two parentheses and ``( 0010,0010)`` is an error), ``0010)`` is one
"element" token, ``x``/``X`` alone is the hex wildcard (never a variable), ``-5`` is a number and
``-(…)`` a deletion. The parser is a recursive-descent transcription of the grammar in §3.

String literals: quotes removed; as values and function arguments every ``\\\\`` becomes ``\\``
and every other escape stays verbatim; inside list literals, ``describe``, ``export`` and
``version`` nothing is collapsed (§2.3 quirk 4 — reproduced).

Pre-processing joins continued lines and strips ``//`` comments before lexing; a position map
keeps error positions pointing at the author's original line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from desktop_client.dicomedit import ast
from desktop_client.dicomedit.errors import ScriptSyntaxError
from desktop_client.dicomedit.paths import (ElementStep, TagPath, WildcardStep, private_step,
                                            public_step)

KEYWORDS = {"if", "elseif", "else", "describe", "hidden", "const", "immutable", "export", "echo",
            "removeAllPrivateTags", "version"}
_HEX = set("0123456789abcdefABCDEFxX@#")
_EVEN = set("02468aAcCeE@")
_ODD = set("13579bBdDfF#")
_CREATOR = re.compile(r"\{([A-Za-z][A-Za-z0-9 _.:\-]*)\}([0-9a-fA-FxX@#]{2})\)")
_NUMBER = re.compile(r"-?(?:0\.[0-9]+|[1-9][0-9]*(?:\.[0-9]+)?)|0")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_ESCAPE = re.compile(r"\\(?:[nrtbf()\\]|[0-7]{3})")

_PUNCT = {
    ":=": "ASSIGN", "?=": "ASSIGN_IF", "!=": "NE", "!~": "NMATCH",
    ",": ",", "(": "(", ")": ")", "[": "[", "]": "]", "{": "{", "}": "}", "/": "/",
    "?": "?", ":": ":", "=": "=", "~": "~", "%": "%", "*": "SEQWILD", "+": "SEQWILD",
    ".": "SEQWILD", "-": "-",
}


@dataclass(slots=True)
class Token:
    kind: str
    text: str
    line: int
    column: int


# ---------------------------------------------------------------------------------------------
# Pre-processing


def preprocess(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Join continued lines and drop ``//`` comments (§1.2); return text and char positions."""
    raw_lines = text.split("\n")
    joined: list[tuple[str, list[tuple[int, int]]]] = []
    pending_chars: list[str] = []
    pending_pos: list[tuple[int, int]] = []
    continued = False
    for n, line in enumerate(raw_lines, start=1):
        if line.endswith("\r"):
            line = line[:-1]
        chars = list(line)
        pos = [(n, c) for c in range(1, len(chars) + 1)]
        pending_chars.extend(chars)
        pending_pos.extend(pos)
        continued = line.endswith("\\")
        if continued:
            pending_chars.pop()
            pending_pos.pop()
            continue
        joined.append(("".join(pending_chars), pending_pos))
        pending_chars, pending_pos = [], []
    if continued:  # a trailing continuation leaves what it joined (maybe an empty line)
        joined.append(("".join(pending_chars), pending_pos))
    out_chars: list[str] = []
    out_pos: list[tuple[int, int]] = []
    for index, (line, pos) in enumerate(joined):
        cut = comment_start(line)
        if cut is not None:
            line, pos = line[:cut], pos[:cut]
        out_chars.append(line)
        out_pos.extend(pos)
        if index < len(joined) - 1:
            last = pos[-1] if pos else (out_pos[-1] if out_pos else (1, 0))
            out_chars.append("\n")
            out_pos.append((last[0], last[1] + 1))
    return "".join(out_chars), out_pos


_STRING_WITH_SLASHES = re.compile(r'.*"[^"]*(?<!http:)(?<!https:)//[^"]*".*')
_COMMENT = re.compile(r"(?<!http:)(?<!https:)//")


def comment_start(line: str) -> int | None:
    """Index where an end-of-line ``//`` comment starts, exactly like the reference processor.

    Lines with a quoted string containing ``//`` are scanned character by character: quotes
    toggle "in string" (no escapes), and a ``//`` right after ``:`` is kept (``url://x``).
    Other lines drop everything from the first ``//`` not preceded by ``http:``/``https:``.
    """
    if _STRING_WITH_SLASHES.fullmatch(line.strip()):
        in_string = False
        for i, ch in enumerate(line):
            if ch == '"':
                in_string = not in_string
            if not in_string and ch == "/" and line.startswith("//", i):
                if i > 0 and line[i - 1] == ":":
                    continue
                return i
        return None
    m = _COMMENT.search(line)
    return None if m is None else m.start()


# ---------------------------------------------------------------------------------------------
# Lexer


def tokenize(text: str, positions: list[tuple[int, int]] | None = None) -> list[Token]:
    tokens: list[Token] = []
    n = len(text)
    i = 0

    def where(index: int) -> tuple[int, int]:
        if positions is None:
            line = text.count("\n", 0, index) + 1
            return line, index - (text.rfind("\n", 0, index) + 1) + 1
        if index < len(positions):
            return positions[index]
        return (positions[-1][0], positions[-1][1] + 1) if positions else (1, 1)

    def add(kind: str, start: int, end: int) -> None:
        line, col = where(start)
        tokens.append(Token(kind, text[start:end], line, col))

    while i < n:
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if ch == "\n":
            add("NEWLINE", i, i + 1)
            i += 1
            continue
        if ch == "\r" and i + 1 < n and text[i + 1] == "\n":
            add("NEWLINE", i, i + 2)
            i += 2
            continue
        if ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            i = end
            continue
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    m = _STRING_ESCAPE.match(text, j)
                    if m is None:
                        line, col = where(j)
                        bad = text[j:j + 2]
                        hint = (" (a DicomEdit 6 string cannot contain a double quote)"
                                if bad == '\\"' else
                                "; only \\n \\r \\t \\b \\f \\( \\) \\\\ and three-digit octal escapes "
                                "are allowed (write \\\\ for a regex backslash)")
                        raise ScriptSyntaxError(f"invalid escape sequence {bad!r} in string{hint}",
                                                line, col)
                    j = m.end()
                    continue
                j += 1
            if j >= n:
                line, col = where(i)
                raise ScriptSyntaxError("unterminated string (missing closing \")", line, col)
            add("STRING", i, j + 1)
            i = j + 1
            continue
        if ch == "(":
            word = text[i + 1:i + 5]
            if len(word) == 4 and all(c in _HEX for c in word) and word[3] not in "xX":
                add("PUBLIC_GROUP" if word[3] in _EVEN else "PVT_GROUP", i, i + 5)
                i += 5
                continue
            add("(", i, i + 1)
            i += 1
            continue
        if ch == "{":
            m = _CREATOR.match(text, i)
            if m is not None:
                add("PVT_ELEMENT", i, m.end())
                i = m.end()
                continue
            add("{", i, i + 1)
            i += 1
            continue
        if ch in _HEX:
            word = text[i:i + 4]
            if len(word) == 4 and all(c in _HEX for c in word) and text[i + 4:i + 5] == ")":
                add("PUBLIC_ELEMENT", i, i + 5)
                i += 5
                continue
        if ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            if m is not None and m.end() > i + (1 if ch == "-" else 0):
                kind = "FLOAT" if "." in m.group() else "INTEGER"
                add(kind, i, m.end())
                i = m.end()
                continue
        if ch.isalpha() and ch.isascii() or ch == "_":
            m = _ID.match(text, i)
            assert m is not None
            word = m.group()
            if word in ("x", "X"):
                add("HEXWILD", i, m.end())
            elif word in KEYWORDS:
                add(word, i, m.end())
            else:
                add("ID", i, m.end())
            i = m.end()
            continue
        two = text[i:i + 2]
        if two in _PUNCT:
            add(_PUNCT[two], i, i + 2)
            i += 2
            continue
        if ch in _PUNCT:
            add(_PUNCT[ch], i, i + 1)
            i += 1
            continue
        line, col = where(i)
        raise ScriptSyntaxError(f"unexpected character {ch!r}", line, col)
    line, col = where(n)
    tokens.append(Token("EOF", "", line, col))
    return tokens


def value_string(token_text: str) -> str:
    """A string literal used as a value/argument: quotes off, ``\\\\`` → ``\\`` (§2.3)."""
    return token_text[1:-1].replace("\\\\", "\\")


def raw_string(token_text: str) -> str:
    """A string literal in a list/describe/export/version: quotes off, nothing else (§2.3)."""
    return token_text[1:-1]


# ---------------------------------------------------------------------------------------------
# Parser


_VALUE_START = {"INTEGER", "FLOAT", "ID", "STRING", "PUBLIC_GROUP", "PVT_GROUP", "SEQWILD", "{"}
_COND_OPS = {"=": "=", "~": "~", "NE": "!=", "NMATCH": "!~"}


def _describe(tok: Token) -> str:
    if tok.kind == "EOF":
        return "end of script"
    if tok.kind == "NEWLINE":
        return "end of line"
    return repr(tok.text)


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> ScriptSyntaxError:
        tok = tok or self.tok
        return ScriptSyntaxError(message, tok.line, tok.column)

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}, found {_describe(self.tok)}")
        return self.advance()

    def skip_separators(self) -> None:
        while self.tok.kind == "NEWLINE":
            self.advance()

    # -- script
    def script(self) -> list[ast.Statement]:
        statements: list[ast.Statement] = []
        self.skip_separators()
        while self.tok.kind != "EOF":
            statements.append(self.statement())
            self.skip_separators()
        return statements

    def statement(self) -> ast.Statement:
        tok = self.tok
        kind = tok.kind
        if kind == "if":
            return self.if_chain()
        if kind == "describe":
            self.advance()
            name = self.expect("ID", "a variable name after 'describe'")
            if self.tok.kind == "STRING":
                return ast.Describe(name.text, text=raw_string(self.advance().text),
                                    line=tok.line, column=tok.column)
            if self.tok.kind == "hidden":
                self.advance()
                return ast.Describe(name.text, hidden=True, line=tok.line, column=tok.column)
            if self.tok.kind in ("const", "immutable"):
                return ast.Describe(name.text, modifier=self.advance().kind, line=tok.line,
                                    column=tok.column)
            raise self.error("expected a \"description\", 'hidden', 'const' or 'immutable' after "
                             f"'describe {name.text}'")
        if kind == "export":
            self.advance()
            name = self.expect("ID", "a variable name after 'export'")
            field = self.expect("STRING", "the \"export field\" string")
            return ast.Export(name.text, raw_string(field.text), line=tok.line, column=tok.column)
        if kind == "removeAllPrivateTags":
            self.advance()
            return ast.RemoveAllPrivate(line=tok.line, column=tok.column)
        if kind == "version":
            self.advance()
            if self.tok.kind == "ASSIGN":
                raise self.error("'version' is a keyword: write the version statement as "
                                 "version \"6.1\" (no ':=')")
            text = self.expect("STRING", "a quoted version string, e.g. version \"6.1\"")
            return ast.Version(raw_string(text.text), line=tok.line, column=tok.column)
        if kind in ("else", "elseif"):
            raise self.error(f"'{kind}' without a preceding 'if' block")
        if kind in ("hidden", "const", "immutable"):
            raise self.error(f"'{kind}' is a keyword and cannot start a statement")
        return self.action(allow_conditional=True)

    def action(self, allow_conditional: bool) -> ast.Statement:
        tok = self.tok
        if tok.kind == "-":
            self.advance()
            if self.tok.kind not in ("PUBLIC_GROUP", "PVT_GROUP", "SEQWILD"):
                raise self.error("expected a tag path after '-'")
            return ast.Delete(self.tagpath(), line=tok.line, column=tok.column)
        if tok.kind == "echo":
            self.advance()
            value = self.value() if self.tok.kind in _VALUE_START else None
            return ast.Echo(value, line=tok.line, column=tok.column)
        if tok.kind not in _VALUE_START:
            if tok.kind == "HEXWILD":
                raise self.error(f"'{tok.text}' is the hex-digit wildcard and cannot be used as a "
                                 "variable name")
            if tok.kind in KEYWORDS:
                raise self.error(f"'{tok.text}' is a keyword and cannot be used here")
            if tok.kind == "(":
                raise self.error("malformed tag: write tags as (gggg,eeee) with no space after "
                                 "'(' and a parity-concrete last group digit (e.g. (50X@,XXXX))")
            raise self.error(f"unexpected {_describe(tok)}: expected a statement")
        left = self.value()
        nxt = self.tok
        if nxt.kind == "ASSIGN":
            self.advance()
            if isinstance(left, ast.Path):
                return ast.Assign(left.path, self.value(), line=tok.line, column=tok.column)
            if isinstance(left, ast.Var):
                return ast.Init(left.name, self.value(), line=tok.line, column=tok.column)
            raise self.error("only a tag path or a variable name can be assigned with ':='", tok)
        if nxt.kind == "ASSIGN_IF":
            self.advance()
            if isinstance(left, ast.Path):
                return ast.Assign(left.path, self.value(), if_exists=True, line=tok.line,
                                  column=tok.column)
            raise self.error("only a tag path can be assigned with '?='", tok)
        if allow_conditional and (nxt.kind in _COND_OPS or nxt.kind == "?"):
            if nxt.kind == "?":
                if not isinstance(left, ast.Call):
                    raise self.error("a condition is 'value = value', 'value ~ regex', "
                                     "'value != value', 'value !~ regex' or a function call", nxt)
                cond: ast.Condition = ast.CallCondition(left, line=tok.line, column=tok.column)
            else:
                op = _COND_OPS[self.advance().kind]
                if self.tok.kind not in _VALUE_START:
                    raise self.error(f"expected a value after '{op}'")
                cond = ast.Compare(left, op, self.value(), line=tok.line, column=tok.column)
            self.expect("?", "'?' after the condition")
            then = self.constrained_action()
            otherwise = None
            if self.tok.kind == ":":
                self.advance()
                otherwise = self.constrained_action()
            return ast.Conditional([cond], then, otherwise, line=tok.line, column=tok.column)
        if isinstance(left, ast.Call):
            return ast.CallStmt(left, line=tok.line, column=tok.column)
        if isinstance(left, ast.Path):
            raise self.error(f"expected ':=', '?=' or a condition operator after tag path "
                             f"{left.path.text}, found {_describe(nxt)}", nxt)
        raise self.error(f"unexpected {_describe(nxt)} after {_describe(tok)}", nxt)

    def constrained_action(self) -> ast.Statement:
        if self.tok.kind in ("if", "describe", "export", "removeAllPrivateTags", "version"):
            raise self.error(f"'{self.tok.text}' is not allowed in a conditional statement; only "
                             "assignments, deletions, variable initialisations, function calls "
                             "and echo are")
        return self.action(allow_conditional=False)

    def condition(self) -> ast.Condition:
        tok = self.tok
        if tok.kind not in _VALUE_START:
            raise self.error(f"expected a condition, found {_describe(tok)}")
        left = self.value()
        if self.tok.kind in _COND_OPS:
            op = _COND_OPS[self.advance().kind]
            return ast.Compare(left, op, self.value(), line=tok.line, column=tok.column)
        if isinstance(left, ast.Call):
            return ast.CallCondition(left, line=tok.line, column=tok.column)
        raise self.error(f"expected '=', '!=', '~' or '!~' in the condition, found "
                         f"{_describe(self.tok)}")

    def block(self) -> list[ast.Statement]:
        self.expect("{", "'{' to open the block")
        statements: list[ast.Statement] = []
        while True:
            self.skip_separators()
            if self.tok.kind == "}":
                self.advance()
                return statements
            if self.tok.kind == "EOF":
                raise self.error("missing '}' at the end of the block")
            statements.append(self.statement())

    def if_chain(self) -> ast.IfChain:
        start = self.advance()
        branches: list[tuple[ast.Condition, list[ast.Statement]]] = []
        self.expect("(", "'(' after 'if' (a tag needs its own parentheses: if ((0010,0010) = \"x\"))")
        cond = self.condition()
        self.expect(")", "')' to close the condition")
        self.skip_separators()
        branches.append((cond, self.block()))
        otherwise = None
        while True:
            save = self.pos
            self.skip_separators()
            if self.tok.kind == "elseif":
                self.advance()
                self.expect("(", "'(' after 'elseif'")
                cond = self.condition()
                self.expect(")", "')' to close the condition")
                self.skip_separators()
                branches.append((cond, self.block()))
                continue
            if self.tok.kind == "else":
                self.advance()
                self.skip_separators()
                otherwise = self.block()
                break
            self.pos = save
            break
        return ast.IfChain(branches, otherwise, line=start.line, column=start.column)

    # -- values
    def value(self, in_list: bool = False) -> ast.Expr:
        tok = self.tok
        kind = tok.kind
        if kind == "INTEGER" or kind == "FLOAT":
            self.advance()
            return ast.Num(tok.text, line=tok.line, column=tok.column)
        if kind == "STRING":
            self.advance()
            text = raw_string(tok.text) if in_list else value_string(tok.text)
            return ast.Str(text, line=tok.line, column=tok.column)
        if kind == "ID":
            self.advance()
            if self.tok.kind == "[":
                return self.call(tok)
            return ast.Var(tok.text, line=tok.line, column=tok.column)
        if kind in ("PUBLIC_GROUP", "PVT_GROUP", "SEQWILD"):
            return ast.Path(self.tagpath(), line=tok.line, column=tok.column)
        if kind == "{":
            return self.list_literal()
        if kind == "HEXWILD":
            raise self.error(f"'{tok.text}' is the hex-digit wildcard and cannot be a variable name")
        if kind in KEYWORDS:
            raise self.error(f"'{tok.text}' is a keyword and cannot be used as a value")
        raise self.error(f"expected a value, found {_describe(tok)}")

    def call(self, name: Token) -> ast.Call:
        self.expect("[", "'['")
        args: list[ast.Expr] = []
        if self.tok.kind != "]":
            args.append(self.value())
            while self.tok.kind == ",":
                self.advance()
                args.append(self.value())
        if self.tok.kind != "]":
            raise self.error(f"expected ',' or ']' in the arguments of {name.text}, found "
                             f"{_describe(self.tok)}")
        self.advance()
        return ast.Call(name.text, args, line=name.line, column=name.column)

    def list_literal(self) -> ast.ListLit:
        start = self.advance()
        items: list[ast.Expr] = []
        if self.tok.kind == "NEWLINE":
            self.advance()
        if self.tok.kind != "}":
            while True:
                if self.tok.kind == "NEWLINE":
                    self.advance()
                items.append(self.value(in_list=True))
                if self.tok.kind == "NEWLINE":
                    self.advance()
                if self.tok.kind != ",":
                    break
                self.advance()
        if self.tok.kind == "NEWLINE":
            self.advance()
        if self.tok.kind != "}":
            raise self.error(f"expected ',' or '}}' in the list, found {_describe(self.tok)}")
        self.advance()
        return ast.ListLit(items, line=start.line, column=start.column)

    def element(self) -> ElementStep:
        group = self.advance()
        if self.tok.kind == ",":
            self.advance()
        else:
            raise self.error(f"expected ',' in tag {group.text}…")
        elem = self.tok
        if group.kind == "PUBLIC_GROUP":
            if elem.kind == "PVT_ELEMENT":
                raise self.error("a public (even) group cannot have a {private creator} element", elem)
            if elem.kind != "PUBLIC_ELEMENT":
                raise self.error("expected four element digits followed by ')' (no space before ')')")
            self.advance()
            return public_step(group.text[1:], elem.text[:-1])
        if elem.kind == "PUBLIC_ELEMENT":
            raise self.error(f"private tags must name their creator: write ({group.text[1:]},"
                             "{CREATOR}ee) instead of a numeric element", elem)
        if elem.kind != "PVT_ELEMENT":
            raise self.error("expected {creator}ee) for a private tag")
        self.advance()
        m = _CREATOR.match(elem.text)
        assert m is not None
        return private_step(group.text[1:], m.group(1), m.group(2))

    def tagpath(self) -> TagPath:
        steps: list[ElementStep | WildcardStep] = []
        while True:
            tok = self.tok
            if tok.kind == "SEQWILD":
                self.advance()
                steps.append(WildcardStep(tok.text))
            elif tok.kind in ("PUBLIC_GROUP", "PVT_GROUP"):
                step = self.element()
                if self.tok.kind == "[":
                    self.advance()
                    idx = self.tok
                    if idx.kind == "%":
                        self.advance()
                        step = step.with_item(None, True)
                    elif idx.kind == "INTEGER":
                        self.advance()
                        step = step.with_item(int(idx.text), True)
                    else:
                        raise self.error("an item number is a decimal integer or %")
                    self.expect("]", "']' after the item number")
                steps.append(step)
            else:
                raise self.error(f"expected a tag or a sequence wildcard (* + .), found "
                                 f"{_describe(tok)}")
            if self.tok.kind != "/":
                break
            self.advance()
        text = "/".join(s.text for s in steps)
        return TagPath(tuple(steps), text)


def parse(text: str) -> list[ast.Statement]:
    """Parse a whole DE6 script; raises ScriptSyntaxError with the original line/column."""
    processed, positions = preprocess(text)
    return Parser(tokenize(processed, positions)).script()


def parse_tagpath(text: str) -> TagPath:
    """Parse a DE6 tag path written inside a string argument (§4.5); ValueError if invalid."""
    try:
        parser = Parser(tokenize(text))
        if parser.tok.kind not in ("PUBLIC_GROUP", "PVT_GROUP", "SEQWILD"):
            raise ValueError(text)
        path = parser.tagpath()
        if parser.tok.kind != "EOF":
            raise ValueError(text)
        return path
    except ScriptSyntaxError:
        raise ValueError(text) from None
