"""``ScanViewer``: one scan, frame by frame, with the rectangle tool and a true Before/After preview.

Decoding happens in the background (``jobs.LatestOnly``): the raw frame (for window/level and the
value under the cursor) is read with pydicom, and in *After* mode the displayed image is the pixel
engine's ``render`` with the scan's rectangles — the code that redacts at upload. Rectangles are
image-pixel ``Rect`` objects that apply to every frame of the scan.

Keys: PgUp/PgDn/arrows (or the wheel) change frame, Home/End first/last; R rectangle, P pan,
W window/level; F fit, 1 one-to-one, +/- zoom; Space toggles Before/After; Del deletes the
selected box. A selected suggestion (dashed) moves with the arrows, Enter accepts it, Del
dismisses it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget,
)

from desktop_client.core.geometry import Rect
from desktop_client.gui.viewer.canvas import TOOL_PAN, TOOL_RECT, TOOL_WINDOW, ImageCanvas, Suggestion
from desktop_client.gui.viewer.engine import render_after
from desktop_client.gui.viewer.frames import FrameReader, RawFrame, frame_count, frame_index, window_to_uint8
from desktop_client.gui.viewer.jobs import LatestOnly
from desktop_client.gui.viewer.qimage import to_qimage
from desktop_client.scanning.model import Scan


#: Makes the checked state of toggle buttons obvious in both themes (Fusion only sinks them).
CHECKED_STYLE = ("QPushButton:checked, QToolButton:checked { background: #2f6f95; color: white; "
                 "border: 1px solid #2f6f95; }")


def _tool_button(text: str, tip: str, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(text)
    button.setCheckable(checkable)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    if checkable:
        button.setStyleSheet(CHECKED_STYLE)
    return button


class ScanViewer(QWidget):
    """Viewer with toolbar, frame slider and status line. Emits ``rectanglesChanged`` on edits."""

    rectanglesChanged = Signal()
    suggestionsChanged = Signal()
    suggestionAccepted = Signal(object)   # a Suggestion: accept it alone (Enter on the selected one)
    suggestionDismissed = Signal(object)  # a Suggestion: dismiss it alone (Delete on the selected one)
    frameShown = Signal(int)        # scan-wide frame index, after it is on screen
    previewChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, reader: FrameReader | None = None) -> None:
        super().__init__(parent)
        self._reader = reader or FrameReader()
        self._loader = LatestOnly(self)
        self._loader.done.connect(self._on_loaded)
        self._scan: Scan | None = None
        self._frames = 0
        self._frame = 0
        self._raw: RawFrame | None = None
        self._raw_key: tuple[str, int] | None = None
        self._window: tuple[float, float] | None = None
        self._preview = False
        self._editable = True
        self._pending: tuple | None = None
        self._shown_key: tuple | None = None

        self.canvas = ImageCanvas(self)
        self.canvas.rectanglesChanged.connect(self._on_rects_changed)
        self.canvas.suggestionsChanged.connect(self.suggestionsChanged)
        self.canvas.suggestionAccepted.connect(self.suggestionAccepted)
        self.canvas.suggestionDismissed.connect(self.suggestionDismissed)
        self.canvas.cursorMoved.connect(self._on_cursor)
        self.canvas.windowDragged.connect(self._on_window_drag)
        self.canvas.frameStep.connect(lambda step: self.set_frame(self._frame + step))
        self.canvas.viewChanged.connect(self._update_status)
        self.canvas.selectionChanged.connect(self._update_buttons)

        bar = QHBoxLayout()
        bar.setSpacing(4)
        self._tools = QButtonGroup(self)
        self.rect_tool = _tool_button("Rectangle", "Draw, move and resize redaction boxes (left drag)", True)
        self.pan_tool = _tool_button("Pan", "Move the image (or drag with the middle button)", True)
        self.wl_tool = _tool_button("Window/Level", "Drag: left/right = width, up/down = level "
                                    "(or drag with the right button)", True)
        for button, tool in ((self.rect_tool, TOOL_RECT), (self.pan_tool, TOOL_PAN), (self.wl_tool, TOOL_WINDOW)):
            self._tools.addButton(button)
            button.clicked.connect(lambda _c=False, t=tool: self.canvas.set_tool(t))
            bar.addWidget(button)
        self.rect_tool.setChecked(True)
        bar.addSpacing(10)
        self.fit_button = _tool_button("Fit", "Fit the image to the window")
        self.fit_button.clicked.connect(self.canvas.fit)
        self.one_button = _tool_button("1:1", "One image pixel per screen pixel")
        self.one_button.clicked.connect(self.canvas.actual_size)
        self.reset_view_button = _tool_button("Reset view", "Fit and restore the file's window/level")
        self.reset_view_button.clicked.connect(self.reset_view)
        self.delete_button = _tool_button("Delete box", "Delete the selected box (Del)")
        self.delete_button.clicked.connect(self.canvas.delete_selected)
        self.clear_button = _tool_button("Clear boxes", "Remove every box of this scan")
        self.clear_button.clicked.connect(self.canvas.clear_rectangles)
        for b in (self.fit_button, self.one_button, self.reset_view_button):
            bar.addWidget(b)
        bar.addSpacing(10)
        bar.addWidget(self.delete_button)
        bar.addWidget(self.clear_button)
        bar.addStretch(1)
        self.before_button = _tool_button("Before", "The original image with the boxes outlined", True)
        self.after_button = _tool_button("After", "The real redacted pixels, as they will be uploaded", True)
        mode = QButtonGroup(self)
        mode.addButton(self.before_button)
        mode.addButton(self.after_button)
        self.before_button.setChecked(True)
        self.before_button.clicked.connect(lambda: self.set_preview(False))
        self.after_button.clicked.connect(lambda: self.set_preview(True))

        frames_row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("Frame")
        self.slider.setMinimum(0)
        self.slider.valueChanged.connect(self.set_frame)
        self.frame_label = QLabel("")
        self.frame_label.setMinimumWidth(self.frame_label.fontMetrics().horizontalAdvance("0000 / 0000  (file frame 0000)"))
        frames_row.addWidget(QLabel("Frame"))
        frames_row.addWidget(self.slider, 1)
        frames_row.addWidget(self.frame_label)
        # Preview sits with the frame controls so the toolbar fits a 1280-px-wide window.
        frames_row.addSpacing(10)
        frames_row.addWidget(QLabel("Preview:"))
        frames_row.addWidget(self.before_button)
        frames_row.addWidget(self.after_button)

        self.status = QLabel("")
        self.status.setObjectName("hint")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(frames_row)
        layout.addWidget(self.status)

        for keys, fn in (("Home", lambda: self.set_frame(0)), ("End", lambda: self.set_frame(self._frames - 1)),
                         ("R", lambda: self.rect_tool.click()), ("P", lambda: self.pan_tool.click()),
                         ("W", lambda: self.wl_tool.click()), ("F", self.canvas.fit),
                         ("Space", lambda: self.set_preview(not self._preview)),
                         ("+", lambda: self.canvas.zoom(1.25)), ("=", lambda: self.canvas.zoom(1.25)),
                         ("-", lambda: self.canvas.zoom(0.8)), ("1", self.canvas.actual_size)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(fn)
        self._cursor: tuple[int, int] = (-1, -1)
        self._tool_before_lock: str | None = None
        self.set_scan(None)

    # -- public API -----------------------------------------------------------------------------
    def set_scan(self, scan: Scan | None, rectangles: list[Rect] | None = None, *, editable: bool = True,
                 frame: int | None = None) -> None:
        """Show ``scan`` (None: nothing) with its rectangles; opens on the middle frame by default."""
        self._scan = scan
        self._editable = editable
        self._frames = frame_count(scan) if scan is not None and scan.instances else 0
        self._raw, self._raw_key, self._window, self._shown_key = None, None, None, None
        self.canvas.set_rectangles(rectangles or [])
        self.canvas.set_suggestions([])
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, self._frames - 1))
        self._frame = min(self._frames - 1, frame if frame is not None else self._frames // 2) if self._frames else 0
        self.slider.setValue(self._frame)
        self.slider.blockSignals(False)
        self.slider.setEnabled(self._frames > 1)
        if scan is None or not self._frames:
            self.canvas.set_image(None)
            self.canvas.set_message("No scan selected" if scan is None else "This scan has no images")
        else:
            self.canvas.set_message("Loading…")
            self._request()
        self._apply_mode()
        self._update_status()

    def scan(self) -> Scan | None:
        return self._scan

    def rectangles(self) -> list[Rect]:
        return self.canvas.rectangles()

    def set_rectangles(self, rects: list[Rect]) -> None:
        self.canvas.set_rectangles(rects)
        if self._preview:
            self._request()
        self._update_buttons()
        self._update_status()

    def set_suggestions(self, suggestions: list[Suggestion]) -> None:
        """Suggested boxes (dashed) over the image; they are not redactions."""
        self.canvas.set_suggestions(suggestions)

    def suggestions(self) -> list[Suggestion]:
        return self.canvas.suggestions()

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self._apply_mode()

    def frame(self) -> int:
        return self._frame

    def frames(self) -> int:
        return self._frames

    def set_frame(self, index: int) -> None:
        if not self._frames:
            return
        index = max(0, min(self._frames - 1, int(index)))
        if index == self._frame and self._shown_key is not None:
            return
        self._frame = index
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self._request()
        self._update_status()

    def preview(self) -> bool:
        return self._preview

    def set_preview(self, on: bool) -> None:
        """After (True): show the engine's redacted render; Before: the original with outlines."""
        if on == self._preview:
            return
        self._preview = on
        (self.after_button if on else self.before_button).setChecked(True)
        self._apply_mode()
        self._request()
        self.previewChanged.emit(on)

    def is_loading(self) -> bool:
        """True until the requested frame (in the current mode) is on screen."""
        return self._frames > 0 and self._shown_key != self._key()

    def window_level(self) -> tuple[float, float] | None:
        """The (centre, width) shown; named so as not to hide ``QWidget.window()``."""
        return self._window

    def set_window_level(self, center: float, width: float) -> None:
        self._window = (center, max(1.0, width))
        self._redisplay_raw()

    def reset_view(self) -> None:
        if self._raw is not None and not self._raw.colour:
            self._window = (self._raw.window_center, self._raw.window_width)
            self._redisplay_raw()
        self.canvas.fit()

    def displayed_image(self):
        """The QImage on screen (tests compare its pixels)."""
        return self.canvas._image

    # -- loading --------------------------------------------------------------------------------
    def _key(self) -> tuple:
        rects = tuple(self.canvas.rectangles()) if self._preview else ()
        uid = self._scan.series_instance_uid if self._scan is not None else ""
        return (uid, self._frame, self._preview, rects)

    def _request(self) -> None:
        if self._scan is None or not self._frames:
            return
        key = self._key()
        instance, local = frame_index(self._scan, self._frame)
        reader = self._reader
        preview, rects = self._preview, list(self.canvas.rectangles())
        need_raw = self._raw_key != (instance.sop_instance_uid, local)

        def work() -> tuple[RawFrame | None, Any]:
            raw = reader.read(instance, local) if need_raw or not preview else None
            after = render_after(instance, local, rects) if preview else None
            return raw, after

        self._loader.request((key, (instance.sop_instance_uid, local)), work)

    def _on_loaded(self, payload: tuple) -> None:
        token, result, error = payload
        key, raw_key = token
        if key != self._key():
            self._request()  # the user moved on while this was decoding
            return
        if error is not None:
            self._shown_key = key
            self.canvas.set_image(None)
            self.canvas.set_message(f"No image to show: {error}")
            return
        raw, after = result
        if raw is not None:
            first = self._raw is None
            self._raw, self._raw_key = raw, raw_key
            if first or self._window is None:
                self._window = (raw.window_center, raw.window_width)
        if self._preview and after is not None:
            self.canvas.set_image(to_qimage(after), after.shape[1], after.shape[0])
        else:
            self._redisplay_raw()
        self._shown_key = key
        self._update_status()
        self.frameShown.emit(self._frame)

    def _redisplay_raw(self) -> None:
        raw = self._raw
        if raw is None or self._preview:
            self._update_status()
            return
        if raw.colour:
            display = raw.values
        else:
            center, width = self._window or (raw.window_center, raw.window_width)
            display = window_to_uint8(raw.values, center, width, raw.invert)
        self.canvas.set_image(to_qimage(display), raw.columns, raw.rows)
        self._update_status()

    # -- reactions ------------------------------------------------------------------------------
    def _apply_mode(self) -> None:
        editing = self._editable and not self._preview
        self.canvas.set_editable(editing, show_outlines=not self._preview)
        self.wl_tool.setEnabled(not self._preview)
        if not editing and self.canvas.tool() in (TOOL_RECT, TOOL_WINDOW):
            self._tool_before_lock = self.canvas.tool()
            self.pan_tool.setChecked(True)
            self.canvas.set_tool(TOOL_PAN)
        elif editing and self._tool_before_lock is not None:
            button = self.rect_tool if self._tool_before_lock == TOOL_RECT else self.wl_tool
            button.setChecked(True)
            self.canvas.set_tool(self._tool_before_lock)
            self._tool_before_lock = None
        self.rect_tool.setEnabled(editing)
        self._update_buttons()

    def _update_buttons(self) -> None:
        editing = self._editable and not self._preview
        self.delete_button.setEnabled(editing and self.canvas.selected() is not None)
        self.clear_button.setEnabled(editing and bool(self.canvas.rectangles()))

    def _on_rects_changed(self) -> None:
        self._update_buttons()
        self._update_status()
        self.rectanglesChanged.emit()

    def _on_cursor(self, column: int, row: int) -> None:
        self._cursor = (column, row)
        self._update_status()

    def _on_window_drag(self, dx: float, dy: float) -> None:
        raw = self._raw
        if raw is None or raw.colour or self._preview:
            return
        center, width = self._window or (raw.window_center, raw.window_width)
        step = max(width, 1.0) / 256.0
        self.set_window_level(center - dy * step, max(1.0, width + dx * step * 2))

    def _update_status(self) -> None:
        if self._scan is None or not self._frames:
            self.frame_label.setText("")
            self.status.setText("")
            return
        instance, local = frame_index(self._scan, self._frame)
        text = f"{self._frame + 1} / {self._frames}"
        if instance.frames > 1 and len(self._scan.instances) > 1:
            text += f"  (file frame {local + 1})"
        self.frame_label.setText(text)
        parts = []
        column, row = self._cursor
        raw = self._raw
        if column >= 0 and raw is not None and row < raw.rows and column < raw.columns:
            parts.append(f"x {column}, y {row}: {raw.value_text(column, row)}")
            if any(r.left <= column < r.right and r.top <= row < r.bottom for r in self.canvas.rectangles()):
                parts.append("inside a redaction box")
        if raw is not None and not raw.colour and self._window is not None and not self._preview:
            parts.append(f"W {self._window[1]:.0f} L {self._window[0]:.0f}")
        parts.append(f"zoom {self.canvas.transform.scale * 100:.0f} %")
        columns, rows = self.canvas.image_size()
        if columns:
            parts.append(f"{columns}×{rows}")
        n = len(self.canvas.rectangles())
        parts.append(f"{n} box{'es' if n != 1 else ''} (all frames)")
        if self._preview:
            parts.append("AFTER: real redacted pixels")
        self.status.setText("   ·   ".join(parts))
