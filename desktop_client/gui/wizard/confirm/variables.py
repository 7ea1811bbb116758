"""Script variables: the values a DicomEdit script asks for, one edit per variable (single form)
or one column per variable (bulk table). The official client cannot ask for them in bulk."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from PySide6.QtWidgets import QFormLayout, QLineEdit


def initial_value(var: Any) -> str:
    """What a variable's field starts with when the plan has no value for it."""
    return getattr(var, "initial_value", "") or ""


def column_title(var: Any) -> str:
    return getattr(var, "description", "") or var.name


class VariableEdits:
    """One line edit per script variable, as rows of the single-session form."""

    def __init__(self, form: QFormLayout, changed: Callable[[], None]) -> None:
        self.form = form
        self.changed = changed
        self.edits: dict[str, QLineEdit] = {}

    def show(self, variables: Sequence[Any], values: Mapping[str, str]) -> None:
        """Replace the rows with one per variable, filled from ``values`` (the plan's)."""
        for edit in self.edits.values():
            self.form.removeRow(edit)
        self.edits = {}
        for var in variables:
            edit = QLineEdit(values.get(var.name, initial_value(var)))
            edit.setAccessibleName(var.name)
            edit.textChanged.connect(lambda _text: self.changed())
            edit.setToolTip(f"Script variable “{var.name}”")
            self.edits[var.name] = edit
            self.form.addRow(var.description or var.name, edit)

    def values(self) -> dict[str, str]:
        return {name: edit.text().strip() for name, edit in self.edits.items()}
