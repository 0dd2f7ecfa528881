"""The E-wallet tab: each office's balance, the selected office's statement (date, kind,
amount, certificate, reference, running balance) between two India dates, and a top-up
dialog for a payment received through the gateway (amount and its reference). The data
comes from :class:`app.services.wallet.WalletBook`, on workers."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.services.wallet import rupees
from app.views.admin_widgets import ERROR_STYLE, RowsModel, row_table, selected_row
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin
    from app.services.wallet import OfficeBalance, Statement

log = logging.getLogger(__name__)

KIND_LABELS = {"top_up": "Top-up", "fee": "Fee", "refund": "Refund"}
BALANCE_COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("Office", lambda b: b.code),
    ("Name", lambda b: b.name),
    ("E-wallet", lambda b: "on" if b.ewallet_enabled else "off (fees not debited)"),
    ("Balance", lambda b: rupees(b.balance)),
)
STATEMENT_COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("Date", lambda s: s.date.strftime("%d %b %Y")),
    ("Kind", lambda s: KIND_LABELS.get(s.kind, s.kind)),
    ("Amount", lambda s: ("+" if s.amount > 0 else "") + rupees(s.amount)),
    ("Certificate", lambda s: s.certificate_number or ""),
    ("Reference", lambda s: s.reference),
    ("Balance", lambda s: rupees(s.balance)),
)
TopUpAnswer = tuple[str, str]  # (amount, reference)


class TopUpDialog(QDialog):
    """Amount and gateway reference of a payment to credit to one office."""

    def __init__(self, office: str, balance: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Top up the e-wallet of {office}")
        note = QLabel(f"Office {office}'s e-wallet holds {balance}. Credit a payment received "
                      "through the payment gateway: its reference credits the office once.")
        note.setWordWrap(True)
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("e.g. 10000.00")
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("the gateway's transaction reference")
        self.reference.setMaxLength(100)
        form = QFormLayout()
        form.addRow("&Amount (₹):", self.amount)
        form.addRow("Gateway &reference:", self.reference)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Credit")
        self.ok.setEnabled(False)
        for edit in (self.amount, self.reference):
            edit.textChanged.connect(self._enable)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.resize(460, 180)

    def _enable(self) -> None:
        self.ok.setEnabled(bool(self.amount.text().strip() and self.reference.text().strip()))

    def answer(self) -> TopUpAnswer:
        return self.amount.text(), self.reference.text()


class WalletTab(QWidget):
    loaded = Signal()
    statement_loaded = Signal()
    changed = Signal()  # a top-up was credited

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        from app.services.wallet import WalletBook

        super().__init__(parent)
        self.admin = admin
        self.book = WalletBook(admin)
        self.balances: list[OfficeBalance] = []
        self.statement: Statement | None = None
        self._statement_request = 0  # the latest statement asked for; older answers are dropped
        # asks for amount and reference; tests replace it (office code) -> answer or None
        self.ask_top_up: Callable[[OfficeBalance], TopUpAnswer | None] = self._top_up_dialog

        intro = QLabel("Each office's e-wallet pays the certificate fee when a certificate is "
                       "issued (₹600.00 preferential, ₹200.00 other kinds) and gets it back "
                       "when the certificate is cancelled on the day it was issued. Issuing "
                       "is refused, before the PIN is asked, when the balance is short.")
        intro.setWordWrap(True)
        self.balance_model = RowsModel(BALANCE_COLUMNS, self)
        self.balance_table = row_table(self.balance_model)
        self.balance_table.selectionModel().selectionChanged.connect(
            lambda *_: self._office_selected())
        self.top_up_button = QPushButton("&Top up…")
        self.top_up_button.setEnabled(False)
        self.top_up_button.clicked.connect(self.top_up_selected)

        self.limit_dates = QCheckBox("Only India dates from")
        self.date_from = QDateEdit()
        self.date_to = QDateEdit()
        today = QDate.currentDate()
        for edit, day in ((self.date_from, today.addDays(-30)), (self.date_to, today)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
            edit.setDate(day)
            edit.setEnabled(False)
            edit.dateChanged.connect(lambda _d: self.load_statement())
        self.limit_dates.toggled.connect(self._dates_toggled)
        self.statement_title = QLabel("Select an office to see its statement.")
        self.statement_model = RowsModel(STATEMENT_COLUMNS, self)
        self.statement_table = row_table(self.statement_model)
        self.totals = QLabel()

        top = QHBoxLayout()
        top.addWidget(QLabel("Balance of each office (select one for its statement)"), 1)
        top.addWidget(self.top_up_button)
        dates = QHBoxLayout()
        dates.addWidget(self.statement_title, 1)
        dates.addWidget(self.limit_dates)
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.date_to)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.balance_table)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(dates)
        lower_layout.addWidget(self.statement_table, 1)
        lower_layout.addWidget(self.totals)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        splitter.setSizes([180, 520])

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    # --- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        run_task(self.book.balances, self._balances_loaded,
                 lambda e: self._show(str(e), error=True), owner=self)

    def _balances_loaded(self, balances: list[OfficeBalance]) -> None:
        chosen = self.selected_office()
        self.balances = balances
        self.balance_model.set_rows(balances)
        for column, width in ((0, 80), (1, 280), (2, 180)):
            self.balance_table.setColumnWidth(column, width)
        codes = [b.code for b in balances]
        if balances:
            row = codes.index(chosen.code) if chosen is not None and chosen.code in codes else 0
            self.balance_table.selectRow(row)
        self.loaded.emit()

    def selected_office(self) -> OfficeBalance | None:
        row = selected_row(self.balance_table)
        return self.balance_model.row_at(row) if row >= 0 else None  # type: ignore[no-any-return]

    def _office_selected(self) -> None:
        self.top_up_button.setEnabled(self.selected_office() is not None)
        self.load_statement()

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.load_statement()

    def load_statement(self) -> None:
        office = self.selected_office()
        if office is None:
            return
        date_from = date_to = None
        if self.limit_dates.isChecked():
            date_from, date_to = _day(self.date_from.date()), _day(self.date_to.date())
        code = office.code
        self._statement_request += 1
        request = self._statement_request
        run_task(lambda: self.book.statement(code, date_from, date_to),
                 lambda statement: self._statement_loaded(statement, request),
                 lambda e: self._show(str(e), error=True), owner=self)

    def _statement_loaded(self, statement: Statement, request: int) -> None:
        if request != self._statement_request:
            return  # another office or other dates were chosen meanwhile: a newer one comes
        self.statement = statement
        lines = list(reversed(statement.lines))  # newest first
        self.statement_model.set_rows(lines)
        for column, width in ((0, 110), (1, 80), (2, 110), (3, 170), (4, 200)):
            self.statement_table.setColumnWidth(column, width)
        span = (f" from {statement.date_from:%d %b %Y} to {statement.date_to:%d %b %Y}"
                if statement.date_from and statement.date_to else "")
        self.statement_title.setText(
            f"Statement of {statement.office_code} — {statement.office_name}{span}")
        self.totals.setText(f"Opening balance {rupees(statement.opening)} · "
                            f"{len(statement.lines)} line(s) · closing balance "
                            f"{rupees(statement.closing)}")
        self.statement_loaded.emit()

    # --- top-up ---------------------------------------------------------------------------

    def top_up_selected(self) -> None:
        office = self.selected_office()
        if office is None:
            return
        answer = self.ask_top_up(office)
        if answer is None:
            return
        amount, reference = answer
        code = office.code
        self.top_up_button.setEnabled(False)

        def done(row: OfficeBalance) -> None:
            self.top_up_button.setEnabled(True)
            self._show(f"{reference.strip()} credited to {row.code}; the e-wallet holds "
                       f"{rupees(row.balance)}.")
            self.changed.emit()
            self.reload()

        def failed(exc: BaseException) -> None:
            self.top_up_button.setEnabled(True)
            self._show(str(exc), error=True)

        run_task(lambda: self.book.top_up(code, amount, reference), done, failed, owner=self)

    def _top_up_dialog(self, office: OfficeBalance) -> TopUpAnswer | None:
        dialog = TopUpDialog(office.code, rupees(office.balance), self)
        return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "color: #1b5e20;")
        self.message.setVisible(True)


def _day(date: QDate) -> dt.date:
    return dt.date(date.year(), date.month(), date.day())
