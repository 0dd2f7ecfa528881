"""A throwaway PostgreSQL server for the store tests, seeded once, copied per test.

The server starts once per session in a temporary directory on a free port and is
stopped at the end even when tests fail. A template database holds the migrated schema,
the demo's rows (fewer applications) and a login role per active user; each test gets its
own database made from it (``CREATE DATABASE ... TEMPLATE``, a fraction of a second).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.support.postgres import PostgresServer

TODAY = dt.date(2026, 11, 22)
TEMPLATE = "seeded"
APPLICATIONS = 240
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    with server:
        yield server


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> dict[str, str]:
    """The seeded template database; returns {e-mail: login role} of its active users."""
    from app.store.roles import grant_user_role
    from app.store.seeding import seed_central

    pg_server.create_database(TEMPLATE)
    engine = create_engine(pg_server.url(TEMPLATE))
    try:
        seed_central(engine, today=TODAY, applications=APPLICATIONS)
        logins: dict[str, str] = {}
        with engine.begin() as connection:
            emails = connection.execute(
                text("SELECT email FROM users WHERE status = 'active' ORDER BY id")
            ).scalars().all()
            for email in emails:
                logins[email] = grant_user_role(connection, email).role_name
    finally:
        engine.dispose()
    return logins


@dataclass
class CentralDb:
    server: PostgresServer
    name: str
    logins: dict[str, str]
    engines: list[Engine]

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def owner_engine(self) -> Engine:
        engine = create_engine(self.url)
        self.engines.append(engine)
        return engine

    def login_url(self, email: str) -> str:
        return self.server.url(self.name, user=self.logins[email])

    def engine_for(self, email: str) -> Engine:
        from app.store.central import engine_for_url

        engine = engine_for_url(self.login_url(email))
        self.engines.append(engine)
        return engine

    def scalar(self, sql: str, **params: object) -> object:
        with self.owner_engine().connect() as connection:
            return connection.execute(text(sql), params).scalar()


@pytest.fixture
def central(pg_server: PostgresServer, pg_template: dict[str, str]) -> Iterator[CentralDb]:
    name = f"t{next(_numbers)}"
    pg_server.create_database(name, template=TEMPLATE)
    db = CentralDb(pg_server, name, pg_template, [])
    try:
        yield db
    finally:
        for engine in db.engines:
            engine.dispose()
        pg_server.drop_database(name)


@pytest.fixture
def local_path(tmp_path: Path) -> Path:
    return tmp_path / "local.sqlite"


def officer_emails(db: CentralDb) -> dict[str, list[str]]:
    """office code -> e-mails of the active officers mapped to it."""
    with db.owner_engine().connect() as connection:
        rows = connection.execute(text(
            "SELECT o.code, u.email FROM officer_offices m JOIN users u ON u.id = m.user_id "
            "JOIN offices o ON o.id = m.office_id WHERE u.status = 'active' ORDER BY u.id"
        )).all()
    result: dict[str, list[str]] = {}
    for code, email in rows:
        result.setdefault(code, []).append(email)
    return result
