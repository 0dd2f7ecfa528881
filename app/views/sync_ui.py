"""The desk window's sync: an online/offline indicator, "Sync now" with progress, a
"Work offline" switch, a background sync on a timer, and the list of actions the central
store did not apply.

    install_sync_ui(window, desk_or_service)

``desk_or_service`` is a :class:`~app.services.sync.SyncService` or a desk that has one
(``LocalDesk.sync``). A desk without one (the embedded demo, which works on its store
directly) gets the same menu, which says plainly that its store is always local. The sync,
the counts and the lists are read on the task pool (``app.views.tasks``): the GUI thread
only shows them.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.views.tasks import TaskProgress, run_task

if TYPE_CHECKING:
    from app.services.sync import SyncReport, SyncService
    from app.store.local import OutboxEntry
    from app.views.main_window import DeskWindow

log = logging.getLogger(__name__)
ONLINE = "background:#e6f4ea; color:#1e6b34; padding:1px 8px; border-radius:8px;"
OFFLINE = "background:#fdecea; color:#8a1c1c; padding:1px 8px; border-radius:8px;"
BUSY = "background:#fff4e5; color:#7a4b00; padding:1px 8px; border-radius:8px;"
LOCAL = "background:#e8eaf6; color:#283593; padding:1px 8px; border-radius:8px;"

EMBEDDED_IS_LOCAL = (
    "This desk works on the embedded demo store, which is always local: it lives on this "
    "computer and never talks to a central store, so there is nothing to sync and no "
    "connection to switch off. (Working offline is for desks set up with a central store.)"
)
OFFLINE_BY_CHOICE = (
    "This desk is set to work offline: nothing is sent to or received from the central "
    "store. Your decisions are kept on this desk and sent when you switch "
    "Sync ▸ Work offline off."
)
STARTED_OFFLINE = (
    "This desk is set to work offline (offline = true in its settings), so it has no "
    "connection to the central store. Your decisions are kept on this desk; to send them, "
    "set offline = false and start Origin Desk again."
)


class RejectedActionsDialog(QDialog):
    """What the central store did not apply, with the reason; "Mark as read" keeps them.
    The list is read, and marked, on a worker."""

    loaded = Signal()
    acknowledged = Signal()

    def __init__(self, service: SyncService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.entries: list[OutboxEntry] = []
        self.setWindowTitle("Actions that could not be applied")
        self.resize(860, 360)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            "The central store decided these differently from this desk. Its copy of each "
            "application is the one shown now; act again if needed."))
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Application", "Action", "Taken", "Reason"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        layout.addWidget(self.table)
        self.status = QLabel("Reading the list…")
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.mark_read = buttons.addButton("Mark as read", QDialogButtonBox.ButtonRole.ActionRole)
        self.mark_read.setEnabled(False)
        self.mark_read.clicked.connect(self._mark_read)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        run_task(service.rejected, self._fill, self._failed, owner=self)

    def _fill(self, entries: list[OutboxEntry]) -> None:
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            when = entry.created_at.astimezone().strftime("%d %b %Y %H:%M")
            for column, value in enumerate((entry.application_number, entry.action, when,
                                            entry.reason)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeRowsToContents()
        self.status.setText("" if entries else "Nothing is waiting to be read.")
        self.mark_read.setEnabled(bool(entries))
        self.loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        log.error("the not-applied list failed", exc_info=exc)
        self.status.setText(f"The list could not be read: {exc}")
        self.mark_read.setEnabled(bool(self.entries))

    def _mark_read(self) -> None:
        ids = [e.operation_id for e in self.entries]
        service = self.service
        self.mark_read.setEnabled(False)
        run_task(lambda: service.acknowledge(ids), self._marked, self._failed, owner=self)

    def _marked(self, _result: object) -> None:
        self.acknowledged.emit()
        self.accept()


class SyncControls:
    """The indicator, the actions and the timer of one window."""

    def __init__(self, window: DeskWindow, service: SyncService) -> None:
        self.window = window
        self.service = service
        self.running = False
        self.last_report: SyncReport | None = None
        status = service.status  # counted on the worker that made the service
        self.pending, self.rejected = status.pending, status.rejected
        self.indicator = QLabel()
        window.statusBar().addPermanentWidget(self.indicator)
        menu = window.menuBar().addMenu("S&ync")
        self.sync_action = QAction("&Sync now", window)
        self.sync_action.setShortcut(QKeySequence("F9"))
        self.sync_action.triggered.connect(lambda: self.sync(manual=True))
        menu.addAction(self.sync_action)
        self.offline_action = QAction("Work &offline", window)
        self.offline_action.setCheckable(True)
        self.offline_action.setChecked(self._offline_by_setting())
        self.offline_action.setToolTip("Send and receive nothing until switched off; your "
                                       "decisions wait on this desk.")
        self.offline_action.toggled.connect(self.set_offline)
        menu.addAction(self.offline_action)
        menu.addSeparator()
        self.rejected_action = QAction("Actions that could &not be applied…", window)
        self.rejected_action.triggered.connect(self.show_rejected)
        menu.addAction(self.rejected_action)
        self.timer = QTimer(window)
        self.timer.setInterval(1000 * self._interval())
        self.timer.timeout.connect(lambda: self.sync(manual=False))
        self.timer.start()
        self.show_status()

    def _config(self) -> Any:
        return getattr(getattr(self.window, "desk", None), "config", None)

    def _interval(self) -> int:
        return int(getattr(self._config(), "sync_interval_seconds", 60))

    def _offline_by_setting(self) -> bool:
        return bool(getattr(self._config(), "offline", False))

    def offline_message(self) -> str:
        return OFFLINE_BY_CHOICE if self.service.link is not None else STARTED_OFFLINE

    def show_status(self) -> None:
        status = self.service.status
        if self.running:
            text, style = "Syncing…", BUSY
        elif self._offline_by_setting():
            text, style = "Working offline", OFFLINE
        elif status.online:
            text, style = "Online", ONLINE
        else:
            text, style = "Offline", OFFLINE
        if self.pending:
            text += f" · {self.pending} pending"
        if self.rejected:
            text += f" · {self.rejected} not applied"
        self.indicator.setText(f"● {text}")
        self.indicator.setStyleSheet(style)
        tip = []
        if self._offline_by_setting():
            tip.append(self.offline_message())
        if status.last_sync:
            tip.append("Last sync: " + status.last_sync.astimezone().strftime("%d %b %H:%M:%S"))
        if status.last_error and not self._offline_by_setting():
            tip.append(status.last_error)
        self.indicator.setToolTip("\n".join(tip) or "Not synced yet")
        self.rejected_action.setEnabled(self.rejected > 0)

    def refresh_counts(self) -> None:
        """Count what is pending and not applied, on a worker, then show it."""
        service = self.service
        run_task(lambda: (len(service.pending()), len(service.rejected())),
                 self._counts_arrived, lambda exc: log.warning("sync counts: %s", exc),
                 owner=self.window)

    def _counts_arrived(self, counts: tuple[int, int]) -> None:
        self.pending, self.rejected = counts
        self.show_status()

    def sync(self, *, manual: bool) -> None:
        if self.running:
            return
        if self._offline_by_setting():
            if manual:  # F9 while set offline: say so, do not try
                self.window.show_notice(self.offline_message())
                self.window.statusBar().showMessage("Working offline: nothing synced", 8000)
            return
        self.running = True
        self.sync_action.setEnabled(False)
        self.show_status()
        run_task(self.service.sync_now, self._done, self._failed,
                 on_progress=self._progress, owner=self.window)

    def _progress(self, progress: TaskProgress) -> None:
        self.window.statusBar().showMessage(progress.message, 4000)

    def set_offline(self, offline: bool) -> None:
        """The "Work offline" switch: from now on, nothing is sent or received (on), or
        sync at once (off; only when this desk was started with a connection)."""
        desk = getattr(self.window, "desk", None)
        if desk is None or offline == self._offline_by_setting():
            return
        if not offline and self.service.link is None:
            self.offline_action.blockSignals(True)
            self.offline_action.setChecked(True)
            self.offline_action.blockSignals(False)
            self.window.show_notice(STARTED_OFFLINE)
            return
        desk.config = dataclasses.replace(desk.config, offline=offline)
        self.window.refresh_store_label()
        if offline:
            self.window.show_notice(OFFLINE_BY_CHOICE)
            self.show_status()
        else:
            self.window.hide_message()
            self.sync(manual=True)

    def _done(self, report: SyncReport) -> None:
        self.running = False
        self.sync_action.setEnabled(True)
        self.last_report = report
        status = self.service.status  # counted by the sync, on its worker
        self.pending, self.rejected = status.pending, status.rejected
        self.window.statusBar().showMessage(report.summary, 8000)
        self.show_status()
        self.window.refresh_store_label()
        if report.online and (report.pulled_applications or report.pushed or report.removed):
            self.window.reload_queue()
        if report.rejections:
            self.show_rejected()

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.sync_action.setEnabled(True)
        self.show_status()
        self.window.show_error(exc)

    def show_rejected(self) -> RejectedActionsDialog:
        dialog = RejectedActionsDialog(self.service, self.window)
        dialog.acknowledged.connect(self.refresh_counts)
        dialog.open()
        return dialog


class EmbeddedStoreControls:
    """The embedded demo's Sync menu: its store is always local, and the menu says so."""

    def __init__(self, window: DeskWindow) -> None:
        self.window = window
        self.indicator = QLabel("● Local store")
        self.indicator.setStyleSheet(LOCAL)
        self.indicator.setToolTip(EMBEDDED_IS_LOCAL)
        window.statusBar().addPermanentWidget(self.indicator)
        menu = window.menuBar().addMenu("S&ync")
        self.sync_action = QAction("&Sync now", window)
        self.sync_action.setShortcut(QKeySequence("F9"))
        self.sync_action.triggered.connect(self.explain)
        menu.addAction(self.sync_action)
        self.offline_action = QAction("Work &offline", window)
        self.offline_action.setCheckable(True)
        self.offline_action.setToolTip(EMBEDDED_IS_LOCAL)
        self.offline_action.toggled.connect(self._switched)
        menu.addAction(self.offline_action)

    def explain(self) -> None:
        self.window.show_notice(EMBEDDED_IS_LOCAL)

    def _switched(self, checked: bool) -> None:
        if checked:  # nothing to switch off: say so, and stay as it is
            self.offline_action.blockSignals(True)
            self.offline_action.setChecked(False)
            self.offline_action.blockSignals(False)
        self.explain()


def install_sync_ui(window: DeskWindow, engine_or_service: Any) -> None:
    """Give the window its sync indicator, "Sync now" (F9), "Work offline", the background
    timer and the not-applied list. Accepts a SyncService, a desk that carries one
    (``.sync``), or a desk without one (the embedded demo: the menu says it is local)."""
    service = getattr(engine_or_service, "sync", None) or engine_or_service
    if not hasattr(service, "sync_now"):
        if getattr(getattr(engine_or_service, "config", None), "is_embedded", False):
            window.sync_controls = EmbeddedStoreControls(window)  # type: ignore[attr-defined]
            return
        raise TypeError("install_sync_ui needs a SyncService, a desk with one (LocalDesk) "
                        "or the embedded demo's desk")
    controls = SyncControls(window, service)
    window.sync_controls = controls  # type: ignore[attr-defined]
    # an action pushes at once (LocalDesk) or waits in the outbox: show the new counts
    window.action_finished.connect(lambda _action: controls.refresh_counts())
