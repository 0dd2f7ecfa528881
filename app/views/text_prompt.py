"""Asks for the text an action must carry (a query for the exporter, a reason)."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)


class TextPrompt(QDialog):
    def __init__(self, title: str, prompt: str, action_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        label = QLabel(prompt)
        label.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(action_label)
        self.ok.setEnabled(False)
        self.editor.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.editor.toPlainText().strip()))
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Ctrl+Enter sends the text (Enter alone starts a new line in it)
        self.submit_shortcuts = [QShortcut(QKeySequence(keys), self)
                                 for keys in ("Ctrl+Return", "Ctrl+Enter")]
        for shortcut in self.submit_shortcuts:
            shortcut.activated.connect(self._submit)
        self.ok.setToolTip(f"{action_label} (Ctrl+Enter)")
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.editor)
        layout.addWidget(self.buttons)
        self.resize(520, 240)

    def _submit(self) -> None:
        if self.ok.isEnabled():
            self.accept()

    def text(self) -> str:
        return self.editor.toPlainText()
