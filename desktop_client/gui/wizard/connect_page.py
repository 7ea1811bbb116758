"""Step 1: choose where to upload — a stored XNAT server (log in) or the local archive folder.

Connections are edited inline (no dialogs): the list on the left, the form on the right. "Verify"
logs in in the background and shows the server version or a plain explanation of the failure.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_client.gui.connections import Connection, ConnectionStore, local_archive_folder
from desktop_client.plan.targets import LocalTarget, UploadTarget, explain_error, open_xnat_target
from desktop_client.gui.widgets import Card, MessageBar, header, hint
from desktop_client.gui.wizard.state import UploadDraft, WizardStep
from desktop_client.gui.workers import TaskRunner
from desktop_client.xnat.address import PLAIN_HTTP_WARNING


class ConnectPage(WizardStep):
    title = "Connect"

    def __init__(self, store: ConnectionStore, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.runner = runner
        self._busy = False
        self._verified: dict[str, UploadTarget] = {}

        outer = QVBoxLayout(self)
        outer.addWidget(header("Where do you want to upload?"))
        outer.addWidget(hint("Pick a stored XNAT server and log in, or use the local archive folder, "
                             "which works without any server."))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("connectSplitter")
        outer.addWidget(splitter, 1)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("connectionList")
        self.list.setAccessibleName("Connections")
        self.list.currentItemChanged.connect(self._on_current)
        lv.addWidget(self.list, 1)
        self.add_button = QPushButton("&New connection")
        self.add_button.clicked.connect(self._new_connection)
        lv.addWidget(self.add_button)
        splitter.addWidget(left)

        self.forms = QStackedWidget()
        splitter.addWidget(self.forms)
        splitter.setSizes([260, 640])

        # Local archive panel.
        local = Card()
        local.body.addWidget(QLabel("<b>Local archive folder</b>"))
        local.body.addWidget(hint("Sessions are anonymized on this computer by the folder's site "
                                  "and project scripts (Settings → Anonymization; the default "
                                  "site script follows the DICOM Basic Confidentiality Profile) "
                                  "and written to a private folder, one folder per project, "
                                  "subject and session. Nothing leaves the machine."))
        self.local_scripts = QLabel()
        self.local_scripts.setWordWrap(True)
        local.body.addWidget(self.local_scripts)
        self.local_path = QLabel()
        self.local_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        local.body.addWidget(self.local_path)
        open_button = QPushButton("Open folder")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(local_archive_folder()))))
        local.body.addWidget(open_button, 0, Qt.AlignmentFlag.AlignLeft)
        local.body.addStretch(1)
        self.forms.addWidget(local)

        # Server form.
        server = Card()
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Hospital XNAT")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://xnat.example.org")
        self.user_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = QCheckBox("Remember the password in the system keyring")
        self.insecure_check = QCheckBox("Allow insecure TLS (self-signed or unverifiable certificate)")
        self.alias_check = QCheckBox("The user and password are an XNAT alias token")
        self.http_check = QCheckBox("Allow unencrypted connection (http://)")
        self.http_check.setToolTip(PLAIN_HTTP_WARNING + " Only for a server that offers no https.")
        form.addRow("&Name", self.name_edit)
        form.addRow("Server &URL", self.url_edit)
        self.user_label = QLabel("&User")
        self.user_label.setBuddy(self.user_edit)
        self.password_label = QLabel("&Password")
        self.password_label.setBuddy(self.password_edit)
        form.addRow(self.user_label, self.user_edit)
        form.addRow(self.password_label, self.password_edit)
        form.addRow("", self.remember_check)
        form.addRow("", self.insecure_check)
        form.addRow("", self.alias_check)
        form.addRow("", self.http_check)
        server.body.addLayout(form)
        buttons = QHBoxLayout()
        self.verify_button = QPushButton("&Verify")
        self.verify_button.setToolTip("Log in and show the server version")
        self.verify_button.clicked.connect(self.verify)
        self.save_button = QPushButton("&Save")
        self.save_button.clicked.connect(self._save)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove)
        for b in (self.verify_button, self.save_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        server.body.addLayout(buttons)
        self.message = MessageBar()
        server.body.addWidget(self.message)
        server.body.addStretch(1)
        self.forms.addWidget(server)
        for edit in (self.url_edit, self.user_edit, self.password_edit):
            edit.textChanged.connect(self._form_changed)
        self.alias_check.toggled.connect(self._alias_labels)
        self.http_check.toggled.connect(self._http_toggled)
        self.setTabOrder(self.list, self.name_edit)
        self.reload()

    # List ----------------------------------------------------------------------------------------

    def reload(self, select_id: str | None = None) -> None:
        shown = self.current()
        current = select_id or (shown.id if shown else None)
        self.list.blockSignals(True)
        self.list.clear()
        for conn in self.store.connections:
            item = QListWidgetItem(conn.title() if conn.is_local else f"{conn.title()}\n{conn.url}")
            item.setData(Qt.ItemDataRole.UserRole, conn.id)
            item.setToolTip(conn.url)
            self.list.addItem(item)
        self.list.blockSignals(False)
        row = next((i for i, c in enumerate(self.store.connections) if c.id == current), 0)
        self.list.setCurrentRow(row)
        self._on_current()

    def refresh_local_scripts(self) -> None:
        """Say which scripts the local folder applies (they change in Settings)."""
        from desktop_client.plan.settings import load_settings

        slots = load_settings().local_script_slots()
        text = f"Anonymization: {slots.describe()}."
        if not slots.anonymizes:
            text += " Headers are written unchanged, patient name and ID included."
        self.local_scripts.setText(text)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        self.refresh_local_scripts()
        super().showEvent(event)

    def current(self) -> Connection | None:
        item = self.list.currentItem()
        return self.store.get(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def select(self, conn_id: str) -> None:
        self.reload(conn_id)

    def _on_current(self, *_args: Any) -> None:
        conn = self.current()
        self.message.clear()
        if conn is None or conn.is_local:
            self.local_path.setText(str(local_archive_folder()))
            self.forms.setCurrentIndex(0)
        else:
            self.forms.setCurrentIndex(1)
            self.name_edit.setText(conn.name)
            self.url_edit.setText(conn.url)
            self.user_edit.setText(conn.username)
            typed = self.store.typed_password(conn)
            self.password_edit.setText(typed or "")
            if typed is None and conn.remember_password:
                self._fetch_password(conn)
            self.remember_check.setChecked(conn.remember_password)
            self.insecure_check.setChecked(conn.insecure_tls)
            self.alias_check.setChecked(conn.alias_token)
            self.http_check.setChecked(conn.allow_http)
        self.completeChanged.emit()

    def _http_toggled(self, allowed: bool) -> None:
        """Ticking the box is a decision about the user's password: say what it means."""
        self._form_changed()
        if allowed:
            self.message.info(PLAIN_HTTP_WARNING)
        else:
            self.message.clear()

    def _alias_labels(self, alias: bool) -> None:
        """An alias token is used like a user and password; the labels say which is which."""
        self.user_label.setText("Token &alias" if alias else "&User")
        self.password_label.setText("Token &secret" if alias else "&Password")
        self.user_edit.setPlaceholderText("alias from XNAT → Manage Alias Tokens" if alias else "")

    def _fetch_password(self, conn: Connection) -> None:
        """Read a remembered password from the keyring in the background (it can be slow)."""
        def done(password: str | None) -> None:
            current = self.current()
            if password and current is not None and current.id == conn.id \
                    and not self.password_edit.text():
                self.password_edit.setText(password)

        self.runner.call("keyring-read", lambda: self.store.password(conn), on_done=done)

    def _form_connection(self) -> Connection | None:
        conn = self.current()
        if conn is None or conn.is_local:
            return None
        return Connection(name=self.name_edit.text().strip(), url=self.url_edit.text().strip(),
                          username=self.user_edit.text().strip(),
                          insecure_tls=self.insecure_check.isChecked(),
                          alias_token=self.alias_check.isChecked(),
                          remember_password=self.remember_check.isChecked(),
                          allow_http=self.http_check.isChecked(), id=conn.id)

    def _form_changed(self) -> None:
        self._verified.clear()
        self.completeChanged.emit()

    def _new_connection(self) -> None:
        conn = Connection(name="New server")
        self.store.upsert(conn)
        self.reload(conn.id)
        self.url_edit.setFocus()

    def _save(self) -> bool:
        conn = self._form_connection()
        if conn is None:
            return False
        if not conn.url:
            self.message.error("Type the server URL, for example https://xnat.example.org.")
            self.url_edit.setFocus()
            return False
        self.store.upsert(conn)
        password = self.password_edit.text()
        if password:
            self.store.keep_password(conn, password)
        self.reload(conn.id)
        self.message.ok("Saved.")
        if password:

            def stored(warning: str | None) -> None:
                if warning:
                    self.message.info(warning)

            self.runner.call("keyring-write", lambda: self.store.set_password(conn, password),
                             on_done=stored)
        return True

    def _remove(self) -> None:
        conn = self.current()
        if conn is not None and not conn.is_local:
            self.store.remove(conn.id)
            self.reload()

    # Login -------------------------------------------------------------------------------------

    def _login(self, on_ok: Callable[[UploadTarget, str], None]) -> None:
        conn = self._form_connection()
        if conn is None:
            return
        if not (conn.url and conn.username and self.password_edit.text()):
            self.message.error("Fill in the server URL, the user and the password.")
            return
        if not self._save():
            return
        conn = self.store.get(conn.id) or conn
        password = self.password_edit.text()
        self._busy = True
        self.verify_button.setEnabled(False)
        self.message.info(f"Connecting to {conn.url}…")
        self.completeChanged.emit()

        def done(result: tuple[UploadTarget, str]) -> None:
            self._busy = False
            self.verify_button.setEnabled(True)
            target, version = result
            notices = list(getattr(getattr(target, "client", None), "notices", []))
            if conn.url != self.url_edit.text().strip():
                self.store.save()  # the address that answered (https, or where it redirected)
                self.url_edit.blockSignals(True)
                self.url_edit.setText(conn.url)
                self.url_edit.blockSignals(False)
            self._verified[conn.id] = target
            self.message.ok(" ".join([*notices, f"Connected to {conn.url} as {conn.username} — "
                                                f"XNAT {version}."]))
            self.completeChanged.emit()
            on_ok(target, version)

        def failed(exc: BaseException) -> None:
            self._busy = False
            self.verify_button.setEnabled(True)
            self.message.error(explain_error(exc))
            self.completeChanged.emit()

        self.runner.call("login", lambda: open_xnat_target(conn, password), on_done=done,
                         on_error=failed)

    def verify(self) -> None:
        self._login(lambda _t, _v: None)

    # Wizard ------------------------------------------------------------------------------------

    def is_complete(self) -> bool:
        conn = self.current()
        if conn is None or self._busy:
            return False
        if conn.is_local:
            return True
        return bool(self.url_edit.text().strip() and self.user_edit.text().strip()
                    and self.password_edit.text())

    def blocking_message(self) -> str:
        if self._busy:
            return "Connecting…"
        return "" if self.is_complete() else "Fill in the server URL, user and password."

    def next_label(self) -> str:
        conn = self.current()
        return "Use this folder" if conn is not None and conn.is_local else "Log in"

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        conn = self.current()
        if conn is None:
            return
        if conn.is_local:
            from desktop_client.plan.settings import load_settings

            target: UploadTarget = LocalTarget(conn, local_archive_folder(),
                                               lambda: load_settings().local_script_slots())
            if draft.target is None or draft.target.connection.id != conn.id:
                draft.reset_from("target")
            draft.target = target
            proceed()
            return
        cached = self._verified.get(conn.id)

        def use(target: UploadTarget, _version: str = "") -> None:
            if draft.target is None or draft.target.connection.id != conn.id:
                draft.reset_from("target")
            draft.target = target
            proceed()

        if cached is not None:
            use(cached)
        else:
            self._login(use)
