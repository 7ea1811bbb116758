"""The planning core stays below the faces: no Qt, no GUI, no CLI imports under desktop_client/plan."""

from __future__ import annotations

import ast
from pathlib import Path

import desktop_client.plan

FORBIDDEN = ("PySide6", "desktop_client.gui", "desktop_client.cli")


def test_plan_imports_neither_qt_nor_the_faces() -> None:
    root = Path(desktop_client.plan.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []
