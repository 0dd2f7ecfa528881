"""The e-wallet in the windows (pytest-qt): the desk refuses a short balance before the PIN
dialog, cancels a certificate with a reason (embedded and synced desks), and the
administrator's E-wallets tab shows balances and statements and credits a top-up."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from app.models import Application, OfficeWallet
from app.models.enums import ApplicationStatus
from app.services.queue_rows import Col, StatusFilter
from app.store.central import session_factory
from tests.issuing.conftest import OFFICER_EMAIL, PIN

WAIT = 30000
CHE = 3


def _window(qtbot, desk):  # type: ignore[no-untyped-def]
    from app.views.main_window import DeskWindow

    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=WAIT):
        window.reload_queue()
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    return window


def test_the_desk_window_refuses_a_short_balance_before_the_pin(  # type: ignore[no-untyped-def]
        qtbot, rsa_token, demo_engine, config, officer_id) -> None:
    from app.services.desk import Desk
    from app.views.issue_actions import issue_selected

    with demo_engine.begin() as c:
        c.execute(text("INSERT INTO officer_offices (user_id, office_id) VALUES (:u, :o)"),
                  {"u": officer_id, "o": CHE})
        app_id = c.execute(text("SELECT id FROM applications WHERE office_id = :o AND kind = "
                                "'preferential' AND status = 'approved' ORDER BY id LIMIT 1"),
                           {"o": CHE}).scalar()
    desk = Desk(demo_engine, config)
    desk.sign_in(OFFICER_EMAIL)
    window = _window(qtbot, desk)
    assert window.select_application(app_id)
    dialog = issue_selected(window)
    qtbot.addWidget(dialog)
    shown: list[Any] = []
    dialog.prompter.dialog_shown.connect(shown.append)
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT):
        pass
    assert shown == []  # no PIN dialog
    assert "Office CHE's e-wallet holds ₹400.00" in dialog.message.text()
    assert "₹600.00" in dialog.message.text()
    with session_factory(demo_engine)() as s:
        assert s.get(Application, app_id).status == ApplicationStatus.APPROVED


def test_cancel_certificate_from_the_desk_window(  # type: ignore[no-untyped-def]
        qtbot, rsa_token, issuer, approved, demo_engine, config) -> None:
    from app.services.desk import Desk
    from app.views.issue_actions import cancel_selected

    [app_id] = approved("preferential")
    number = issuer.run_batch([app_id], lambda i, w: PIN).done[0][1].certificate_number
    with session_factory(demo_engine)() as s:
        before = s.scalar(select(OfficeWallet.balance).where(OfficeWallet.office_id == 1))
    desk = Desk(demo_engine, config)
    desk.sign_in(OFFICER_EMAIL)
    window = _window(qtbot, desk)
    assert window.cancel_certificate_action.text() == "&Cancel certificate…"
    assert window.select_application(app_id)
    # enabled by the workflow's CANCEL for the selected issued application
    qtbot.waitUntil(window.cancel_certificate_action.isEnabled, timeout=WAIT)
    asked: list[tuple[str, str, str]] = []
    window.ask_text = lambda title, prompt, label: asked.append((title, prompt, label)) or None
    assert cancel_selected(window) is None  # the officer closed the reason dialog
    row = window.selected_row()
    assert len(asked) == 1 and asked[0][0] == f"Cancel certificate — {row[Col.NUMBER]}"
    assert asked[0][2] == "Cancel certificate" and "refunded" in asked[0][1]
    with session_factory(demo_engine)() as s:  # nothing changed
        assert s.get(Application, app_id).status == ApplicationStatus.ISSUED
    window.ask_text = lambda title, prompt, label: "Issued against a wrong invoice."
    cancel_selected(window)
    qtbot.waitUntil(lambda: window.message.isVisible() and "cancelled" in window.message.text(),
                    timeout=WAIT)
    assert f"Certificate {number}" in window.message.text()
    assert "₹600.00 was refunded" in window.message.text()
    qtbot.waitUntil(lambda: str(window.model.row_at(window.model.row_of(app_id))[Col.STATUS])
                    .lower() == "cancelled", timeout=WAIT)
    with session_factory(demo_engine)() as s:
        after = s.scalar(select(OfficeWallet.balance).where(OfficeWallet.office_id == 1))
    assert Decimal(str(after)) == Decimal(str(before)) + Decimal("600.00")
    # cancelled: the action is disabled; called anyway, it says what to select
    qtbot.waitUntil(lambda: not window.cancel_certificate_action.isEnabled(), timeout=WAIT)
    cancel_selected(window)
    assert "Select one issued application" in window.message.text()


def test_a_synced_desk_cancels_and_its_copy_shows_it(  # type: ignore[no-untyped-def]
        rsa_token, issuer, approved, demo_engine, tmp_path: Path) -> None:
    from app.config import load_config
    from app.services.central import SqlCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    [app_id] = approved("non_preferential")
    issuer.run_batch([app_id], lambda i, w: PIN)
    config = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config)))
    desk.sign_in(OFFICER_EMAIL)
    assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "issued"
    cancelled = desk.issuer().cancel_certificate(app_id, "Shipment cancelled by the exporter.")
    assert cancelled.refund == Decimal("200.00")
    assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "cancelled"
    detail = dict(item for _title, items in desk.detail(app_id).sections for item in items)
    assert detail["Cancelled because"] == "Shipment cancelled by the exporter."


def test_the_admin_wallet_tab(qtbot, demo_engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.admin import AgencyAdmin
    from app.views.admin_window import AdminWindow

    admin = AgencyAdmin.for_email(demo_engine, "admin@igcc.org.in")
    window = AdminWindow(admin, "embedded demo")
    qtbot.addWidget(window)
    tab = window.wallet_tab
    with qtbot.waitSignals([tab.loaded, tab.statement_loaded], timeout=WAIT):
        window.show()
    assert window.tabs.tabText(AdminWindow.WALLET) == "&E-wallets"
    rows = [(b.code, str(b.balance)) for b in tab.balance_model.rows]
    assert rows[0] == ("CHE", "400.00") and [r[0] for r in rows] == ["CHE", "DEL", "MUM"]
    assert tab.balance_model.index(0, 3).data() == "₹400.00"
    assert tab.statement is not None and tab.statement.office_code == "CHE"
    assert tab.statement_model.index(0, 5).data() == "₹400.00"  # newest first: the balance
    assert "closing balance ₹400.00" in tab.totals.text()

    tab.ask_top_up = lambda office: ("1500.00", "PAYU/2026/55501")
    with qtbot.waitSignals([tab.changed, tab.loaded, tab.statement_loaded], timeout=WAIT):
        tab.top_up_button.click()
    assert "PAYU/2026/55501 credited to CHE; the e-wallet holds ₹1,900.00" in tab.message.text()
    assert tab.balance_model.index(0, 3).data() == "₹1,900.00"
    first = [tab.statement_model.index(0, c).data() for c in range(6)]
    assert first[1:] == ["Top-up", "+₹1,500.00", "", "PAYU/2026/55501", "₹1,900.00"]

    tab.top_up_button.click()  # the same reference again
    qtbot.waitUntil(lambda: "already credited" in tab.message.text(), timeout=WAIT)
    assert tab.balance_model.index(0, 3).data() == "₹1,900.00"

    tab.limit_dates.setChecked(True)  # a range without lines: opening = closing
    tab.date_from.setDate(tab.date_from.date().addYears(-10))
    tab.date_to.setDate(tab.date_from.date().addDays(1))
    qtbot.waitUntil(lambda: tab.statement is not None and not tab.statement.lines,
                    timeout=WAIT)
    assert "0 line(s)" in tab.totals.text()
