"""AdminWindow: the agency administrator's window, with tabs Dashboard, Offices, Users,
Stamps & signatures, Audit log, API keys, E-wallets and Trade events. Opened instead of the officer's desk when an
administrator signs in (see :func:`open_admin_window`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QWidget

from app.views.admin_api_keys import ApiKeysTab
from app.views.admin_audit import AuditTab
from app.views.admin_images import ImagesTab
from app.views.admin_offices import OfficesTab
from app.views.admin_users import UsersTab
from app.views.admin_wallet import WalletTab
from app.views.tasks import Task, run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin, AgencyInfo
    from app.services.desk import Desk

log = logging.getLogger(__name__)
_shown: set[AdminWindow] = set()


class AdminWindow(QMainWindow):
    """Shown at once; the agency and every tab load on workers."""

    DASHBOARD, OFFICES, USERS, IMAGES, AUDIT, API_KEYS, WALLET, TRADE_EVENTS = range(8)
    agency_loaded = Signal(object)  # the AgencyInfo

    def __init__(self, admin: AgencyAdmin, store_label: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.agency: AgencyInfo | None = None
        self.setWindowTitle("Origin Desk — administration")
        self.resize(1360, 840)
        self.offices_tab = OfficesTab(admin)
        self.users_tab = UsersTab(admin)
        self.images_tab = ImagesTab(admin)
        self.audit_tab = AuditTab(admin)
        self.api_keys_tab = ApiKeysTab(admin)
        self.wallet_tab = WalletTab(admin)
        from app.views.dashboard import DashboardView

        self.dashboard = DashboardView(admin.dashboard)  # the first tab: the agency's day
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.offices_tab, "&Offices")
        self.tabs.addTab(self.users_tab, "&Users")
        self.tabs.addTab(self.images_tab, "&Stamps && signatures")
        self.tabs.addTab(self.audit_tab, "&Audit log")
        self.tabs.addTab(self.api_keys_tab, "API &keys")
        self.tabs.addTab(self.wallet_tab, "&E-wallets")
        from app.views.admin_trade_events import TradeEventsTab

        self.trade_events_tab = TradeEventsTab(admin)
        self.tabs.addTab(self.trade_events_tab, "&Trade events")
        self.trade_events_tab.changed.connect(lambda _m: self.dashboard.mark_stale())
        self.trade_events_tab.changed.connect(lambda _m: self.audit_tab.reload())
        self.setCentralWidget(self.tabs)

        # whatever changes, the other tabs show it when next looked at
        for tab in (self.offices_tab, self.images_tab):
            tab.changed.connect(self.reload_all)
        self.offices_tab.changed.connect(lambda *_a: self.dashboard.mark_stale())
        self.api_keys_tab.changed.connect(self.audit_tab.reload)
        self.wallet_tab.changed.connect(self.audit_tab.reload)
        self.offices_tab.changed.connect(self.wallet_tab.reload)
        self.users_tab.action_finished.connect(lambda _m: self._reload_others(self.users_tab))
        self.tabs.currentChanged.connect(lambda _i: self._current_tab_reload())

        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.reload_all)
        refresh.triggered.connect(self.dashboard.mark_stale)
        self.addAction(refresh)
        self.user_label = QLabel(f"{admin.admin_label} · administrator")
        self.statusBar().addWidget(self.user_label, 1)
        if store_label:
            self.statusBar().addPermanentWidget(QLabel(f"Store: {store_label}"))
        run_task(admin.agency, self._agency_arrived,
                 lambda exc: self.statusBar().showMessage(str(exc)), owner=self)
        self.reload_all()

    def _agency_arrived(self, agency: AgencyInfo) -> None:
        self.agency = agency
        self.setWindowTitle(f"Origin Desk — administration of {agency.name}")
        self.user_label.setText(f"{self.admin.admin_label} · administrator of {agency.code}")
        self.agency_loaded.emit(agency)

    def reload_all(self) -> None:
        for tab in (self.offices_tab, self.users_tab, self.images_tab, self.audit_tab,
                    self.api_keys_tab, self.wallet_tab, self.trade_events_tab):
            tab.reload()

    def _reload_others(self, source: QWidget) -> None:
        for tab in (self.offices_tab, self.images_tab, self.audit_tab):
            if tab is not source:
                tab.reload()

    def _current_tab_reload(self) -> None:
        tab = self.tabs.currentWidget()
        if tab is self.audit_tab:
            self.audit_tab.reload()
        if tab is not self.api_keys_tab:  # a key just issued is not left on screen
            self.api_keys_tab.forget_shown_key()


def open_admin_window(
    desk: Desk,
    on_open: Callable[[AdminWindow], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Task:
    """The administrator's window for a desk whose signed-in user is an administrator:
    the administration service is opened on a worker (it reads the administrator), then
    the window shows and ``on_open`` gets it."""
    if desk.user is None:
        raise ValueError("sign in before opening the administration window")

    def opened(result: tuple[AgencyAdmin, str]) -> None:
        admin, store_label = result
        window = AdminWindow(admin, store_label)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        _shown.add(window)  # a top-level window: kept until it is closed
        window.destroyed.connect(lambda *_: _shown.discard(window))
        window.show()
        if on_open is not None:
            on_open(window)

    return run_task(lambda: (desk.admin(), desk.store_label), opened, on_error)
