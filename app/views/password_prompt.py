"""The central store's password, asked on the GUI thread for a worker that is connecting.

The worker calls :meth:`PasswordPrompter.ask` and waits (:class:`~app.views.gui_prompt.
GuiPrompt`: at most ``timeout`` seconds, then it counts as cancelled and the dialog
closes); the masked dialog runs on the GUI thread. The password is handed to the
connection and kept nowhere else (the keyring holds it only when the officer chose
``origin-desk db password``).
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QWidget

from app.views.gui_prompt import ASK_TIMEOUT_SECONDS, GuiPrompt


class PasswordPrompter(GuiPrompt):
    def __init__(self, parent: QWidget | None = None, *,
                 timeout: float = ASK_TIMEOUT_SECONDS) -> None:
        super().__init__(parent, timeout=timeout)
        self.parent_widget = parent

    def ask(self, text: str) -> str | None:  # type: ignore[override]
        """The password, or None when the officer cancels; callable from any thread."""
        return super().ask(text)

    def make_dialog(self, text: str) -> QInputDialog:  # type: ignore[override]
        dialog = QInputDialog(self.parent_widget)
        dialog.setWindowTitle("Origin Desk — central store")
        dialog.setLabelText(text + ":")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        return dialog

    def read_answer(self, dialog: QDialog) -> str | None:
        assert isinstance(dialog, QInputDialog)
        password = dialog.textValue()
        dialog.setTextValue("")
        return password if dialog.result() == QDialog.DialogCode.Accepted and password else None
