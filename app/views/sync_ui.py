"""The desk window's sync: an online/offline indicator, "Sync now" with progress, a
background sync on a timer, and the list of actions the central store did not apply.

    install_sync_ui(window, desk_or_service)

``desk_or_service`` is a :class:`~app.services.sync.SyncService` or a desk that has one
(``LocalDesk.sync``). The sync itself runs on the task pool (``app.views.tasks``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
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

from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.sync import SyncReport, SyncService
    from app.views.main_window import DeskWindow

log = logging.getLogger(__name__)
ONLINE = "background:#e6f4ea; color:#1e6b34; padding:1px 8px; border-radius:8px;"
OFFLINE = "background:#fdecea; color:#8a1c1c; padding:1px 8px; border-radius:8px;"
BUSY = "background:#fff4e5; color:#7a4b00; padding:1px 8px; border-radius:8px;"


class RejectedActionsDialog(QDialog):
    """What the central store did not apply, with the reason; "Mark as read" keeps them."""

    def __init__(self, service: SyncService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.mark_read = buttons.addButton("Mark as read", QDialogButtonBox.ButtonRole.ActionRole)
        self.mark_read.clicked.connect(self._mark_read)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.entries = service.rejected()
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            when = entry.created_at.astimezone().strftime("%d %b %Y %H:%M")
            for column, value in enumerate((entry.application_number, entry.action, when,
                                            entry.reason)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeRowsToContents()
        self.mark_read.setEnabled(bool(self.entries))

    def _mark_read(self) -> None:
        self.service.acknowledge([e.operation_id for e in self.entries])
        self.accept()


class SyncControls:
    """The indicator, the actions and the timer of one window."""

    def __init__(self, window: DeskWindow, service: SyncService) -> None:
        self.window = window
        self.service = service
        self.running = False
        self.last_report: SyncReport | None = None
        self.indicator = QLabel()
        window.statusBar().addPermanentWidget(self.indicator)
        menu = window.menuBar().addMenu("S&ync")
        self.sync_action = QAction("&Sync now", window)
        self.sync_action.setShortcut(QKeySequence("F9"))
        self.sync_action.triggered.connect(lambda: self.sync(manual=True))
        menu.addAction(self.sync_action)
        self.rejected_action = QAction("Actions that could &not be applied…", window)
        self.rejected_action.triggered.connect(self.show_rejected)
        menu.addAction(self.rejected_action)
        self.timer = QTimer(window)
        self.timer.setInterval(1000 * self._interval())
        self.timer.timeout.connect(lambda: self.sync(manual=False))
        self.timer.start()
        self.show_status()

    def _interval(self) -> int:
        config = getattr(getattr(self.window, "desk", None), "config", None)
        return int(getattr(config, "sync_interval_seconds", 60))

    def _offline_by_setting(self) -> bool:
        config = getattr(getattr(self.window, "desk", None), "config", None)
        return bool(getattr(config, "offline", False))

    def show_status(self) -> None:
        status = self.service.status
        if self.running:
            text, style = "Syncing…", BUSY
        elif status.online:
            text, style = "Online", ONLINE
        else:
            text, style = "Offline", OFFLINE
        if status.pending:
            text += f" · {status.pending} pending"
        if status.rejected:
            text += f" · {status.rejected} not applied"
        self.indicator.setText(f"● {text}")
        self.indicator.setStyleSheet(style)
        tip = []
        if status.last_sync:
            tip.append("Last sync: " + status.last_sync.astimezone().strftime("%d %b %H:%M:%S"))
        if status.last_error:
            tip.append(status.last_error)
        self.indicator.setToolTip("\n".join(tip) or "Not synced yet")
        self.rejected_action.setEnabled(status.rejected > 0)

    def sync(self, *, manual: bool) -> None:
        if self.running or (self._offline_by_setting() and not manual):
            return
        self.running = True
        self.sync_action.setEnabled(False)
        self.show_status()
        run_task(self.service.sync_now, self._done, self._failed,
                 on_progress=lambda message: self.window.statusBar().showMessage(message, 4000),
                 owner=self.window)

    def _done(self, report: SyncReport) -> None:
        self.running = False
        self.sync_action.setEnabled(True)
        self.last_report = report
        self.window.statusBar().showMessage(report.summary, 8000)
        self.show_status()
        if report.online and (report.pulled_applications or report.pushed or report.removed):
            self.window.reload_queue()
        if report.rejections:
            self.show_rejected()

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.sync_action.setEnabled(True)
        self.show_status()
        self.window.show_error(exc)

    def show_rejected(self) -> None:
        RejectedActionsDialog(self.service, self.window).open()


def install_sync_ui(window: DeskWindow, engine_or_service: Any) -> None:
    """Give the window its sync indicator, "Sync now" (F9), the background timer and the
    not-applied list. Accepts a SyncService or a desk that carries one (``.sync``)."""
    service = getattr(engine_or_service, "sync", None) or engine_or_service
    if not hasattr(service, "sync_now"):
        raise TypeError("install_sync_ui needs a SyncService or a desk with one (LocalDesk)")
    controls = SyncControls(window, service)
    window.sync_controls = controls  # type: ignore[attr-defined]
    # an action pushes at once (LocalDesk): show the new pending / not-applied counts
    window.action_finished.connect(lambda _action: controls.show_status())
