"""The schema under Alembic: up from empty on both engines, and the revision check."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app.cli import main
from app.store.central import sqlite_engine
from app.store.schema import (
    SchemaTooNewError,
    SchemaTooOldError,
    check_schema,
    current_revision,
    head_revision,
    upgrade,
)
from tests.support.postgres import PostgresServer

DOMAIN_TABLES = {"agencies", "offices", "users", "officer_offices", "exporters", "applications",
                 "goods_lines", "cost_sheets", "certificates", "certificate_numbers",
                 "audit_events", "applied_operations", "certificate_number_counters",
                 "db_logins"}


def test_upgrade_from_empty_on_sqlite(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.sqlite")
    assert upgrade(engine) == head_revision()
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= DOMAIN_TABLES
        assert check_schema(connection) == head_revision()
    assert upgrade(engine) == head_revision()  # again: nothing to do
    engine.dispose()


def test_upgrade_from_empty_on_postgresql(pg_server: PostgresServer) -> None:
    pg_server.create_database("empty_upgrade")
    engine = create_engine(pg_server.url("empty_upgrade"))
    try:
        assert upgrade(engine) == head_revision()
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) >= DOMAIN_TABLES
            policies = connection.execute(text("SELECT count(*) FROM pg_policies")).scalar()
            rls = connection.execute(text(
                "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relname = 'applications'"
            )).scalar()
        assert policies and policies > 10
        assert rls == 1
    finally:
        engine.dispose()
        pg_server.drop_database("empty_upgrade")


def test_a_store_from_a_newer_release_says_update(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.sqlite")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    with engine.connect() as connection, pytest.raises(SchemaTooNewError, match="Update Origin Desk"):
        check_schema(connection)
    with pytest.raises(SchemaTooNewError, match="Update Origin Desk"):
        upgrade(engine)
    engine.dispose()


def test_an_empty_or_old_store_asks_for_an_upgrade(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.sqlite")
    with engine.connect() as connection, pytest.raises(SchemaTooOldError, match="db upgrade"):
        check_schema(connection)
    upgrade(engine, "0001_initial")
    with engine.connect() as connection:
        assert current_revision(connection) == "0001_initial"
        with pytest.raises(SchemaTooOldError, match="db upgrade"):
            check_schema(connection)
    engine.dispose()


def test_the_demo_store_comes_from_the_migrations(demo_engine) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        top = connection.execute(text("SELECT max(change_seq) FROM applications")).scalar()
        counter = connection.execute(text("SELECT value FROM change_counter")).scalar()
        # the seed numbered 2,000; later revisions' data changes and the demo's foreign
        # certificates (0010) counted on through the triggers
        assert top == counter and counter > 2000
        connection.execute(text("UPDATE goods_lines SET marks = marks || '.' WHERE id = 1"))
        bumped = connection.execute(text(
            "SELECT change_seq FROM applications WHERE id = "
            "(SELECT application_id FROM goods_lines WHERE id = 1)")).scalar()
        assert bumped == counter + 1
        connection.rollback()


def test_db_upgrade_and_current_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         pg_server: PostgresServer) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert head_revision() in capsys.readouterr().out
    assert main(["db", "current", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == head_revision()
    pg_server.create_database("cli_upgrade")
    try:
        assert main(["db", "upgrade", "--url", pg_server.url("cli_upgrade"),
                     "--revision", "0002_sync_and_numbers"]) == 0
        assert main(["db", "current", "--url", pg_server.url("cli_upgrade")]) == 0
        assert "0002_sync_and_numbers" in capsys.readouterr().out
    finally:
        pg_server.drop_database("cli_upgrade")


def test_a_password_in_the_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current", "--url", "postgresql://u:secret@127.0.0.1:1/x"]) == 2
    assert "never go in a settings file" in capsys.readouterr().err
