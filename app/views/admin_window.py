"""AdminWindow: the agency administrator's window, with tabs Offices, Users, Stamps &
signatures and Audit log. Opened instead of the officer's desk when an administrator
signs in (see :func:`open_admin_window`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QWidget

from app.views.admin_audit import AuditTab
from app.views.admin_images import ImagesTab
from app.views.admin_offices import OfficesTab
from app.views.admin_users import UsersTab

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin
    from app.services.desk import Desk

log = logging.getLogger(__name__)


class AdminWindow(QMainWindow):
    OFFICES, USERS, IMAGES, AUDIT = range(4)

    def __init__(self, admin: AgencyAdmin, store_label: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        agency = admin.agency()
        self.setWindowTitle(f"Origin Desk — administration of {agency.name}")
        self.resize(1360, 840)
        self.offices_tab = OfficesTab(admin)
        self.users_tab = UsersTab(admin)
        self.images_tab = ImagesTab(admin)
        self.audit_tab = AuditTab(admin)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.offices_tab, "&Offices")
        self.tabs.addTab(self.users_tab, "&Users")
        self.tabs.addTab(self.images_tab, "&Stamps && signatures")
        self.tabs.addTab(self.audit_tab, "&Audit log")
        self.setCentralWidget(self.tabs)

        # whatever changes, the other tabs show it when next looked at
        for tab in (self.offices_tab, self.images_tab):
            tab.changed.connect(self.reload_all)
        self.users_tab.action_finished.connect(lambda _m: self._reload_others(self.users_tab))
        self.tabs.currentChanged.connect(lambda _i: self._current_tab_reload())

        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.reload_all)
        self.addAction(refresh)
        self.user_label = QLabel(f"{admin.admin_label} · administrator of {agency.code}")
        self.statusBar().addWidget(self.user_label, 1)
        if store_label:
            self.statusBar().addPermanentWidget(QLabel(f"Store: {store_label}"))
        self.reload_all()

    def reload_all(self) -> None:
        for tab in (self.offices_tab, self.users_tab, self.images_tab, self.audit_tab):
            tab.reload()

    def _reload_others(self, source: QWidget) -> None:
        for tab in (self.offices_tab, self.images_tab, self.audit_tab):
            if tab is not source:
                tab.reload()

    def _current_tab_reload(self) -> None:
        tab = self.tabs.currentWidget()
        if tab is self.audit_tab:
            self.audit_tab.reload()


def open_admin_window(desk: Desk) -> AdminWindow:
    """The administrator's window for a desk whose signed-in user is an administrator."""
    from app.services.admin import AgencyAdmin

    if desk.user is None:
        raise ValueError("sign in before opening the administration window")
    window = AdminWindow(AgencyAdmin(desk.engine, desk.user.id), desk.store_label)
    window.show()
    return window
