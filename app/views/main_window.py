"""DeskWindow: the officer's queue, the selected application's detail, and the actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabBar,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.models.enums import Action, ApplicationKind
from app.services.queue_rows import STATUS_FILTERS, Col, QueueRow, StatusFilter
from app.views.queue_model import OfficeQueueModel
from app.views.tasks import Task, TaskProgress, run_task
from app.views.text_prompt import TextPrompt

if TYPE_CHECKING:
    from app.services.desk import ApplicationDetail, Desk, OfficeInfo
    from app.views.detail_panel import DetailPanel

log = logging.getLogger(__name__)
NOTICE_STYLE = "background:#fff4e5; color:#5a3d00; border:1px solid #f3c98b; padding:6px;"
# a clear focus indication for the keyboard user: the focused table, tab bar or button
# gets a blue frame (the platform's own focus rectangle is barely visible)
FOCUS_COLOUR = "#1d63d8"
FOCUS_STYLE = (
    f"QTableView:focus {{ border: 2px solid {FOCUS_COLOUR}; }} "
    f"QTabBar:focus {{ border: 2px solid {FOCUS_COLOUR}; }} "
    f"QTabBar::tab:focus {{ border: 2px solid {FOCUS_COLOUR}; }} "
    f"QPushButton:focus {{ border: 2px solid {FOCUS_COLOUR}; border-radius: 3px; "
    "padding: 3px 10px; }"
)
ERROR_STYLE = "background:#fdecea; color:#8a1c1c; border:1px solid #f5c2c0; padding:6px;"


@dataclass(frozen=True)
class QueueUpdate:
    """Fresh queue rows of some applications (after an action or an issue batch), what is
    pending sync, and the store's label: read together on a worker."""

    rows: list[QueueRow]
    pending: set[int]
    store_label: str


def queue_update(desk: Desk, application_ids: list[int]) -> QueueUpdate:
    """On a worker: the rows of ``application_ids`` as the store has them now."""
    return QueueUpdate(desk.queue_rows(application_ids), desk.pending_application_ids(),
                       desk.store_label)

# action, button text, shortcut, needs text (title, prompt) or None
ACTIONS: tuple[tuple[Action, str, str, tuple[str, str] | None], ...] = (
    (Action.CLAIM, "&Claim", "Ctrl+K", None),
    (Action.APPROVE, "A&pprove", "Ctrl+Shift+A", None),
    (Action.RETURN, "&Return for clarification", "Ctrl+Shift+R",
     ("Return for clarification", "What must the exporter clarify or correct? This text is sent "
      "to the exporter with the application.")),
    (Action.REJECT, "Re&ject", "Ctrl+Shift+J",
     ("Reject application", "Why is the application rejected? The exporter sees this reason.")),
    (Action.RELEASE, "Re&lease claim", "Ctrl+Shift+L", None),
)


class DeskWindow(QMainWindow):
    queue_loaded = Signal()
    detail_loaded = Signal()
    action_finished = Signal(str)
    preview_loaded = Signal()
    queue_updated = Signal()  # rows changed by an action or an issue batch (the dashboard)

    def __init__(self, desk: Desk | None = None, parent: QWidget | None = None) -> None:
        """The window can be shown before the store is open (``desk`` None); ``attach``
        gives it the signed-in desk later."""
        super().__init__(parent)
        self.desk: Desk | None = None
        self.setWindowTitle("Origin Desk")
        self.resize(1400, 860)
        self.model = OfficeQueueModel(24, self)
        self._detail_request = 0
        self._previewed: tuple[int, int] | None = None
        self._busy = False
        self._store_text = ""
        self._offices_loading = False
        self._reload_wanted = False
        self._queue_task: Task | None = None
        self._detail_task: Task | None = None
        self._preview_task: Task | None = None
        self.ask_text: Callable[[str, str, str], str | None] = self._ask_text_dialog

        # toolbar: office, search
        toolbar = QToolBar("Queue")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        self.office_combo = QComboBox()
        self.office_combo.setMinimumWidth(220)
        toolbar.addWidget(QLabel(" Office: "))
        toolbar.addWidget(self.office_combo)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("All kinds", None)
        for kind in ApplicationKind:
            self.kind_combo.addItem(kind.label, kind.value)
        self.kind_combo.setToolTip("Show only applications of this kind")
        toolbar.addWidget(QLabel("  Kind: "))
        toolbar.addWidget(self.kind_combo)
        toolbar.addSeparator()
        self.search = QLineEdit()
        self.search.setPlaceholderText(
            "Search application no., IEC, exporter, consignee, HS code   (Ctrl+F)"
        )
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(420)
        toolbar.addWidget(self.search)
        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.reload_queue)
        toolbar.addAction(refresh)

        # status tabs
        self.status_tabs = QTabBar()
        self.status_tabs.setExpanding(False)
        for key, (label, _statuses) in STATUS_FILTERS.items():
            self.status_tabs.addTab(label)
            self.status_tabs.setTabData(key, int(key))

        # the queue
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Col.WAITING_SINCE, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in ((Col.NUMBER, 122), (Col.KIND, 104), (Col.STATUS, 96),
                              (Col.WAITING_SINCE, 72), (Col.EXPORTER, 190), (Col.IEC, 96),
                              (Col.CONSIGNEE, 160), (Col.DESTINATION, 74), (Col.HS_CODES, 110),
                              (Col.FOB, 100), (Col.CLAIMED_BY, 120), (Col.OFFICE, 52)):
            self.table.setColumnWidth(column, width)
        self.table.setWordWrap(False)

        # detail and actions
        self._detail: DetailPanel | None = None  # built just after the first paint
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons: dict[Action, QPushButton] = {}
        self.actions_by_name: dict[Action, QAction] = {}
        button_row = QHBoxLayout()
        actions_menu = self.menuBar().addMenu("&Actions")
        for action, text, shortcut, needs_text in ACTIONS:
            button = QPushButton(text.replace("&", "").replace(" for clarification", "…"))
            button.setEnabled(False)
            button.setToolTip(f"{text.replace('&', '')} — {shortcut}")
            button.clicked.connect(lambda _=False, a=action: self.take_action(a))
            button_row.addWidget(button)
            self.buttons[action] = button
            qaction = QAction(text, self)
            qaction.setShortcut(QKeySequence(shortcut))
            qaction.setEnabled(False)
            qaction.triggered.connect(lambda _=False, a=action: self.take_action(a))
            actions_menu.addAction(qaction)
            self.actions_by_name[action] = qaction
            del needs_text
        actions_menu.addSeparator()
        for text, shortcut, step in (("&Next application", "Ctrl+N", 1),
                                     ("&Previous application", "Ctrl+P", -1)):
            move = QAction(text, self)
            move.setShortcut(QKeySequence(shortcut))
            move.triggered.connect(lambda _=False, s=step: self.move_selection(s))
            actions_menu.addAction(move)
        find = QAction("&Search", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        actions_menu.addAction(find)
        # Alt+1..Alt+7: the status tabs, in their order (All, Waiting, ... Closed)
        for number in range(1, self.status_tabs.count() + 1):
            shortcut = QKeySequence(f"Alt+{number}")
            tab = QAction(self)
            tab.setShortcut(shortcut)
            tab.triggered.connect(lambda _=False, i=number - 1: self.status_tabs.setCurrentIndex(i))
            self.addAction(tab)
            self.status_tabs.setTabToolTip(
                number - 1, f"{self.status_tabs.tabText(number - 1)} — Alt+{number}")
        # Esc clears the search (the field focused, or text in it); on an empty field it
        # goes back to the queue
        self.escape_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape_shortcut.activated.connect(self._escape_search)
        self.setStyleSheet(FOCUS_STYLE)
        button_row.addStretch(1)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(self.message)
        self._detail_placeholder = QLabel("Select an application in the queue.")
        self._detail_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right_layout.addWidget(self._detail_placeholder, 1)
        right_layout.addLayout(button_row)
        self._right_layout = right_layout

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.status_tabs)
        left_layout.addWidget(self.table)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        # status bar
        self.user_label = QLabel()
        self.office_label = QLabel()
        self.store_label = QLabel()
        self.count_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setVisible(False)
        for widget in (self.user_label, self.office_label, self.store_label):
            self.statusBar().addPermanentWidget(widget)
        self.statusBar().addWidget(self.count_label)
        self.statusBar().addWidget(self.progress_bar)

        # search as you type, but not on every keystroke of a fast typist
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(120)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._apply_search)
        self.status_tabs.currentChanged.connect(self._status_changed)
        self.office_combo.currentIndexChanged.connect(lambda _i: self.reload_queue())
        self.kind_combo.currentIndexChanged.connect(
            lambda _i: self.model.set_kind_filter(self.kind_combo.currentData())
        )
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.model.modelReset.connect(self._after_reset)

        self.status_tabs.setCurrentIndex(StatusFilter.WAITING)
        self.table.setFocus()
        self.count_label.setText("Opening the store…")
        from app.views.issue_actions import install_issue_actions

        install_issue_actions(self)
        from app.views.exporter_view import install_exporter_action

        install_exporter_action(self)
        # the pages Dashboard (Ctrl+1, the first after sign-in) and Queue (Ctrl+2)
        from app.views.dashboard import install_dashboard

        install_dashboard(self)
        # File (sign out, switch user, quit) and Help (about, diagnostics); a DeskSession
        # runs them (app.views.session); the window's layout as it was left last time
        from app.views.session import SessionMenu
        from app.views.window_state import restore_desk_window

        self.session_menu = SessionMenu(self)
        self.quit_guard: Callable[[], None] | None = None  # set by the DeskSession
        self.restored_layout = restore_desk_window(self)
        if desk is not None:
            self.attach(desk)

    def attach(self, desk: Desk) -> None:
        """Bind the window to the signed-in desk; its offices load on a worker (a queue
        reload asked meanwhile waits for them)."""
        self.desk = desk
        user = desk.user
        self.setWindowTitle(f"Origin Desk — {user.full_name}" if user else "Origin Desk")
        self.model.waiting_limit_hours = desk.config.waiting_limit_hours
        self._update_status_bar()
        self._load_offices()
        from app.views.issue_actions import refresh_esign_offer

        refresh_esign_offer(self)  # "Sign with Aadhaar eSign" where the service offers it

    @property
    def detail(self) -> DetailPanel:
        """The detail panel: built on first use, at the latest just after the window's first
        paint (so that the window shows as soon as the queue's frame is there)."""
        if self._detail is None:
            from app.views.detail_panel import DetailPanel

            detail = DetailPanel()
            detail.tabs.currentChanged.connect(
                lambda _i: self.load_preview() if detail.is_preview_current() else None
            )
            from app.views.exporter_view import open_exporter_view

            detail.exporter_requested.connect(lambda i: open_exporter_view(self, i))

            def show_document(document_id: int, name: str) -> None:
                from app.views.document_viewer import open_document  # QtPdf: on first use

                open_document(self, document_id, name)

            detail.document_requested.connect(show_document)
            index = self._right_layout.indexOf(self._detail_placeholder)
            self._right_layout.insertWidget(index, detail, 1)
            self._right_layout.removeWidget(self._detail_placeholder)
            self._detail_placeholder.deleteLater()
            self._detail = detail
        return self._detail

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not getattr(self, "_sized", False):
            self._sized = True
            QTimer.singleShot(0, self._size_panes)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self._detail is None and not getattr(self, "_detail_scheduled", False):
            self._detail_scheduled = True  # the frame is on screen: now the detail panel
            QTimer.singleShot(0, lambda: self.detail)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Closing the window is Quit: the session asks first when work is pending."""
        if self.quit_guard is not None:
            event.ignore()
            self.quit_guard()
            return
        from app.views.window_state import save_desk_window

        save_desk_window(self)
        super().closeEvent(event)

    def detach(self) -> None:
        """Signed out: the window forgets the desk's user and shows nothing of theirs."""
        for task in (self._queue_task, self._detail_task, self._preview_task):
            if task is not None:
                task.cancel()
        self._queue_task = self._detail_task = self._preview_task = None
        self._detail_request += 1  # a detail still on its way is not shown
        self.desk = None
        self._previewed = None
        self._store_text = ""
        self.model.set_pending(set())
        self.model.set_rows([])
        if self._detail is not None:
            self.detail.clear()
        self._enable_actions(frozenset())
        from app.views.issue_actions import refresh_esign_offer

        refresh_esign_offer(self)  # hidden: nobody signed in
        self.hide_message()
        self.office_combo.blockSignals(True)
        self.office_combo.clear()
        self.office_combo.blockSignals(False)
        self.setWindowTitle("Origin Desk")
        self.user_label.setText("  not signed in  ")
        self.office_label.clear()
        self.store_label.clear()
        self.count_label.setText("Signed out.")

    def _size_panes(self) -> None:
        if self.restored_layout.get("splitter"):
            return  # as the officer left it
        width = max(self.splitter.width(), 900)  # 45 %: the goods table's columns fit
        self.splitter.setSizes([int(width * 0.55), int(width * 0.45)])

    # --- loading ----------------------------------------------------------------------------

    def _load_offices(self) -> None:
        desk = self.desk
        assert desk is not None
        self._offices_loading = True
        run_task(lambda: (desk.my_offices(), desk.store_label), self._offices_arrived,
                 self._offices_failed, owner=self)

    def _offices_arrived(self, result: tuple[list[OfficeInfo], str]) -> None:
        offices, self._store_text = result
        self._fill_offices(offices)
        self._offices_loaded()

    def _offices_failed(self, exc: BaseException) -> None:
        self.show_error(exc)
        self._offices_loaded()

    def _offices_loaded(self) -> None:
        self._offices_loading = False
        self._update_status_bar()
        if self._reload_wanted:
            self._reload_wanted = False
            self.reload_queue()

    def _fill_offices(self, offices: list[OfficeInfo]) -> None:
        self.model.set_office_limits({o.code: o.overdue_limit_hours for o in offices})
        self.office_combo.blockSignals(True)
        self.office_combo.clear()
        if len(offices) > 1:
            self.office_combo.addItem("All my offices", tuple(o.id for o in offices))
        for office in offices:
            self.office_combo.addItem(f"{office.code} — {office.place}", (office.id,))
        self.office_combo.blockSignals(False)

    def current_office_ids(self) -> tuple[int, ...] | None:
        data = self.office_combo.currentData()
        return tuple(data) if data else None

    def reload_queue(self) -> None:
        desk = self.desk
        if desk is None:
            return
        self.count_label.setText("Loading the queue…")
        if self._offices_loading:  # the office choice is not there yet: reload after it
            self._reload_wanted = True
            return
        office_ids = self.current_office_ids()
        self._update_status_bar()
        if self._queue_task is not None:
            self._queue_task.cancel()  # a newer load replaces it
        self._queue_task = run_task(
            lambda: (desk.queue(office_ids), desk.pending_application_ids(), desk.store_label),
            self._queue_arrived, self.show_error, owner=self)

    def _queue_arrived(self, result: tuple[list[QueueRow], set[int], str]) -> None:
        rows, pending, self._store_text = result
        self._queue_task = None
        self.progress_bar.setVisible(False)
        self._update_status_bar()
        selected = self.detail.detail.id if self.detail.detail else None
        self.model.set_pending(pending)
        self.model.set_rows(rows)
        if selected is not None:
            self.select_application(selected)
        self.queue_loaded.emit()

    def _refresh_counts(self) -> None:
        counts = self.model.counts()
        for key, (label, _s) in STATUS_FILTERS.items():
            self.status_tabs.setTabText(key, f"{label} ({counts[key]:,})")
        shown = self.model.rowCount()
        self.count_label.setText(f"{shown:,} of {self.model.total:,} applications shown")

    def _after_reset(self) -> None:
        self._refresh_counts()
        if self.detail.detail and self.model.row_of(self.detail.detail.id) < 0:
            self.detail.clear()
            self._enable_actions(frozenset())

    def _apply_search(self) -> None:
        self._search_timer.stop()
        self.model.set_filter_text(self.search.text())

    def _status_changed(self, index: int) -> None:
        self.model.set_status_filter(StatusFilter(index))

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = self.selected_row()
        if row is None:
            return
        self.load_detail(row[Col.ID])

    def selected_row(self) -> QueueRow | None:
        """The row the detail panel shows: the current row when it is selected (several
        rows may be selected for a batch), else the first selected one."""
        selection = self.table.selectionModel()
        current = self.table.currentIndex()
        if current.isValid() and selection.isRowSelected(current.row()):
            return self.model.row_at(current.row())
        indexes = selection.selectedRows()
        return self.model.row_at(indexes[0].row()) if indexes else None

    def _select_only(self, row: int) -> None:
        index = self.model.index(row, 0)
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def select_application(self, application_id: int) -> bool:
        row = self.model.row_of(application_id)
        if row < 0:
            return False
        self._select_only(row)
        return True

    def move_selection(self, step: int) -> None:
        if self.selected_row() is None:  # nothing chosen yet: start at the top
            step, current = 0, 0
        else:
            current = self.table.currentIndex().row()
        target = min(max(current + step, 0), self.model.rowCount() - 1)
        if target >= 0:
            self._select_only(target)

    def load_detail(self, application_id: int) -> None:
        desk = self.desk
        if desk is None:
            return
        self._detail_request += 1
        request = self._detail_request

        def arrived(detail: ApplicationDetail) -> None:
            if request != self._detail_request:
                return  # the officer moved on
            self.detail.show_detail(detail)
            self._enable_actions(detail.allowed)
            self.detail_loaded.emit()
            if self.detail.is_preview_current():
                self.load_preview()

        if self._detail_task is not None:
            self._detail_task.cancel()  # the officer moved on
        self._detail_task = run_task(lambda: desk.detail(application_id), arrived,
                                     self.show_error, owner=self)

    def load_preview(self) -> None:
        """Render the selected application's certificate on a worker and show it."""
        desk, detail = self.desk, self.detail.detail
        if desk is None or detail is None or self._previewed == (detail.id, detail.version):
            return
        self._previewed = (detail.id, detail.version)
        request = self._detail_request
        app_id, number = detail.id, detail.number
        self.detail.preview.show_message(f"Rendering {number}…")

        def arrived(result: tuple[bytes, int, bool]) -> None:
            if request != self._detail_request:
                return
            pdf, _pages, draft = result
            caption = f"{number}: DRAFT, not valid" if draft else f"{number}: issued certificate"
            name = f"{number}-draft.pdf" if draft else f"{number}-certificate.pdf"
            self.detail.preview.show_pdf(pdf, caption, name)
            self.preview_loaded.emit()

        def failed(exc: BaseException) -> None:
            self._previewed = None
            self.detail.preview.show_message(f"No preview: {exc}")
            self.preview_loaded.emit()

        if self._preview_task is not None:
            self._preview_task.cancel()  # rendering another one: that one is not wanted
        self._preview_task = run_task(lambda: desk.preview_pdf(app_id), arrived, failed,
                                      owner=self)

    # --- actions ---------------------------------------------------------------------------

    def _enable_actions(self, allowed: frozenset[str]) -> None:
        for action, button in self.buttons.items():
            enabled = action.value in allowed and not self._busy
            button.setEnabled(enabled)
            self.actions_by_name[action].setEnabled(enabled)
        cancel = getattr(self, "cancel_certificate_action", None)
        if cancel is not None:  # Certificates > Cancel certificate…: the workflow's CANCEL
            cancel.setEnabled(Action.CANCEL.value in allowed and not self._busy)

    def take_action(self, action: Action) -> None:
        detail, desk = self.detail.detail, self.desk
        if detail is None or desk is None or self._busy:
            return
        text = None
        spec = next(s for s in ACTIONS if s[0] == action)
        if spec[3] is not None:
            title, prompt = spec[3]
            text = self.ask_text(f"{title} — {detail.number}", prompt, spec[1].replace("&", ""))
            if text is None:
                return
        elif action is Action.APPROVE and detail.origin_failing:
            # the claimed origin criterion is not met: approving is an audited override
            text = self.ask_text(
                f"Approve with an origin override — {detail.number}",
                f"The cost sheet does not meet the claimed origin criterion: "
                f"{detail.origin_failing}.\n\nWhy approve anyway? The reason is recorded as "
                "an origin override in the application's history.",
                "Approve with override")
            if text is None:
                return
        self._busy = True
        self._enable_actions(frozenset())
        self.hide_message()
        app_id, version = detail.id, detail.version

        def act() -> QueueUpdate | None:
            desk.act(app_id, action, text=text, expected_version=version)
            try:  # the action is taken; its fresh row is a courtesy
                return queue_update(desk, [app_id])
            except Exception:  # noqa: BLE001 - the whole queue is reloaded instead
                log.exception("reading the row of %s after %s failed", app_id, action)
                return None

        def done(update: QueueUpdate | None) -> None:
            self._busy = False
            self.statusBar().showMessage(f"{detail.number}: {action.label} done", 6000)
            if update is None:
                self.reload_queue()
            else:
                self.apply_queue_update(update)
            self.load_detail(app_id)
            self.action_finished.emit(action.value)

        def failed(exc: BaseException) -> None:
            self._busy = False
            self.show_error(exc)
            self.load_detail(app_id)
            self.action_finished.emit("")

        run_task(act, done, failed, owner=self)

    def apply_queue_update(self, update: QueueUpdate) -> None:
        """Show rows read on a worker after a change (an action, an issue batch)."""
        for row in update.rows:
            self.model.replace_row(row)
        self.model.set_pending(update.pending)
        self._store_text = update.store_label
        self._refresh_counts()
        self._update_status_bar()
        self.queue_updated.emit()

    def _escape_search(self) -> None:
        if self.search.text():
            self.search.clear()
            self._apply_search()
        elif self.search.hasFocus():
            self.table.setFocus()

    def _ask_text_dialog(self, title: str, prompt: str, action_label: str) -> str | None:
        dialog = TextPrompt(title, prompt, action_label, self)
        return dialog.text() if dialog.exec() == TextPrompt.DialogCode.Accepted else None

    # --- messages ----------------------------------------------------------------------------

    def show_error(self, exc: BaseException) -> None:
        if isinstance(exc, UserFacingError):
            text = str(exc)
        else:
            log.error("unexpected error", exc_info=exc)
            text = f"Something went wrong: {exc}. The details are in the log file."
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setVisible(True)

    def show_notice(self, text: str) -> None:
        """Something the officer should know that is not an error (e.g. working offline)."""
        self.message.setText(text)
        self.message.setStyleSheet(NOTICE_STYLE)
        self.message.setVisible(True)

    def show_progress(self, progress: TaskProgress) -> None:
        """A background task's progress in the status bar (start-up, sync)."""
        self.count_label.setText(progress.message)
        fraction = progress.fraction
        self.progress_bar.setVisible(fraction is not None)
        if fraction is not None:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(round(fraction * 1000))

    def hide_message(self) -> None:
        self.message.setVisible(False)
        self.message.clear()

    def refresh_store_label(self) -> None:
        """Read the store's label again (on a worker: a synced desk counts its outbox)."""
        desk = self.desk
        if desk is not None:
            run_task(lambda: desk.store_label, self._store_label_arrived,
                     lambda exc: log.warning("store label: %s", exc), owner=self)

    def _store_label_arrived(self, label: str) -> None:
        self._store_text = label
        self._update_status_bar()

    def _update_status_bar(self) -> None:
        if self.desk is None:
            return
        user = self.desk.user
        self.user_label.setText(f"  {user.full_name} ({user.role})  " if user else "  not signed in  ")
        self.office_label.setText(f"  Office: {self.office_combo.currentText() or '—'}  ")
        if self._store_text:  # read on a worker with the offices and the queue
            self.store_label.setText(f"  Store: {self._store_text}  ")
