"""Export and import of the bulk table as CSV, in ``labels.csv_table``'s columns (the CLI's
``--labels`` reads the same file, variables included; its formula guard applies)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from desktop_client.gui.widgets import MessageBar
from desktop_client.gui.wizard.confirm.bulk import LABEL, SUBJECT, TRACER, BulkTable
from desktop_client.labels import export_csv, import_csv
from desktop_client.plan.rules import has_pet


def csv_text(table: BulkTable) -> str:
    out = io.StringIO()
    export_csv(table.label_rows(), out, [v.name for v in table.variables])
    return out.getvalue()


def apply_csv(table: BulkTable, text: str) -> int:
    """Fill the table from a CSV; returns how many sessions it named. Raises ValueError (one
    sentence) for bad rows or rows naming studies that are not selected (the rest is applied)."""
    result = import_csv(text, table.label_rows())
    table.table.blockSignals(True)
    for row, (plan, data) in enumerate(zip(table.plans, result.rows)):
        if data.study_uid in result.unchecked:
            continue
        table.set_cell(row, SUBJECT, data.subject)
        table.set_cell(row, LABEL, data.session)
        if has_pet(plan):
            table.set_cell(row, TRACER, data.tracer)
        for i, var in enumerate(table.variables):
            table.set_cell(row, table.variable_column(i), data.variables.get(var.name, ""))
    table.table.blockSignals(False)
    table.edited.emit()
    if result.errors:
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        raise ValueError(result.errors[0].rstrip(".") + more)
    if result.unknown:
        raise ValueError(f"{len(result.unknown)} row(s) name studies that are not selected; "
                         "they were ignored")
    return len(table.plans) - len(result.unchecked)


class CsvActions:
    """*Export CSV…* and *Import CSV…* buttons for ``table``, reporting on ``message``."""

    def __init__(self, table: BulkTable, message: MessageBar, parent: QWidget) -> None:
        self.table, self.message, self.parent = table, message, parent
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._export)
        self.import_button = QPushButton("Import CSV…")
        self.import_button.clicked.connect(self._import)

    def add_to(self, add: Callable[[QWidget], None]) -> None:
        add(self.export_button)
        add(self.import_button)

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export labels", "labels.csv", "CSV (*.csv)")
        if path:
            export_csv(self.table.label_rows(), Path(path), [v.name for v in self.table.variables])
            self.message.info(f"Saved {path}. This file contains patient names and IDs: keep it private.")

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Import labels", "", "CSV (*.csv)")
        if not path:
            return
        try:
            matched = apply_csv(self.table, Path(path).read_text(encoding="utf-8-sig"))
            self.message.ok(f"Labels read for {matched} session(s).")
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            self.message.error(f"The CSV could not be used: {exc}.")
