"""The DicomEdit lookup table for the scripts' ``lookup[...]``: shown by file name and entry count,
never by its contents (it maps real identifiers)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop_client.transfer.spec import LookupTable


class LookupRow(QWidget):
    """Label, *Lookup table…* and *Clear*; the page reads the chosen file in the background."""

    chosen = Signal(str)
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setToolTip("A DicomEdit lookup table (keyType/key = value lines) for the "
                              "scripts' lookup[…]; receipts record its checksum only")
        self.button = QPushButton("Lookup &table…")
        self.button.clicked.connect(self._choose)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setAccessibleName("Clear the lookup table")
        self.clear_button.clicked.connect(self.cleared.emit)
        row.addWidget(self.label)
        row.addWidget(self.button)
        row.addWidget(self.clear_button)
        row.addStretch(1)

    def show_table(self, table: LookupTable | None, has_scripts: bool) -> None:
        # Only scripts read a lookup table: without any, the chooser would only confuse.
        self.setVisible(has_scripts or table is not None)
        if table is None:
            self.label.setText("Lookup table: none")
        else:
            count = table.entries
            self.label.setText(f"Lookup table: {table.name} · {count:,} "
                               f"entr{'y' if count == 1 else 'ies'}")
        self.clear_button.setVisible(table is not None)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Lookup table", "",
                                              "Lookup tables (*.txt *.properties *.lut);;All files (*)")
        if path:
            self.chosen.emit(path)
