"""The PIN prompt: a masked field naming the token, with the token's own warnings.

:class:`PinPrompter` is the bridge between the worker that opens the token session and the
GUI thread (:class:`~app.views.gui_prompt.GuiPrompt`, Electrum's hardware-wallet pattern):
``ask(token, warnings)`` is called on the worker, emits a signal, and waits on a
``threading.Event`` until the dialog on the GUI thread has answered, or until the time
limit, when it counts as cancelled and the dialog closes. A PIN is asked once per batch
and never retried automatically.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.views.gui_prompt import ASK_TIMEOUT_SECONDS, GuiPrompt

WARNING_STYLE = ("background:#fff4e5; color:#7a4100; border:1px solid #f3c98b; "
                 "border-radius:3px; padding:6px;")
DANGER_STYLE = ("background:#fdecea; color:#8a1c1c; border:1px solid #f5c2c0; "
                "border-radius:3px; padding:6px;")


class PinDialog(QDialog):
    """Asks the user PIN of one token; ``pin()`` gives it once and forgets it."""

    def __init__(self, token: Any, warnings: list[str], parent: QWidget | None = None,
                 *, purpose: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Token PIN")
        self.setModal(True)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        heading = QLabel("<b>Enter the PIN of your DSC token</b>")
        layout.addWidget(heading)
        model = " ".join(p for p in (getattr(token, "manufacturer", ""),
                                     getattr(token, "model", "")) if p).strip()
        self.token_label = QLabel(
            f"Token <b>{_esc(token.label)}</b>" + (f" — {_esc(model)}" if model else "")
            + f"<br>Serial {_esc(token.serial)}"
        )
        layout.addWidget(self.token_label)
        if purpose:
            what = QLabel(purpose)
            what.setWordWrap(True)
            layout.addWidget(what)
        self.warning_labels: list[QLabel] = []
        for warning in warnings:
            label = QLabel("⚠ " + warning)
            label.setWordWrap(True)
            danger = "locked" in warning.lower() or "final" in warning.lower()
            label.setStyleSheet(DANGER_STYLE if danger else WARNING_STYLE)
            layout.addWidget(label)
            self.warning_labels.append(label)
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText("PIN")
        self.field.setMaxLength(64)
        layout.addWidget(self.field)
        note = QLabel("The PIN is used for this batch only and is never saved. A wrong PIN "
                      "is not retried: the token locks after a few wrong tries.")
        note.setWordWrap(True)
        note.setStyleSheet("color:#555;")
        layout.addWidget(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Sign")
        self.ok_button.setEnabled(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.field.textChanged.connect(lambda text: self.ok_button.setEnabled(bool(text)))
        layout.addWidget(buttons)
        self.field.setFocus()

    def pin(self) -> str | None:
        """The typed PIN (None when cancelled or empty); the field is cleared."""
        text = self.field.text() if self.result() == QDialog.DialogCode.Accepted else ""
        self.field.clear()
        return text or None


class PinPrompter(GuiPrompt):
    """``ask(token, warnings)`` for ``open_token_session``, callable from any thread; None
    when the officer cancels or leaves the dialog unanswered for ``timeout`` seconds."""

    def __init__(self, parent: QWidget | None = None, *, purpose: str = "",
                 timeout: float = ASK_TIMEOUT_SECONDS) -> None:
        super().__init__(parent, timeout=timeout)
        self.parent_widget = parent
        self.purpose = purpose

    def ask(self, token: Any, warnings: list[str]) -> str | None:  # type: ignore[override]
        return super().ask(token, list(warnings))

    def make_dialog(self, token: Any, warnings: list[str]) -> PinDialog:  # type: ignore[override]
        return PinDialog(token, warnings, self.parent_widget, purpose=self.purpose)

    def read_answer(self, dialog: QDialog) -> str | None:
        assert isinstance(dialog, PinDialog)
        return dialog.pin()


def _esc(text: object) -> str:
    from html import escape

    return escape(str(text))
