"""Registering the officer's DSC: read the token, pick the certificate, register it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.views.issue_dialog import OK_STYLE
from app.views.pin_dialog import DANGER_STYLE
from app.views.tasks import run_task

COLUMNS = ("Name", "Issuer", "Serial", "Valid to", "Key", "Can sign?")


class DscDialog(QDialog):
    certificates_read = Signal()
    registered = Signal(object)

    def __init__(self, service: Any, officer_name: str, parent: QWidget | None = None) -> None:
        """``service``: the desk's DSC registration (``Desk.dsc()``)."""
        super().__init__(parent)
        self.service = service
        self.items: list[Any] = []
        self.setWindowTitle("Register your DSC")
        self.resize(860, 360)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>Register the digital signature certificate of your token for "
            f"{officer_name}</b><br>Plug in your DSC token and read it. Only a certificate "
            "valid today, with a signing key usage, issued under a trusted CA can be "
            "registered; you will sign certificates of origin with it."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.read_button = QPushButton("Read token")
        self.read_button.clicked.connect(self.read_token)
        self.register_button = QPushButton("Register selected certificate")
        self.register_button.setEnabled(False)
        self.register_button.clicked.connect(self.register_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(self.read_button)
        row.addStretch(1)
        row.addWidget(self.register_button)
        row.addWidget(close)
        layout.addLayout(row)
        self.table.itemSelectionChanged.connect(self._selection_changed)

    def read_token(self, *, quiet: bool = False) -> None:
        """Read the token's certificates; ``quiet`` keeps the message shown (a refresh)."""
        self.read_button.setEnabled(False)
        if not quiet:
            self._show("Reading the token…", None)
        run_task(self.service.token_certificates,
                 lambda items: self._fill(items, quiet=quiet), self._failed, owner=self)

    def _fill(self, items: list[Any], *, quiet: bool = False) -> None:
        self.read_button.setEnabled(True)
        self.items = items
        self.table.setRowCount(len(items))
        for r, item in enumerate(items):
            cert = item.certificate
            if item.registered_to:
                verdict = f"registered to {item.registered_to}"
            elif item.qualifies:
                verdict = "yes"
            else:
                verdict = "no: " + "; ".join(item.problems)
            values = (cert.common_name, _cn(cert.issuer), format(cert.serial, "x")[:16],
                      f"{cert.not_after:%d %b %Y}", cert.key_algorithm, verdict)
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setToolTip(f"{cert.subject}\nSHA-256 {cert.fingerprint}")
                if not item.qualifies:
                    cell.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(r, c, cell)
        qualifying = [i for i, item in enumerate(items)
                      if item.qualifies and not item.registered_to]
        if len(qualifying) == 1:
            self.table.selectRow(qualifying[0])
        if quiet:
            pass
        elif not items:
            self._show("The token holds no certificate.", False)
        elif not qualifying and any(item.registered_to for item in items):
            self._show("Every certificate on this token that can sign is registered already "
                       "(see to whom in the last column).", None)
        elif not qualifying:
            self._show("No certificate on this token can be registered (see why in the last "
                       "column).", False)
        else:
            self.message.setVisible(False)
        self.certificates_read.emit()

    def _selection_changed(self) -> None:
        item = self.selected()
        self.register_button.setEnabled(item is not None and item.qualifies)
        if item is not None and not item.qualifies:
            self._show(f"{item.certificate.common_name} cannot be registered: "
                       + "; ".join(item.problems) + ".", False)

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows else None

    def register_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        self.register_button.setEnabled(False)
        fingerprint = chosen.certificate.fingerprint

        def choose(candidates: list[Any]) -> Any:
            return next((c for c in candidates if c.certificate.fingerprint == fingerprint), None)

        run_task(lambda: self.service.register(choose),
                 self._registered, self._failed, owner=self)

    def _registered(self, result: Any) -> None:
        verb = "is registered" if result.created else "was already registered"
        self._show(f"Your DSC {_cn(result.subject)} (serial {result.serial_hex[:16]}, valid to "
                   f"{result.not_after:%d %b %Y}) {verb}. You can sign certificates with it.",
                   True)
        self.registered.emit(result)
        self.read_token(quiet=True)

    def _failed(self, exc: BaseException) -> None:
        self.read_button.setEnabled(True)
        self.register_button.setEnabled(self.selected() is not None)
        text = str(exc) if isinstance(exc, UserFacingError) else f"Something went wrong: {exc}"
        self._show(text, False)

    def _show(self, text: str, ok: bool | None) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("" if ok is None else OK_STYLE if ok else DANGER_STYLE)
        self.message.setVisible(True)


def _cn(name: str) -> str:
    for part in name.split(","):
        if part.startswith("CN="):
            return part[3:]
    return name
