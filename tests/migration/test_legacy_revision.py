"""Revision 0013_legacy_migration on both engines: the legacy_certificates table; on
PostgreSQL its guard, od_certificate_details, and od_is_legacy_certificate /
od_certificate_status replaced; down puts back 0011's and 0003's bodies, up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from app.store.central import sqlite_engine
from app.store.schema import alembic_config, current_revision, upgrade
from tests.support.postgres import PostgresServer

REVISION = "0013_legacy_migration"
BEFORE = "0012_officers_day"


def _shape(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        table = "legacy_certificates" in inspect(connection).get_table_names()
        if engine.dialect.name != "postgresql":
            return (table,)
        functions = connection.execute(text(
            "SELECT p.proname, p.provolatile, p.prosecdef, "
            "position('legacy_certificates' in p.prosrc) > 0 FROM pg_proc p "
            "WHERE p.proname IN ('od_is_legacy_certificate', 'od_certificate_status', "
            "'od_certificate_details', 'od_legacy_certificates_guard') ORDER BY p.proname"
        )).all()
    return (table, *(tuple(f) for f in functions))


def _round_trip(engine: Engine) -> tuple[tuple[object, ...], tuple[object, ...]]:
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), BEFORE)
        connection.commit()
    before = _shape(engine)
    upgrade(engine, REVISION)
    after = _shape(engine)
    with engine.connect() as connection:
        assert current_revision(connection) == REVISION
        command.downgrade(alembic_config(connection), BEFORE)
        connection.commit()
    assert _shape(engine) == before
    upgrade(engine, REVISION)
    assert _shape(engine) == after
    upgrade(engine)
    return before, after


def test_the_revision_goes_up_and_down_on_sqlite(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.sqlite")
    try:
        before, after = _round_trip(engine)
        assert (before, after) == ((False,), (True,))
    finally:
        engine.dispose()


def test_the_revision_goes_up_and_down_on_postgresql(pg_server: PostgresServer) -> None:
    pg_server.create_database("legacy_revision")
    engine = create_engine(pg_server.url("legacy_revision"))
    try:
        before, after = _round_trip(engine)
        assert before == (False, ("od_certificate_status", "s", True, False),
                          ("od_is_legacy_certificate", "i", False, False))
        assert after == (True, ("od_certificate_details", "s", True, True),
                         ("od_certificate_status", "s", True, True),
                         ("od_is_legacy_certificate", "s", True, True),
                         ("od_legacy_certificates_guard", "v", False, False))
    finally:
        engine.dispose()
        pg_server.drop_database("legacy_revision")
