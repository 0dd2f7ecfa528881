"""The API keys tab: the intake API keys of the agency's exporters (which IEC, which office
their applications go to, when last used, revoked or not), issuing a new key (shown once,
to copy and hand over) and revoking one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views.admin_widgets import ERROR_STYLE, FieldError, RowsModel, row_table, selected_row
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin, OfficeRow
    from app.services.api_keys import ApiKeyRow, IssuedKey

log = logging.getLogger(__name__)


def _when(moment: Any) -> str:
    return moment.astimezone().strftime("%d %b %Y %H:%M") if moment else "—"


COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("Key", lambda k: k.shown),
    ("IEC", lambda k: k.iec),
    ("Exporter", lambda k: k.exporter_name),
    ("Office", lambda k: k.office_code),
    ("Label", lambda k: k.label),
    ("Issued", lambda k: f"{_when(k.created_at)} by {k.created_by.split(' <')[0]}"),
    ("Last used", lambda k: _when(k.last_used_at) if k.last_used_at else "never"),
    ("State", lambda k: "active" if k.active else f"revoked {_when(k.revoked_at)}"),
)


class ApiKeysTab(QWidget):
    loaded = Signal()
    changed = Signal()  # a key was issued or revoked

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.keys_service = admin.api_keys()
        self.rows: list[ApiKeyRow] = []
        # asks before revoking; tests replace it (question) -> yes?
        self.confirm: Callable[[str], bool] = self._confirm_dialog

        intro = QLabel("Exporters' systems and their customs agents file applications through "
                       "the intake API with a key issued here for their IEC. A key is shown "
                       "once, when it is issued; only a digest is stored.")
        intro.setWordWrap(True)
        self.model = RowsModel(COLUMNS, self)
        self.table = row_table(self.model)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by IEC, exporter, office or label")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._apply_filter())
        self.show_revoked = QCheckBox("Show revoked keys")
        self.show_revoked.setChecked(True)
        self.show_revoked.toggled.connect(lambda _on: self._apply_filter())
        self.count = QLabel()
        self.revoke_button = QPushButton("&Revoke…")
        self.revoke_button.setEnabled(False)
        self.revoke_button.clicked.connect(self.revoke_selected)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.show_revoked)
        top.addWidget(self.count)
        top.addWidget(self.revoke_button)

        issue_box = QGroupBox("Issue a key")
        self.iec_edit = QLineEdit()
        self.iec_edit.setPlaceholderText("IEC, e.g. AAACR5055K")
        self.iec_edit.setMaxLength(10)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("What it is for, e.g. the exporter's ERP")
        self.label_edit.setMaxLength(100)
        self.office_combo = QComboBox()
        self.office_combo.addItem("Office of most of its applications", None)
        self.issue_button = QPushButton("&Issue key")
        self.issue_button.clicked.connect(self.issue)
        self.issue_error = FieldError()
        self.new_key = QLineEdit()
        self.new_key.setReadOnly(True)
        self.new_key.setVisible(False)
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setVisible(False)
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.new_key.text()))
        self.new_key_note = QLabel()
        self.new_key_note.setWordWrap(True)
        self.new_key_note.setVisible(False)
        form = QHBoxLayout()
        form.addWidget(self.iec_edit, 1)
        form.addWidget(self.label_edit, 2)
        form.addWidget(self.office_combo, 1)
        form.addWidget(self.issue_button)
        shown = QHBoxLayout()
        shown.addWidget(self.new_key, 1)
        shown.addWidget(self.copy_button)
        issue_layout = QVBoxLayout(issue_box)
        issue_layout.addLayout(form)
        issue_layout.addWidget(self.issue_error)
        issue_layout.addWidget(self.new_key_note)
        issue_layout.addLayout(shown)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(issue_box)

    # --- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        def load() -> tuple[list[ApiKeyRow], list[OfficeRow]]:
            return self.keys_service.list_keys(), self.admin.offices()

        run_task(load, self._loaded, lambda e: self._show(str(e), error=True), owner=self)

    def _loaded(self, result: tuple[list[ApiKeyRow], list[OfficeRow]]) -> None:
        self.rows, offices = result
        chosen = self.office_combo.currentData()
        self.office_combo.clear()
        self.office_combo.addItem("Office of most of its applications", None)
        for office in offices:
            self.office_combo.addItem(f"{office.code} — {office.name}", office.code)
        index = self.office_combo.findData(chosen)
        self.office_combo.setCurrentIndex(max(index, 0))
        self._apply_filter()
        for column, width in ((0, 150), (1, 110), (2, 230), (3, 70), (4, 200), (5, 240),
                              (6, 140)):
            self.table.setColumnWidth(column, width)
        self.loaded.emit()

    def _apply_filter(self) -> None:
        needle = self.filter.text().strip().lower()
        rows = [k for k in self.rows
                if (self.show_revoked.isChecked() or k.active)
                and (not needle or needle in " ".join(getter(k) for _t, getter in COLUMNS)
                     .lower())]
        self.model.set_rows(rows)
        active = sum(1 for k in self.rows if k.active)
        self.count.setText(f"{len(rows)} shown · {active} active of {len(self.rows)}")
        self._selection()

    def selected_key(self) -> ApiKeyRow | None:
        row = selected_row(self.table)
        return self.model.row_at(row) if row >= 0 else None  # type: ignore[no-any-return]

    def _selection(self) -> None:
        key = self.selected_key()
        self.revoke_button.setEnabled(key is not None and key.active)

    # --- actions --------------------------------------------------------------------------

    def issue(self) -> None:
        iec = self.iec_edit.text().strip()
        if not iec:
            self.issue_error.show_error("Type the exporter's IEC.")
            return
        label, office = self.label_edit.text(), self.office_combo.currentData()
        self.issue_button.setEnabled(False)
        self.issue_error.show_error(None)

        def failed(exc: BaseException) -> None:
            self.issue_button.setEnabled(True)
            self.issue_error.show_error(str(exc))

        def done(issued: IssuedKey) -> None:
            self.issue_button.setEnabled(True)
            self.iec_edit.clear()
            self.label_edit.clear()
            row = issued.row
            self.new_key_note.setText(
                f"The key for {row.exporter_name} ({row.iec}), office {row.office_code}. It "
                "is shown only now: copy it and hand it to the exporter over a safe channel.")
            self.new_key.setText(issued.key)
            for widget in (self.new_key_note, self.new_key, self.copy_button):
                widget.setVisible(True)
            self.changed.emit()
            self.reload()

        run_task(lambda: self.keys_service.issue(iec, label=label, office_code=office), done,
                 failed, owner=self)

    def revoke_selected(self) -> None:
        key = self.selected_key()
        if key is None or not key.active:
            return
        if not self.confirm(f"Revoke API key {key.shown} of {key.exporter_name} ({key.iec})? "
                            "Systems using it can no longer file or read applications; this "
                            "cannot be undone."):
            return
        prefix = key.prefix

        def done(row: ApiKeyRow) -> None:
            self._show(f"API key {row.shown} of {row.iec} revoked.")
            self.changed.emit()
            self.reload()

        run_task(lambda: self.keys_service.revoke(prefix), done,
                 lambda e: self._show(str(e), error=True), owner=self)

    def forget_shown_key(self) -> None:
        """Clear the key shown after issuing (also when the tab is left)."""
        self.new_key.clear()
        for widget in (self.new_key_note, self.new_key, self.copy_button):
            widget.setVisible(False)

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setVisible(True)

    def _confirm_dialog(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Revoke API key", question)
        return answer == QMessageBox.StandardButton.Yes
