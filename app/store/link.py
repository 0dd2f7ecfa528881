"""The one narrow interface through which a desk's sync talks to the central store.

:class:`SyncLink` is what :class:`app.services.sync.SyncService` needs: who am I and
which offices do I serve (``hello``), decide these outbox operations (``push``), what
changed since my cursors (``pull``), which applications exist (``application_ids``).
:class:`SqlCentralLink` implements it over SQLAlchemy for PostgreSQL (through the officer's
own login, so row-level security applies) and for the embedded SQLite store; an HTTP sync
service can implement the same protocol later for desks that must not reach the database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, Table, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import UserFacingError
from app.models.enums import Role, UserStatus
from app.store.operations import Operation, OperationResult, apply_operations
from app.store.pull_sql import (
    FOREIGN_REVISION,
    ApplicationFilter,
    application_statement,
    dashboard_statements,
    foreign_certificates_statement,
    foreign_statements,
    reference_statements,
    related_statements,
)
from app.store.roles import login_user_id
from app.store.schema import check_schema

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


class CentralUnavailable(UserFacingError):
    """The central store cannot be reached now (network, server down or restarting)."""


class SyncRefused(UserFacingError):
    """The central store answers but will not sync with this desk (login, schema, user)."""


@dataclass(frozen=True)
class CentralInfo:
    user_id: int
    email: str
    role: str
    agency_id: int
    office_ids: tuple[int, ...]
    revision: str
    identity: str  # which central store (so a local store never mixes two)


@dataclass
class PullBatch:
    """Rows per table (column names + tuples), in the order the local store takes them."""

    tables: list[tuple[str, list[str], list[tuple[Any, ...]]]] = field(default_factory=list)
    office_counts: dict[int, int] = field(default_factory=dict)

    def rows(self, name: str) -> list[tuple[Any, ...]]:
        return next((rows for table, _cols, rows in self.tables if table == name), [])

    def columns(self, name: str) -> list[str]:
        return next((cols for table, cols, _rows in self.tables if table == name), [])


class SyncLink(Protocol):
    def hello(self, email: str | None = None) -> CentralInfo: ...

    def push(self, user_id: int, operations: Sequence[Operation]) -> list[OperationResult]: ...

    def pull(self, info: CentralInfo, filter_: ApplicationFilter,
             progress: Progress | None = None) -> PullBatch: ...

    def application_ids(self, office_ids: Sequence[int]) -> list[int]: ...


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _unavailable(exc: BaseException) -> CentralUnavailable:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()
    return CentralUnavailable(
        "The central store cannot be reached"
        + (f" ({detail[0][:200]})" if detail else "")
        + ". Your work stays on this desk and is sent when the connection returns."
    )


class SqlCentralLink:
    """The central store reached directly through SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.dialect = engine.dialect.name
        from app.store.schema import target_metadata

        self.tables: dict[str, Table] = {}
        for metadata in target_metadata():
            self.tables.update(metadata.tables)

    @property
    def identity(self) -> str:
        url = self.engine.url
        return f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"

    def hello(self, email: str | None = None) -> CentralInfo:
        try:
            with self.engine.connect() as connection:
                revision = check_schema(connection)
                return self._who(connection, email, revision)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            raise

    def _who(self, connection: Any, email: str | None, revision: str) -> CentralInfo:
        login = login_user_id(connection)
        if self.dialect == "postgresql" and login is None:
            raise SyncRefused(
                f"The database login '{self.engine.url.username}' is not an active Origin Desk "
                "user's login: ask your administrator to run 'origin-desk db grant'."
            )
        query = "SELECT id, email, role, agency_id, status, full_name FROM users WHERE "
        if login is not None:
            row = connection.execute(text(query + "id = :id"), {"id": login}).first()
        elif email:
            row = connection.execute(text(query + "email = :e"),
                                     {"e": email.strip().lower()}).first()
        else:
            raise SyncRefused("Sign in before syncing with the central store.")
        if row is None:
            raise SyncRefused(f"No user with the e-mail address {email!r} in the central store.")
        user_id, user_email, role, agency_id, status, full_name = row
        if email and user_email != email.strip().lower():
            raise SyncRefused(
                f"This desk's database login belongs to {full_name} <{user_email}>, not {email}."
            )
        if status != UserStatus.ACTIVE:
            raise SyncRefused(f"{full_name}'s account is {status}; it cannot sync.")
        if role == Role.ADMINISTRATOR:
            offices = connection.execute(
                text("SELECT id FROM offices WHERE agency_id = :a ORDER BY id"), {"a": agency_id}
            ).scalars().all()
        else:
            offices = connection.execute(
                text("SELECT office_id FROM officer_offices WHERE user_id = :u ORDER BY office_id"),
                {"u": user_id},
            ).scalars().all()
        return CentralInfo(user_id=user_id, email=user_email, role=role, agency_id=agency_id,
                           office_ids=tuple(offices), revision=revision, identity=self.identity)

    # --- push --------------------------------------------------------------------------------

    def push(self, user_id: int, operations: Sequence[Operation]) -> list[OperationResult]:
        """Decide the operations in one transaction; a lost answer is safe to ask again."""
        try:
            return self._push(user_id, operations, careful=False)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            log.warning("a push batch failed (%s); deciding its operations one by one",
                        type(exc.orig).__name__)
        try:
            return self._push(user_id, operations, careful=True)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            raise

    def _push(self, user_id: int, operations: Sequence[Operation], *,
              careful: bool) -> list[OperationResult]:
        session: Session
        with self.sessions() as session, session.begin():
            return apply_operations(session, user_id, operations, careful=careful)

    # --- pull ---------------------------------------------------------------------------------

    def pull(self, info: CentralInfo, filter_: ApplicationFilter,
             progress: Progress | None = None) -> PullBatch:
        """Everything changed since the cursors, read in one snapshot."""
        try:
            return self._pull(info, filter_, progress)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            raise

    def _pull(self, info: CentralInfo, filter_: ApplicationFilter,
              progress: Progress | None) -> PullBatch:
        batch = PullBatch()
        options = {"isolation_level": "REPEATABLE READ"} if self.dialect == "postgresql" else {}
        with self.engine.connect().execution_options(**options) as connection:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

            def fetch(name: str, sql: str) -> list[tuple[Any, ...]]:
                cursor.execute(sql)
                rows = cursor.fetchall()
                batch.tables.append((name, [d[0] for d in cursor.description], rows))
                if progress is not None and rows:
                    progress(f"Received {len(rows):,} {name.replace('_', ' ')}")
                return rows

            try:
                if self.dialect == "postgresql":
                    cursor.execute("SET TRANSACTION READ ONLY")
                apps = fetch("applications",
                             application_statement(self.tables, self.dialect, filter_))
                for name, sql in reference_statements(self.tables, self.dialect, info.agency_id,
                                                      info.revision):
                    fetch(name, sql)
                for name, sql in dashboard_statements(self.tables, self.dialect, info.agency_id,
                                                      info.office_ids, info.revision):
                    fetch(name, sql)
                if apps:
                    columns = batch.columns("applications")
                    at = {c: columns.index(c) for c in ("id", "exporter_id", "applicant_id")}
                    for name, sql in related_statements(
                        self.tables, self.dialect, (r[at["id"]] for r in apps),
                        (r[at["exporter_id"]] for r in apps), (r[at["applicant_id"]] for r in apps),
                        info.revision,
                    ):
                        fetch(name, sql)
                if info.revision >= FOREIGN_REVISION:
                    certificates = fetch("foreign_certificates", foreign_certificates_statement(
                        self.tables, self.dialect, info.office_ids))
                    at_id = batch.columns("foreign_certificates").index("id")
                    for name, sql in foreign_statements(self.tables, self.dialect,
                                                        (r[at_id] for r in certificates)):
                        fetch(name, sql)
                offices = ", ".join(str(int(o)) for o in info.office_ids) or "NULL"
                cursor.execute(f"SELECT office_id, count(*) FROM applications "
                               f"WHERE office_id IN ({offices}) GROUP BY office_id")
                batch.office_counts = {int(o): int(n) for o, n in cursor.fetchall()}
            except self.engine.dialect.loaded_dbapi.OperationalError as exc:
                connection.invalidate()  # the raw cursor's error: the connection is gone
                raise _unavailable(exc) from exc
            finally:
                with contextlib.suppress(Exception):
                    cursor.close()
            connection.rollback()
        return batch

    def application_ids(self, office_ids: Sequence[int]) -> list[int]:
        from app.models.applications import Application

        try:
            with self.engine.connect() as connection:
                return list(connection.execute(
                    select(Application.id).where(Application.office_id.in_(list(office_ids)))
                ).scalars())
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            raise
