"""OfficeQueueModel: the office queue as a Qt table model, filtered and sorted in Python.

No QSortFilterProxyModel: on 100,000 rows a proxy calls ``data()`` for every cell on each
keystroke (seconds); filtering the raw tuples and resetting the model takes milliseconds.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.services.queue_rows import (
    HEADERS,
    STATUS_FILTERS,
    VISIBLE_COLUMNS,
    WAITING_STATUSES,
    Col,
    QueueRow,
    StatusFilter,
    as_decimal,
    filter_rows,
    format_waiting,
    is_overdue,
    kind_label,
    local_time,
    sort_rows,
    status_counts,
    utcnow,
    waiting_hours,
)

_Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_OVERDUE_BG = QBrush(QColor("#fde2e1"))
_OVERDUE_FG = QBrush(QColor("#9b1c1c"))
RETURNED = "returned"
WITH_EXPORTER = "exporter"  # Waiting: a returned application waits on the exporter, not the office
_STATUS_COLOURS = {
    "submitted": "#1d4ed8", "resubmitted": "#1d4ed8", "under_scrutiny": "#7c3aed",
    "returned": "#b45309", "approved": "#047857", "issued": "#065f46",
    "rejected": "#991b1b", "superseded": "#6b7280", "cancelled": "#6b7280",
}


class OfficeQueueModel(QAbstractTableModel):
    def __init__(self, waiting_limit_hours: int = 24, parent: Any = None) -> None:
        super().__init__(parent)
        self.waiting_limit_hours = waiting_limit_hours
        self.office_limits: dict[str, int] = {}  # office code -> its overdue limit (hours)
        self._all: list[QueueRow] = []
        self._rows: list[QueueRow] = []
        self._text = ""
        self._status = StatusFilter.ALL
        self._kind: str | None = None
        self._overdue_cache: dict[int, bool] = {}
        self._pending: frozenset[int] = frozenset()
        self._sort: tuple[int, bool] = (Col.WAITING_SINCE, False)
        self._now = utcnow()
        self._bold = QFont()
        self._bold.setBold(True)
        self._status_brushes = {k: QBrush(QColor(v)) for k, v in _STATUS_COLOURS.items()}

    # --- the data -------------------------------------------------------------------------

    def set_rows(self, rows: list[QueueRow]) -> None:
        self._all = rows
        self._now = utcnow()
        self._overdue_cache.clear()
        self._apply()

    def set_pending(self, application_ids: set[int] | frozenset[int]) -> None:
        """Mark the applications whose decision waits to be sent to the central store."""
        pending = frozenset(application_ids)
        if pending != self._pending:
            self._pending = pending
            if self._rows:
                self.dataChanged.emit(self.index(0, Col.STATUS),
                                      self.index(len(self._rows) - 1, Col.STATUS))

    def is_pending(self, application_id: int) -> bool:
        return application_id in self._pending

    def set_filter_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self._apply()

    def set_status_filter(self, status: StatusFilter) -> None:
        if status != self._status:
            self._status = status
            self._apply()

    def replace_row(self, row: QueueRow) -> None:
        """Put a freshly loaded row in place of the one with the same application id."""
        app_id = row[Col.ID]
        self._overdue_cache.pop(app_id, None)
        self._all = [row if r[Col.ID] == app_id else r for r in self._all]
        for i, r in enumerate(self._rows):
            if r[Col.ID] == app_id:
                self._rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, VISIBLE_COLUMNS - 1))
                break

    def set_kind_filter(self, kind: str | None) -> None:
        if kind != self._kind:
            self._kind = kind
            self._apply()

    def _apply(self) -> None:
        self.beginResetModel()
        rows = filter_rows(self._all, self._text, STATUS_FILTERS[self._status][1], self._kind)
        column, descending = self._sort
        self._rows = sort_rows(rows, column, descending)
        self.endResetModel()

    def counts(self) -> dict[StatusFilter, int]:
        return status_counts(filter_rows(self._all, self._text, None, self._kind))

    def row_at(self, row: int) -> QueueRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, application_id: int) -> int:
        for i, r in enumerate(self._rows):
            if r[Col.ID] == application_id:
                return i
        return -1

    @property
    def total(self) -> int:
        return len(self._all)

    # --- Qt model interface ---------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else VISIBLE_COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and section == Col.FOB:
                return _RIGHT
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            value = row[column]
            if column == Col.KIND:
                return kind_label(value)
            if column == Col.STATUS:
                text = value.replace("_", " ")
                return f"{text} ⟳" if row[Col.ID] in self._pending else text
            if column == Col.FOB:
                return f"{as_decimal(value):,.2f}"
            if column == Col.WAITING_SINCE:
                if row[Col.STATUS] == RETURNED:
                    return WITH_EXPORTER
                if row[Col.STATUS] not in WAITING_STATUSES:
                    return "—"
                return format_waiting(waiting_hours(value, self._now))
            return value
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Col.WAITING_SINCE and row[Col.STATUS] == RETURNED:
                return ("Returned to the exporter with a query: waiting on the exporter's "
                        "corrected resubmission, not on the office")
            if column == Col.WAITING_SINCE and row[column] is not None:
                limit = self.office_limits.get(row[Col.OFFICE], self.waiting_limit_hours)
                flag = (f" — over {row[Col.OFFICE]}'s limit of {limit} h"
                        if self._overdue(row) else "")
                return f"Waiting since {local_time(row[column])}{flag}"
            if column == Col.STATUS and row[Col.ID] in self._pending:
                return "Pending sync: decided at this desk, not yet on the central store"
            if column in (Col.EXPORTER, Col.CONSIGNEE, Col.HS_CODES):
                return row[column]
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return _OVERDUE_BG if self._overdue(row) else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == Col.WAITING_SINCE and self._overdue(row):
                return _OVERDUE_FG
            if column == Col.STATUS:
                return self._status_brushes.get(row[Col.STATUS])
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self._bold if column == Col.WAITING_SINCE and self._overdue(row) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Col.FOB:
            return _RIGHT
        if role == Qt.ItemDataRole.UserRole:
            return row[Col.ID]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order == Qt.SortOrder.DescendingOrder)
        self._rows = sort_rows(self._rows, *self._sort)
        self.layoutChanged.emit()

    def _overdue(self, row: QueueRow) -> bool:
        # asked for every painted cell (background): computed once per row and refresh
        key = row[Col.ID]
        flag = self._overdue_cache.get(key)
        if flag is None:
            flag = self._overdue_cache[key] = is_overdue(row, self.waiting_limit_hours, self._now,
                                                         self.office_limits)
        return flag

    def set_office_limits(self, limits: dict[str, int]) -> None:
        """Each office's overdue limit (hours), from the store's offices."""
        self.office_limits = dict(limits)
        self._overdue_cache.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._rows) - 1, self.columnCount() - 1))
