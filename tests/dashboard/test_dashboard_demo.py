"""The dashboard on the embedded demo (the SQLite central store): the figures the view
shows equal counts computed directly with SQL on the store, for an officer (their offices)
and for the administrator (every office, the e-wallet balances); a double-click or Enter
on an oldest waiting application opens it in the queue; trade events added, changed and
removed by the administrator (window, service and CLI), refused for an officer; the
per-office overdue limit in the queue and its validation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine, text

from app.config import load_config
from app.services.admin import AgencyAdmin
from app.services.desk import Desk
from tests.dashboard.support import assert_view_shows, expected

OFFICER = "anita.deshpande@igcc.org.in"  # MUM
ADMIN = "admin@igcc.org.in"
WAIT = 15_000


def _desk(engine: Engine, email: str) -> Desk:
    desk = Desk(engine, load_config())
    desk.sign_in(email)
    return desk


def _view(qtbot: Any, loader: Any) -> Any:
    from app.views.dashboard import DashboardView

    view = DashboardView(loader)
    qtbot.addWidget(view)
    view.resize(1440, 900)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.show()  # shown: reads the figures on a worker
    return view


def _office_ids(engine: Engine, user_id: int | None) -> list[int]:
    with engine.connect() as c:
        if user_id is None:
            return list(c.execute(text("SELECT id FROM offices")).scalars())
        return list(c.execute(text("SELECT office_id FROM officer_offices WHERE user_id = :u"),
                              {"u": user_id}).scalars())


def test_an_officers_dashboard_shows_what_the_store_holds(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    desk = _desk(demo_engine, OFFICER)
    assert desk.user is not None
    view = _view(qtbot, desk.dashboard)
    dashboard = view.dashboard
    want = expected(demo_engine, _office_ids(demo_engine, desk.user.id), desk.user.id,
                    dashboard.as_of)
    assert [o.code for o in dashboard.offices] == ["MUM"]
    assert_view_shows(view, want)
    assert not view.wallet_box.isVisibleTo(view)  # balances are the administrator's
    assert len(view.chart_values()) == 30
    # the oldest waiting: the store's oldest, who/what they wait on
    with demo_engine.connect() as c:
        oldest = list(c.execute(text(
            "SELECT number FROM applications WHERE office_id IN (SELECT office_id FROM "
            "officer_offices WHERE user_id = :u) AND status IN ('submitted', 'resubmitted', "
            "'under_scrutiny', 'approved') ORDER BY waiting_since, id LIMIT 12"),
            {"u": desk.user.id}).scalars())
    shown = [view.oldest_table.item(r, 0).text() for r in range(view.oldest_table.rowCount())]
    assert shown == oldest
    assert all(view.oldest_table.item(r, 3).text() for r in range(len(shown)))
    from app.models.agreements import trade_agreements

    assert view.agreements_table.rowCount() == len(trade_agreements())


def test_the_administrators_dashboard_covers_every_office_and_the_wallets(
        qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    admin = AgencyAdmin.for_email(demo_engine, ADMIN)
    view = _view(qtbot, admin.dashboard)
    want = expected(demo_engine, _office_ids(demo_engine, None), admin.admin_id,
                    view.dashboard.as_of)
    assert_view_shows(view, want)
    assert view.wallet_box.isVisibleTo(view)
    from app.services.wallet import rupees

    shown = {view.wallet_table.item(r, 0).text(): view.wallet_table.item(r, 1).text()
             for r in range(view.wallet_table.rowCount())}
    assert shown == {code: rupees(balance) for code, balance in want.wallets.items()}
    assert set(shown) == {"CHE", "DEL", "MUM"}


def test_the_figures_follow_a_decision_and_the_chart_counts_per_india_day(
        qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """An approval by the officer counts in their work today; a certificate issued just
    after India's midnight (18:30 UTC) counts on the new India day."""
    from app.models.enums import Action
    from app.services.dashboard import india_midnight, load_dashboard

    desk = _desk(demo_engine, OFFICER)
    assert desk.user is not None
    with demo_engine.connect() as c:
        app_id = c.execute(text(
            "SELECT id FROM applications WHERE status = 'submitted' AND office_id = "
            "(SELECT id FROM offices WHERE code = 'MUM') ORDER BY id LIMIT 1")).scalar_one()
    before = load_dashboard(demo_engine, desk.user.id)
    desk.act(app_id, Action.CLAIM)
    desk.act(app_id, Action.APPROVE)
    after = load_dashboard(demo_engine, desk.user.id)
    assert after.own_work.approved == before.own_work.approved + 1
    assert after.offices[0].count("approved") == before.offices[0].count("approved") + 1
    # a certificate moved to 00:01 India time today and to 23:59 India time yesterday
    today = after.today
    with demo_engine.begin() as c:
        numbers = list(c.execute(text("SELECT number FROM certificates WHERE office_id = "
                                      "(SELECT id FROM offices WHERE code = 'MUM') "
                                      "ORDER BY number LIMIT 2")).scalars())
        for number, moment in zip(numbers, (india_midnight(today) + dt.timedelta(minutes=1),
                                            india_midnight(today) - dt.timedelta(minutes=1)),
                                  strict=True):
            c.execute(text("UPDATE certificates SET issued_at = :t WHERE number = :n"),
                      {"t": moment.replace(tzinfo=None).isoformat(sep=" "), "n": number})
    view = _view(qtbot, desk.dashboard)
    want = expected(demo_engine, _office_ids(demo_engine, desk.user.id), desk.user.id,
                    view.dashboard.as_of)
    assert_view_shows(view, want)
    assert want.per_day[-1] >= 1 and want.per_day[-2] >= 1


def test_enter_on_an_oldest_waiting_application_opens_it_in_the_queue(
        qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.queue_rows import Col
    from app.views.dashboard import show_dashboard_page
    from app.views.main_window import DeskWindow

    desk = _desk(demo_engine, OFFICER)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.resize(1440, 900)
    with qtbot.waitSignal(window.queue_loaded, timeout=WAIT):
        window.show()
        window.reload_queue()
    with qtbot.waitSignal(window.dashboard.loaded, timeout=WAIT):
        show_dashboard_page(window)
    assert window.pages.currentWidget() is window.dashboard
    table = window.dashboard.oldest_table
    table.setFocus()
    table.selectRow(1)
    number = table.item(1, 0).text()
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.pages.currentIndex() == 1, timeout=WAIT)
    row = window.selected_row()
    assert row is not None and row[Col.NUMBER] == number
    # Ctrl+1 comes back to the dashboard
    qtbot.keyClick(window.table, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.dashboard


def test_trade_events_are_the_administrators_to_write(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.trade_events import TradeEventRefused, check_event

    admin = AgencyAdmin.for_email(demo_engine, ADMIN)
    book = admin.trade_events()
    start = dt.date.today() + dt.timedelta(days=10)
    fair = book.add(check_event("Gulfood 2027", start, start + dt.timedelta(days=4),
                                "Dubai World Trade Centre", "Stall H2-14 for members"))
    book.add(check_event("Old fair", dt.date.today() - dt.timedelta(days=40),
                         dt.date.today() - dt.timedelta(days=38)))
    changed = book.update(fair.id, check_event("Gulfood 2027 (food and beverages)", start,
                                               start + dt.timedelta(days=4), "Dubai"))
    assert changed.title.endswith("beverages)")
    assert [e.title for e in book.list()][1] == "Gulfood 2027 (food and beverages)"
    desk = _desk(demo_engine, OFFICER)
    officer_book = desk.trade_events()
    with pytest.raises(TradeEventRefused, match="Only an administrator of the agency"):
        officer_book.add(check_event("Mine", start, start))
    with pytest.raises(TradeEventRefused, match="Only an administrator"):
        officer_book.remove(fair.id)
    assert [e.title for e in officer_book.list()][1].startswith("Gulfood")  # officers read
    view = _view(qtbot, desk.dashboard)
    titles = [view.events_table.item(r, 1).text() for r in range(view.events_table.rowCount())]
    assert titles == ["Gulfood 2027 (food and beverages)"]  # the past one is not listed
    assert view.events_table.item(0, 2).text() == "Dubai"
    book.remove(fair.id)
    with demo_engine.connect() as c:
        actions = list(c.execute(text("SELECT action FROM audit_events WHERE entity_type = "
                                      "'trade_event' ORDER BY id")).scalars())
    assert actions == ["trade_event.add", "trade_event.add", "trade_event.change",
                       "trade_event.remove"]


@pytest.mark.parametrize(("title", "first", "last", "problem"), [
    ("", "2027-01-10", "", "needs a title"),
    ("Fair", "10/01/2027", "", "is not a date"),
    ("Fair", "2027-01-10", "2027-01-09", "before the first"),
    ("Fair", "2027-01-10", "2027-05-10", "at most 60 days"),
    ("x" * 201, "2027-01-10", "", "at most 200"),
])
def test_a_bad_trade_event_is_refused_in_one_line_and_nothing_changes(
        demo_engine: Engine, title: str, first: str, last: str, problem: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    code = main(["admin", "--as", ADMIN, "trade-event", "add", "--title", title,
                 "--from", first, "--to", last])
    err = capsys.readouterr().err.strip()
    assert code != 0 and problem in err and len(err.splitlines()) == 1
    assert "Traceback" not in err
    with demo_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM trade_events")).scalar() == 0


def test_the_trade_event_commands(demo_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    start = dt.date.today() + dt.timedelta(days=3)
    assert main(["admin", "--as", ADMIN, "trade-event", "add", "--title", "IITF 2026",
                 "--from", start.isoformat(), "--to", (start + dt.timedelta(days=2)).isoformat(),
                 "--place", "Bharat Mandapam, New Delhi"]) == 0
    assert "Added trade event #1" in capsys.readouterr().out
    assert main(["admin", "--as", ADMIN, "trade-event", "list", "--json"]) == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    assert [(e["id"], e["title"], e["place"]) for e in listed] == [
        (1, "IITF 2026", "Bharat Mandapam, New Delhi")]
    assert main(["admin", "--as", OFFICER, "trade-event", "remove", "1"]) != 0
    assert main(["admin", "--as", ADMIN, "trade-event", "remove", "1"]) == 0
    assert "Removed trade event #1" in capsys.readouterr().out
    assert main(["admin", "--as", ADMIN, "trade-event", "list"]) == 0
    assert "No trade events" in capsys.readouterr().out


def test_the_administrators_trade_events_tab(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.trade_events import check_event
    from app.views.admin_window import AdminWindow

    admin = AgencyAdmin.for_email(demo_engine, ADMIN)
    window = AdminWindow(admin, "embedded demo")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.dashboard.loaded, timeout=WAIT):
        window.show()
    assert window.tabs.currentWidget() is window.dashboard  # the first screen
    tab = window.trade_events_tab
    window.tabs.setCurrentIndex(AdminWindow.TRADE_EVENTS)
    start = dt.date.today() + dt.timedelta(days=20)
    tab.ask_event = lambda _event: check_event("Arab Health", start, start, "Dubai")
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.add_button.click()
    assert tab.model.rows[0].title == "Arab Health"
    tab.table.selectRow(0)
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.remove_button.click()
    assert tab.model.rows == []


# --- the overdue limit, per office ----------------------------------------------------------

def test_the_queue_flags_overdue_by_each_offices_limit(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.queue_rows import Col, is_overdue, utcnow
    from app.views.queue_model import OfficeQueueModel

    desk = _desk(demo_engine, ADMIN)
    offices = desk.my_offices()
    limits = {o.code: o.overdue_limit_hours for o in offices}
    assert limits == {"CHE": 48, "DEL": 48, "MUM": 36}  # the demo's (revision 0012)
    rows = desk.queue(None)
    now = utcnow()
    flagged = {code: sum(1 for r in rows if r[Col.OFFICE] == code
                         and is_overdue(r, 24, now, limits)) for code in limits}
    want = expected(demo_engine, [o.id for o in offices], 1, now).overdue
    assert flagged == {code: want.get(code, 0) for code in limits}
    # a limit of 1 hour for MUM flags its waiting ones that wait longer than an hour
    model = OfficeQueueModel(24)
    model.set_rows(rows)
    model.set_office_limits(limits | {"MUM": 1})
    mum = [r for r in rows if r[Col.OFFICE] == "MUM" and r[Col.STATUS] in (
        "submitted", "resubmitted", "under_scrutiny", "approved")]
    assert all(model._overdue(r) == is_overdue(r, 1, model._now) for r in mum)
    returned = next(r for r in rows if r[Col.STATUS] == "returned")
    assert not is_overdue(returned, 1, now, {"MUM": 1, "DEL": 1, "CHE": 1})


def test_the_fresh_demo_flags_a_handful_not_all(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Seeded now, most waiting applications wait a few hours; a handful are overdue."""
    from app.services.dashboard import load_dashboard
    from app.store.demo import create_demo_store

    engine = create_demo_store(tmp_path / "demo.sqlite", applications=600)
    try:
        dashboard = load_dashboard(engine, 1)
        waiting, overdue = dashboard.waiting, dashboard.overdue
        assert waiting > 100
        assert 0 < overdue <= waiting * 0.06
        recent = sum(1 for o in dashboard.oldest_waiting if o.hours < 6)
        assert recent == 0  # the oldest twelve are the long waits
        with engine.connect() as c:
            hours = [(dashboard.as_of - dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC))
                     .total_seconds() / 3600 for s in c.execute(text(
                         "SELECT waiting_since FROM applications WHERE status IN "
                         "('submitted', 'under_scrutiny', 'approved')")).scalars()]
        assert sum(1 for h in hours if h <= 6) >= len(hours) * 0.6
        issued_days = sum(1 for d in dashboard.issued_per_day if d.issued)
        assert issued_days >= 20  # issued over the month, not all today
    finally:
        engine.dispose()


@pytest.mark.parametrize("limit", ["abc", "0", "721", "1.5", ""])
def test_a_bad_overdue_limit_is_refused_and_nothing_changes(demo_engine: Engine,
                                                            limit: str) -> None:
    from dataclasses import replace

    from app.services.admin import OfficeForm, OfficeFormError

    admin = AgencyAdmin.for_email(demo_engine, ADMIN)
    office = next(o for o in admin.offices() if o.code == "DEL")
    form = OfficeForm(code=office.code, name=office.name, place=office.place,
                      address=office.address, contact_email=office.contact_email,
                      contact_phone=office.contact_phone,
                      ewallet_enabled=office.ewallet_enabled, merchant_id=office.merchant_id)
    with pytest.raises(OfficeFormError) as refused:
        admin.edit_office(office.id, replace(form, overdue_limit_hours=limit))
    assert set(refused.value.errors) == {"overdue_limit_hours"}
    assert "whole number of hours from 1 to 720" in refused.value.errors["overdue_limit_hours"]
    assert admin.office(office.id).overdue_limit_hours == 48
    saved = admin.edit_office(office.id, replace(form, overdue_limit_hours=" 72 "))
    assert saved.overdue_limit_hours == 72
    assert Decimal(saved.overdue_limit_hours) == 72


def test_the_dashboard_reads_again_after_an_issue_batch_updates_the_queue(
        qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """An issue batch hands the window fresh rows (apply_queue_update): the dashboard on
    screen reads the figures again and shows the certificate issued today."""
    from app.views.dashboard import show_dashboard_page
    from app.views.main_window import DeskWindow, queue_update

    desk = _desk(demo_engine, OFFICER)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.resize(1440, 900)
    with qtbot.waitSignal(window.queue_loaded, timeout=WAIT):
        window.show()
        window.reload_queue()
    with qtbot.waitSignal(window.dashboard.loaded, timeout=WAIT):
        show_dashboard_page(window)
    before = window.dashboard.chart_values()[-1]
    with demo_engine.begin() as c:  # as the store records an issue now
        app_id = c.execute(text(
            "SELECT application_id FROM certificates WHERE office_id = (SELECT id FROM offices "
            "WHERE code = 'MUM') AND issued_at < :t ORDER BY id LIMIT 1"),
            {"t": "2026-11-01"}).scalar()
        app_id = app_id or c.execute(text(
            "SELECT min(application_id) FROM certificates WHERE office_id = "
            "(SELECT id FROM offices WHERE code = 'MUM')")).scalar_one()
        c.execute(text("UPDATE certificates SET issued_at = :t WHERE application_id = :a"),
                  {"t": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
                   "a": app_id})
    from app.views.tasks import run_task

    with qtbot.waitSignal(window.dashboard.loaded, timeout=WAIT):  # as issue_actions does
        run_task(lambda: queue_update(desk, [app_id]), window.apply_queue_update, owner=window)
    want = expected(demo_engine, _office_ids(demo_engine, desk.user.id), desk.user.id,  # type: ignore[union-attr]
                    window.dashboard.dashboard.as_of)
    assert window.dashboard.chart_values() == want.per_day
    assert want.per_day[-1] == before + 1  # the certificate moved into today


def test_the_overdue_limit_in_the_office_dialog(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """Typed in the Offices tab's dialog: a wrong value is named under the field and not
    saved; a right one is saved, audited, and the desk's queue flags by it."""
    from app.views.admin_offices import OfficesTab
    from app.views.tasks import wait_for_tasks

    admin = AgencyAdmin.for_email(demo_engine, ADMIN)
    tab = OfficesTab(admin)
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.reload()
    row = next(i for i, o in enumerate(tab.model.rows) if o.code == "DEL")
    dialog = tab.edit_office(row)
    assert dialog is not None and dialog.overdue_limit.text() == "48"
    dialog.overdue_limit.clear()
    qtbot.keyClicks(dialog.overdue_limit, "2 days")
    assert "whole number of hours from 1 to 720" in dialog.field_error("overdue_limit_hours")
    with qtbot.waitSignal(dialog.save_failed, timeout=WAIT):
        dialog.save_button.click()
    with demo_engine.connect() as c:
        assert c.execute(text("SELECT overdue_limit_hours FROM offices WHERE code = 'DEL'")
                         ).scalar() == 48
    dialog.overdue_limit.clear()
    qtbot.keyClicks(dialog.overdue_limit, "24")
    assert dialog.field_error("overdue_limit_hours") == ""
    with qtbot.waitSignals([dialog.saved, tab.changed], timeout=WAIT):
        dialog.save_button.click()
    wait_for_tasks()
    with demo_engine.connect() as c:
        assert c.execute(text("SELECT overdue_limit_hours FROM offices WHERE code = 'DEL'")
                         ).scalar() == 24
        event = c.execute(text("SELECT before, after FROM audit_events WHERE action = "
                               "'office.edit' ORDER BY id DESC LIMIT 1")).one()
    assert '"overdue_limit_hours": 48' in str(event[0]).replace("'", '"')
    assert {o.code: o.overdue_limit_hours for o in _desk(demo_engine, ADMIN).my_offices()}[
        "DEL"] == 24
