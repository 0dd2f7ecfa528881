"""Revision 0012_officers_day on both engines: offices get an overdue limit of 48 hours,
trade events a table (row-level security and a guard on PostgreSQL), the dashboard its
indexes; down and up again leave the store as it was."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from app.store.central import sqlite_engine
from app.store.schema import alembic_config, current_revision, upgrade
from tests.support.postgres import PostgresServer

REVISION = "0012_officers_day"
BEFORE = "0011_legacy_rule"
INDEXES = {"ix_certificates_issued_at": "certificates",
           "ix_applications_office_waiting": "applications",
           "ix_audit_events_actor_at": "audit_events"}


def _shape(engine: Engine) -> tuple[bool, bool, set[str]]:
    with engine.connect() as connection:
        inspector = inspect(connection)
        has_column = any(c["name"] == "overdue_limit_hours"
                         for c in inspector.get_columns("offices"))
        has_table = "trade_events" in inspector.get_table_names()
        indexes = {i["name"] for table in set(INDEXES.values())
                   for i in inspector.get_indexes(table)} & set(INDEXES)
    return has_column, has_table, indexes


def _round_trip(engine: Engine) -> None:
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), BEFORE)
        connection.commit()
    assert _shape(engine) == (False, False, set())
    upgrade(engine, REVISION)
    assert _shape(engine) == (True, True, set(INDEXES))
    with engine.connect() as connection:
        assert current_revision(connection) == REVISION
        limits = set(connection.execute(text("SELECT overdue_limit_hours FROM offices")).scalars())
        assert limits <= {48}
        command.downgrade(alembic_config(connection), BEFORE)
        connection.commit()
    assert _shape(engine) == (False, False, set())
    upgrade(engine)
    assert _shape(engine) == (True, True, set(INDEXES))


def test_the_revision_goes_up_and_down_on_sqlite(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.sqlite")
    try:
        _round_trip(engine)
    finally:
        engine.dispose()


def test_the_revision_goes_up_and_down_on_postgresql(pg_server: PostgresServer) -> None:
    pg_server.create_database("officers_day")
    engine = create_engine(pg_server.url("officers_day"))
    try:
        _round_trip(engine)
        with engine.connect() as connection:
            guard = connection.execute(text(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'trade_events_a_guard'")).scalar()
            check = connection.execute(text(
                "SELECT count(*) FROM pg_constraint "
                "WHERE conname = 'ck_offices_overdue_limit_hours_range'")).scalar()
        assert (guard, check) == (1, 1)
    finally:
        engine.dispose()
        pg_server.drop_database("officers_day")


def test_a_desk_syncs_its_dashboard_from_a_store_not_yet_at_0012(demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rolling upgrade: a central store still at 0011 has no overdue limit and no trade
    events; a desk of this release pulls without them (its local default, 48, stands in)
    and its dashboard works."""
    from app.config import load_config
    from app.services.central import SqlCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    with demo_engine.connect() as connection:
        command.downgrade(alembic_config(connection), BEFORE)
        connection.commit()
    config = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config)))
    desk.sign_in("anita.deshpande@igcc.org.in")
    assert desk.sync.sync_now().online
    assert {o.code: o.overdue_limit_hours for o in desk.my_offices()} == {"MUM": 48}
    dashboard = desk.dashboard()
    assert dashboard.trade_events == () and dashboard.total > 0
    assert [o.limit_hours for o in dashboard.offices] == [48]
