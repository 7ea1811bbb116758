"""Light and dark palettes for the one stylesheet, following the system unless the user chose.

The stylesheet (``resources/style.qss``) uses ``@token@`` placeholders so both themes share every
rule; only colours differ. Fusion is the base style so the app looks the same on every platform.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).with_name("resources")

LIGHT = {
    "bg": "#f4f6f8", "card": "#ffffff", "alt": "#f7f9fb", "text": "#1f2a33", "muted": "#66737f",
    "line": "#d5dce2", "accent": "#2f6f95", "select": "#d7e8f3", "side": "#233440",
    "sidetext": "#dfe8ee", "sidehover": "#2f4452",
    "errbg": "#fbeaea", "errtext": "#8a1f1f", "errline": "#e2a5a5",
    "okbg": "#e8f5ec", "oktext": "#1d5c32", "okline": "#a9d4b6", "infobg": "#eef3f7",
}
DARK = {
    "bg": "#1d2329", "card": "#262d34", "alt": "#2a3239", "text": "#e3e8ec", "muted": "#98a4ae",
    "line": "#3a444d", "accent": "#4f97c2", "select": "#34566b", "side": "#161b20",
    "sidetext": "#d3dde4", "sidehover": "#27313a",
    "errbg": "#4a2626", "errtext": "#ffd6d6", "errline": "#8a4444",
    "okbg": "#213b2a", "oktext": "#cdeed7", "okline": "#3f7a52", "infobg": "#26323b",
}


def app_icon() -> QIcon:
    icon = QIcon(str(RESOURCES / "icon.svg"))
    png = RESOURCES / "icon.png"
    if png.exists():
        icon.addFile(str(png))
    return icon


def is_dark(choice: str) -> bool:
    if choice == "dark":
        return True
    if choice == "light":
        return False
    # styleHints() is static but needs the application object (no app: light, as Qt's default).
    return (QGuiApplication.instance() is not None
            and QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark)


def stylesheet(dark: bool) -> str:
    text = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    for key, value in (DARK if dark else LIGHT).items():
        text = text.replace(f"@{key}@", value)
    return text.replace("@resources@", RESOURCES.as_posix())


def apply_theme(app: QApplication, choice: str) -> None:
    """Apply the palette and stylesheet for ``choice`` ("system", "light" or "dark")."""
    dark = is_dark(choice)
    colours = DARK if dark else LIGHT
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(colours["bg"]))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colours["text"]))
    palette.setColor(QPalette.ColorRole.Base, QColor(colours["card"]))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(colours["alt"]))
    palette.setColor(QPalette.ColorRole.Text, QColor(colours["text"]))
    palette.setColor(QPalette.ColorRole.Button, QColor(colours["card"]))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(colours["text"]))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(colours["accent"]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.Link, QColor(colours["accent"]))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(colours["muted"]))
    app.setPalette(palette)
    app.setStyleSheet(stylesheet(dark))
