"""PostgreSQL login roles, one per user (``origin-desk db grant``; the admin views later).

A user's role is a member of ``origin_desk_officer`` or ``origin_desk_admin`` (revision
0003_row_security) and is named in ``db_logins`` so that the row-level security policies
know which user is connected. Run these as the database owner (or a role with CREATEROLE).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, text

from app.errors import UserFacingError
from app.models.enums import Role, UserStatus
from app.store.central_tables import db_logins

log = logging.getLogger(__name__)
OFFICER_GROUP = "origin_desk_officer"
ADMIN_GROUP = "origin_desk_admin"
VERIFIER_GROUP = "origin_desk_verifier"
HUB_GROUP = "origin_desk_hub"  # the central service (revision 0005_central_service)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(UserFacingError):
    """A role cannot be provisioned as asked."""


@dataclass(frozen=True)
class Grant:
    role_name: str
    group: str
    user_id: int | None
    created: bool


def default_role_name(user_id: int, email: str) -> str:
    local = re.sub(r"[^a-z0-9_]+", "_", email.split("@", 1)[0].lower()).strip("_")
    suffix = f"_{user_id}"
    return ("od_" + local)[: 63 - len(suffix)] + suffix


def _require_postgresql(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        raise RoleError(
            "Database roles exist on a PostgreSQL central store only; the embedded SQLite store "
            "has no logins."
        )


def _check_name(name: str) -> str:
    if not ROLE_NAME.match(name):
        raise RoleError(
            f"Role name {name!r} is not allowed: use lower-case letters, digits and '_', "
            "starting with a letter or '_', at most 63 characters."
        )
    if name in (OFFICER_GROUP, ADMIN_GROUP, VERIFIER_GROUP, HUB_GROUP) or name.startswith("pg_"):
        raise RoleError(f"Role name {name!r} is reserved.")
    return name


def _quoted(connection: Connection, template: str, name: str, password: str | None) -> str:
    from psycopg import sql

    raw = connection.connection.driver_connection
    parts = {"name": sql.Identifier(name)}
    if password is not None:
        parts["password"] = sql.Literal(password)
    return sql.SQL(template).format(**parts).as_string(raw)  # type: ignore[arg-type]


def _ensure_login(connection: Connection, name: str, password: str | None) -> bool:
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
    ).first() is not None
    verb = "ALTER" if exists else "CREATE"
    template = verb + " ROLE {name} LOGIN" + (" PASSWORD {password}" if password else "")
    connection.exec_driver_sql(_quoted(connection, template, name, password))
    return not exists


def grant_user_role(
    connection: Connection, email: str, *, role_name: str | None = None,
    password: str | None = None,
) -> Grant:
    """Create (or update) the login role of the user with this e-mail and map it to them."""
    _require_postgresql(connection)
    row = connection.execute(
        text("SELECT id, role, status, full_name FROM users WHERE email = :email"),
        {"email": email.strip().lower()},
    ).first()
    if row is None:
        raise RoleError(f"No user with the e-mail address {email!r} in the central store.")
    user_id, role, status, full_name = row
    if status != UserStatus.ACTIVE:
        raise RoleError(
            f"{full_name}'s account is {status}; activate it before giving it a database role."
        )
    existing = connection.execute(
        select(db_logins.c.role_name).where(db_logins.c.user_id == user_id)
    ).scalar()
    name = _check_name(role_name or existing or default_role_name(user_id, email))
    taken = connection.execute(
        select(db_logins.c.user_id).where(db_logins.c.role_name == name)
    ).scalar()
    if taken is not None and taken != user_id:
        raise RoleError(f"Role {name} already belongs to user #{taken}; choose another name.")
    if existing and existing != name:
        raise RoleError(f"{full_name} already logs in as {existing}; revoke it first to rename.")
    group = ADMIN_GROUP if role == Role.ADMINISTRATOR else OFFICER_GROUP
    other = OFFICER_GROUP if group == ADMIN_GROUP else ADMIN_GROUP
    created = _ensure_login(connection, name, password)
    connection.exec_driver_sql(_quoted(connection, f"GRANT {group} TO {{name}}", name, None))
    if connection.execute(text(
        "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = :g AND r.rolname = :r"
    ), {"g": other, "r": name}).first():
        connection.exec_driver_sql(_quoted(connection, f"REVOKE {other} FROM {{name}}", name, None))
    if existing is None:
        connection.execute(insert(db_logins).values(role_name=name, user_id=user_id))
    log.info("database role %s %s for user #%s (%s)", name,
             "created" if created else "updated", user_id, group)
    return Grant(role_name=name, group=group, user_id=user_id, created=created)


def grant_verifier_role(connection: Connection, role_name: str, *,
                        password: str | None = None) -> Grant:
    """A login that may only call ``od_certificate_status(number)`` (a verification portal)."""
    _require_postgresql(connection)
    name = _check_name(role_name)
    if connection.execute(select(db_logins.c.user_id).where(db_logins.c.role_name == name)).first():
        raise RoleError(f"Role {name} is a user's login; a verifier needs a role of its own.")
    created = _ensure_login(connection, name, password)
    connection.exec_driver_sql(_quoted(connection, f"GRANT {VERIFIER_GROUP} TO {{name}}", name, None))
    return Grant(role_name=name, group=VERIFIER_GROUP, user_id=None, created=created)


def grant_hub_role(connection: Connection, role_name: str, *,
                   password: str | None = None) -> Grant:
    """The central service's login: a member of ``origin_desk_hub``, which may act for the
    officers it authenticates (``app.hub.database``) and reach the service's own tables."""
    _require_postgresql(connection)
    name = _check_name(role_name)
    if connection.execute(select(db_logins.c.user_id).where(db_logins.c.role_name == name)).first():
        raise RoleError(f"Role {name} is a user's login; the service needs a role of its own.")
    created = _ensure_login(connection, name, password)
    connection.exec_driver_sql(_quoted(connection, f"GRANT {HUB_GROUP} TO {{name}}", name, None))
    log.info("database role %s %s for the central service", name,
             "created" if created else "updated")
    return Grant(role_name=name, group=HUB_GROUP, user_id=None, created=created)


def revoke_user_role(connection: Connection, email: str) -> str | None:
    """Remove the user's login role (deactivated users, leavers). Returns the role name."""
    _require_postgresql(connection)
    name = connection.execute(text(
        "SELECT l.role_name FROM db_logins l JOIN users u ON u.id = l.user_id "
        "WHERE u.email = :email"), {"email": email.strip().lower()}).scalar()
    if name is None:
        return None
    connection.execute(delete(db_logins).where(db_logins.c.role_name == name))
    connection.exec_driver_sql(_quoted(connection, "DROP ROLE IF EXISTS {name}", name, None))
    log.info("database role %s dropped", name)
    return name


def login_user_id(connection: Connection) -> int | None:
    """The user this connection logs in as (PostgreSQL with row-level security), else None."""
    if connection.dialect.name != "postgresql":
        return None
    return connection.execute(text("SELECT od_user_id()")).scalar()
