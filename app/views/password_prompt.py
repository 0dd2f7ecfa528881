"""The central store's password, asked on the GUI thread for a worker that is connecting.

The worker calls :meth:`PasswordPrompter.ask` and waits; the masked dialog runs on the GUI
thread. The password is handed to the connection and kept nowhere else (the keyring holds
it only when the officer chose ``origin-desk db password``).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget


class _Reply:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.password: str | None = None


class PasswordPrompter(QObject):
    _asked = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self._asked.connect(self._answer, Qt.ConnectionType.QueuedConnection)

    def ask(self, text: str) -> str | None:
        """The password, or None when the officer cancels; callable from any thread."""
        if QThread.currentThread() is self.thread():
            return self._dialog(text)
        reply = _Reply()
        self._asked.emit(text, reply)
        reply.event.wait()
        password, reply.password = reply.password, None
        return password

    def _answer(self, text: str, reply: _Reply) -> None:
        try:
            reply.password = self._dialog(text)
        finally:
            reply.event.set()

    def _dialog(self, text: str) -> str | None:
        password, accepted = QInputDialog.getText(
            self.parent_widget, "Origin Desk — central store", text + ":",
            QLineEdit.EchoMode.Password,
        )
        return password if accepted and password else None
