"""Syntax tree shared by the DE6 and DE4 parsers.

Both dialects compile to these nodes; the evaluators differ (DE6 runs statements in order, DE4
evaluates everything against the original object first, §17.2). Every node keeps its source
position so run-time errors can point at the statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from desktop_client.dicomedit.paths import TagPath


@dataclass(slots=True)
class Node:
    line: int = field(default=0, kw_only=True)
    column: int = field(default=0, kw_only=True)


# ---- values ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Str(Node):
    value: str


@dataclass(slots=True)
class Num(Node):
    text: str  # numbers are kept as their source text (§5.2)


@dataclass(slots=True)
class Var(Node):
    name: str


@dataclass(slots=True)
class Path(Node):
    path: TagPath


@dataclass(slots=True)
class Call(Node):
    name: str
    args: list["Expr"]


@dataclass(slots=True)
class ListLit(Node):
    items: list["Expr"]


@dataclass(slots=True)
class NewUID(Node):
    """DE4 ``new UID`` (§17.1)."""


@dataclass(slots=True)
class ImplicitFormat(Node):
    """DE4 ``"pattern {0}" term, term`` (implicit MessageFormat, §17.1)."""

    pattern: str
    args: list["Expr"]


Expr = Str | Num | Var | Path | Call | ListLit | NewUID | ImplicitFormat


# ---- conditions -----------------------------------------------------------------------------


@dataclass(slots=True)
class Compare(Node):
    left: Expr
    op: str  # "=", "!=", "~", "!~"
    right: Expr


@dataclass(slots=True)
class CallCondition(Node):
    call: Call


Condition = Compare | CallCondition


# ---- statements -----------------------------------------------------------------------------


@dataclass(slots=True)
class Assign(Node):
    path: TagPath
    value: Expr
    if_exists: bool = False


@dataclass(slots=True)
class Init(Node):
    name: str
    value: Expr


@dataclass(slots=True)
class Delete(Node):
    path: TagPath


@dataclass(slots=True)
class CallStmt(Node):
    call: Call


@dataclass(slots=True)
class Echo(Node):
    value: Expr | None


@dataclass(slots=True)
class Conditional(Node):
    conditions: list[Condition]  # ANDed (DE4 allows several; DE6 exactly one)
    then: "Statement"
    otherwise: "Statement | None" = None


@dataclass(slots=True)
class IfChain(Node):
    branches: list[tuple[Condition, list["Statement"]]]
    otherwise: list["Statement"] | None = None


@dataclass(slots=True)
class Describe(Node):
    name: str
    text: str | None = None
    hidden: bool = False
    modifier: str | None = None  # "const" / "immutable": parsed, no effect (§6.8)


@dataclass(slots=True)
class Export(Node):
    name: str
    field_name: str


@dataclass(slots=True)
class RemoveAllPrivate(Node):
    pass


@dataclass(slots=True)
class Version(Node):
    text: str


Statement = (Assign | Init | Delete | CallStmt | Echo | Conditional | IfChain | Describe | Export
             | RemoveAllPrivate | Version)


def walk_statements(statements: list[Statement]) -> Iterator[Statement]:
    """Every statement, nested ones included, in source order."""
    for st in statements:
        yield st
        if isinstance(st, Conditional):
            yield from walk_statements([st.then] + ([st.otherwise] if st.otherwise else []))
        elif isinstance(st, IfChain):
            for _cond, block in st.branches:
                yield from walk_statements(block)
            if st.otherwise:
                yield from walk_statements(st.otherwise)


def walk_exprs(node: object) -> Iterator[Expr]:
    """Every expression inside a statement/condition/expression, in source order."""
    if isinstance(node, (Str, Num, Var, Path, NewUID)):
        yield node
    elif isinstance(node, Call):
        yield node
        for a in node.args:
            yield from walk_exprs(a)
    elif isinstance(node, ListLit):
        yield node
        for a in node.items:
            yield from walk_exprs(a)
    elif isinstance(node, ImplicitFormat):
        yield node
        for a in node.args:
            yield from walk_exprs(a)
    elif isinstance(node, Compare):
        yield from walk_exprs(node.left)
        yield from walk_exprs(node.right)
    elif isinstance(node, CallCondition):
        yield from walk_exprs(node.call)
    elif isinstance(node, (Assign, Init)):
        yield from walk_exprs(node.value)
    elif isinstance(node, CallStmt):
        yield from walk_exprs(node.call)
    elif isinstance(node, Echo) and node.value is not None:
        yield from walk_exprs(node.value)
    elif isinstance(node, Conditional):
        for c in node.conditions:
            yield from walk_exprs(c)
    elif isinstance(node, IfChain):
        for c, _block in node.branches:
            yield from walk_exprs(c)
