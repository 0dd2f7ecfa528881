"""Two synced desks on one PostgreSQL central store, end to end, as two officers work.

Desk A decides offline and syncs when back; desk B sees it. A registers its DSC through the
dialog, selects three approved applications, presses Ctrl+I and types the PIN; the central
store then holds three certificates, their audit events and fees; B syncs and its verify
view calls a saved PDF valid and issued by A. Then the same through the command line.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from app.config import Config
from app.models.enums import Action
from app.services.central import SqlCentral
from app.services.offline_desk import LocalDesk
from app.services.queue_rows import Col
from app.services.sync import SyncService
from app.store.local import LocalStore
from tests.store.conftest import CentralDb, officer_emails
from tests.store.helpers import unreachable_link
from tests.support.pki import KeySpec, SoftHsm, TestCA, make_test_ca

PIN = "618204"


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return make_test_ca("Two Desks")


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    softhsm = SoftHsm(tmp_path / "hsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm.conf))
    return softhsm


def _config(home: Path, db: CentralDb, email: str, hsm: SoftHsm, ca: TestCA,
            token_label: str) -> Config:
    home.mkdir(parents=True, exist_ok=True)
    ca.write_trust_dir(home / "trust")
    return Config(data_dir=home, central_url=db.login_url(email),
                  pkcs11_modules=[hsm.module], token_label=token_label)


def _desk(config: Config, db: CentralDb, email: str, *, reachable: bool = True) -> LocalDesk:
    local = LocalStore(config.local_store_path)
    link = SqlCentral(db.engine_for(email), config) if reachable else unreachable_link(db)
    desk = LocalDesk(local, config, SyncService(local, link, email=email))
    desk.sign_in(email)
    return desk


def _window(qtbot, desk: LocalDesk):  # type: ignore[no-untyped-def]
    from app.views.main_window import DeskWindow
    from app.views.sync_ui import install_sync_ui

    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    install_sync_ui(window, desk)
    with qtbot.waitSignal(window.queue_loaded, timeout=30000):
        window.reload_queue()
    return window


def _office_pair(db: CentralDb) -> tuple[str, str, str]:
    """An office with two active officers: (office code, officer A, officer B)."""
    for code, emails in officer_emails(db).items():
        if len(emails) >= 2:
            return code, emails[0], emails[1]
    raise AssertionError("the seeded store has no office with two officers")


def _count(db: CentralDb, sql: str, **params: object) -> int:
    return int(db.scalar(sql, **params) or 0)


def test_two_synced_desks_review_register_issue_and_verify(
    qtbot, central: CentralDb, hsm: SoftHsm, ca: TestCA, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from app.views.dsc_dialog import DscDialog
    from app.views.issue_actions import open_dsc_dialog
    from app.views.pin_dialog import PinDialog
    from app.views.verify_view import PASS

    code, email_a, email_b = _office_pair(central)
    office_id = _count(central, "SELECT id FROM offices WHERE code = :c", c=code)
    with central.owner_engine().begin() as connection:  # fees are charged from the e-wallet
        connection.execute(text("UPDATE offices SET ewallet_enabled = true WHERE id = :o"),
                           {"o": office_id})
    token = hsm.make_token("DSC-A", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    config_a = _config(tmp_path / "a", central, email_a, hsm, ca, "DSC-A")
    config_b = _config(tmp_path / "b", central, email_b, hsm, ca, "DSC-B")

    # desk A fills its copy, then the line goes down: it claims and approves offline
    first = _desk(config_a, central, email_a)
    first.sync.sync_now()
    first.local.close()
    offline = _desk(config_a, central, email_a, reachable=False)
    submitted = _count(central, "SELECT id FROM applications WHERE office_id = :o AND "
                       "status = 'submitted' ORDER BY id LIMIT 1", o=office_id)
    offline.act(submitted, Action.CLAIM)
    offline.act(submitted, Action.APPROVE)
    assert _count(central, "SELECT count(*) FROM applications WHERE id = :i AND "
                  "status = 'approved'", i=submitted) == 0  # not on the central store yet

    assert len(offline.local.pending()) == 2
    offline.local.close()

    # back online: A syncs (signing in syncs first), B sees the approval
    desk_a = _desk(config_a, central, email_a)
    assert desk_a.local.pending() == []
    assert _count(central, "SELECT count(*) FROM applications WHERE id = :i AND "
                  "status = 'approved'", i=submitted) == 1
    desk_b = _desk(config_b, central, email_b)
    desk_b.sync.sync_now()
    assert str(desk_b.queue_row(submitted)[Col.STATUS]).lower() == "approved"  # status column of B's copy

    # A registers the token's DSC through the dialog
    window_a = _window(qtbot, desk_a)
    dialog = open_dsc_dialog(window_a)
    assert isinstance(dialog, DscDialog)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=30000)
    with qtbot.waitSignal(dialog.registered, timeout=30000):
        dialog.register_button.click()
    qtbot.waitUntil(dialog.read_button.isEnabled, timeout=30000)
    dialog.close()
    fingerprint = token.certs["sign"].fingerprint
    assert _count(central, "SELECT count(*) FROM dsc_registrations d JOIN users u ON "
                  "u.id = d.user_id WHERE u.email = :e AND d.fingerprint_sha256 = :f",
                  e=email_a, f=fingerprint) == 1

    # A selects three approved applications of the office and presses Ctrl+I
    with central.owner_engine().connect() as connection:
        approved = [r[0] for r in connection.execute(text(
            "SELECT id FROM applications WHERE office_id = :o AND status = 'approved' "
            "AND kind <> 'in_lieu' ORDER BY id = :s DESC, id LIMIT 3"),
            {"o": office_id, "s": submitted})]
    assert submitted in approved and len(approved) == 3
    from app.services.queue_rows import StatusFilter

    window_a.status_tabs.setCurrentIndex(StatusFilter.ALL)
    window_a.table.clearSelection()
    for app_id in approved:
        row = window_a.model.row_of(app_id)
        assert row >= 0, app_id
        index = window_a.model.index(row, 0)
        window_a.table.selectionModel().select(
            index, window_a.table.selectionModel().SelectionFlag.Select
            | window_a.table.selectionModel().SelectionFlag.Rows)

    def pin_dialog() -> PinDialog | None:
        return next((w for w in QApplication.topLevelWidgets()
                     if isinstance(w, PinDialog) and w.isVisible()), None)

    before = _count(central, "SELECT count(*) FROM audit_events WHERE action = "
                    "'certificate.issued'")
    window_a.activateWindow()
    window_a.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window_a, timeout=10000)
    qtbot.keyClick(window_a.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    # another officer's approvals among the three are confirmed first (Alt+I), naming them
    others = _count(central, "SELECT count(DISTINCT e.entity_id) FROM audit_events e JOIN "
                    "users u ON u.id = e.actor_id WHERE e.action = 'application.approve' AND "
                    "e.entity_id = ANY(:ids) AND u.email <> :e", ids=approved, e=email_a)
    if others:
        from PySide6.QtWidgets import QMessageBox

        def confirmation() -> QMessageBox | None:
            return next((w for w in QApplication.topLevelWidgets()
                         if isinstance(w, QMessageBox) and w.isVisible()), None)

        qtbot.waitUntil(lambda: confirmation() is not None, timeout=30000)
        box = confirmation()
        assert box is not None and "approved by" in box.text() + box.informativeText()
        qtbot.keyClick(box, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    try:
        qtbot.waitUntil(lambda: pin_dialog() is not None, timeout=30000)
    except Exception:
        from app.views.issue_dialog import IssueProgressDialog

        shown = [w.status.text() for w in QApplication.topLevelWidgets()
                 if isinstance(w, IssueProgressDialog)]
        raise AssertionError(f"no PIN dialog; the window says: {window_a.message.text()!r}; "
                             f"the batch dialog: {shown}") from None
    entry = pin_dialog()
    assert entry is not None
    qtbot.keyClicks(entry.field, PIN)
    qtbot.keyClick(entry.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _count(central, "SELECT count(*) FROM certificates WHERE "
                                   "application_id = ANY(:ids)", ids=approved) == 3,
                    timeout=60000)
    # the central store: three certificates by A, three audit events, three fees
    assert _count(central, "SELECT count(*) FROM certificates c JOIN users u ON "
                  "u.id = c.issued_by_id WHERE u.email = :e AND c.application_id = ANY(:ids)",
                  e=email_a, ids=approved) == 3
    assert _count(central, "SELECT count(*) FROM audit_events WHERE action = "
                  "'certificate.issued'") == before + 3
    assert _count(central, "SELECT count(*) FROM audit_events WHERE action = "
                  "'application.issue' AND entity_id = ANY(:ids)", ids=approved) == 3
    assert _count(central, "SELECT count(*) FROM wallet_entries w JOIN certificates c ON "
                  "c.number = w.certificate_number WHERE w.kind = 'fee' AND "
                  "c.application_id = ANY(:ids)", ids=approved) == 3
    assert _count(central, "SELECT count(*) FROM applications WHERE id = ANY(:ids) AND "
                  "status = 'issued'", ids=approved) == 3
    # A's copy shows them issued at once (no wait for the next sync)
    qtbot.waitUntil(lambda: all(str(desk_a.queue_row(i)[Col.STATUS]).lower() == "issued" for i in approved),
                    timeout=30000)

    # B syncs; its verify view calls a saved PDF valid and issued by A
    desk_b.sync.sync_now()
    assert str(desk_b.queue_row(approved[0])[Col.STATUS]).lower() == "issued"
    number = str(central.scalar("SELECT number FROM certificates WHERE application_id = :a",
                                a=approved[0]))
    pdf_bytes, _pages, draft = desk_b.preview_pdf(approved[0])
    assert not draft and pdf_bytes.startswith(b"%PDF")
    saved = tmp_path / "received.pdf"
    saved.write_bytes(pdf_bytes)
    window_b = _window(qtbot, desk_b)
    from app.views.issue_actions import open_verify_view

    view = open_verify_view_without_dialog(window_b, open_verify_view)
    with qtbot.waitSignal(view.verified, timeout=60000):
        view.verify_file(saved)
    marks = [view.table.item(r, 1).text() for r in range(view.table.rowCount())]
    assert marks == [PASS] * len(marks), [view.table.item(r, 2).text()
                                          for r in range(view.table.rowCount())]
    assert "genuine" in view.verdict.text()
    assert number in view.facts.text()
    assert email_a in " ".join(view.table.item(r, 2).text() for r in range(view.table.rowCount()))


def open_verify_view_without_dialog(window, open_verify_view):  # type: ignore[no-untyped-def]
    """The verify view as Ctrl+Shift+V opens it, without the file chooser."""
    from unittest import mock

    with mock.patch("app.views.verify_view.VerifyView.choose_file"):
        view = open_verify_view(window)
    return view


def test_the_command_line_issues_on_a_synced_desk(
    central: CentralDb, hsm: SoftHsm, ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main

    code, email_a, _email_b = _office_pair(central)
    office_id = _count(central, "SELECT id FROM offices WHERE code = :c", c=code)
    hsm.make_token("DSC-CLI", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    home = tmp_path / "cli"
    config = _config(home, central, email_a, hsm, ca, "DSC-CLI")
    monkeypatch.setenv("ORIGIN_DESK_HOME", str(home))
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", config.central_url)
    monkeypatch.setenv("ORIGIN_DESK_PKCS11_MODULES", hsm.module)
    monkeypatch.setenv("ORIGIN_DESK_TOKEN_LABEL", "DSC-CLI")

    assert main(["db", "sync", "--email", email_a]) == 0
    assert main(["dsc", "register", "--officer", email_a]) == 0
    with central.owner_engine().connect() as connection:
        numbers = [r[0] for r in connection.execute(text(
            "SELECT number FROM applications WHERE office_id = :o AND status = 'approved' "
            "AND kind <> 'in_lieu' ORDER BY id LIMIT 2"), {"o": office_id})]
    out = tmp_path / "signed"
    monkeypatch.setattr(sys, "stdin", io.StringIO(PIN + "\n"))
    capsys.readouterr()
    assert main(["issue", *numbers, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("\tissued\t") == 2
    assert len(list(out.glob("*.pdf"))) == 2
    assert _count(central, "SELECT count(*) FROM applications WHERE number = ANY(:n) AND "
                  "status = 'issued'", n=numbers) == 2
    # the desk's copy has them at once
    local = LocalStore(home / "local.sqlite")
    try:
        with local.engine.connect() as connection:
            statuses = connection.execute(text(
                "SELECT status FROM applications WHERE number IN (:a, :b)"),
                {"a": numbers[0], "b": numbers[1]}).scalars().all()
    finally:
        local.close()
    assert statuses == ["issued", "issued"]
