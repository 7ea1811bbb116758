"""DicomEdit 6 evaluator: the syntax tree compiled once into Python closures (§6–§8).

Parse once, apply many: every statement becomes a closure over pre-resolved paths, functions and
regexes, so applying a script to an object is a loop of plain calls. Statements run strictly top
to bottom, each fully before the next (§1.2 step 4). Null rules (§6.1, §7): a null value makes an
assignment a no-op; ``=``/``~`` are false and ``!=``/``!~`` true when either side is null.
"""

from __future__ import annotations

from typing import Any, Callable

from desktop_client.dicomedit import ast, paths
from desktop_client.dicomedit.errors import ScriptRuntimeError, located
from desktop_client.dicomedit.functions import BUILTINS
from desktop_client.dicomedit.paths import TagPath
from desktop_client.dicomedit.runtime import VOID, Context, compile_regex, to_bool, to_string

Eval = Callable[[Context], Any]
Exec = Callable[[Context], None]

SUPPORTED_VERSIONS = ("6.0", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7")


def _at(node: ast.Node, exc: ScriptRuntimeError) -> ScriptRuntimeError:
    return located(exc, node.line, node.column)


class Compiler:
    def __init__(self, custom: dict[str, Callable[..., Any]] | None = None) -> None:
        self.custom = custom or {}

    # ---- expressions
    def value(self, node: ast.Expr) -> Eval:
        """An expression where a value is expected: tag paths are read (must be singular)."""
        if isinstance(node, ast.Path):
            path = node.path
            if not path.singular:
                message = f"Path matching multiple tags not allowed as term: {path.reference_text}"

                def plural(ctx: Context) -> Any:
                    raise ScriptRuntimeError(message)
                return plural
            return lambda ctx: paths.read(ctx.ds, path)
        return self.argument(node)

    def argument(self, node: ast.Expr) -> Eval:
        """An expression as a function argument or list element: tag paths stay paths."""
        if isinstance(node, ast.Str):
            text = node.value
            return lambda ctx: text
        if isinstance(node, ast.Num):
            number = node.text
            return lambda ctx: number
        if isinstance(node, ast.Var):
            name = node.name
            return lambda ctx: ctx.state.variables.get(name)
        if isinstance(node, ast.Path):
            path = node.path
            return lambda ctx: path
        if isinstance(node, ast.ListLit):
            items = [self.argument(i) for i in node.items]
            return lambda ctx: [i(ctx) for i in items]
        if isinstance(node, ast.Call):
            return self.call(node)
        raise AssertionError(f"unexpected DE6 expression {node!r}")

    def call(self, node: ast.Call) -> Eval:
        name = node.name
        args = [self.argument(a) for a in node.args]
        fn = BUILTINS.get(name) or self.custom.get(name)
        if fn is None:
            message = f"Error evaluating {name}: Failed to find function: {name}"

            def unknown(ctx: Context) -> Any:
                raise ScriptRuntimeError(message)
            return unknown
        function = fn

        def invoke(ctx: Context) -> Any:
            return function(ctx, [a(ctx) for a in args])
        return invoke

    # ---- conditions
    def condition(self, node: ast.Condition) -> Callable[[Context], bool]:
        if isinstance(node, ast.CallCondition):
            call = self.call(node.call)
            return lambda ctx: to_bool(call(ctx))
        left, right, op = self.value(node.left), self.value(node.right), node.op
        if op in ("=", "!="):
            negate = op == "!="

            def equals(ctx: Context) -> bool:
                a, b = left(ctx), right(ctx)
                result = a is not None and b is not None and to_string(a) == to_string(b)
                return result != negate
            return equals
        negate = op == "!~"
        literal = node.right.value if isinstance(node.right, ast.Str) else (
            node.right.text if isinstance(node.right, ast.Num) else None)
        try:
            pattern = compile_regex(literal) if literal is not None else None
        except ScriptRuntimeError:
            pattern = None  # a bad literal regex fails when the condition runs, as in Java
        if pattern is not None:

            def matches_literal(ctx: Context) -> bool:
                a = left(ctx)
                return (a is not None and pattern.fullmatch(to_string(a)) is not None) != negate
            return matches_literal

        def matches(ctx: Context) -> bool:
            # A right-hand side read from a tag path (or a variable) is the regex; when it is
            # null (absent attribute) the regex matches nothing, like a null left side: ``~`` is
            # false and ``!~`` true, never an error (the reference's fixed behaviour).
            a, b = left(ctx), right(ctx)
            hit = a is not None and b is not None and \
                compile_regex(to_string(b)).fullmatch(to_string(a)) is not None
            return hit != negate
        return matches

    # ---- statements
    def block(self, statements: list[ast.Statement]) -> Exec:
        compiled = [self.statement(s) for s in statements]

        def run(ctx: Context) -> None:
            for st in compiled:
                st(ctx)
        return run

    def statement(self, node: ast.Statement) -> Exec:
        inner = self._statement(node)

        def located(ctx: Context) -> None:
            try:
                inner(ctx)
            except ScriptRuntimeError as exc:
                raise _at(node, exc) from exc
        return located if not isinstance(node, (ast.IfChain, ast.Conditional)) else inner

    def _statement(self, node: ast.Statement) -> Exec:
        if isinstance(node, ast.Assign):
            return self.assign(node)
        if isinstance(node, ast.Init):
            value = self.value(node.value)
            name = node.name

            def init(ctx: Context) -> None:
                v = value(ctx)
                ctx.state.variables[name] = None if v is VOID else v
            return init
        if isinstance(node, ast.Delete):
            path = node.path
            return lambda ctx: paths.delete(ctx.ds, path)
        if isinstance(node, ast.CallStmt):
            call = self.call(node.call)

            def call_stmt(ctx: Context) -> None:
                call(ctx)
            return call_stmt
        if isinstance(node, ast.Echo):
            if node.value is None:
                def bare_echo(ctx: Context) -> None:
                    raise ScriptRuntimeError("java.lang.NullPointerException: 'echo' needs a value "
                                             "in DicomEdit 6")
                return bare_echo
            value = self.value(node.value)
            return lambda ctx: ctx.messages.append(to_string(value(ctx)))
        if isinstance(node, ast.Conditional):
            cond = self.condition(node.conditions[0])
            then = self.statement(node.then)
            otherwise = self.statement(node.otherwise) if node.otherwise else None

            def conditional(ctx: Context) -> None:
                try:
                    ok = cond(ctx)
                except ScriptRuntimeError as exc:
                    raise _at(node, exc) from exc
                if ok:
                    then(ctx)
                elif otherwise is not None:
                    otherwise(ctx)
            return conditional
        if isinstance(node, ast.IfChain):
            branches = [(self.condition(c), self.block(b), c) for c, b in node.branches]
            otherwise_block = self.block(node.otherwise) if node.otherwise is not None else None

            def if_chain(ctx: Context) -> None:
                for cond, block, cnode in branches:
                    try:
                        ok = cond(ctx)
                    except ScriptRuntimeError as exc:
                        raise _at(cnode, exc) from exc
                    if ok:
                        block(ctx)
                        return
                if otherwise_block is not None:
                    otherwise_block(ctx)
            return if_chain
        if isinstance(node, (ast.Describe, ast.Export)):
            return lambda ctx: None  # metadata only; collected at compile time (§6.8, §6.9)
        if isinstance(node, ast.RemoveAllPrivate):
            return lambda ctx: paths.remove_all_private(ctx.ds)
        if isinstance(node, ast.Version):
            version = node.text
            if version in SUPPORTED_VERSIONS:
                return lambda ctx: None
            message = (f"Unsupported version: {version}. Supported versions are "
                       f"[{', '.join(SUPPORTED_VERSIONS)}]")

            def bad_version(ctx: Context) -> None:
                raise ScriptRuntimeError(message)
            return bad_version
        raise AssertionError(f"unexpected DE6 statement {node!r}")

    def assign(self, node: ast.Assign) -> Exec:
        value = self.value(node.value)
        path: TagPath = node.path
        if node.if_exists:
            def assign_if_exists(ctx: Context) -> None:
                v = value(ctx)
                if v is VOID:
                    raise ScriptRuntimeError("Assigned value is VOID.")
                text = "" if v is None else to_string(v)
                for parent, tag in paths.find(ctx.ds, path):
                    if tag is not None:
                        paths.set_element(parent, tag, text)
            return assign_if_exists
        plural_message = None if path.singular else (
            "Assigning to a tagpath that maps to multiple attributes in not supported. "
            f"TagPath: {path.reference_text}")

        def assign(ctx: Context) -> None:
            v = value(ctx)
            if v is VOID:
                raise ScriptRuntimeError("Assigned value is VOID.")
            if v is None:
                return
            if plural_message is not None:
                raise ScriptRuntimeError(plural_message)
            paths.write(ctx.ds, path, to_string(v))
        return assign


def compile_statements(statements: list[ast.Statement],
                       custom: dict[str, Callable[..., Any]] | None = None) -> Exec:
    return Compiler(custom).block(statements)

