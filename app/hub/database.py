"""The central service's database: its engine, and acting for the officer a request
authenticated.

On PostgreSQL the service logs in as a member of ``origin_desk_hub`` (revision
0005_central_service). Its own tables (sessions, passwords, captchas, seals) it reaches as
itself. For an officer's request it acts *as that officer*: every connection handed out
inside :func:`acting_for` first runs ``SET ROLE origin_desk_officer`` (or ``_admin``) and
names the user's login in ``od.acting_login``, so that the store's privileges, row-level
security, triggers and issuing functions bind the service exactly as they bind the
officer's own login: a bug in the service cannot show or change more than the officer
may. Every other connection is reset to the service's own role before use.

On SQLite (``serve --demo``) there are no roles; the service's own checks are the wall.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url

from app.models.enums import Role
from app.store.central_tables import db_logins
from app.store.connection import NO_JIT

log = logging.getLogger(__name__)
OFFICER_GROUP = "origin_desk_officer"
ADMIN_GROUP = "origin_desk_admin"


@dataclass(frozen=True)
class Acting:
    login: str  # the user's db_logins name
    group: str  # origin_desk_officer | origin_desk_admin


_acting: contextvars.ContextVar[Acting | None] = contextvars.ContextVar("od_acting", default=None)


def hub_engine(url: str, password: str | None, *, pool_size: int = 8) -> Engine:
    """The service's engine; PostgreSQL connections act for the current request's user."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from app.store.central import sqlite_engine

        return sqlite_engine(parsed.database or "")
    if password:
        parsed = parsed.set(password=password)
    engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size,
                           pool_pre_ping=True,
                           connect_args={"connect_timeout": 5,
                                         "application_name": "origin-desk-hub",
                                         "options": NO_JIT})
    install_acting(engine)
    return engine


def install_acting(engine: Engine) -> None:
    """Make every connection checked out of ``engine`` act for the current request."""

    @event.listens_for(engine, "checkout")
    def _act(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        acting = _acting.get()
        if record.info.get("od_acting", "unset") == acting:
            return  # this connection already acts so: no round trip
        cursor = dbapi_connection.cursor()
        try:
            if acting is None:
                cursor.execute("SELECT set_config('role', 'none', false), "
                               "set_config('od.acting_login', '', false)")
            else:
                cursor.execute("SELECT set_config('role', %s, false), "
                               "set_config('od.acting_login', %s, false)",
                               (acting.group, acting.login))
        finally:
            cursor.close()
        dbapi_connection.commit()
        record.info["od_acting"] = acting


@contextlib.contextmanager
def acting_for(acting: Acting | None) -> Iterator[None]:
    reset = _acting.set(acting)
    try:
        yield
    finally:
        _acting.reset(reset)


def acting_identity(engine: Engine, user_id: int, role: str) -> Acting | None:
    """The login the service acts as for this user (made on first use); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    group = ADMIN_GROUP if role == Role.ADMINISTRATOR else OFFICER_GROUP
    with acting_for(None), engine.begin() as connection:
        login = connection.execute(select(db_logins.c.role_name)
                                   .where(db_logins.c.user_id == user_id)).scalar()
        if login is None:
            # ':' is not allowed in a role name (app.store.roles), so no real login clashes
            login = f"hub:{user_id}"
            connection.execute(insert(db_logins).values(role_name=login, user_id=user_id))
    return Acting(login=login, group=group)


def check_ready(engine: Engine) -> str:
    """The store's schema revision, or raise (readiness)."""
    from app.store.schema import check_schema

    with acting_for(None), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        return check_schema(connection)
