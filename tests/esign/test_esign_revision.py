"""Revision 0014_esign_gateway on both engines: the gateway's transactions and
``certificates.signed_with`` ('dsc' for every certificate issued before); on PostgreSQL the
seven-argument ``od_record_issue`` and the six-argument one made its wrapper, put back as
0004 made it on the way down; down and up again leave the store as it was."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from app.store.central import sqlite_engine
from app.store.schema import alembic_config, current_revision, upgrade
from tests.support.postgres import PostgresServer

REVISION = "0014_esign_gateway"
BEFORE = "0013_legacy_migration"
RECORD_6 = "'od_record_issue(text, integer, integer, bytea, text, text)'::regprocedure"


def _shape(engine: Engine) -> tuple[bool, bool, int]:
    with engine.connect() as connection:
        inspector = inspect(connection)
        has_table = "esign_transactions" in inspector.get_table_names()
        has_column = any(c["name"] == "signed_with" for c in inspector.get_columns("certificates"))
        if engine.dialect.name == "postgresql":
            triggers = connection.execute(text(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'certificates'::regclass "
                "AND NOT tgisinternal")).scalar()
        else:
            triggers = connection.execute(text(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'certificates'")).scalar()
    return has_table, has_column, int(triggers or 0)


def _definition(engine: Engine) -> str | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return str(connection.execute(text(f"SELECT pg_get_functiondef({RECORD_6})")).scalar())


def _round_trip(engine: Engine) -> None:
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), BEFORE)
        connection.commit()
    _table, _column, triggers = _shape(engine)
    before = _definition(engine)
    assert _shape(engine) == (False, False, triggers)
    upgrade(engine, REVISION)
    assert _shape(engine) == (True, True, triggers)
    if before is not None:
        assert _definition(engine) != before
        assert "NULL::text" in str(_definition(engine))
    with engine.connect() as connection:
        assert current_revision(connection) == REVISION
        command.downgrade(alembic_config(connection), BEFORE)
        connection.commit()
    assert _shape(engine) == (False, False, triggers)
    assert _definition(engine) == before
    upgrade(engine)
    assert _shape(engine) == (True, True, triggers)


def test_the_revision_goes_up_and_down_on_sqlite(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.sqlite")
    try:
        _round_trip(engine)
    finally:
        engine.dispose()


def test_the_revision_goes_up_and_down_on_postgresql(pg_server: PostgresServer) -> None:
    pg_server.create_database("esign_gateway")
    engine = create_engine(pg_server.url("esign_gateway"))
    try:
        _round_trip(engine)
        with engine.connect() as connection:
            functions = connection.execute(text(
                "SELECT count(*) FROM pg_proc WHERE proname IN ('od_record_issue', "
                "'od_esign_signature')")).scalar()
            desk_grants = connection.execute(text(
                "SELECT count(*) FROM information_schema.role_table_grants WHERE "
                "table_name = 'esign_transactions' AND grantee IN ('origin_desk_officer', "
                "'origin_desk_admin')")).scalar()
        assert (functions, desk_grants) == (3, 0)
    finally:
        engine.dispose()
        pg_server.drop_database("esign_gateway")


def test_certificates_issued_before_say_dsc(demo_engine: Engine) -> None:
    with demo_engine.connect() as connection:
        ways = set(connection.execute(text("SELECT signed_with FROM certificates")).scalars())
    assert ways == {"dsc"}
