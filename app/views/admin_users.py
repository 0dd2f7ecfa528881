"""The Users tab: pending officer registrations (approve, refuse), the agency's users
(activate, deactivate), which offices an officer serves, and the agency's official e-mail
domains."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.views.admin_widgets import ERROR_STYLE, FieldError, RowsModel, row_table, selected_row
from app.views.tasks import run_task
from app.views.text_prompt import TextPrompt

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin, AgencyInfo, OfficeRow, UserRow

log = logging.getLogger(__name__)

STATUS_LABELS = {"active": "Active", "deactivated": "Deactivated", "pending": "Pending",
                 "refused": "Refused"}

PENDING_COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("Name", lambda u: u.full_name),
    ("E-mail", lambda u: u.email),
    ("Designation", lambda u: u.designation),
    ("Registered", lambda u: u.registered_at.astimezone().strftime("%d %b %Y %H:%M")),
)
USER_COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("Name", lambda u: u.full_name),
    ("E-mail", lambda u: u.email),
    ("Role", lambda u: u.role.capitalize()),
    ("Status", lambda u: STATUS_LABELS.get(u.status, u.status)),
    ("Offices", lambda u: ", ".join(u.office_codes) or ("—" if u.role == "officer" else "all")),
    ("Signature", lambda u: ("uploaded" if u.has_signature else "missing")
     if u.role == "officer" else ""),
)


class UsersTab(QWidget):
    loaded = Signal()
    action_finished = Signal(str)  # the message shown (or the error)

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.offices: list[OfficeRow] = []
        self.agency: AgencyInfo | None = None
        # asks for a reason; tests replace it (title, prompt, button) -> text or None
        self.ask_reason: Callable[[str, str, str], str | None] = self._ask_reason_dialog

        # pending registrations
        self.pending_model = RowsModel(PENDING_COLUMNS, self)
        self.pending_table = row_table(self.pending_model)
        self.pending_table.setMaximumHeight(170)
        self.pending_empty = QLabel("No registrations are waiting.")
        self.approve_button = QPushButton("&Approve")
        self.approve_button.setToolTip("Approve the registration and map the officer to the "
                                       "offices ticked on the right.")
        self.refuse_button = QPushButton("&Refuse…")
        for button in (self.approve_button, self.refuse_button):
            button.setEnabled(False)
        self.approve_button.clicked.connect(self.approve_selected)
        self.refuse_button.clicked.connect(self.refuse_selected)
        self.pending_box = QGroupBox("Pending registrations")
        pending_buttons = QHBoxLayout()
        pending_buttons.addWidget(self.approve_button)
        pending_buttons.addWidget(self.refuse_button)
        pending_buttons.addStretch(1)
        pending_layout = QVBoxLayout(self.pending_box)
        pending_layout.addWidget(self.pending_empty)
        pending_layout.addWidget(self.pending_table)
        pending_layout.addLayout(pending_buttons)

        # users
        self.users_model = RowsModel(USER_COLUMNS, self)
        self.users_table = row_table(self.users_model)
        self.activate_button = QPushButton("Ac&tivate")
        self.deactivate_button = QPushButton("&Deactivate…")
        for button in (self.activate_button, self.deactivate_button):
            button.setEnabled(False)
        self.activate_button.clicked.connect(self.activate_selected)
        self.deactivate_button.clicked.connect(self.deactivate_selected)
        users_box = QGroupBox("Users of the agency")
        user_buttons = QHBoxLayout()
        user_buttons.addWidget(self.activate_button)
        user_buttons.addWidget(self.deactivate_button)
        user_buttons.addStretch(1)
        users_layout = QVBoxLayout(users_box)
        users_layout.addWidget(self.users_table, 1)
        users_layout.addLayout(user_buttons)

        # office mapping
        self.mapping_box = QGroupBox("Offices served")
        self.mapping_hint = QLabel("Select an officer to see and change the offices they serve.")
        self.mapping_hint.setWordWrap(True)
        self.office_checks_layout = QVBoxLayout()
        self.office_checks: dict[int, QCheckBox] = {}
        self.save_mapping_button = QPushButton("&Save offices")
        self.save_mapping_button.setEnabled(False)
        self.save_mapping_button.clicked.connect(self.save_mapping)
        mapping_layout = QVBoxLayout(self.mapping_box)
        mapping_layout.addWidget(self.mapping_hint)
        mapping_layout.addLayout(self.office_checks_layout)
        mapping_layout.addWidget(self.save_mapping_button)
        mapping_layout.addStretch(1)

        # e-mail domains
        domains_box = QGroupBox("Official e-mail domains")
        domains_hint = QLabel("Officers register with an address at one of these domains; "
                              "personal mailboxes (gmail.com, yahoo.com, outlook.com, "
                              "rediffmail.com …) are refused. Separate domains with commas.")
        domains_hint.setWordWrap(True)
        self.domains_edit = QLineEdit()
        self.domains_edit.setPlaceholderText("e.g. igcc.org.in, mail.igcc.org.in")
        self.save_domains_button = QPushButton("Save &domains")
        self.save_domains_button.clicked.connect(self.save_domains)
        self.domains_error = FieldError()
        domains_row = QHBoxLayout()
        domains_row.addWidget(self.domains_edit, 1)
        domains_row.addWidget(self.save_domains_button)
        domains_layout = QVBoxLayout(domains_box)
        domains_layout.addWidget(domains_hint)
        domains_layout.addLayout(domains_row)
        domains_layout.addWidget(self.domains_error)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.pending_box)
        left_layout.addWidget(users_box, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.mapping_box, 1)
        right_layout.addWidget(domains_box)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

        self.pending_table.selectionModel().selectionChanged.connect(
            lambda *_: self._selection_changed(self.pending_table))
        self.users_table.selectionModel().selectionChanged.connect(
            lambda *_: self._selection_changed(self.users_table))

    # --- loading -------------------------------------------------------------------------

    def reload(self) -> None:
        admin = self.admin

        def load() -> tuple[list[UserRow], list[OfficeRow], AgencyInfo]:
            return admin.users(), admin.offices(), admin.agency()

        run_task(load, self._loaded, lambda e: self._show(str(e), error=True), owner=self)

    def _loaded(self, result: tuple[list[UserRow], list[OfficeRow], AgencyInfo]) -> None:
        users, offices, agency = result
        keep = self.selected_user()
        self.agency = agency
        pending = [u for u in users if u.status == "pending"]
        others = [u for u in users if u.status != "pending"]
        others.sort(key=lambda u: (u.status != "active", u.role != "administrator",
                                   u.full_name))
        self.pending_model.set_rows(pending)
        self.users_model.set_rows(others)
        self.pending_box.setTitle(f"Pending registrations ({len(pending)})")
        self.pending_table.setVisible(bool(pending))
        self.pending_empty.setVisible(not pending)
        self.pending_table.resizeColumnsToContents()
        self.users_table.resizeColumnsToContents()
        if [o.id for o in offices] != [o.id for o in self.offices]:
            self._build_office_checks(offices)
        self.offices = offices
        if not self.domains_edit.hasFocus():
            self.domains_edit.setText(", ".join(agency.email_domains))
        if keep is not None:
            self.select_user(keep.id)
        self._selection_changed(None)
        self.loaded.emit()

    def _build_office_checks(self, offices: list[OfficeRow]) -> None:
        for check in self.office_checks.values():
            self.office_checks_layout.removeWidget(check)
            check.deleteLater()
        self.office_checks = {}
        for office in offices:
            check = QCheckBox(f"{office.code} — {office.name}, {office.place}")
            check.setEnabled(False)
            self.office_checks_layout.addWidget(check)
            self.office_checks[office.id] = check

    # --- selection -----------------------------------------------------------------------

    def selected_user(self) -> UserRow | None:
        row = selected_row(self.pending_table)
        if row >= 0:
            return self.pending_model.row_at(row)
        return self.users_model.row_at(selected_row(self.users_table))

    def select_user(self, user_id: int) -> bool:
        for model, table in ((self.pending_model, self.pending_table),
                             (self.users_model, self.users_table)):
            for i, user in enumerate(model.rows):
                if user.id == user_id:
                    table.selectRow(i)
                    return True
        return False

    def _selection_changed(self, source: QTableView | None) -> None:
        if source is not None and selected_row(source) >= 0:  # one selection at a time
            other = self.users_table if source is self.pending_table else self.pending_table
            other.selectionModel().blockSignals(True)
            other.clearSelection()
            other.selectionModel().blockSignals(False)
        user = self.selected_user()
        status = user.status if user else ""
        is_self = user is not None and user.id == self.admin.admin_id
        self.approve_button.setEnabled(status == "pending")
        self.refuse_button.setEnabled(status == "pending")
        self.activate_button.setEnabled(status == "deactivated")
        self.deactivate_button.setEnabled(status == "active" and not is_self)
        self.deactivate_button.setToolTip(
            "You cannot deactivate your own account." if is_self else "")
        mappable = user is not None and user.role == "officer" and status in ("pending",
                                                                               "active",
                                                                               "deactivated")
        for office_id, check in self.office_checks.items():
            check.setEnabled(mappable)
            check.setChecked(bool(user and office_id in user.office_ids))
        self.save_mapping_button.setEnabled(mappable and status != "pending")
        if user is None:
            self.mapping_box.setTitle("Offices served")
            self.mapping_hint.setText("Select an officer to see and change the offices they "
                                      "serve.")
        elif user.role != "officer":
            self.mapping_box.setTitle(f"Offices served — {user.full_name}")
            self.mapping_hint.setText("Administrators manage every office of the agency; "
                                      "only officers are mapped to offices.")
        elif status == "pending":
            self.mapping_box.setTitle(f"Offices served — {user.full_name}")
            self.mapping_hint.setText("Tick the offices this officer will serve, then press "
                                      "Approve.")
        else:
            self.mapping_box.setTitle(f"Offices served — {user.full_name}")
            self.mapping_hint.setText("The officer sees and signs the applications of the "
                                      "ticked offices.")

    def checked_offices(self) -> list[int]:
        return [i for i, check in self.office_checks.items() if check.isChecked()]

    def set_checked_offices(self, codes: list[str]) -> None:
        for office in self.offices:
            self.office_checks[office.id].setChecked(office.code in codes)

    # --- actions -------------------------------------------------------------------------

    def approve_selected(self) -> None:
        user = self.selected_user()
        if user is None or user.status != "pending":
            return
        office_ids = self.checked_offices()
        if not office_ids:
            self._show(f"Tick the offices {user.full_name} will serve (on the right), then "
                       "approve: an officer without an office cannot sign in.", error=True)
            return
        codes = ", ".join(o.code for o in self.offices if o.id in office_ids)
        self._run(lambda: self.admin.approve(user.id, office_ids),
                  f"{user.full_name}'s registration approved; mapped to {codes}.")

    def refuse_selected(self) -> None:
        user = self.selected_user()
        if user is None or user.status != "pending":
            return
        reason = self.ask_reason(
            "Refuse registration", f"Why is {user.full_name}'s registration ({user.email}) "
            "refused? The reason is kept in the audit log.", "Refuse")
        if reason is None:
            return
        self._run(lambda: self.admin.refuse(user.id, reason),
                  f"{user.full_name}'s registration refused.")

    def activate_selected(self) -> None:
        user = self.selected_user()
        if user is None or user.status != "deactivated":
            return
        self._run(lambda: self.admin.activate(user.id), f"{user.full_name} is active again.")

    def deactivate_selected(self) -> None:
        user = self.selected_user()
        if user is None or user.status != "active":
            return
        reason = self.ask_reason(
            "Deactivate user", f"Why is {user.full_name} deactivated? From now on they cannot "
            "sign in, claim or issue certificates. The reason is kept in the audit log.",
            "Deactivate")
        if reason is None:
            return

        def done_message(result: Any) -> str:
            claims = getattr(result, "claims_released", ())
            text = f"{user.full_name} is deactivated."
            if claims:
                text += (f" The {len(claims)} application(s) they had claimed "
                         f"({', '.join(claims[:5])}{'…' if len(claims) > 5 else ''}) are back "
                         "in the office's queue.")
            return text

        self._run(lambda: self.admin.deactivate(user.id, reason), done_message)

    def save_mapping(self) -> None:
        user = self.selected_user()
        if user is None or user.role != "officer":
            return
        office_ids = self.checked_offices()
        codes = ", ".join(o.code for o in self.offices if o.id in office_ids) or "no office"
        self._run(lambda: self.admin.set_officer_offices(user.id, office_ids),
                  f"{user.full_name} now serves {codes}.")

    def save_domains(self) -> None:
        parts = [p.strip() for p in self.domains_edit.text().split(",")]
        domains = [p for p in parts if p]
        self.domains_error.show_error(None)

        def failed(exc: BaseException) -> None:
            self.domains_error.show_error(str(exc))
            self.action_finished.emit(str(exc))

        def done(_agency: Any) -> None:
            self._show("Official e-mail domains saved.")
            self.action_finished.emit("domains saved")
            self.reload()

        run_task(lambda: self.admin.set_email_domains(domains), done, failed, owner=self)

    # --- helpers -------------------------------------------------------------------------

    def _run(self, fn: Callable[[], Any], message: str | Callable[[Any], str]) -> None:
        def done(result: Any) -> None:
            text = message(result) if callable(message) else message
            self._show(text)
            self.action_finished.emit(text)
            self.reload()

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, UserFacingError):
                log.error("user action failed", exc_info=exc)
            self._show(str(exc), error=True)
            self.action_finished.emit(str(exc))

        run_task(fn, done, failed, owner=self)

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "color: #1b5e20;")
        self.message.setVisible(bool(text))

    def _ask_reason_dialog(self, title: str, prompt: str, action: str) -> str | None:
        dialog = TextPrompt(title, prompt, action, self)
        if dialog.exec() != TextPrompt.DialogCode.Accepted:
            return None
        return dialog.text()
