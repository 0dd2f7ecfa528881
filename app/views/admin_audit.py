"""The Audit log tab: every administrative action of the agency, newest first, with who,
what, when and the values before and after."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.services.queue_rows import local_time
from app.views.admin_widgets import ERROR_STYLE, RowsModel, row_table
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin, AuditRow

ACTION_LABELS = {
    "office.add": "Office added", "office.edit": "Office edited",
    "office.ewallet": "E-wallet switched",
    "office.wallet_top_up": "E-wallet topped up", "office.gateway": "Payment gateway set",
    "office.stamp": "Stamp uploaded", "user.register": "Registration received",
    "user.approve": "Registration approved", "user.refuse": "Registration refused",
    "user.activate": "User activated", "user.deactivate": "User deactivated",
    "user.offices": "Offices mapped", "user.signature": "Signature uploaded",
    "agency.email_domains": "E-mail domains changed",
    "api_key.issue": "API key issued", "api_key.revoke": "API key revoked",
    "application.origin_override": "Origin override (criterion not met)",
}
ALERT_ACTIONS = frozenset({"application.origin_override"})  # shown in red
ALERT = "#b91c1c"
COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("When", lambda e: local_time(e.at, seconds=True)),
    ("Who", lambda e: e.actor),
    ("Action", lambda e: ACTION_LABELS.get(e.action, e.action)),
    ("Record", lambda e: e.entity),
    ("Before → after", lambda e: e.change.replace("\n", "; ")),
    ("Note", lambda e: e.note),
)


class AuditRowsModel(RowsModel):
    """The audit rows; an origin override in red."""

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (index.isValid() and role == Qt.ItemDataRole.ForegroundRole
                and self.rows[index.row()].action in ALERT_ACTIONS):
            return QColor(ALERT)
        return super().data(index, role)


class AuditTab(QWidget):
    loaded = Signal()

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.events: list[AuditRow] = []
        self.model = AuditRowsModel(COLUMNS, self)
        self.table = row_table(self.model)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by person, office, action or value")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.reload)
        self.count = QLabel()
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(refresh)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)

    def reload(self) -> None:
        run_task(self.admin.audit_log, self._loaded, self._failed, owner=self)

    def _failed(self, exc: BaseException) -> None:
        self.error.setText(str(exc))
        self.error.setVisible(True)

    def _loaded(self, events: list[AuditRow]) -> None:
        self.events = events
        self.error.setVisible(False)
        self._apply_filter(self.filter.text())
        for column, width in ((0, 150), (1, 230), (2, 160), (3, 240), (4, 420)):
            self.table.setColumnWidth(column, width)
        self.loaded.emit()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        rows = [e for e in self.events if not needle or needle in " ".join(
            getter(e) for _title, getter in COLUMNS).lower()]
        self.model.set_rows(rows)
        self.count.setText(f"{len(rows)} of {len(self.events)} events")
