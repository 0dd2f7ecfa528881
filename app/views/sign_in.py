"""Sign-in: the demo lists the store's users to choose from (real credentials come with
the central store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.services.desk import OfficerInfo


class SignInDialog(QDialog):
    def __init__(self, users: list[OfficerInfo], store_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in — Origin Desk")
        # officers first: most people at a desk are issuing officers
        self.users = sorted((u for u in users if u.status == "active"),
                            key=lambda u: (u.role != "officer", u.full_name))
        intro = QLabel(
            f"<b>Origin Desk</b> · {store_label}<br>Choose who you are. "
            + ("The demo needs no password; its signing token's PIN is 123456."
               if store_label == "embedded demo" else "The central store asks for your login.")
        )
        intro.setWordWrap(True)
        self.combo = QComboBox()
        for user in self.users:
            offices = ", ".join(user.office_codes) or "all offices"
            self.combo.addItem(f"{user.full_name} — {user.role} ({offices})", user.email)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
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
        return str(self.combo.currentData())
