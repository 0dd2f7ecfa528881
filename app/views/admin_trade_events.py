"""The Trade events tab of the administrator's window: the agency's fairs, missions and
buyer-seller meets (every one, past ones too), added, changed and removed through a small
dialog. The book is :class:`app.services.trade_events.TradeEventBook`, used on workers;
officers see current and coming events on their dashboard."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views.admin_widgets import ERROR_STYLE, RowsModel, row_table, selected_row
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin
    from app.services.trade_events import TradeEventData, TradeEventRow

log = logging.getLogger(__name__)


def _days(row: Any) -> str:
    if row.starts_on == row.ends_on:
        return f"{row.starts_on:%d %b %Y}"
    return f"{row.starts_on:%d %b %Y} – {row.ends_on:%d %b %Y}"


COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("Dates", _days),
    ("Event", lambda r: r.title),
    ("Place", lambda r: r.place),
    ("Note", lambda r: r.note),
)


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


class TradeEventDialog(QDialog):
    """Title, first and last day, place and note of one event."""

    def __init__(self, event: TradeEventRow | None = None, parent: QWidget | None = None,
                 today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change the trade event" if event else "Announce a trade event")
        today = today or dt.date.today()
        self.title = QLineEdit(event.title if event else "")
        self.title.setPlaceholderText("e.g. Gulfood 2027")
        self.title.setMaxLength(200)
        self.starts_on = QDateEdit(_qdate(event.starts_on if event else today))
        self.ends_on = QDateEdit(_qdate(event.ends_on if event else today))
        for edit in (self.starts_on, self.ends_on):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
        self.starts_on.dateChanged.connect(
            lambda d: self.ends_on.setDate(d) if self.ends_on.date() < d else None)
        self.place = QLineEdit(event.place if event else "")
        self.place.setPlaceholderText("e.g. Dubai World Trade Centre")
        self.place.setMaxLength(200)
        self.note = QPlainTextEdit(event.note if event else "")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(80)
        form = QFormLayout()
        form.addRow("&Title:", self.title)
        form.addRow("&First day:", self.starts_on)
        form.addRow("&Last day:", self.ends_on)
        form.addRow("&Place:", self.place)
        form.addRow("&Note:", self.note)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Save")
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(520, 360)

    def data(self) -> TradeEventData:
        """The fields, checked (TradeEventInvalid names what is wrong)."""
        from app.services.trade_events import check_event

        return check_event(self.title.text(), self.starts_on.date().toPython(),
                           self.ends_on.date().toPython(), self.place.text(),
                           self.note.toPlainText())

    def _check(self) -> None:
        from app.errors import UserFacingError

        try:
            self.data()
        except UserFacingError as exc:
            self.show_error(str(exc))
            return
        self.accept()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(True)


class TradeEventsTab(QWidget):
    """The agency's trade events, every one, soonest first."""

    loaded = Signal()
    changed = Signal(str)  # what was done, in words
    failed = Signal(str)

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.model = RowsModel(COLUMNS, self)
        self.table = row_table(self.model)
        self.table.setColumnWidth(0, 200)
        self.table.setColumnWidth(1, 260)
        self.table.setColumnWidth(2, 220)
        self.table.doubleClicked.connect(lambda _i: self.edit_event())
        self.add_button = QPushButton("Add event…")
        self.edit_button = QPushButton("Change…")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(lambda: self.add_event())
        self.edit_button.clicked.connect(lambda: self.edit_event())
        self.remove_button.clicked.connect(self.remove_event)
        self.message = QLabel()
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addWidget(self.message, 1)
        note = QLabel("Officers see current and coming events on their dashboard after "
                      "their next sync.")
        note.setStyleSheet("color: #5f6368;")
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        # the dialog the tab opens; tests answer it (ask_event returns the data or None)
        self.ask_event: Callable[[TradeEventRow | None], TradeEventData | None] = self._ask

    def reload(self) -> None:
        run_task(lambda: self.admin.trade_events().list(), self._loaded, self._failed,
                 owner=self)

    def _loaded(self, rows: list[TradeEventRow]) -> None:
        self.model.set_rows(rows)
        self.loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(str(exc))
        self.message.setStyleSheet(ERROR_STYLE)
        self.failed.emit(str(exc))

    def _ask(self, event: TradeEventRow | None) -> TradeEventData | None:
        dialog = TradeEventDialog(event, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.data()

    def _selected(self) -> TradeEventRow | None:
        row = selected_row(self.table)
        return self.model.rows[row] if 0 <= row < len(self.model.rows) else None

    def add_event(self) -> None:
        data = self.ask_event(None)
        if data is not None:
            self._run(lambda: self.admin.trade_events().add(data), "Added")

    def edit_event(self) -> None:
        event = self._selected()
        if event is None:
            self.message.setText("Select an event first.")
            return
        data = self.ask_event(event)
        if data is not None:
            self._run(lambda: self.admin.trade_events().update(event.id, data), "Changed")

    def remove_event(self) -> None:
        event = self._selected()
        if event is None:
            self.message.setText("Select an event first.")
            return
        self._run(lambda: self.admin.trade_events().remove(event.id), "Removed")

    def _run(self, work: Callable[[], TradeEventRow], verb: str) -> None:
        def done(row: TradeEventRow) -> None:
            text = f"{verb} {row.title} ({_days(row)})."
            self.message.setStyleSheet("")
            self.message.setText(text)
            self.changed.emit(text)
            self.reload()

        run_task(work, done, self._failed, owner=self)
