"""An embedded demo store made by an older release is brought to this release's schema
when the desk opens it (the demo has no administrator to run 'db upgrade')."""

from __future__ import annotations

from pathlib import Path


def test_an_older_demo_store_is_upgraded_on_open(demo_store: Path) -> None:
    from alembic import command

    from app.config import load_config
    from app.services.desk import open_central
    from app.store.central import sqlite_engine
    from app.store.schema import alembic_config, current_revision, head_revision

    engine = sqlite_engine(demo_store)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0004_central_rules")
        connection.commit()
        assert current_revision(connection) == "0004_central_rules"
    engine.dispose()
    messages: list[str] = []
    opened = open_central(load_config(), messages.append)
    try:
        with opened.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        opened.dispose()
    assert messages == ["Upgrading the demo store…"]
