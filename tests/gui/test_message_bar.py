"""The one inline message widget (issue 19: one home per policy): both shapes and what they promise."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from desktop_client.gui.widgets import MessageBar

LONG = "Left to do: " + " · ".join(f"group {i} not reviewed" for i in range(40))


def _host(qtbot, bar: MessageBar, width: int = 400) -> QWidget:
    host = QWidget()
    QVBoxLayout(host).addWidget(bar)
    qtbot.addWidget(host)
    host.resize(width, 120)
    host.show()
    qtbot.waitExposed(host)
    return host


def test_a_wrapping_bar_takes_no_space_until_it_has_something_to_say(qtbot) -> None:
    bar = MessageBar()
    host = _host(qtbot, bar)  # noqa: F841 - kept alive: the bar is its child
    assert not bar.isVisible() and bar.kind == "" and bar.text == ""
    bar.error("The project list could not be read.", "Check the connection.")
    assert bar.isVisible() and bar.kind == "error" and bar.label.objectName() == "error"  # style.qss
    assert bar.label.text() == bar.text == "The project list could not be read."
    assert bar.label.toolTip() == "The project list could not be read.\nCheck the connection."
    bar.say("ok", "")  # no text clears
    assert not bar.isVisible() and bar.kind == "" and bar.text == "" and bar.label.toolTip() == ""
    bar.ok(LONG)
    assert bar.label.wordWrap() and bar.label.text() == LONG  # wraps: nothing hidden


def test_a_one_line_bar_never_changes_height_and_hides_nothing_from_a_reader(qtbot) -> None:
    bar = MessageBar(one_line=True)
    host = _host(qtbot, bar)
    height = bar.height()
    assert bar.isVisible() and bar.kind == ""  # present while empty: the layout does not move
    bar.say("info", LONG, "Show goes to the first open scan.")
    qtbot.wait(10)
    shown = bar.label.text()
    assert bar.height() == height and bar.text == LONG
    assert shown.endswith("…") and len(shown) < len(LONG)  # elided on screen …
    assert bar.label.accessibleDescription() == f"{LONG}\nShow goes to the first open scan."  # … not for a reader
    assert bar.label.toolTip() == bar.label.accessibleDescription()
    host.resize(1600, 120)
    qtbot.waitUntil(lambda: len(bar.label.text()) > len(shown))  # wider: more of it shows
    assert bar.height() == height and bar.text == LONG
    bar.clear()
    assert bar.isVisible() and bar.height() == height and bar.label.text() == "" and bar.kind == ""


def test_what_belongs_to_a_message_goes_when_it_is_replaced(qtbot) -> None:
    """The group dialog's template offer button leaves with the offer's message (no ``_say`` copy)."""
    bar = MessageBar(one_line=True)
    offer = QPushButton("Apply")
    bar.messageChanged.connect(offer.hide)
    host = _host(qtbot, bar)
    host.layout().addWidget(offer)
    bar.info("Saved template “MR banner” fits this group.")
    offer.show()
    assert offer.isVisible()
    bar.error("Tick the scans to exclude first.")
    assert not offer.isVisible()


def test_a_link_in_a_message_is_its_action(qtbot) -> None:
    bar = MessageBar()
    host = _host(qtbot, bar)  # noqa: F841 - kept alive: the bar is its child
    bar.info("The log may contain patient information. <a href='export'>Export anyway</a>")
    # A reader hears the link's words, not its markup.
    assert bar.label.accessibleDescription() == "The log may contain patient information. Export anyway"
    with qtbot.waitSignal(bar.actionClicked, timeout=1000):
        bar.label.linkActivated.emit("export")


def test_a_new_message_is_announced_to_a_screen_reader_errors_first(qtbot, monkeypatch) -> None:
    from PySide6.QtGui import QAccessible

    heard: list[tuple[str, QAccessible.AnnouncementPoliteness]] = []
    monkeypatch.setattr(QAccessible, "updateAccessibility",
                        staticmethod(lambda event: heard.append((event.message(), event.politeness()))))
    bar = MessageBar(one_line=True)
    host = _host(qtbot, bar)  # noqa: F841 - kept alive: the bar is its child
    was_active = QAccessible.isActive()
    QAccessible.setActive(True)  # as when a screen reader is running
    try:
        bar.error("The plan could not be saved.")
        bar.error("The plan could not be saved.")  # a refresh with the same words: said once
        bar.info(LONG)
        bar.say("hint", "Decision: checked, no text")  # a quiet remark: read when visited, not announced
    finally:
        QAccessible.setActive(was_active)
    assert heard == [("The plan could not be saved.", QAccessible.AnnouncementPoliteness.Assertive),
                     (LONG, QAccessible.AnnouncementPoliteness.Polite)]  # in full, though elided
