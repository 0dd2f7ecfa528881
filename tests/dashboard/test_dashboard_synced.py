"""The dashboard on a desk synced with the PostgreSQL central store through the officer's
own login, and on a desk whose central store is the central service (PostgreSQL behind
it): the figures the view shows, read from the desk's synced copy, equal counts computed
with SQL on the central store through the officer's own login (row-level security: their
offices only); trade events an administrator adds reach the officers' dashboards; an
officer's plain SQL or raw HTTP write of a trade event is refused with one sentence."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from app.config import Config, load_config
from app.services.admin import AgencyAdmin
from app.services.central import SqlCentral
from app.services.central_http import HttpCentral
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.services.trade_events import TradeEventBook, TradeEventRefused, check_event
from app.store.local import LocalStore
from tests.dashboard.support import assert_view_shows, expected
from tests.hub.conftest import PASSWORD, set_password
from tests.store.conftest import CentralDb, officer_emails

ADMIN = "admin@igcc.org.in"
WAIT = 20_000
REFUSAL = "Only an administrator of the agency adds, changes or removes its trade events"


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _view(qtbot: Any, loader: Any) -> Any:
    from app.views.dashboard import DashboardView

    view = DashboardView(loader)
    qtbot.addWidget(view)
    view.resize(1440, 900)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.show()
    return view


def _user_id(central: CentralDb, email: str) -> int:
    return int(central.scalar("SELECT id FROM users WHERE email = :e", e=email))  # type: ignore[arg-type]


def _offices(central: CentralDb, user_id: int) -> list[int]:
    with central.owner_engine().connect() as c:
        return list(c.execute(text("SELECT office_id FROM officer_offices WHERE user_id = :u"),
                              {"u": user_id}).scalars())


def _psql(central: CentralDb, email: str) -> psycopg.Connection:
    url = central.login_url(email).replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def test_on_a_desk_synced_with_postgresql_through_the_officers_login(
        qtbot, central: CentralDb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    email = officer_emails(central)["MUM"][0]
    officer_id = _user_id(central, email)
    admin_id = _user_id(central, ADMIN)
    start = dt.date.today() + dt.timedelta(days=5)
    # the administrator announces an event through their own login (the guard lets them)
    TradeEventBook(central.engine_for(ADMIN), admin_id).add(
        check_event("India International Trade Fair", start, start + dt.timedelta(days=13),
                    "Bharat Mandapam, New Delhi"))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = Config(data_dir=home, central_url=central.login_url(email))
    local = LocalStore(config.local_store_path)
    desk = LocalDesk(local, config, SyncService(
        local, SqlCentral(central.engine_for(email), config), email=email))
    desk.sign_in(email)
    assert desk.sync.sync_now().online
    view = _view(qtbot, desk.dashboard)
    offices = _offices(central, officer_id)
    # the same figures, counted on the central store through the officer's own login
    want = expected(central.engine_for(email), offices, officer_id, view.dashboard.as_of)
    assert sum(want.counts.values()) > 0
    assert_view_shows(view, want)
    assert [o.id for o in view.dashboard.offices] == sorted(
        offices, key=lambda i: next(o.code for o in view.dashboard.offices if o.id == i))
    assert view.events_table.item(0, 1).text() == "India International Trade Fair"
    # the officer's copy holds their offices' applications only (row-level security)
    with local.engine.connect() as c:
        held = set(c.execute(text("SELECT DISTINCT office_id FROM applications")).scalars())
    assert held <= set(offices)
    # and the administrator's dashboard, through their own login, every office + wallets
    admin_view = _view(qtbot, AgencyAdmin(central.engine_for(ADMIN), admin_id).dashboard)
    with central.owner_engine().connect() as c:
        every = list(c.execute(text("SELECT id FROM offices")).scalars())
    admin_want = expected(central.engine_for(ADMIN), every, admin_id, admin_view.dashboard.as_of)
    assert_view_shows(admin_view, admin_want)
    from app.services.wallet import rupees

    assert {admin_view.wallet_table.item(r, 0).text(): admin_view.wallet_table.item(r, 1).text()
            for r in range(admin_view.wallet_table.rowCount())} == {
        code: rupees(b) for code, b in admin_want.wallets.items()}


def test_an_officers_plain_sql_cannot_write_trade_events(central: CentralDb) -> None:
    email = officer_emails(central)["MUM"][0]
    admin_id = _user_id(central, ADMIN)
    event_id = TradeEventBook(central.engine_for(ADMIN), admin_id).add(
        check_event("Gulfood", dt.date(2027, 2, 17), dt.date(2027, 2, 21), "Dubai")).id
    agency = central.scalar("SELECT agency_id FROM users WHERE email = :e", e=email)
    with _psql(central, email) as conn:
        assert conn.execute("SELECT count(*) FROM trade_events").fetchone() == (1,)  # reads
        for sql, params in (
            ("INSERT INTO trade_events (agency_id, title, starts_on, ends_on, place, note, "
             "updated_at) VALUES (%s, 'Mine', '2027-01-01', '2027-01-02', '', '', now())",
             (agency,)),
            ("UPDATE trade_events SET title = 'Changed' WHERE id = %s", (event_id,)),
            ("DELETE FROM trade_events WHERE id = %s", (event_id,)),
        ):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(sql, params)
            assert refused.value.sqlstate == "ODREF"
            assert REFUSAL in str(refused.value.diag.message_primary)
        # the overdue limit is the administrator's too: nothing changes
        conn.execute("UPDATE offices SET overdue_limit_hours = 1 WHERE code = 'MUM'")
    assert central.scalar("SELECT overdue_limit_hours FROM offices WHERE code = 'MUM'") == 48
    assert central.scalar("SELECT title FROM trade_events WHERE id = :i", i=event_id) == "Gulfood"
    # the administrator's own plain SQL meets the same rules as the desk
    with _psql(central, ADMIN) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("INSERT INTO trade_events (agency_id, title, starts_on, ends_on, place, "
                     "note, updated_at) VALUES (%s, '  ', '2027-01-05', '2027-01-01', '', '', "
                     "now())", (agency,))
    assert refused.value.sqlstate == "ODREF" and "title" in str(refused.value)
    with _psql(central, ADMIN) as conn:
        conn.execute("UPDATE trade_events SET ends_on = '2027-02-22' WHERE id = %s", (event_id,))
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("UPDATE trade_events SET ends_on = '2027-02-01' WHERE id = %s",
                         (event_id,))
        assert refused.value.sqlstate == "ODREF" and "before it starts" in str(refused.value)
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("UPDATE offices SET overdue_limit_hours = 0 WHERE code = 'MUM'")
        assert refused.value.sqlstate == "23514"  # the CHECK: 1 to 720 hours
    # the desk's book through the officer's login says the store's sentence
    with pytest.raises(TradeEventRefused, match=REFUSAL):
        TradeEventBook(central.engine_for(email), _user_id(central, email)).remove(event_id)


def test_on_a_desk_whose_central_store_is_the_service(
        qtbot, tmp_path: Path, pg_hub, serve) -> None:  # type: ignore[no-untyped-def]
    central: CentralDb = pg_hub.extras["central"]
    owner = central.owner_engine()
    email = officer_emails(central)["DEL"][0]
    officer_id = set_password(owner, email)
    admin_id = set_password(owner, ADMIN)
    server = serve(pg_hub)

    def link() -> HttpCentral:
        return HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)

    # the administrator announces an event through the service
    admin_desk = LocalDesk(LocalStore(tmp_path / "admin.sqlite"), load_config(),
                           SyncService(LocalStore(tmp_path / "admin.sqlite"), link()))
    admin_desk.sign_in(ADMIN)
    start = dt.date.today() + dt.timedelta(days=2)
    added = admin_desk.trade_events().add(check_event("Arab Health", start, start,
                                                      "Dubai", "Medical devices"))
    assert added.id and [e.title for e in admin_desk.trade_events().list()] == ["Arab Health"]
    # an officer's desk through the service: its dashboard from its synced copy
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, load_config(), SyncService(local, link()))
    desk.sign_in(email)
    assert desk.sync.sync_now().online
    view = _view(qtbot, desk.dashboard)
    offices = _offices(central, officer_id)
    want = expected(central.engine_for(email), offices, officer_id, view.dashboard.as_of)
    assert_view_shows(view, want)
    assert [view.events_table.item(0, c).text() for c in range(3)] == [
        f"{start:%d %b %Y}", "Arab Health\nMedical devices", "Dubai"]
    # the officer may read the events but not write them: through the desk ...
    with pytest.raises(TradeEventRefused, match=REFUSAL):
        desk.trade_events().add(check_event("Mine", start, start))
    # ... nor with raw HTTP under their own session
    tls = ssl.create_default_context(cafile=str(server.ca))
    with httpx.Client(base_url=server.url, verify=tls) as http:
        token = http.post("/desk/v1/sign-in",
                          json={"email": email, "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for path, body in (("/desk/v1/trade-events", {"title": "Mine",
                                                      "starts_on": "2027-01-01"}),
                           (f"/desk/v1/trade-events/{added.id}", {"title": "Changed",
                                                                  "starts_on": "2027-01-01"}),
                           (f"/desk/v1/trade-events/{added.id}/remove", {})):
            answer = http.post(path, json=body, headers=auth)
            assert answer.status_code == 403, answer.text
            assert REFUSAL in answer.json()["error"]
        bad = http.post("/desk/v1/trade-events", headers=auth,
                        json={"title": "", "starts_on": "2027-01-01"})
        assert bad.status_code == 422 and bad.json()["error"] == "A trade event needs a title."
        listed = http.get("/desk/v1/trade-events", headers=auth).json()["events"]
        assert [e["title"] for e in listed] == ["Arab Health"]  # officers read
    assert central.scalar("SELECT count(*) FROM trade_events") == 1
    assert central.scalar("SELECT title FROM trade_events") == "Arab Health"
    del admin_id
