"""The PIN dialog, the batch progress dialog, the DSC dialog and the verify view (pytest-qt)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLineEdit
from sqlalchemy import select

from app.models import Application, DscRegistration
from app.models.enums import ApplicationStatus
from app.signing.batch import BatchStatus
from app.signing.discovery import PinState, TokenInfo
from app.store.central import session_factory
from tests.issuing.conftest import PIN
from tests.support.pki import KeySpec


def token_info(**pin_flags: bool) -> TokenInfo:
    return TokenInfo(module_path="/x.so", slot_id=0, label="DSC-OFFICER", serial="A1B2C3D4",
                     manufacturer="Watchdata", model="ProxKey", pin=PinState(**pin_flags))


def test_pin_dialog_names_the_token_and_shows_flag_warnings(qtbot):
    from app.views.pin_dialog import PinDialog

    info = token_info(final_try=True)
    dialog = PinDialog(info, info.pin.warnings())
    qtbot.addWidget(dialog)
    assert "DSC-OFFICER" in dialog.token_label.text()
    assert "A1B2C3D4" in dialog.token_label.text()
    assert [w.text() for w in dialog.warning_labels] == [
        "⚠ Final try: one more wrong PIN locks the token."]
    assert dialog.field.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.field, PIN)
    assert dialog.ok_button.isEnabled()
    dialog.ok_button.click()
    assert dialog.pin() == PIN
    assert dialog.field.text() == ""  # forgotten once handed over

    low = token_info(count_low=True)
    other = PinDialog(low, low.pin.warnings())
    qtbot.addWidget(other)
    assert "few tries are left" in other.warning_labels[0].text()
    other.reject()
    assert other.pin() is None


def test_batch_dialog_cancel_stops_after_the_current_certificate(qtbot, rsa_token, issuer,
                                                                 approved, demo_engine):
    from app.views.issue_dialog import start_issue_batch

    ids = approved("non_preferential", 4)
    first_done, stop_clicked = threading.Event(), threading.Event()
    real_issue = issuer.issue_one

    def issue_one(app_id, session):  # type: ignore[no-untyped-def]
        result = real_issue(app_id, session)
        if not first_done.is_set():
            first_done.set()
            stop_clicked.wait(20)  # the officer clicks Stop while this one is recorded
        return result

    issuer.issue_one = issue_one
    from app.views.issue_dialog import IssueProgressDialog
    from app.views.pin_dialog import PinPrompter

    seen_warnings = []

    def answer(dialog):  # type: ignore[no-untyped-def]
        seen_warnings.append(dialog.token_label.text())

        def type_pin() -> None:
            dialog.field.setText(PIN)
            dialog.accept()

        QTimer.singleShot(0, type_pin)

    original_init = PinPrompter.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        self.dialog_shown.connect(answer)

    PinPrompter.__init__ = init
    try:
        dialog = start_issue_batch(None, issuer, ids, {})
    finally:
        PinPrompter.__init__ = original_init
    assert isinstance(dialog, IssueProgressDialog)
    qtbot.addWidget(dialog)
    assert "PAdES B-B" in dialog.level.text()  # no timestamp_url in these settings
    qtbot.waitUntil(first_done.is_set, timeout=30000)
    with qtbot.waitSignal(dialog.finished_batch, timeout=30000) as blocker:
        dialog.stop_button.click()
        stop_clicked.set()
    outcome = blocker.args[0]
    assert outcome.status is BatchStatus.CANCELLED
    assert len(outcome.done) == 1 and len(outcome.left) == 3
    assert rsa_token.label in seen_warnings[0]
    assert dialog.close_button.isEnabled()
    with session_factory(demo_engine)() as s:
        got = {a.id: a.status for a in s.scalars(select(Application)
                                                 .where(Application.id.in_(ids)))}
    assert got[outcome.done[0][0]] == ApplicationStatus.ISSUED
    assert all(got[i] == ApplicationStatus.APPROVED for i in outcome.left)


def test_batch_dialog_says_the_signature_level_before_the_pin(qtbot, tmp_path):
    from app.views.issue_dialog import IssueProgressDialog
    from app.views.pin_dialog import WARNING_STYLE

    long_term = IssueProgressDialog({1: "MUM/2026/1"},
                                    timestamp_url="https://tsa.example.in/rfc3161")
    qtbot.addWidget(long_term)
    assert long_term.level.text() == ("Signature level: PAdES B-LTA (timestamp server "
                                      "https://tsa.example.in/rfc3161)")
    assert long_term.level.styleSheet() == ""

    basic = IssueProgressDialog({1: "MUM/2026/1"})
    qtbot.addWidget(basic)
    basic.show()
    qtbot.waitExposed(basic)
    assert basic.level.text() == (
        "⚠ Signature level: PAdES B-B — no timestamp server is configured: once the "
        "officer's DSC expires this signature can no longer be checked")
    assert basic.level.styleSheet() == WARNING_STYLE and basic.level.isVisible()
    assert basic.status.text().startswith("Waiting for the token PIN")
    assert not basic.grab().isNull()


def test_dsc_dialog_registers_the_qualifying_certificate(qtbot, make_token, demo_engine,
                                                         config, officer_id):
    from app.views.dsc_dialog import DscDialog

    token = make_token("DSC-DIALOG", (KeySpec("sign", "rsa"),
                                      KeySpec("old", "rsa", kind="expired")))
    from app.services.central import SqlCentral
    from app.services.dsc import DscService

    dialog = DscDialog(DscService(SqlCentral(demo_engine, config), config, officer_id),
                       "Anita Deshpande")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.certificates_read, timeout=20000):
        dialog.read_token()
    assert dialog.table.rowCount() == 2
    assert dialog.selected().certificate.fingerprint == token.certs["sign"].fingerprint
    assert dialog.register_button.isEnabled()
    with qtbot.waitSignal(dialog.registered, timeout=20000):
        dialog.register_button.click()
    assert "is registered" in dialog.message.text()
    with session_factory(demo_engine)() as s:
        row = s.scalars(select(DscRegistration).where(
            DscRegistration.fingerprint_sha256 == token.certs["sign"].fingerprint)).one()
    assert row.user_id == officer_id
    qtbot.waitUntil(lambda: dialog.read_button.isEnabled(), timeout=20000)


def test_verify_view_shows_each_check(qtbot, rsa_token, issuer, approved, open_session,
                                      demo_engine, config, tmp_path):
    from app.views.verify_view import FAIL, PASS, VerifyView

    [app_id] = approved("preferential")
    issued = issuer.issue_one(app_id, open_session())
    pdf = issuer.certificate_pdf(issued.certificate_number)
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf)
    from app.services.central import SqlCentral
    from app.services.issuing import Verifier

    view = VerifyView(Verifier(SqlCentral(demo_engine, config), config))
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.verified, timeout=30000):
        view.verify_file(good)
    marks = [view.table.item(r, 1).text() for r in range(view.table.rowCount())]
    names = [view.table.item(r, 0).text() for r in range(view.table.rowCount())]
    assert names == ["File size", "Signature intact", "Chain to a trusted root",
                     "Signer registered", "No change after signing",
                     "Signature padding untouched", "Same file as issued",
                     "Status in the store", "QR code matches the document"]
    assert marks == [PASS] * 9
    assert "genuine" in view.verdict.text()
    assert "Signature level:</b> PAdES B-B" in view.facts.text()
    assert not view.level_note.isHidden()
    assert "once the officer's DSC expires" in view.level_note.text()

    bad = tmp_path / "bad.pdf"
    index = pdf.index(b"stream\n") + 40
    bad.write_bytes(pdf[:index] + bytes([pdf[index] ^ 1]) + pdf[index + 1:])
    with qtbot.waitSignal(view.verified, timeout=30000):
        view.verify_file(bad)
    assert view.table.item(1, 1).text() == FAIL
    assert "NOT valid" in view.verdict.text()

    # cancelled in the store: authentic, but no longer in force
    from sqlalchemy import update

    from app.models import Certificate, CertificateStatus
    from app.store.central import session_factory

    with session_factory(demo_engine).begin() as session:
        session.execute(update(Certificate)
                        .where(Certificate.number == issued.certificate_number)
                        .values(status=CertificateStatus.CANCELLED, cancel_reason="duplicate"))
    with qtbot.waitSignal(view.verified, timeout=30000):
        view.verify_file(good)
    assert "authentic" in view.verdict.text() and "cancelled (duplicate)" in view.verdict.text()
    assert view.table.item(7, 1).text() == FAIL


def test_issue_from_the_desk_window(qtbot, rsa_token, approved, demo_engine, config):
    """Ctrl+I on approved rows: the PIN is asked for the worker, and the issued rows come
    back into the queue read on a worker (the GUI-thread SQL guard watches all of it)."""
    from app.services.desk import Desk
    from app.services.queue_rows import Col, StatusFilter
    from app.views.issue_actions import issue_selected
    from app.views.main_window import DeskWindow
    from app.views.tasks import wait_for_tasks
    from tests.issuing.conftest import OFFICER_EMAIL

    [app_id] = approved("non_preferential")
    desk = Desk(demo_engine, config)
    desk.sign_in(OFFICER_EMAIL)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=20000):
        window.reload_queue()
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    assert window.select_application(app_id)
    dialog = issue_selected(window)
    qtbot.addWidget(dialog)

    def answer(pin_dialog):  # type: ignore[no-untyped-def]
        def type_pin() -> None:
            pin_dialog.field.setText(PIN)
            pin_dialog.accept()

        QTimer.singleShot(0, type_pin)

    dialog.prompter.dialog_shown.connect(answer)
    with qtbot.waitSignal(dialog.finished_batch, timeout=60000) as finished:
        pass
    assert finished.args[0].status is BatchStatus.COMPLETED
    qtbot.waitUntil(lambda: str(window.model.row_at(window.model.row_of(app_id))[Col.STATUS])
                    .lower() == "issued", timeout=20000)
    wait_for_tasks()
    qtbot.wait(20)
