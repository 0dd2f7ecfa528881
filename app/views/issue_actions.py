"""The desk window's issuing entries: issue the selected approved applications, register
the DSC, verify a certificate PDF. ``install_issue_actions(window)`` adds them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QDialog, QMessageBox, QPushButton, QWidget

from app.errors import UserFacingError
from app.services.queue_rows import Col
from app.views.gui_prompt import GuiPrompt
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.views.main_window import DeskWindow

log = logging.getLogger(__name__)


def install_issue_actions(window: DeskWindow) -> None:
    window.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    menu = window.menuBar().addMenu("&Certificates")
    issue = QAction("&Issue selected approved applications…", window)
    issue.setShortcut(QKeySequence("Ctrl+I"))
    issue.triggered.connect(lambda: issue_selected(window))
    menu.addAction(issue)
    # Aadhaar eSign beside the token: shown once the central service says it offers it
    esign = QAction("Sign with Aadhaar &eSign…", window)
    esign.setToolTip("Sign and issue the selected approved application with Aadhaar eSign "
                     "(consent and OTP in the browser)")
    esign.triggered.connect(lambda: esign_selected(window))
    esign.setVisible(False)
    window.esign_action = esign  # type: ignore[attr-defined]
    menu.addAction(esign)
    cancel = QAction("&Cancel certificate…", window)
    cancel.setToolTip("Cancel the certificate of the selected issued application, with a "
                      "reason; cancelled on the day it was issued, the fee is refunded")
    cancel.triggered.connect(lambda: cancel_selected(window))
    cancel.setEnabled(False)  # until an issued application the user may cancel is selected
    window.cancel_certificate_action = cancel  # type: ignore[attr-defined]
    menu.addAction(cancel)
    menu.addSeparator()
    dsc = QAction("&Register my DSC…", window)
    dsc.triggered.connect(lambda: open_dsc_dialog(window))
    menu.addAction(dsc)
    verify = QAction("&Verify a certificate…", window)
    verify.setShortcut(QKeySequence("Ctrl+Shift+V"))
    verify.triggered.connect(lambda: open_verify_view(window))
    menu.addAction(verify)
    button = QPushButton("Issue…")
    button.setToolTip("Sign and issue the selected approved applications — Ctrl+I")
    button.clicked.connect(lambda: issue_selected(window))
    window.issue_button = button  # type: ignore[attr-defined]
    esign_button = QPushButton("eSign…")
    esign_button.setToolTip("Sign and issue the selected approved application with Aadhaar "
                            "eSign instead of the token")
    esign_button.clicked.connect(lambda: esign_selected(window))
    esign_button.setVisible(False)
    window.esign_button = esign_button  # type: ignore[attr-defined]
    window.esign_offer = None  # type: ignore[attr-defined]
    anchor = window.buttons[next(iter(window.buttons))]
    row = anchor.parentWidget().layout()
    for i in range(row.count()):  # the actions row: put "Issue…" after the workflow buttons
        inner = row.itemAt(i).layout()
        if inner is not None and inner.indexOf(anchor) >= 0:
            inner.insertWidget(len(window.buttons), button)
            inner.insertWidget(len(window.buttons) + 1, esign_button)
            break


def selected_approved(window: DeskWindow) -> tuple[list[int], dict[int, str], int]:
    ids, numbers, skipped = [], {}, 0
    for index in window.table.selectionModel().selectedRows():
        row = window.model.row_at(index.row())
        if row is None:
            continue
        if str(row[Col.STATUS]).lower() != "approved":
            skipped += 1
            continue
        ids.append(row[Col.ID])
        numbers[row[Col.ID]] = row[Col.NUMBER]
    return ids, numbers, skipped


class IssueConfirmPrompter(GuiPrompt):
    """``ask(approvals)`` from the batch's worker: "APP-… was approved by … on …; issue
    it under your signature?", every such application of the batch listed; True to go on."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parent_widget = parent

    def make_dialog(self, approvals: list[Any]) -> QMessageBox:  # type: ignore[override]
        one = len(approvals) == 1
        box = QMessageBox(QMessageBox.Icon.Question, "Issue another officer's approval?",
                          (approvals[0].sentence() + "; issue it under your signature?") if one
                          else (f"{len(approvals)} of the selected applications were approved by "
                                "another officer; issue them under your signature?"),
                          QMessageBox.StandardButton.NoButton, self.parent_widget)
        if not one:
            box.setInformativeText("\n".join(a.sentence() + "." for a in approvals))
        box.addButton("&Issue under my signature", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
        return box

    def read_answer(self, dialog: QDialog) -> bool:
        assert isinstance(dialog, QMessageBox)
        clicked = dialog.clickedButton()
        return clicked is not None and dialog.buttonRole(clicked) == \
            QMessageBox.ButtonRole.AcceptRole


class ConfirmedIssuer:
    """The issuer, asking first (on the worker, before the PIN) whether to issue the
    applications another officer approved; cancelled, nothing is issued and no PIN asked."""

    def __init__(self, issuer: Any, desk: Any, confirm: IssueConfirmPrompter) -> None:
        self.issuer = issuer
        self.desk = desk
        self.confirm = confirm
        self.config = getattr(issuer, "config", None)

    def run_batch(self, application_ids: list[int], ask_pin: Any, **kwargs: Any) -> Any:
        from app.signing.demo_token import wait_for_demo_token

        wait_for_demo_token()  # the demo token prepared behind the sign-in: ready first
        self.issuer.check_wallet(application_ids)  # a refusal before any question
        others = self.desk.approvals_by_others(list(application_ids))
        if others and not self.confirm.ask(others):
            raise UserFacingError(
                "Cancelled: nothing was issued. " + "; ".join(a.sentence() for a in others)
                + ".")
        return self.issuer.run_batch(application_ids, ask_pin, **kwargs)


def issue_selected(window: DeskWindow) -> Any:
    from app.views.issue_dialog import start_issue_batch
    from app.views.main_window import QueueUpdate, queue_update

    desk = window.desk
    if desk is None or desk.user is None:
        return None
    ids, numbers, skipped = selected_approved(window)
    if not ids:
        window.show_error(UserFacingError(
            "Select one or more approved applications to issue (Ctrl+click, Shift+click)."))
        return None
    window.hide_message()
    try:
        issuer = desk.issuer()  # offline: says so here, before any PIN is asked
    except UserFacingError as exc:
        window.show_error(exc)
        return None
    confirm = IssueConfirmPrompter(window)
    dialog = start_issue_batch(window, ConfirmedIssuer(issuer, desk, confirm), ids, numbers)
    confirm.setParent(dialog)  # the question lives as long as its batch
    dialog.confirm = confirm  # type: ignore[attr-defined]
    from app.signing.demo_token import demo_token_preparing

    if demo_token_preparing():  # the PIN is asked once the token is there
        dialog.status.setText("Preparing the demo signing token… The PIN is asked as soon "
                              "as it is ready.")
    if skipped:
        dialog.status.setText(f"{skipped} selected application(s) are not approved and are "
                              "left out. " + dialog.status.text())

    def refreshed(update: QueueUpdate) -> None:
        window.apply_queue_update(update)
        current = window.selected_row()
        if current is not None:
            window.load_detail(current[Col.ID])

    def finished(_outcome: object) -> None:  # the issued rows, read on a worker
        run_task(lambda: queue_update(desk, ids), refreshed, window.show_error, owner=window)

    dialog.finished_batch.connect(finished)
    return dialog


def refresh_esign_offer(window: DeskWindow) -> Any:
    """Show "Sign with Aadhaar eSign" when the desk's central store offers it (asked on a
    worker: the central service answers; the demo and a PostgreSQL store never offer it)."""
    from app.services.esign_issuing import NOT_OFFERED, esign_offer_of

    def show(offer: Any) -> None:
        window.esign_offer = offer  # type: ignore[attr-defined]
        window.esign_action.setVisible(bool(offer.available))  # type: ignore[attr-defined]
        window.esign_button.setVisible(bool(offer.available))  # type: ignore[attr-defined]

    show(NOT_OFFERED)
    desk = window.desk
    if desk is None or desk.user is None:
        return None

    def ask() -> Any:
        try:
            return esign_offer_of(desk.central())
        except UserFacingError as exc:  # offline, signed out: not offered now
            log.info("eSign not offered: %s", exc)
            return NOT_OFFERED

    return run_task(ask, show, lambda exc: show(NOT_OFFERED), owner=window)


class ConfirmedEsignIssuer:
    """The eSign issuer, asking first (on the worker, before anything is reserved or sent
    to the gateway) whether to issue an application another officer approved, as the
    token path does before the PIN."""

    def __init__(self, esign: Any, desk: Any, confirm: IssueConfirmPrompter) -> None:
        self.esign = esign
        self.desk = desk
        self.confirm = confirm

    def issue(self, application_id: int, **kwargs: Any) -> Any:
        others = self.desk.approvals_by_others([application_id])
        if others and not self.confirm.ask(others):
            raise UserFacingError(
                "Cancelled: nothing was issued. " + "; ".join(a.sentence() for a in others)
                + ".")
        return self.esign.issue(application_id, **kwargs)


def esign_selected(window: DeskWindow) -> Any:
    """Sign and issue the one selected approved application with Aadhaar eSign."""
    from app.services.esign_issuing import EsignIssuer
    from app.views.esign_dialog import EsignDialog
    from app.views.main_window import QueueUpdate, queue_update

    desk = window.desk
    offer = getattr(window, "esign_offer", None)
    if desk is None or desk.user is None or offer is None or not offer.available:
        return None
    ids, numbers, _skipped = selected_approved(window)
    if len(ids) != 1:
        window.show_error(UserFacingError(
            "Aadhaar eSign signs one certificate at a time: select one approved application."))
        return None
    window.hide_message()
    try:
        issuer = desk.issuer()  # offline: says so here
    except UserFacingError as exc:
        window.show_error(exc)
        return None
    [app_id] = ids
    confirm = IssueConfirmPrompter(window)
    dialog = EsignDialog(ConfirmedEsignIssuer(EsignIssuer(issuer), desk, confirm), app_id,
                         numbers[app_id], offer.esp, window)
    confirm.setParent(dialog)  # the question lives as long as its dialog
    dialog.confirm = confirm  # type: ignore[attr-defined]

    def refreshed(update: QueueUpdate) -> None:
        window.apply_queue_update(update)
        current = window.selected_row()
        if current is not None:
            window.load_detail(current[Col.ID])

    dialog.finished_issue.connect(
        lambda _outcome: run_task(lambda: queue_update(desk, [app_id]), refreshed,
                                  window.show_error, owner=window))
    dialog.show()
    dialog.start()
    return dialog


def cancel_selected(window: DeskWindow) -> Any:
    """Cancel the certificate of the selected issued application: a reason, then the
    central store's CANCEL on a worker (a same-day cancellation refunds the fee)."""
    from app.errors import UserFacingError
    from app.views.main_window import QueueUpdate, queue_update

    desk = window.desk
    if desk is None or desk.user is None:
        return None
    row = window.selected_row()
    if row is None or str(row[Col.STATUS]).lower() != "issued":
        window.show_error(UserFacingError(
            "Select one issued application to cancel its certificate."))
        return None
    application_id, number = row[Col.ID], row[Col.NUMBER]
    reason = window.ask_text(
        f"Cancel certificate — {number}",
        f"Why is the certificate of application {number} cancelled? The reason is kept with "
        "the certificate, shown to anyone who verifies it, and audited. Cancelled on the day "
        "it was issued (India time), the fee is refunded to the office's e-wallet.",
        "Cancel certificate")
    if reason is None:
        return None
    window.hide_message()
    try:
        issuer = desk.issuer()  # offline: says so here
    except UserFacingError as exc:
        window.show_error(exc)
        return None

    def done(cancelled: Any) -> None:
        from app.services.wallet import rupees

        refund = (f"; the fee of {rupees(cancelled.refund)} was refunded to the office's "
                  "e-wallet" if cancelled.refund is not None else "; no refund (not cancelled "
                  "on the day of issue, or the office has no e-wallet)")
        window.show_notice(f"Certificate {cancelled.number} of application "
                           f"{cancelled.application_number} is cancelled{refund}.")
        run_task(lambda: queue_update(desk, [application_id]), refreshed, window.show_error,
                 owner=window)

    def refreshed(update: QueueUpdate) -> None:
        window.apply_queue_update(update)
        window.load_detail(application_id)

    return run_task(lambda: issuer.cancel_certificate(application_id, reason), done,
                    window.show_error, owner=window)


def open_dsc_dialog(window: DeskWindow) -> Any:
    from app.views.dsc_dialog import DscDialog

    desk = window.desk
    if desk is None or desk.user is None:
        return None
    from app.errors import UserFacingError

    try:
        service = desk.dsc()
    except UserFacingError as exc:
        window.show_error(exc)
        return None
    dialog = DscDialog(service, desk.user.full_name, window)
    dialog.show()
    dialog.read_token()
    return dialog


def open_verify_view(window: DeskWindow) -> Any:
    from app.views.verify_view import VerifyView

    desk = window.desk
    if desk is None:
        return None
    from app.errors import UserFacingError

    try:
        verifier = desk.verifier()
    except UserFacingError as exc:
        window.show_error(exc)
        return None
    view = VerifyView(verifier, window)
    view.setWindowFlags(Qt.WindowType.Window)
    view.show()
    view.number_edit.setFocus()  # by number; or Open QR image… / Open certificate PDF…
    return view
