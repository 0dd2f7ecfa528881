"""Sign-in: the demo lists the store's users to choose from (real credentials come with
the central store).

:class:`SignInFlow` keeps the store off the GUI thread: the users are read on a worker,
the officer chooses in :class:`SignInDialog`, and the sign-in itself (on a synced desk, a
first sync with the central store) runs on a worker too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.views.tasks import TaskProgress, run_task

if TYPE_CHECKING:
    from app.services.desk import Desk, OfficerInfo


class SignInDialog(QDialog):
    verify_requested = Signal()  # "Verify a certificate…": no sign-in needed

    def __init__(self, users: list[OfficerInfo], store_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in — Origin Desk")
        # officers first: most people at a desk are issuing officers
        self.users = sorted((u for u in users if u.status == "active"),
                            key=lambda u: (u.role != "officer", u.full_name))
        if store_label == "embedded demo":
            ask = "Choose who you are. The demo needs no password; its signing token's PIN is 123456."
        elif self.users:
            ask = "Choose or type your e-mail address. The central store asks for your password."
        else:
            ask = ("Type your e-mail address: this desk has not synced yet. The central store "
                   "asks for your password.")
        intro = QLabel(f"<b>Origin Desk</b> · {store_label}<br>{ask}")
        intro.setWordWrap(True)
        self.combo = QComboBox()
        for user in self.users:
            offices = ", ".join(user.office_codes) or "all offices"
            self.combo.addItem(f"{user.full_name} — {user.role} ({offices})", user.email)
        if store_label != "embedded demo":
            # a desk's first sign-in knows nobody yet: the officer types their e-mail
            self.combo.setEditable(True)
            self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            if not self.users:
                self.combo.setEditText("")
            self.combo.lineEdit().setPlaceholderText("your e-mail address")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        # customs and anyone at the desk may verify a certificate without signing in
        self.verify_button = buttons.addButton("&Verify a certificate…",
                                               QDialogButtonBox.ButtonRole.ActionRole)
        self.verify_button.setAutoDefault(False)
        self.verify_button.clicked.connect(self.verify_requested.emit)
        self.verify_view: QWidget | None = None
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&User:", self.combo)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(480, 150)

    def chosen_email(self) -> str:
        typed = self.combo.currentText().strip()
        index = self.combo.findText(typed)
        if index >= 0:
            return str(self.combo.itemData(index))
        return typed


class SignInFlow(QObject):
    """Who sits at the desk: ``start()`` reads the users on a worker and opens the dialog;
    the chosen officer is signed in on a worker. Ends with ``signed_in`` (the desk's
    OfficerInfo), ``cancelled`` or ``failed`` (the exception)."""

    dialog_shown = Signal(object)  # the SignInDialog, open (tests answer it)
    progress = Signal(object)  # TaskProgress
    signed_in = Signal(object)
    cancelled = Signal()
    failed = Signal(object)

    def __init__(self, desk: Desk, parent: QWidget) -> None:
        super().__init__(parent)
        self.desk = desk
        self.parent_widget = parent
        self.dialog: SignInDialog | None = None
        # run on the worker just before the sign-in (switch user: sign the current one out)
        self.before_sign_in: Callable[[], object] | None = None

    def start(self) -> None:
        desk = self.desk
        self.progress.emit(TaskProgress("Reading who may sign in…"))
        run_task(lambda: (desk.users(), desk.store_label), self._choose, self.failed.emit,
                 owner=self)

    def start_as(self, choose: Callable[[list[OfficerInfo]], str]) -> None:
        """Sign in without the dialog: ``choose`` picks the e-mail from the users (on the
        worker; the screenshot and the start-up benchmark use it)."""
        desk = self.desk
        self.progress.emit(TaskProgress("Signing in…"))
        run_task(lambda: desk.sign_in(choose(desk.users())), self.signed_in.emit,
                 self.failed.emit, owner=self)

    def _choose(self, result: tuple[list[OfficerInfo], str]) -> None:
        users, store_label = result
        dialog = SignInDialog(users, store_label, self.parent_widget)
        dialog.finished.connect(lambda code: self._chosen(dialog, code))
        dialog.verify_requested.connect(lambda: self.open_verify(dialog))
        self.dialog = dialog
        self.progress.emit(TaskProgress("Sign in to see your queue."))
        dialog.open()
        self.dialog_shown.emit(dialog)

    def open_verify(self, dialog: SignInDialog) -> QWidget:
        """The verify window, without a sign-in: by number, QR code or PDF, answered by
        the demo's store, the central service's public verification, or (a desk on a
        direct PostgreSQL store) the desk alone (``public_verifier``)."""
        from PySide6.QtCore import Qt

        from app.services.verification import verifier_without_sign_in
        from app.views.verify_view import VerifyView

        view = dialog.verify_view
        if view is None:
            view = VerifyView(verifier_without_sign_in(self.desk), dialog)
            view.setWindowFlags(Qt.WindowType.Window)
            dialog.verify_view = view
        view.show()
        view.activateWindow()
        view.number_edit.setFocus()
        return view

    def _chosen(self, dialog: SignInDialog, code: int) -> None:
        self.dialog = None
        dialog.deleteLater()
        if code != SignInDialog.DialogCode.Accepted:
            self.cancelled.emit()
            return
        self.sign_in(dialog.chosen_email())

    def sign_in(self, email: str) -> None:
        desk = self.desk
        before = self.before_sign_in
        self.progress.emit(TaskProgress(f"Signing in as {email}…"))

        def sign_in() -> OfficerInfo:
            if before is not None:
                before()
            return desk.sign_in(email)

        run_task(sign_in, self.signed_in.emit, self.failed.emit, owner=self)
