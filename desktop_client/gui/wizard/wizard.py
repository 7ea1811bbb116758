"""The upload wizard: a step bar, the current step, and Back / Next with the reason Next is off.

Keyboard: Ctrl+Enter is Next, Alt+Left is Back, Ctrl+1…6 (or a click on the step bar) jumps to
an already visited step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from desktop_client.gui.widgets import primary_button, restyle
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.plan.draft import UploadDraft


class UploadWizard(QWidget):
    uploaded = Signal()
    stepChanged = Signal(int)

    def __init__(self, steps: list[WizardStep], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.steps = steps
        self.draft = UploadDraft()
        self.index = 0
        self.visited = 0
        #: where a forward jump (a step label, Ctrl+N) is heading, through each step's advance
        self._target: int | None = None
        #: an advance is under way (it calls proceed, or shows why not)
        self._advancing = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 12, 18, 12)
        bar = QHBoxLayout()
        self.step_labels: list[QPushButton] = []
        for i, step in enumerate(steps):
            label = QPushButton(f"{i + 1}  {step.title}")
            label.setObjectName("stepOff")
            label.setFlat(True)
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Ctrl+1…6 is the keyboard way
            label.setToolTip(f"{step.title} (Ctrl+{i + 1})")
            label.clicked.connect(lambda _=False, i=i: self.jump(i))
            self.step_labels.append(label)
            bar.addWidget(label)
            if i < len(steps) - 1:
                arrow = QLabel("›")
                arrow.setObjectName("stepOff")
                bar.addWidget(arrow)
        bar.addStretch(1)
        outer.addLayout(bar)

        self.stack = QStackedWidget()
        for step in steps:
            self.stack.addWidget(step)
            step.completeChanged.connect(self._refresh)
        outer.addWidget(self.stack, 1)

        nav = QHBoxLayout()
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("Back (Alt+Left)")
        self.back_button.clicked.connect(self.back)
        self.reason = QLabel()
        self.reason.setObjectName("hint")
        self.next_button = primary_button("Next")
        self.next_button.setToolTip("Next (Ctrl+Enter)")
        self.next_button.clicked.connect(self.next)
        nav.addWidget(self.back_button)
        nav.addStretch(1)
        nav.addWidget(self.reason)
        nav.addWidget(self.next_button)
        outer.addLayout(nav)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.next)
        QShortcut(QKeySequence("Ctrl+Enter"), self, self.next)
        QShortcut(QKeySequence("Alt+Left"), self, self.back)
        for i in range(len(steps)):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, lambda i=i: self.jump(i))
        self.go(0)

    @property
    def current(self) -> WizardStep:
        return self.steps[self.index]

    def step(self, cls: type) -> WizardStep:
        return next(s for s in self.steps if isinstance(s, cls))

    def go(self, index: int) -> None:
        if index != self.index:
            self.current.leave(self.draft)
        self.index = index
        self.visited = max(self.visited, index)
        self.stack.setCurrentIndex(index)
        for i, label in enumerate(self.step_labels):
            restyle(label, "stepOn" if i == index else "stepDone" if i <= self.visited else "stepOff")
            label.setEnabled(i <= self.visited)
        self.current.enter(self.draft)
        self._refresh()
        self.stepChanged.emit(index)

    def jump(self, index: int) -> None:
        """Go to a visited step: back directly; forward through each step's ``advance`` in turn,
        as Next does, so what was changed on the way (an unticked session) reaches the draft."""
        if index > self.visited or index == self.index:
            return
        if index < self.index:
            self._target = None
            self.go(index)
            return
        self._target = index
        # An advance that never proceeded showed its reason and ended: the user tries again.
        self._advancing = False
        self._continue()

    def _continue(self) -> None:
        """One more step towards a forward jump's target, once the current step is complete (a
        step that is not stays shown, with its reason, and the jump ends there when the user acts)."""
        if self._target is None or self._advancing:
            return
        if self.index >= self._target:
            self._target = None
            return
        if self.next_button.isEnabled():
            self.next()

    def back(self) -> None:
        self._target = None
        if self.index > 0:
            self.go(self.index - 1)

    def next(self) -> None:
        if not self.next_button.isEnabled():
            return
        index = self.index
        last = index == len(self.steps) - 1

        def proceed() -> None:
            self._advancing = False
            if self.index != index:
                return
            if last:
                self.visited = 2
                self.go(2)
                self.uploaded.emit()
            else:
                # What this step decided may change every later one: they are visited again in
                # order (a step label cannot skip past Review to an Upload built on stale choices).
                self.visited = index + 1
                self.go(index + 1)
                QTimer.singleShot(0, self._continue)

        self._advancing = True
        self.current.advance(self.draft, proceed)

    def _refresh(self) -> None:
        step = self.current
        complete = step.is_complete()
        if complete and self._target is not None:
            QTimer.singleShot(0, self._continue)
        self.next_button.setEnabled(complete)
        self.next_button.setText(step.next_label())
        self.reason.setText("" if complete else step.blocking_message())
        self.back_button.setEnabled(self.index > 0)
