"""The image canvas: zoom, pan, window/level by dragging, and the rectangle tool.

Everything the user draws is kept in image pixel coordinates (``core.geometry.Rect``); the screen
is only a view (``mapping.ViewTransform``). Mouse map, so nothing needs a mode switch for
common moves:

* left button — the current tool: *rectangle* (draw; drag inside a box to move it, on a handle to
  resize it), *pan*, or *window/level*;
* middle button — pan; right button — window/level (horizontal = width, vertical = level);
* wheel — next/previous frame; Ctrl+wheel — zoom around the cursor;
* Delete/Backspace removes the selected box, Esc deselects, arrow keys nudge it (Shift: 10 px).

Suggested boxes (text the finder read) are drawn dashed under the boxes, with the read text in
their tooltip; a click (without dragging) on one ticks or unticks it. A suggestion is edited like
a box before it is accepted: drag inside it to move it, on a handle of the selected one to resize
it, arrow keys nudge it; the edit snaps to whole pixels inside the image (``mapping``), ticks it
and marks it ``adjusted``. Enter asks to accept the selected suggestion alone, Delete to dismiss
it (``suggestionAccepted`` / ``suggestionDismissed``: the review decides). Suggestions are never
redacted until the review accepts them into ordinary boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from desktop_client.core.geometry import Rect
from desktop_client.gui.viewer.mapping import (
    ViewTransform, fit_transform, handle_points, hit_test, moved, pixel_at, rect_from_points, resized,
)

TOOL_RECT, TOOL_PAN, TOOL_WINDOW = "rectangle", "pan", "window"
_CURSORS = {"tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
            "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
            "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
            "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor,
            "move": Qt.CursorShape.SizeAllCursor}
RECT_COLOUR = QColor("#ffb000")
SELECTED_COLOUR = QColor("#35c3ff")
#: Suggested boxes (text the finder read): dashed, magenta when ticked, grey when not.
SUGGESTED_COLOUR = QColor("#ff3da8")
UNTICKED_COLOUR = QColor("#b8c2cc")


@dataclass(slots=True)
class Suggestion:
    """A box the text finder suggests: not a redaction until the user accepts it."""

    rect: Rect
    text: str
    likely_phi: bool
    ticked: bool
    #: The detected lines (unpadded) behind the box: what a dismissal records.
    lines: list[Rect] = field(default_factory=list)
    #: A person moved or resized the box before accepting it (the receipt says "detected (adjusted)").
    adjusted: bool = False


#: A press must move this far (screen pixels, Manhattan) before it moves or resizes a suggestion:
#: a click on one ticks or unticks it, and a click must not shift it by a rounding pixel.
DRAG_START = 3


class ImageCanvas(QWidget):
    """Shows one image (a frame) and edits the scan's rectangles on top of it."""

    rectanglesChanged = Signal()
    suggestionsChanged = Signal()
    suggestionAccepted = Signal(object)     # the selected Suggestion (Enter)
    suggestionDismissed = Signal(object)    # the selected Suggestion (Delete/Backspace)
    selectionChanged = Signal()
    cursorMoved = Signal(int, int)          # image column, row; (-1, -1) outside the image
    windowDragged = Signal(float, float)    # delta width, delta level, in screen pixels
    frameStep = Signal(int)                 # +1 / -1 from the wheel or keys
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 200)
        self.setAccessibleName("Image")
        self._image: QImage | None = None
        self._columns = self._rows = 0
        self._transform = ViewTransform()
        self._auto_fit = True
        self._rects: list[Rect] = []
        self._suggestions: list[Suggestion] = []
        self._selected: int | None = None
        self._selected_suggestion: int | None = None
        self._tool = TOOL_RECT
        self._editable = True
        self._show_outlines = True
        self._message = ""
        self._drag: dict | None = None

    # -- content --------------------------------------------------------------------------------
    def set_image(self, image: QImage | None, columns: int = 0, rows: int = 0) -> None:
        """Show ``image`` (``columns × rows`` image pixels). The view is kept if the size is the same."""
        size_changed = (columns, rows) != (self._columns, self._rows)
        self._image = image
        self._columns, self._rows = columns, rows
        if size_changed:
            self._auto_fit = True
            self._fit()
        self._message = ""
        self.update()

    def set_message(self, text: str) -> None:
        """Text shown instead of (or over) the image: loading, no image, decode errors."""
        self._message = text
        self.update()

    def image_size(self) -> tuple[int, int]:
        return self._columns, self._rows

    def set_rectangles(self, rects: list[Rect]) -> None:
        self._rects = list(rects)
        self._selected = None
        self.update()

    def rectangles(self) -> list[Rect]:
        return list(self._rects)

    def set_suggestions(self, suggestions: list[Suggestion]) -> None:
        self._suggestions = list(suggestions)
        self._selected_suggestion = None
        self.update()

    def selected_suggestion(self) -> int | None:
        return self._selected_suggestion

    def select_suggestion(self, index: int | None) -> None:
        """Select a suggestion to edit (a selected box is deselected: one selection at a time)."""
        self._selected_suggestion = index if index is not None and 0 <= index < len(self._suggestions) else None
        if self._selected_suggestion is not None:
            self._selected = None
        self.selectionChanged.emit()
        self.update()

    def set_suggestion_rect(self, index: int, rect: Rect) -> None:
        """Put suggestion ``index`` at ``rect`` (already whole pixels inside the image): it is now
        ``adjusted`` and ticked (the person edited it to accept it)."""
        suggestion = self._suggestions[index]
        if rect == suggestion.rect:
            return
        suggestion.rect, suggestion.adjusted, suggestion.ticked = rect, True, True
        self.suggestionsChanged.emit()
        self.update()

    def suggestions(self) -> list[Suggestion]:
        return list(self._suggestions)

    def suggestion_at(self, x: float, y: float) -> int | None:
        """Index of the (smallest) suggestion under the screen point, or None."""
        ix, iy = self._transform.to_image(x, y)
        hits = [(s.rect.width * s.rect.height, i) for i, s in enumerate(self._suggestions)
                if s.rect.left <= ix < s.rect.right and s.rect.top <= iy < s.rect.bottom]
        return min(hits)[1] if hits else None

    def toggle_suggestion(self, index: int) -> None:
        self._suggestions[index].ticked = not self._suggestions[index].ticked
        self.suggestionsChanged.emit()
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def select(self, index: int | None) -> None:
        self._selected = index if index is not None and 0 <= index < len(self._rects) else None
        if self._selected is not None:
            self._selected_suggestion = None
        self.selectionChanged.emit()
        self.update()

    def delete_selected(self) -> None:
        if self._editable and self._selected is not None:
            del self._rects[self._selected]
            self._selected = None
            self.selectionChanged.emit()
            self.rectanglesChanged.emit()
            self.update()

    def clear_rectangles(self) -> None:
        if self._rects and self._editable:
            self._rects = []
            self._selected = None
            self.selectionChanged.emit()
            self.rectanglesChanged.emit()
            self.update()

    def set_tool(self, tool: str) -> None:
        self._tool = tool
        self._update_cursor(None)

    def tool(self) -> str:
        return self._tool

    def set_editable(self, editable: bool, show_outlines: bool = True) -> None:
        """Preview mode shows the real redacted pixels: no outlines, no editing."""
        self._editable = editable
        self._show_outlines = show_outlines
        if not editable:
            self._selected = self._selected_suggestion = None
        self.update()

    # -- view -----------------------------------------------------------------------------------
    @property
    def transform(self) -> ViewTransform:
        return self._transform

    def set_transform(self, transform: ViewTransform) -> None:
        self._transform = transform
        self._auto_fit = False
        self.viewChanged.emit()
        self.update()

    def fit(self) -> None:
        self._auto_fit = True
        self._fit()
        self.update()

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel, centred."""
        t = ViewTransform(1.0, (self.width() - self._columns) / 2, (self.height() - self._rows) / 2)
        self.set_transform(t)

    def zoom(self, factor: float) -> None:
        self.set_transform(self._transform.zoomed(factor, self.width() / 2, self.height() / 2))

    def _fit(self) -> None:
        self._transform = fit_transform(self._columns, self._rows, self.width(), self.height())
        self.viewChanged.emit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._auto_fit:
            self._fit()
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(640, 520)

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#101418"))
        t = self._transform
        if self._image is not None and self._columns and self._rows:
            target = QRectF(t.offset_x, t.offset_y, self._columns * t.scale, self._rows * t.scale)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, t.scale < 1.0)
            painter.drawImage(target, self._image)
        if self._show_outlines:
            for index, suggestion in enumerate(self._suggestions):
                self._paint_suggestion(painter, suggestion, index == self._selected_suggestion)
            for index, rect in enumerate(self._rects):
                self._paint_rect(painter, rect, index == self._selected)
        if self._message:
            painter.setPen(QColor("#e8eef2"))
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
        painter.end()

    def _paint_rect(self, painter: QPainter, rect: Rect, selected: bool) -> None:
        t = self._transform
        x0, y0 = t.to_screen(rect.left, rect.top)
        x1, y1 = t.to_screen(rect.right, rect.bottom)
        colour = SELECTED_COLOUR if selected else RECT_COLOUR
        fill = QColor(colour)
        fill.setAlpha(60)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(QRectF(x0, y0, x1 - x0, y1 - y0), fill)
        pen = QPen(colour, 2)
        painter.setPen(pen)
        painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if selected and self._editable:
            self._paint_handles(painter, rect, colour)

    def _paint_handles(self, painter: QPainter, rect: Rect, colour: QColor) -> None:
        t = self._transform
        painter.setBrush(QColor("#ffffff"))
        painter.setPen(QPen(colour, 1))
        for hx, hy in handle_points(rect).values():
            sx, sy = t.to_screen(hx, hy)
            painter.drawRect(QRectF(sx - 4, sy - 4, 8, 8))
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_suggestion(self, painter: QPainter, suggestion: Suggestion, selected: bool = False) -> None:
        t = self._transform
        x0, y0 = t.to_screen(suggestion.rect.left, suggestion.rect.top)
        x1, y1 = t.to_screen(suggestion.rect.right, suggestion.rect.bottom)
        area = QRectF(x0, y0, x1 - x0, y1 - y0)
        colour = SUGGESTED_COLOUR if suggestion.ticked else UNTICKED_COLOUR
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if suggestion.ticked:  # ticked ones are tinted: they become boxes when accepted
            fill = QColor(colour)
            fill.setAlpha(70)
            painter.fillRect(area, fill)
        pen = QPen(colour, 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(area)
        if selected and self._editable:
            self._paint_handles(painter, suggestion.rect, colour)

    def event(self, event) -> bool:  # noqa: D401 - Qt override
        if event.type() == QEvent.Type.ToolTip and self._show_outlines:
            index = self.suggestion_at(event.pos().x(), event.pos().y())
            if index is not None:
                s = self._suggestions[index]
                kind = "likely patient information" if s.likely_phi else "technical text"
                state = "ticked: becomes a box when you accept" if s.ticked else "not ticked: click to tick"
                edited = " · adjusted by you" if s.adjusted else ""
                QToolTip.showText(event.globalPos(), f"Read: “{s.text}”\n{kind} · {state}{edited}\n"
                                  "Drag to move it, drag an edge or corner to resize it; "
                                  "Enter accepts it, Del dismisses it", self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    # -- mouse ----------------------------------------------------------------------------------
    def _left_action(self, pos: QPointF) -> str:
        if self._tool == TOOL_RECT and self._editable:
            return "rect"
        return "pan" if self._tool == TOOL_PAN else "window" if self._tool == TOOL_WINDOW else "pan"

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton:
            action = "pan"
        elif button == Qt.MouseButton.RightButton:
            action = "window"
        elif button == Qt.MouseButton.LeftButton:
            action = self._left_action(pos)
        else:
            return
        self._drag = {"action": action, "start": pos, "last": pos}
        if action == "rect" and self._image is not None:
            hit = self._hit(pos.x(), pos.y())
            if hit is not None and hit[0] == "suggestion":
                _, index, what = hit
                self.select_suggestion(index)
                self._drag.update(action="suggestion", index=index, handle=what,
                                  original=self._suggestions[index].rect,
                                  anchor=self._transform.to_image(pos.x(), pos.y()))
            elif hit is not None:
                _, index, what = hit
                self.select(index)
                self._drag.update(action="move" if what == "move" else "resize", index=index, handle=what,
                                  original=self._rects[index], anchor=self._transform.to_image(pos.x(), pos.y()))
            else:
                self.select_suggestion(None)
                self.select(None)
                self._drag.update(action="draw", anchor=self._transform.to_image(pos.x(), pos.y()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        ix, iy = self._transform.to_image(pos.x(), pos.y())
        hit_pixel = pixel_at(ix, iy, self._columns, self._rows) if self._image is not None else None
        self.cursorMoved.emit(*(hit_pixel or (-1, -1)))
        if self._drag is None:
            self._update_cursor(pos)
            return
        self._drag_to(pos, ix, iy)

    def _drag_to(self, pos: QPointF, ix: float, iy: float) -> None:
        """Apply the current drag up to ``pos`` (image point ``ix, iy``)."""
        drag = self._drag
        assert drag is not None
        action = drag["action"]
        if action == "pan":
            delta = pos - drag["last"]
            self.set_transform(self._transform.panned(delta.x(), delta.y()))
        elif action == "window":
            delta = pos - drag["last"]
            self.windowDragged.emit(delta.x(), delta.y())
        elif action == "draw":
            ax, ay = drag["anchor"]
            drag["preview"] = rect_from_points(ax, ay, ix, iy, self._columns, self._rows)
            preview = drag["preview"]
            if preview is not None:
                if "index" not in drag:
                    self._rects.append(preview)
                    drag["index"] = len(self._rects) - 1
                    self._selected = drag["index"]
                else:
                    self._rects[drag["index"]] = preview
            self.update()
        elif action == "move":
            ax, ay = drag["anchor"]
            original: Rect = drag["original"]
            self._rects[drag["index"]] = moved(original, round(ix - ax), round(iy - ay), self._columns, self._rows)
            self.update()
        elif action == "resize":
            self._rects[drag["index"]] = resized(drag["original"], drag["handle"], ix, iy, self._columns, self._rows)
            self.update()
        elif action == "suggestion" and (drag.get("editing") or
                                         (pos - drag["start"]).manhattanLength() >= DRAG_START):
            drag["editing"] = True
            if drag["handle"] == "move":
                ax, ay = drag["anchor"]
                rect = moved(drag["original"], round(ix - ax), round(iy - ay), self._columns, self._rows)
            else:
                rect = resized(drag["original"], drag["handle"], ix, iy, self._columns, self._rows)
            self.set_suggestion_rect(drag["index"], rect)
        drag["last"] = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag is None:
            return
        pos = event.position()
        if pos != self._drag["last"]:  # the release point counts even without a last move event
            self._drag_to(pos, *self._transform.to_image(pos.x(), pos.y()))
        drag, self._drag = self._drag, None
        action = drag["action"]
        if action == "draw":
            # A plain click (no movement) selects nothing and draws nothing.
            moved_far = (event.position() - drag["start"]).manhattanLength() >= DRAG_START
            if not moved_far:
                if "index" in drag:
                    del self._rects[drag["index"]]
                    self._selected = None
            elif "index" in drag:
                self.selectionChanged.emit()
                self.rectanglesChanged.emit()
        elif action in ("move", "resize") and self._rects[drag["index"]] != drag["original"]:
            self.rectanglesChanged.emit()
        elif action == "suggestion" and not drag.get("editing"):
            self.toggle_suggestion(drag["index"])  # a click on a suggested box ticks or unticks it
        self._update_cursor(event.position())
        self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.cursorMoved.emit(-1, -1)
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            pos = event.position()
            self.set_transform(self._transform.zoomed(1.15 ** steps, pos.x(), pos.y()))
        else:
            self.frameStep.emit(-1 if steps > 0 else 1)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        suggestion = self._selected_suggestion
        if suggestion is not None and self._editable and key in (
                Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Delete,
                Qt.Key.Key_Backspace, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._suggestion_key(key, step)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_Escape:
            self.select(None)
            self.select_suggestion(None)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down) \
                and self._selected is not None and self._editable:
            dx, dy = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0),
                      Qt.Key.Key_Up: (0, -step), Qt.Key.Key_Down: (0, step)}[Qt.Key(key)]
            self._rects[self._selected] = moved(self._rects[self._selected], dx, dy, self._columns, self._rows)
            self.rectanglesChanged.emit()
            self.update()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_PageUp, Qt.Key.Key_Left):
            self.frameStep.emit(-1)
        elif key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_Right):
            self.frameStep.emit(1)
        else:
            super().keyPressEvent(event)

    def _suggestion_key(self, key: int, step: int) -> None:
        """Arrows nudge the selected suggestion (Shift: 10 px); Enter/Delete ask to accept/dismiss it."""
        assert self._selected_suggestion is not None
        suggestion = self._suggestions[self._selected_suggestion]
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.suggestionAccepted.emit(suggestion)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.suggestionDismissed.emit(suggestion)
        else:
            dx = -step if key == Qt.Key.Key_Left else step if key == Qt.Key.Key_Right else 0
            dy = -step if key == Qt.Key.Key_Up else step if key == Qt.Key.Key_Down else 0
            self.set_suggestion_rect(self._selected_suggestion,
                                     moved(suggestion.rect, dx, dy, self._columns, self._rows))

    def _hit(self, x: float, y: float) -> tuple[str, int, str] | None:
        """What a press at screen (x, y) grabs: ``("box" | "suggestion", index, handle or "move")``.

        The selected suggestion's handles first (it is being edited), then the boxes (drawn on
        top), then the suggestions under them.
        """
        t = self._transform
        chosen = self._selected_suggestion
        if chosen is not None:
            hit = hit_test([self._suggestions[chosen].rect], t, x, y)
            if hit is not None and hit[1] != "move":
                return "suggestion", chosen, hit[1]
        hit = hit_test(self._rects, t, x, y, selected=self._selected)
        if hit is not None:
            return "box", hit[0], hit[1]
        hit = hit_test([s.rect for s in self._suggestions], t, x, y, selected=chosen)
        if hit is not None:
            return "suggestion", hit[0], hit[1]
        return None

    def _update_cursor(self, pos: QPointF | None) -> None:
        if pos is None:
            pos = QPointF(self.mapFromGlobal(QCursor.pos()))
        shape = Qt.CursorShape.ArrowCursor
        if self._tool == TOOL_RECT and self._editable:
            hit = self._hit(pos.x(), pos.y())
            shape = _CURSORS[hit[2]] if hit else Qt.CursorShape.CrossCursor
        elif self._tool == TOOL_PAN:
            shape = Qt.CursorShape.OpenHandCursor
        elif self._tool == TOOL_WINDOW:
            shape = Qt.CursorShape.SizeAllCursor
        self.setCursor(shape)
