"""The open query, the returned application waiting on the exporter and the approvals of
another officer (asked before issuing) on a desk synced with the PostgreSQL central store
through the officer's own login, and on a desk whose central store is the central service
(its pull carries the applications' audit events and the users)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine, text

from app.config import Config, load_config
from app.models.enums import Action
from app.services.central import SqlCentral
from app.services.central_http import HttpCentral
from app.services.offline_desk import LocalDesk
from app.services.queue_rows import local_time
from app.services.sync import SyncService
from app.store.local import LocalStore
from tests.hub.conftest import PASSWORD, demo_hub, serve, set_password  # noqa: F401
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401

ANITA = "anita.deshpande@igcc.org.in"


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


QUERY = "Please upload the signed commercial invoice; the copy attached is unsigned."


def _submitted(engine: Engine, n: int) -> list[int]:
    with engine.connect() as c:
        return list(c.execute(text(
            "SELECT a.id FROM applications a JOIN offices o ON o.id = a.office_id "
            "WHERE o.code = 'MUM' AND a.status = 'submitted' AND a.kind = 'non_preferential' "
            "ORDER BY a.id LIMIT :n"), {"n": n}).scalars())


def _check(desk: LocalDesk, engine: Engine, qtbot: Any) -> None:
    """Return one application with a query and approve another at this desk (through its
    central link), then read them back from the desk's synced copy."""
    from app.views.queue_model import OfficeQueueModel

    returned, mine = _submitted(engine, 2)
    desk.act(returned, Action.CLAIM)
    desk.act(returned, Action.RETURN, text=QUERY)
    desk.act(mine, Action.CLAIM)
    desk.act(mine, Action.APPROVE)
    assert desk.sync.sync_now().online
    with engine.connect() as c:
        asked_at = c.execute(text(
            "SELECT at FROM audit_events WHERE entity_type = 'application' AND entity_id = :i "
            "AND action = 'application.return'"), {"i": returned}).scalar_one()
        approvals = c.execute(text(
            "SELECT a.id, u.full_name FROM applications a "
            "JOIN offices o ON o.id = a.office_id JOIN audit_events e ON e.entity_id = a.id "
            "AND e.entity_type = 'application' AND e.action = 'application.approve' "
            "JOIN users u ON u.id = e.actor_id WHERE o.code = 'MUM' AND a.status = 'approved' "
            "AND u.email <> :me ORDER BY a.id LIMIT 3"), {"me": ANITA}).all()
    assert approvals, "no MUM application approved by another officer in this store"
    detail = desk.detail(returned)
    title, rows = detail.sections[0]
    assert title == "Open query to the exporter"
    fields = dict(rows)
    assert fields["Query"] == QUERY
    assert fields["Asked by"] == "Anita Deshpande"
    assert fields["Asked on"] == local_time(asked_at)
    assert dict(detail.sections[1][1])["Returned to the exporter on"].startswith(
        local_time(asked_at))
    model = OfficeQueueModel(waiting_limit_hours=0)
    model.set_rows([desk.queue_row(returned)])
    index = model.index(0, 2)
    assert model.data(index) == "exporter"
    assert model.data(index, Qt.ItemDataRole.BackgroundRole) is None  # never overdue
    others = dict(approvals)
    found = desk.approvals_by_others([mine, *others])
    assert {a.application_id: a.approver for a in found} == others


def test_on_a_desk_synced_with_postgresql_through_the_officers_login(
        qtbot, central: CentralDb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = Config(data_dir=home, central_url=central.login_url(ANITA))
    local = LocalStore(config.local_store_path)
    desk = LocalDesk(local, config, SyncService(
        local, SqlCentral(central.engine_for(ANITA), config), email=ANITA))
    desk.sign_in(ANITA)
    assert desk.sync.sync_now().online
    _check(desk, central.owner_engine(), qtbot)


def test_on_a_desk_whose_central_store_is_the_service(
        qtbot, tmp_path, demo_hub, serve, demo_engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    set_password(demo_engine, ANITA)
    server = serve(demo_hub)
    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)
    desk = LocalDesk(local, load_config(), SyncService(local, link))
    desk.sign_in(ANITA)
    assert desk.sync.sync_now().online
    _check(desk, demo_engine, qtbot)
