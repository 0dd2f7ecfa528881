"""The Offices tab: the agency's offices in a table, and the dialog that adds or edits one
(address, contact, e-wallet, payment gateway Merchant ID and Checksum key) with each
field's problem shown under it as the administrator types."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.services.admin_rules import (
    CHECKSUM_KEY,
    MERCHANT_ID,
    AdminInputError,
    check_checksum_key,
    check_contact_email,
    check_contact_phone,
    check_merchant_id,
    check_office_code,
    check_overdue_limit,
    check_text,
)
from app.views.admin_widgets import ERROR_STYLE, FieldError, RowsModel
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin, OfficeForm, OfficeRow

log = logging.getLogger(__name__)

COLUMNS: tuple[tuple[str, Callable[[OfficeRow], str]], ...] = (
    ("Code", lambda o: o.code),
    ("Name", lambda o: o.name),
    ("Place", lambda o: o.place),
    ("Contact e-mail", lambda o: o.contact_email),
    ("Phone", lambda o: o.contact_phone),
    ("E-wallet", lambda o: "on" if o.ewallet_enabled else "off"),
    ("Overdue after", lambda o: f"{o.overdue_limit_hours} h"),
    ("Merchant ID", lambda o: o.merchant_id or "— not set —"),
    ("Checksum key", lambda o: o.checksum_key_hint or "— not set —"),
    ("Stamp", lambda o: "uploaded" if o.has_stamp else "missing"),
    ("Active officers", lambda o: str(o.officer_count)),
)


class OfficeTableModel(RowsModel):
    """The offices, with the address as tooltip and missing settings in red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, parent)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return super().data(index, role)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return f"{row.address}\n{row.contact_email}  {row.contact_phone}"
        if role == Qt.ItemDataRole.ForegroundRole and (
                (index.column() == 8 and not row.has_stamp)
                or (index.column() in (6, 7) and not (row.merchant_id and row.checksum_key_hint))):
            from PySide6.QtGui import QColor

            return QColor("#b00020")
        return None


class OfficeDialog(QDialog):
    """Add an office (``office`` None) or edit one. Save writes through the service on a
    worker; problems come back under their fields and nothing is stored."""

    saved = Signal(object)  # the OfficeRow as stored
    save_failed = Signal(str)

    def __init__(self, admin: AgencyAdmin, office: OfficeRow | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.office = office
        self.setWindowTitle(f"Office {office.code} — Origin Desk" if office else
                            "New office — Origin Desk")
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        self.errors: dict[str, FieldError] = {}

        self.code = QLineEdit(office.code if office else "")
        self.code.setMaxLength(10)
        self.code.setPlaceholderText("e.g. PUN")
        if office is not None:
            self.code.setReadOnly(True)
            self.code.setToolTip("The code is printed on certificates already issued; it "
                                 "cannot change.")
        self.name = QLineEdit(office.name if office else "")
        self.name.setPlaceholderText("e.g. Pune Regional Office")
        self.place = QLineEdit(office.place if office else "")
        self.place.setPlaceholderText("printed as the place of issue, e.g. Pune")
        self.address = QPlainTextEdit(office.address if office else "")
        self.address.setTabChangesFocus(True)
        self.address.setFixedHeight(64)
        self.contact_email = QLineEdit(office.contact_email if office else "")
        self.contact_email.setPlaceholderText("e.g. pune@agency.org.in")
        self.contact_phone = QLineEdit(office.contact_phone if office else "")
        self.contact_phone.setPlaceholderText("e.g. +91 20 2567 1234")
        self.overdue_limit = QLineEdit(str(office.overdue_limit_hours) if office else "48")
        self.overdue_limit.setPlaceholderText("whole hours, e.g. 48")
        self.ewallet = QCheckBox("Fees are debited from the office's e-wallet")
        self.ewallet.setChecked(office.ewallet_enabled if office else True)
        self.merchant_id = QLineEdit(office.merchant_id if office else "")
        self.merchant_id.setPlaceholderText("exactly as the payment gateway issued it")
        self.checksum_key = QLineEdit()
        self.checksum_key.setEchoMode(QLineEdit.EchoMode.Password)
        if office is not None and office.checksum_key_hint:
            self.checksum_key.setPlaceholderText(
                f"unchanged ({office.checksum_key_hint}); type a new key to replace it")
        else:
            self.checksum_key.setPlaceholderText("exactly as the payment gateway issued it")
        self.show_key = QCheckBox("Show")
        self.show_key.toggled.connect(lambda on: self.checksum_key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        key_row = QHBoxLayout()
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.checksum_key, 1)
        key_row.addWidget(self.show_key)
        key_widget = QWidget()
        key_widget.setLayout(key_row)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows: list[tuple[str, str, QWidget, str]] = [
            ("code", "&Code:", self.code, ""),
            ("name", "&Name:", self.name, ""),
            ("place", "&Place:", self.place, ""),
            ("address", "&Address:", self.address, ""),
            ("contact_email", "Contact &e-mail:", self.contact_email, ""),
            ("contact_phone", "Contact p&hone:", self.contact_phone, ""),
            ("overdue_limit_hours", "Overdue a&fter (hours):", self.overdue_limit,
             "An application waiting on the office longer than this is flagged overdue in "
             "the queue and on the dashboard (1 to 720 hours)."),
            ("ewallet_enabled", "E-&wallet:", self.ewallet, ""),
            ("merchant_id", "&Merchant ID:", self.merchant_id,
             f"Allowed: {MERCHANT_ID.describe()}."),
            ("checksum_key", "Checksum &key:", key_widget,
             f"Allowed: {CHECKSUM_KEY.describe()}. Kept secret: the audit log records only "
             "its first and last two characters."),
        ]
        self.hints: dict[str, QLabel] = {}
        for field, label, widget, help_text in rows:
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(widget)
            if help_text:
                hint = QLabel(help_text)
                hint.setWordWrap(True)
                hint.setStyleSheet("color: #5f6368;")
                box.addWidget(hint)
                self.hints[field] = hint
            error = FieldError()
            box.addWidget(error)
            self.errors[field] = error
            buddy = QLabel(label)
            buddy.setBuddy(self.checksum_key if widget is key_widget else widget)
            form.addRow(buddy, box)
        gateway_title = QLabel("<b>Payment gateway</b>")
        form.insertRow(8, gateway_title)

        self.form_error = QLabel()
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet(ERROR_STYLE)
        self.form_error.setVisible(False)
        self.save_button = QPushButton("&Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.form_error, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.resize(640, 620)

        # inline checks as the administrator types
        live: list[tuple[str, QLineEdit, Callable[[str], object]]] = [
            ("name", self.name, lambda v: check_text(v, "name", "Office name", 200)),
            ("place", self.place, lambda v: check_text(v, "place", "Place", 100)),
            ("contact_email", self.contact_email, check_contact_email),
            ("contact_phone", self.contact_phone, check_contact_phone),
            ("merchant_id", self.merchant_id, check_merchant_id),
            ("overdue_limit_hours", self.overdue_limit, check_overdue_limit),
            ("checksum_key", self.checksum_key,
             lambda v: None if (v == "" and office is not None) else check_checksum_key(v)),
        ]
        if office is None:
            live.insert(0, ("code", self.code, check_office_code))
        for field, edit, check in live:
            edit.textEdited.connect(lambda text, f=field, c=check: self._check_live(f, c, text))

    def _check_live(self, field: str, check: Callable[[str], object], text: str) -> None:
        try:
            check(text)
        except AdminInputError as exc:
            self._field_error(field, str(exc))
        else:
            self._field_error(field, None)

    def _field_error(self, field: str, message: str | None) -> None:
        self.errors[field].show_error(message)
        if field in self.hints:  # the message repeats what is allowed
            self.hints[field].setVisible(not message)

    def form(self) -> OfficeForm:
        from app.services.admin import OfficeForm

        key = self.checksum_key.text()
        return OfficeForm(
            code=self.code.text(), name=self.name.text(), place=self.place.text(),
            address=self.address.toPlainText(), contact_email=self.contact_email.text(),
            contact_phone=self.contact_phone.text(), ewallet_enabled=self.ewallet.isChecked(),
            merchant_id=self.merchant_id.text(),
            checksum_key=None if (key == "" and self.office is not None) else key,
            overdue_limit_hours=self.overdue_limit.text(),
        )

    def field_error(self, field: str) -> str:
        error = self.errors[field]
        return error.message if error.isVisible() else ""

    def save(self) -> None:
        form, admin, office = self.form(), self.admin, self.office
        self.save_button.setEnabled(False)
        self.form_error.setVisible(False)
        if office is None:
            run_task(lambda: admin.add_office(form), self._saved, self._failed, owner=self)
        else:
            run_task(lambda: admin.edit_office(office.id, form), self._saved, self._failed,
                     owner=self)

    def _saved(self, row: OfficeRow) -> None:
        for field in self.errors:
            self._field_error(field, None)
        self.office = row
        self.saved.emit(row)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        from app.services.admin import OfficeFormError

        self.save_button.setEnabled(True)
        for field in self.errors:
            self._field_error(field, None)
        if isinstance(exc, OfficeFormError):
            for field, message in exc.errors.items():
                self._field_error(field, message)
            self.form_error.setText(f"Not saved: {len(exc.errors)} field(s) to correct.")
        elif isinstance(exc, UserFacingError):
            self.form_error.setText(f"Not saved: {exc}")
        else:
            log.error("saving office failed", exc_info=exc)
            self.form_error.setText(f"Not saved: {exc}")
        self.form_error.setVisible(True)
        self.save_failed.emit(str(exc))


class OfficesTab(QWidget):
    """The table of offices with Add and Edit; double-click edits."""

    loaded = Signal()
    changed = Signal()  # an office was added or edited
    failed = Signal(str)

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.dialog: OfficeDialog | None = None
        self.model = OfficeTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda index: self.edit_office(index.row()))
        self.add_button = QPushButton("&Add office…")
        self.add_button.clicked.connect(self.add_office)
        self.edit_button = QPushButton("&Edit office…")
        self.edit_button.setEnabled(False)
        self.edit_button.clicked.connect(lambda: self.edit_office(self.current_row()))
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.edit_button.setEnabled(self.current_row() >= 0))
        intro = QLabel("Each office issues certificates in its own name, with its own stamp, "
                       "e-wallet and payment gateway account. Double-click an office to edit it.")
        intro.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.edit_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

    def reload(self) -> None:
        admin = self.admin
        run_task(admin.offices, self._loaded, lambda e: self.failed.emit(str(e)), owner=self)

    def _loaded(self, rows: list[OfficeRow]) -> None:
        selected = self.model.row_at(self.current_row())
        self.model.set_rows(rows)
        if selected is not None:
            self.select_code(selected.code)
        self.edit_button.setEnabled(self.current_row() >= 0)
        self.loaded.emit()

    def current_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def select_code(self, code: str) -> None:
        for i, row in enumerate(self.model.rows):
            if row.code == code:
                self.table.selectRow(i)
                return

    def add_office(self) -> OfficeDialog:
        return self._open(OfficeDialog(self.admin, None, self))

    def edit_office(self, row: int) -> OfficeDialog | None:
        office = self.model.row_at(row)
        if office is None:
            return None
        return self._open(OfficeDialog(self.admin, office, self))

    def _open(self, dialog: OfficeDialog) -> OfficeDialog:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda _row: self.changed.emit())
        dialog.open()
        return dialog
