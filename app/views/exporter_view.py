"""The exporter view: an exporter (IEC) found by IEC or name, its details, its applicant
users and its applications in the offices the officer serves, with a warning where one
invoice number is on two live applications. Everything is read by the desk service
(``Desk.search_exporters``, ``Desk.exporter``) on a worker; this window only shows it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.exporters import ExporterHit, ExporterOverview
    from app.views.main_window import DeskWindow

ALERT = "#b91c1c"
APPLICANT_HEADERS = ("Name", "E-mail", "Phone", "Status")
APPLICATION_HEADERS = ("Application", "Filed by", "Kind", "Status", "Office", "Submitted",
                       "Decided", "Invoice", "Certificate", "Warning")


class RowsModel(QAbstractTableModel):
    """A read-only table of strings; ``alert_rows`` are drawn in red."""

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self.rows: list[Sequence[str]] = []
        self.alert_rows: frozenset[int] = frozenset()

    def set_rows(self, rows: list[Sequence[str]], alert_rows: frozenset[int] = frozenset()) -> None:
        self.beginResetModel()
        self.rows, self.alert_rows = rows, alert_rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return str(self.rows[index.row()][index.column()])
        if role == Qt.ItemDataRole.ForegroundRole and index.row() in self.alert_rows:
            return QColor(ALERT)
        return None


def _table(model: RowsModel, stretch: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


class ExporterView(QWidget):
    """Search exporters by IEC or name; the chosen one's users and applications."""

    searched = Signal(object)  # list[ExporterHit]
    loaded = Signal(object)  # ExporterOverview
    failed = Signal(str)
    application_chosen = Signal(int)  # an application id (double-click)

    def __init__(self, desk: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.overview: ExporterOverview | None = None
        self.hits: list[ExporterHit] = []
        self._search_task: Any = None
        self._load_task: Any = None
        self.setWindowTitle("Exporter")
        self.resize(1180, 720)
        layout = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setObjectName("exporterSearch")
        self.search.setPlaceholderText("IEC or exporter name")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.results = QListWidget()
        self.results.setMaximumHeight(110)
        self.results.setVisible(False)  # until a search finds something
        layout.addWidget(self.results)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.details = QTextBrowser()
        self.details.setMinimumHeight(150)
        self.applicants_model = RowsModel(APPLICANT_HEADERS, self)
        self.applications_model = RowsModel(APPLICATION_HEADERS, self)
        self.applicants = _table(self.applicants_model, 1)
        self.applications = _table(self.applications_model, 9)
        self.applications.doubleClicked.connect(self._chosen)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.details)
        self.applicants_label = QLabel("Applicant users")
        top_layout.addWidget(self.applicants_label)
        top_layout.addWidget(self.applicants)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        self.applications_label = QLabel("Applications")
        bottom_layout.addWidget(self.applications_label)
        bottom_layout.addWidget(self.applications)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout.addWidget(split, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self.run_search)
        self.results.currentItemChanged.connect(self._picked)

    # --- searching ------------------------------------------------------------------------

    def run_search(self) -> None:
        self._timer.stop()
        if self._search_task is not None:
            self._search_task.cancel()
        text = self.search.text()
        self._search_task = run_task(lambda: self.desk.search_exporters(text),
                                     on_done=self._show_hits, on_error=self._error, owner=self)

    def _show_hits(self, hits: list[ExporterHit]) -> None:
        self.hits = hits
        self.results.blockSignals(True)
        self.results.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.iec}   {hit.name}   ({hit.place})")
            item.setData(Qt.ItemDataRole.UserRole, hit.id)
            self.results.addItem(item)
        self.results.blockSignals(False)
        self.results.setVisible(bool(hits))
        self.message.setText("" if hits else "No exporter with applications here matches.")
        self.searched.emit(hits)
        if len(hits) == 1:
            self.results.setCurrentRow(0)

    def _picked(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        if item is not None:
            self.show_exporter(int(item.data(Qt.ItemDataRole.UserRole)))

    # --- one exporter ---------------------------------------------------------------------

    def show_exporter(self, exporter_id: int) -> None:
        if self._load_task is not None:
            self._load_task.cancel()
        self.message.setText("Loading…")
        self._load_task = run_task(lambda: self.desk.exporter(exporter_id),
                                   on_done=self._show, on_error=self._error, owner=self)

    def _show(self, overview: ExporterOverview) -> None:
        self.overview = overview
        self.setWindowTitle(f"Exporter {overview.iec} — {overview.name}")
        parts = [f"<h3 style='margin:2px 0'>{html.escape(overview.name)} "
                 f"<span style='color:#555'>IEC {html.escape(overview.iec)}</span></h3>"]
        parts += [f"<p style='color:{ALERT}; font-weight:600'>⚠ {html.escape(w)}</p>"
                  for w in overview.warnings]
        parts.append("<table cellspacing='0' cellpadding='1'>")
        for key, value in overview.details:
            parts.append(f"<tr><td style='color:#555; padding-right:12px'>{html.escape(key)}"
                         f"</td><td>{html.escape(value)}</td></tr>")
        parts.append("</table>")
        self.details.setHtml("".join(parts))
        self.applicants_model.set_rows([(a.full_name, a.email, a.phone, a.status)
                                        for a in overview.applicants])
        self.applicants_label.setText(f"Applicant users ({len(overview.applicants)})")
        rows = [(a.number, a.filed_by, a.kind, a.status, a.office, a.submitted, a.decided,
                 a.invoice, a.certificate, a.warning) for a in overview.applications]
        alerts = frozenset(i for i, a in enumerate(overview.applications) if a.warning)
        self.applications_model.set_rows(rows, alerts)
        self.applications_label.setText(
            f"Applications in {overview.scope} ({len(overview.applications)})")
        self.message.setText("")
        self.loaded.emit(overview)

    def _chosen(self, index: QModelIndex) -> None:
        if self.overview is not None and index.isValid():
            self.application_chosen.emit(self.overview.applications[index.row()].application_id)

    def _error(self, exc: BaseException) -> None:
        self.message.setText(f"<span style='color:{ALERT}'>{html.escape(str(exc))}</span>")
        self.failed.emit(str(exc))


def open_exporter_view(window: DeskWindow, exporter_id: int | None = None) -> ExporterView | None:
    """The exporter window of the signed-in desk (showing ``exporter_id`` when given)."""
    desk = window.desk
    if desk is None:
        return None
    view = ExporterView(desk, window)
    view.setWindowFlags(Qt.WindowType.Window)
    view.application_chosen.connect(window.select_application)
    view.show()
    if exporter_id is not None:
        view.show_exporter(exporter_id)
    else:
        view.search.setFocus()
    window.exporter_view = view  # type: ignore[attr-defined]
    return view


def install_exporter_action(window: DeskWindow) -> QAction:
    """The action "Exporter…" (Ctrl+E) in the Actions menu."""
    action = QAction("E&xporter…", window)
    action.setShortcut(QKeySequence("Ctrl+E"))
    action.setToolTip("An exporter by IEC or name: its applicant users and applications")
    action.triggered.connect(lambda: open_exporter_view(window))
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    menu = next((m for m in menus if m.title() == "&Actions"), None)
    (menu or window.menuBar().addMenu("&Exporters")).addAction(action)
    return action
