"""DashboardView: the officer's day at a glance, the first page after sign-in.

The figures come from :func:`app.services.dashboard.load_dashboard` on a worker (the
background task helper); this widget only displays the :class:`Dashboard` it gets back.
QtCharts is imported on that worker too (loading the library takes a fifth of a second),
so the GUI thread never waits for the store or for the import.

:func:`install_dashboard` puts it in the officer's window as the page "Dashboard" (Ctrl+1)
beside the page "Queue" (Ctrl+2); the administrator's window shows it as its first tab.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMargins, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.queue_rows import format_waiting, local_time, status_label
from app.views.tasks import Task, run_task

if TYPE_CHECKING:
    from app.services.dashboard import Dashboard

log = logging.getLogger(__name__)
CARD_STYLE = ("QFrame#card { background: #f5f8fc; border: 1px solid #d5deea; "
              "border-radius: 6px; }")
OVERDUE_COLOUR = QColor("#b3261e")
BAR_COLOUR = QColor("#2f6fbd")
ID_ROLE = Qt.ItemDataRole.UserRole


def _load_with_charts(loader: Callable[[], Dashboard]) -> Dashboard:
    import PySide6.QtCharts  # noqa: F401 - the library loads here, off the GUI thread

    return loader()


def _table(headers: list[str], stretch: int | None = None) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    # sized once after each fill (resizeColumnsToContents): ResizeToContents would measure
    # the column again for every item set
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    header.setHighlightSections(False)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return table


def _item(text: str, *, number: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def _fit_height(table: QTableWidget, rows: int) -> None:
    """A table as tall as ``rows`` rows (it sits in the page's scroll area)."""
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth() + 2
    height += sum(table.rowHeight(r) for r in range(min(rows, table.rowCount())))
    if table.rowCount() < rows:
        height += (rows - table.rowCount()) * table.verticalHeader().defaultSectionSize()
    table.setMinimumHeight(height)
    table.setMaximumHeight(height)


class _Card(QFrame):
    """A figure with its caption, in a light box."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("card")
        self.setStyleSheet(CARD_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        self.value = QLabel("–")
        font = QFont(self.value.font())
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self.value.setFont(font)
        self.caption = QLabel(caption)
        self.caption.setStyleSheet("color: #4a5565;")
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def show_value(self, value: str, *, alert: bool = False) -> None:
        self.value.setText(value)
        self.value.setStyleSheet(f"color: {OVERDUE_COLOUR.name()};" if alert else "")


class DashboardView(QWidget):
    """The dashboard page: summary cards, counts per status and office, certificates
    issued per day (a bar chart), the oldest waiting applications, the user's own work
    today, e-wallet balances (administrators), trade events and the agreements."""

    loaded = Signal()  # a Dashboard is on screen
    failed = Signal(str)
    open_application = Signal(int)  # double-click or Enter on an oldest waiting row

    def __init__(self, loader: Callable[[], Dashboard] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.dashboard: Dashboard | None = None
        self._task: Task | None = None
        self._stale = True
        self.chart_view: Any = None
        self.chart_series: Any = None
        self.chart_bars: Any = None
        self.chart_axis: Any = None
        self.chart_values_axis: Any = None

        self.title = QLabel("Dashboard")
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.as_of = QLabel("Loading the figures…")
        self.as_of.setStyleSheet("color: #4a5565;")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the figures again — F5")
        self.refresh_button.clicked.connect(self.refresh)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(12)
        head.addWidget(self.as_of, 1)
        head.addWidget(self.refresh_button)

        self.cards = {key: _Card(caption) for key, caption in (
            ("waiting", "waiting on your offices"), ("overdue", "over their office's limit"),
            ("issued_today", "certificates issued today"),
            ("issued_30", "issued in the last 30 days"), ("mine", "decisions of yours today"))}
        cards = QHBoxLayout()
        for card in self.cards.values():
            cards.addWidget(card)

        self.status_table = _table(["Status"], stretch=None)
        self.status_box = self._box("Applications by status and office", self.status_table)

        self.chart_box = QGroupBox("Certificates issued per day — last 30 days (India dates)")
        self.chart_layout = QVBoxLayout(self.chart_box)
        self.chart_placeholder = QLabel("Loading…")
        self.chart_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chart_placeholder.setMinimumHeight(260)
        self.chart_layout.addWidget(self.chart_placeholder)

        self.oldest_table = _table(["Application", "Office", "Waiting", "Waits on", "Exporter"],
                                   stretch=4)
        self.oldest_table.setToolTip("Double-click or press Enter to open it in the queue")
        self.oldest_table.doubleClicked.connect(lambda index: self._open_row(index.row()))
        self.oldest_table.activated.connect(lambda index: self._open_row(index.row()))
        self.oldest_box = self._box("Oldest waiting applications", self.oldest_table)

        self.work_labels: dict[str, QLabel] = {}
        work = QWidget()
        work_layout = QGridLayout(work)
        work_layout.setContentsMargins(4, 4, 4, 4)
        for column, (key, caption) in enumerate((("approved", "Approved"), ("issued", "Issued"),
                                                 ("returned", "Returned"),
                                                 ("rejected", "Rejected"))):
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            big = QFont(value.font())
            big.setPointSizeF(big.pointSizeF() * 1.5)
            big.setBold(True)
            value.setFont(big)
            label = QLabel(caption)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            work_layout.addWidget(value, 0, column)
            work_layout.addWidget(label, 1, column)
            self.work_labels[key] = value
        self.work_box = self._box("Your work today", work)

        self.wallet_table = _table(["Office", "Balance", "E-wallet"], stretch=1)
        self.wallet_box = self._box("E-wallet balances", self.wallet_table)
        self.wallet_box.setVisible(False)

        self.events_table = _table(["Dates", "Event", "Place"], stretch=1)
        self.events_table.setWordWrap(True)
        self.events_box = self._box("Trade events", self.events_table)

        self.agreements_table = _table(["Agreement", "Partners", "Form", "General rule",
                                        "Validity"], stretch=1)
        self.agreements_table.setWordWrap(True)
        self.agreements_box = self._box("Trade agreements (reference data)",
                                        self.agreements_table)

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(12)
        grid.addWidget(self.status_box, 0, 0)
        grid.addWidget(self.chart_box, 0, 1)
        grid.addWidget(self.oldest_box, 1, 0)
        side = QVBoxLayout()
        side.addWidget(self.work_box)
        side.addWidget(self.wallet_box)
        side.addWidget(self.events_box, 1)
        grid.addLayout(side, 1, 1)
        grid.addWidget(self.agreements_box, 2, 0, 1, 2)
        grid.setColumnStretch(0, 11)
        grid.setColumnStretch(1, 9)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(14, 10, 14, 14)
        body_layout.addLayout(head)
        body_layout.addLayout(cards)
        body_layout.addLayout(grid)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        # F5 is the host window's (its refresh reloads the queue, which refreshes this)

    @staticmethod
    def _box(title: str, widget: QWidget) -> QGroupBox:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(widget)
        layout.addStretch(1)  # the content at the top of a box taller than it
        return box

    # --- loading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the figures again on a worker (a read already running is dropped)."""
        if self.loader is None:
            return
        if self._task is not None:
            self._task.cancel()
        self._stale = False
        self.refresh_button.setEnabled(False)
        self.as_of.setText("Reading the figures…")
        loader = self.loader
        self._task = run_task(lambda: _load_with_charts(loader), self.show_dashboard,
                              self._failed, owner=self)

    def mark_stale(self) -> None:
        """Something changed (a sync, an issue, an action): read again now when on screen,
        else when next shown."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale and self.loader is not None:
            self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self._task = None
        self.refresh_button.setEnabled(True)
        self.as_of.setText(f"The figures could not be read: {exc}")
        self.failed.emit(str(exc))

    # --- display ---------------------------------------------------------------------------

    def show_dashboard(self, dashboard: Dashboard) -> None:
        """The tables and cards now, the chart on the next turn of the event loop: no
        single step keeps the GUI thread long (bench: dashboard_gui_stall_ms)."""
        self._task = None
        self.dashboard = dashboard
        self.setUpdatesEnabled(False)  # one paint when the tables are in place
        try:
            self._show_all(dashboard)
        finally:
            self.setUpdatesEnabled(True)
        QTimer.singleShot(0, self, lambda d=dashboard: self._chart_then_loaded(d))

    def _chart_then_loaded(self, dashboard: Dashboard) -> None:
        if dashboard is not self.dashboard:
            return  # a newer read arrived meanwhile: its own turn draws it
        self._show_chart(dashboard)
        self.loaded.emit()

    def _show_all(self, dashboard: Dashboard) -> None:
        self.refresh_button.setEnabled(True)
        self.title.setText(f"{dashboard.user_name}'s day — {dashboard.today:%A %d %B %Y}")
        self.as_of.setText(f"Figures as of {local_time(dashboard.as_of)}"
                           + ("" if dashboard.is_admin else " · your offices"))
        self._show_cards(dashboard)
        self._show_status(dashboard)
        self._show_oldest(dashboard)
        self._show_work(dashboard)
        self._show_wallets(dashboard)
        self._show_events(dashboard)
        self._show_agreements(dashboard)

    def _show_cards(self, d: Dashboard) -> None:
        self.cards["waiting"].show_value(f"{d.waiting:,}")
        self.cards["overdue"].show_value(f"{d.overdue:,}", alert=d.overdue > 0)
        today = d.issued_per_day[-1].issued if d.issued_per_day else 0
        self.cards["issued_today"].show_value(f"{today:,}")
        self.cards["issued_30"].show_value(f"{d.issued_in_period:,}")
        self.cards["mine"].show_value(f"{d.own_work.total:,}")

    def _show_status(self, d: Dashboard) -> None:
        """A row per status (then Total, Waiting, Overdue), a column per office, then All."""
        statuses = [s for s, _n in d.status_counts]
        table = self.status_table
        table.clear()
        table.setColumnCount(len(d.offices) + 2)
        table.setHorizontalHeaderLabels(["Status", *[o.code for o in d.offices], "All"])
        for column, office in enumerate(d.offices, start=1):
            table.horizontalHeaderItem(column).setToolTip(
                f"{office.name} — overdue after {office.limit_hours} h")
        rows: list[tuple[str, list[int], int, str]] = [
            (status_label(s), [o.count(s) for o in d.offices], n, "") for s, n in d.status_counts]
        rows.append(("Total", [o.total for o in d.offices], d.total, "total"))
        rows.append(("Waiting on the office", [o.waiting for o in d.offices], d.waiting,
                     "total"))
        rows.append(("Overdue", [o.overdue for o in d.offices], d.overdue, "overdue"))
        table.setRowCount(len(rows))
        bold = QFont(table.font())
        bold.setBold(True)
        for row, (label, per_office, total, kind) in enumerate(rows):
            head = _item(label, tip="over each office's own limit (hours in the column's "
                                    "tooltip)" if kind == "overdue" else "")
            cells = [head, *[_item(f"{n:,}", number=True) for n in per_office],
                     _item(f"{total:,}", number=True)]
            for column, item in enumerate(cells):
                if kind:
                    item.setFont(bold)
                if kind == "overdue" and column and item.text() != "0":
                    item.setForeground(OVERDUE_COLOUR)
                table.setItem(row, column, item)
        del statuses
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # the offices share it
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        _fit_height(table, len(rows))

    def _show_chart(self, d: Dashboard) -> None:
        """Made once; later reads replace the bars' values and the days in place."""
        from PySide6.QtCharts import (
            QBarCategoryAxis,
            QBarSeries,
            QBarSet,
            QChart,
            QChartView,
            QValueAxis,
        )

        values = [float(day.issued) for day in d.issued_per_day]
        # a label every fifth day and on today; the others blank but distinct (a category
        # axis keeps each category once)
        last = len(d.issued_per_day) - 1
        categories = [day.day.strftime("%d %b") if i % 5 == last % 5 else " " * (i + 1)
                      for i, day in enumerate(d.issued_per_day)]
        top = max((day.issued for day in d.issued_per_day), default=0)
        if self.chart_series is None:
            self.chart_bars = QBarSet("Certificates issued")
            self.chart_bars.setColor(BAR_COLOUR)
            self.chart_bars.append(values)
            series = QBarSeries()
            series.append(self.chart_bars)
            series.setBarWidth(0.8)
            chart = QChart()
            chart.addSeries(series)
            chart.legend().setVisible(False)
            chart.setMargins(QMargins(4, 4, 4, 4))
            chart.setBackgroundRoundness(0)
            small = QFont(self.font())
            small.setPointSizeF(max(small.pointSizeF() * 0.8, 6.0))
            self.chart_axis = QBarCategoryAxis()
            self.chart_axis.append(categories)
            self.chart_axis.setLabelsFont(small)
            self.chart_axis.setTruncateLabels(False)  # "25 Nov" over its neighbours' blanks
            self.chart_axis.setGridLineVisible(False)
            self.chart_values_axis = QValueAxis()
            self.chart_values_axis.setLabelFormat("%d")
            self.chart_values_axis.setTickCount(6)
            self.chart_values_axis.setLabelsFont(small)
            chart.addAxis(self.chart_axis, Qt.AlignmentFlag.AlignBottom)
            chart.addAxis(self.chart_values_axis, Qt.AlignmentFlag.AlignLeft)
            series.attachAxis(self.chart_axis)
            series.attachAxis(self.chart_values_axis)
            self.chart_view = QChartView(chart)
            self.chart_view.setMinimumHeight(260)
            self.chart_view.setSizePolicy(QSizePolicy.Policy.Expanding,
                                          QSizePolicy.Policy.Expanding)
            self.chart_layout.replaceWidget(self.chart_placeholder, self.chart_view)
            self.chart_placeholder.deleteLater()
            self.chart_series = series
        else:
            bars = self.chart_bars
            if bars.count() == len(values):
                for i, value in enumerate(values):
                    if bars.at(i) != value:
                        bars.replace(i, value)
            else:
                bars.remove(0, bars.count())
                bars.append(values)
            if self.chart_axis.categories() != categories:
                self.chart_axis.setCategories(categories)
        self.chart_values_axis.setRange(0, max(5, top + max(1, top // 8)))
        self.chart_values_axis.applyNiceNumbers()  # ticks at 0, 10, 20, … not 0, 8.6, …
        self.chart_view.setToolTip(
            f"{d.issued_in_period:,} certificates issued from "
            f"{d.issued_per_day[0].day:%d %b} to {d.issued_per_day[-1].day:%d %b %Y}")

    def chart_values(self) -> list[int]:
        """The chart's bars, oldest day first (what is drawn)."""
        if self.chart_series is None:
            return []
        bars = self.chart_series.barSets()[0]
        return [int(bars.at(i)) for i in range(bars.count())]

    def _show_oldest(self, d: Dashboard) -> None:
        table = self.oldest_table
        table.setRowCount(len(d.oldest_waiting))
        for row, app in enumerate(d.oldest_waiting):
            number = _item(app.number, tip=f"{status_label(app.status)} — waiting since "
                                           f"{local_time(app.waiting_since)}")
            number.setData(ID_ROLE, app.id)
            waited = _item(format_waiting(app.hours), number=True,
                           tip="over the office's limit" if app.overdue else "")
            if app.overdue:
                waited.setForeground(OVERDUE_COLOUR)
                bold = QFont(table.font())
                bold.setBold(True)
                waited.setFont(bold)
            for column, item in enumerate((number, _item(app.office_code), waited,
                                           _item(app.waits_on, tip=app.waits_on),
                                           _item(app.exporter, tip=app.exporter))):
                table.setItem(row, column, item)
        if not d.oldest_waiting:
            table.setRowCount(1)
            table.setItem(0, 0, _item("Nothing waits on your offices."))
        table.resizeColumnsToContents()
        _fit_height(table, 12)

    def _open_row(self, row: int) -> None:
        item = self.oldest_table.item(row, 0)
        application_id = item.data(ID_ROLE) if item is not None else None
        if application_id is not None:
            self.open_application.emit(int(application_id))

    def _show_work(self, d: Dashboard) -> None:
        for key, label in self.work_labels.items():
            label.setText(f"{getattr(d.own_work, key):,}")

    def _show_wallets(self, d: Dashboard) -> None:
        self.wallet_box.setVisible(d.is_admin)
        table = self.wallet_table
        table.setRowCount(len(d.wallets))
        for row, wallet in enumerate(d.wallets):
            table.setItem(row, 0, _item(wallet.office_code))
            table.setItem(row, 1, _item(wallet.balance_text, number=True))
            table.setItem(row, 2, _item("on" if wallet.enabled else "off"))
        table.resizeColumnsToContents()
        _fit_height(table, max(len(d.wallets), 1))

    def _show_events(self, d: Dashboard) -> None:
        """Dates, the event (its note on a second line) and the place."""
        table = self.events_table
        table.setRowCount(len(d.trade_events))
        for row, event in enumerate(d.trade_events):
            what = event.title + (f"\n{event.note}" if event.note else "")
            for column, text in enumerate((event.dates, what, event.place)):
                table.setItem(row, column, _item(text, tip=text))
        if not d.trade_events:
            table.setRowCount(1)
            table.setItem(0, 1, _item("No trade events announced."))
        table.resizeColumnToContents(0)
        table.setColumnWidth(2, min(max(table.sizeHintForColumn(2), 80), 200))
        table.resizeRowsToContents()
        _fit_height(table, max(table.rowCount(), 2))

    def _show_agreements(self, d: Dashboard) -> None:
        table = self.agreements_table
        table.setRowCount(len(d.agreements))
        for row, agreement in enumerate(d.agreements):
            name = _item(agreement.code, tip=agreement.name)
            cells = (name, _item(agreement.partners, tip=agreement.partners),
                     _item(agreement.form), _item(agreement.general_rule,
                                                  tip=agreement.general_rule),
                     _item(agreement.validity))
            for column, item in enumerate(cells):
                table.setItem(row, column, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        table.resizeColumnsToContents()
        table.setColumnWidth(1, min(table.columnWidth(1), 360))
        table.setColumnWidth(3, 380)
        _fit_height(table, len(d.agreements))


def dashboard_loader(desk: Any) -> Callable[[], Dashboard]:
    """The desk's dashboard as its signed-in user (read on a worker)."""
    def load() -> Dashboard:
        return desk.dashboard()
    return load


def install_dashboard(window: Any) -> DashboardView:
    """Give the officer's window two pages: Dashboard (Ctrl+1) and Queue (Ctrl+2). The
    dashboard reads the desk of the window (``window.desk``) when shown, after F5 and
    after the queue reloads (a sync, an issue) or an action finishes."""
    def load() -> Dashboard:
        if window.desk is None:
            raise RuntimeError("Sign in first.")
        return window.desk.dashboard()

    view = DashboardView(load)
    queue_page = window.centralWidget()
    pages = QTabWidget()
    pages.setDocumentMode(True)
    pages.addTab(view, "Dashboard")
    pages.addTab(queue_page, "Queue")
    pages.setTabToolTip(0, "The day at a glance — Ctrl+1")
    pages.setTabToolTip(1, "The office queue — Ctrl+2")
    window.setCentralWidget(pages)
    window.pages = pages
    window.dashboard = view
    for number, page in ((1, view), (2, queue_page)):
        switch = QAction(window)
        switch.setShortcut(QKeySequence(f"Ctrl+{number}"))
        switch.triggered.connect(lambda _=False, p=page: _show_page(window, p))
        window.addAction(switch)

    def open_in_queue(application_id: int) -> None:
        from app.services.queue_rows import StatusFilter

        pages.setCurrentWidget(queue_page)
        window.search.clear()
        window.status_tabs.setCurrentIndex(StatusFilter.ALL)
        if not window.select_application(application_id):
            window.show_notice("That application is not in the queue as it is filtered: "
                               "choose all offices and try again.")
        window.table.setFocus()

    view.open_application.connect(open_in_queue)
    window.queue_loaded.connect(view.mark_stale)
    window.action_finished.connect(lambda _m: view.mark_stale())
    window.queue_updated.connect(view.mark_stale)  # an issue batch's certificates
    pages.setCurrentWidget(queue_page)
    return view


def _show_page(window: Any, page: QWidget) -> None:
    window.pages.setCurrentWidget(page)
    if page is window.dashboard:  # the keyboard starts on the oldest waiting (Enter opens)
        window.dashboard.oldest_table.setFocus()
    else:
        window.table.setFocus()


def show_dashboard_page(window: Any) -> None:
    """The first page after sign-in."""
    if getattr(window, "pages", None) is not None:
        _show_page(window, window.dashboard)


__all__ = ["DashboardView", "dashboard_loader", "install_dashboard", "show_dashboard_page"]
