"""The desk's local store: a SQLite file (WAL, mode 0600) in the data directory.

It holds a copy of the officer's offices' queues (the central store's own tables, so the
desk's queue and detail code reads it unchanged), the documents needed to review them,
and the **outbox** of what the officer did that the central store has not decided yet.
Cache tables can be dropped and pulled again at any time; the outbox never is.

Schema: ``PRAGMA user_version`` = :data:`LOCAL_SCHEMA_VERSION`. An older cache is rebuilt
(the outbox kept); a newer one (made by a newer Origin Desk) is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    update,
)

from app.errors import UserFacingError
from app.models.base import UtcDateTime, utcnow
from app.store.central import sqlite_engine
from app.store.link import CentralInfo, PullBatch
from app.store.operations import APPLIED, REJECTED, Operation, OperationResult
from app.store.pull_sql import APPLICATION_ROWS, REPLACED_WHOLE

log = logging.getLogger(__name__)
LOCAL_SCHEMA_VERSION = 3  # 2: foreign certificates, goods_lines.foreign_goods_id, foreign_draws
# 3: document_cache (supporting documents opened at this desk)
PENDING = "pending"

local_metadata = MetaData()
outbox = Table(
    "outbox",
    local_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", String(36), nullable=False, unique=True),
    Column("user_id", Integer, nullable=False),
    Column("application_id", Integer, nullable=False),
    Column("application_number", String(24), nullable=False, default=""),
    Column("action", String(20), nullable=False),
    Column("text", Text),
    Column("expected_version", Integer),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("state", String(10), nullable=False, default=PENDING),  # pending|applied|rejected
    Column("reason", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("decided_at", UtcDateTime()),
    Column("acknowledged", Boolean, nullable=False, default=False),
)
sync_cursors = Table(
    "sync_cursors",
    local_metadata,
    Column("office_id", Integer, primary_key=True),
    Column("change_seq", Integer, nullable=False),
)
# what approved and issued applications of any office drew from the foreign certificates
# the user's offices' back-to-back applications name (od_foreign_draws), for the balance
foreign_draws = Table(
    "foreign_draws",
    local_metadata,
    Column("foreign_goods_id", Integer, nullable=False, index=True),
    Column("application_id", Integer, nullable=False),
    Column("quantity", String(40), nullable=False),  # exact decimal as text
    Column("state", String(10), nullable=False),  # issued | approved
)
sync_state = Table(
    "sync_state",
    local_metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)
# supporting documents' bytes, fetched from the central store when first opened (a pull
# carries their metadata only), kept for offline review; least recently used go first
# beyond the cache's size (app/services/documents.py); emptied when the owner changes
document_cache = Table(
    "document_cache",
    local_metadata,
    Column("document_id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("cached_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=False),
)


class LocalStoreError(UserFacingError):
    """The local store cannot be used as it is."""


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    operation_id: str
    user_id: int
    application_id: int
    application_number: str
    action: str
    text: str | None
    expected_version: int | None
    created_at: dt.datetime
    state: str
    reason: str
    attempts: int
    decided_at: dt.datetime | None
    acknowledged: bool

    def operation(self) -> Operation:
        return Operation(self.operation_id, self.application_id, self.action, self.text,
                         self.expected_version, self.created_at)


@dataclass(frozen=True)
class PullOutcome:
    applications: int
    rows: int
    removed: int


def _domain_tables() -> list[Table]:
    import app.models.certificates  # noqa: F401 - registers every mapping module's tables
    from app.models import Base

    return list(Base.metadata.sorted_tables)


class LocalStore:
    """The local SQLite store and its outbox."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.engine: Engine = sqlite_engine(self.path)
        self._ensure_schema()

    def close(self) -> None:
        self.engine.dispose()

    # --- schema --------------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        with self.engine.begin() as connection:
            version = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
            if version > LOCAL_SCHEMA_VERSION:
                raise LocalStoreError(
                    f"The local store {self.path} was made by a newer Origin Desk (format "
                    f"{version}, this one knows {LOCAL_SCHEMA_VERSION}). Update Origin Desk."
                )
            if version == LOCAL_SCHEMA_VERSION:
                return
            tables = _domain_tables()
            existing = connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
            ).scalar()
            if version or existing:  # an older cache: pulled again; the outbox stays
                log.info("rebuilding the local cache (format %s -> %s)", version,
                         LOCAL_SCHEMA_VERSION)
                for table in reversed(tables):
                    table.drop(connection, checkfirst=True)
                sync_cursors.drop(connection, checkfirst=True)
                foreign_draws.drop(connection, checkfirst=True)
            for table in tables:
                table.create(connection, checkfirst=True)
            local_metadata.create_all(connection)
            connection.exec_driver_sql(f"PRAGMA user_version = {LOCAL_SCHEMA_VERSION}")

    # --- owner: one user of one central store ---------------------------------------------------

    def owner(self) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(
                select(sync_state.c.value).where(sync_state.c.key == "owner")
            ).scalar()

    def adopt(self, info: CentralInfo) -> bool:
        """Bind the cache to this user of this central store; a cache of someone else's (or
        of another store) is emptied first. Returns True when it was emptied."""
        owner = f"{info.user_id}@{info.identity}"
        if self.owner() == owner:
            return False
        with self.engine.begin() as connection:
            for table in reversed(_domain_tables()):
                connection.execute(delete(table))
            connection.execute(delete(sync_cursors))
            connection.execute(delete(foreign_draws))
            connection.execute(delete(document_cache))  # another's documents go too
            connection.execute(sync_state.insert().prefix_with("OR REPLACE").values(
                key="owner", value=owner))
        log.info("local store bound to user #%s of %s", info.user_id, info.identity)
        return True

    def set_state(self, key: str, value: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sync_state.insert().prefix_with("OR REPLACE").values(
                key=key, value=value))

    def get_state(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(
                select(sync_state.c.value).where(sync_state.c.key == key)).scalar()

    # --- outbox ------------------------------------------------------------------------------

    @staticmethod
    def enqueue(
        connection: Connection, *, user_id: int, application_id: int, application_number: str,
        action: str, text: str | None, expected_version: int | None,
        created_at: dt.datetime | None = None,
    ) -> tuple[int, str]:
        """Add an operation to the outbox in the caller's transaction: (row id, op id)."""
        operation_id = str(uuid.uuid4())
        result = connection.execute(insert(outbox).values(
            operation_id=operation_id, user_id=user_id, application_id=application_id,
            application_number=application_number, action=action, text=text,
            expected_version=expected_version, created_at=created_at or utcnow(),
            state=PENDING, reason="", attempts=0, acknowledged=False,
        ))
        return int(result.inserted_primary_key[0]), operation_id

    def entries(self, *, states: Iterable[str] | None = None, user_id: int | None = None,
                include_acknowledged: bool = True) -> list[OutboxEntry]:
        statement = select(outbox).order_by(outbox.c.id)
        if states is not None:
            statement = statement.where(outbox.c.state.in_(list(states)))
        if user_id is not None:
            statement = statement.where(outbox.c.user_id == user_id)
        if not include_acknowledged:
            statement = statement.where(outbox.c.acknowledged.is_(False))
        with self.engine.connect() as connection:
            return [OutboxEntry(**row._mapping) for row in connection.execute(statement)]

    def pending(self, user_id: int | None = None) -> list[OutboxEntry]:
        return self.entries(states=[PENDING], user_id=user_id)

    def rejected(self, user_id: int | None = None, *,
                 include_acknowledged: bool = False) -> list[OutboxEntry]:
        return self.entries(states=[REJECTED], user_id=user_id,
                            include_acknowledged=include_acknowledged)

    def acknowledge(self, operation_ids: Sequence[str]) -> None:
        """The officer has read these rejections (they stay in the outbox as history)."""
        with self.engine.begin() as connection:
            connection.execute(update(outbox).where(outbox.c.operation_id.in_(list(operation_ids)))
                               .values(acknowledged=True))

    def mark_attempt(self, operation_ids: Sequence[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(outbox).where(outbox.c.operation_id.in_(list(operation_ids)))
                               .values(attempts=outbox.c.attempts + 1))

    def record_results(self, results: Sequence[OperationResult],
                       entries: Sequence[OutboxEntry]) -> None:
        """Store what the central store decided; drop the optimistic local audit rows."""
        by_op = {entry.operation_id: entry for entry in entries}
        now = utcnow()
        with self.engine.begin() as connection:
            for result in results:
                connection.execute(
                    update(outbox).where(outbox.c.operation_id == result.operation_id).values(
                        state=APPLIED if result.applied else REJECTED, reason=result.reason,
                        decided_at=now)
                )
            local_ids = [-by_op[r.operation_id].id for r in results if r.operation_id in by_op]
            if local_ids:
                connection.execute(text(
                    f"DELETE FROM audit_events WHERE id IN ({', '.join(map(str, local_ids))})"))

    def refuse_unsent(self, entry: OutboxEntry, reason: str) -> None:
        """An operation not sent because an earlier one on its application was refused."""
        self.record_results([OperationResult(entry.operation_id, REJECTED, reason)], [entry])

    # --- pull --------------------------------------------------------------------------------

    def cursors(self) -> dict[int, int]:
        with self.engine.connect() as connection:
            return dict(connection.execute(select(sync_cursors)).tuples().all())

    def office_counts(self, office_ids: Sequence[int]) -> dict[int, int]:
        with self.engine.connect() as connection:
            return dict(connection.execute(text(
                "SELECT office_id, count(*) FROM applications WHERE office_id IN "
                f"({', '.join(str(int(o)) for o in office_ids) or 'NULL'}) GROUP BY office_id"
            )).tuples().all())

    def apply_pull(self, info: CentralInfo, batch: PullBatch) -> PullOutcome:
        """Write a pull into the cache in one transaction, cursors included; applications of
        offices that are no longer the user's go."""
        app_rows = batch.rows("applications")
        app_columns = batch.columns("applications")
        seq_at, office_at, id_at = (app_columns.index(c) for c in ("change_seq", "office_id", "id")) \
            if app_rows else (0, 0, 0)
        raw = self.engine.raw_connection()
        try:
            connection = raw.driver_connection
            cursor = connection.cursor()  # type: ignore[union-attr]
            cursor.execute("PRAGMA foreign_keys=OFF")  # a copy: the central store checked them
            cursor.execute("BEGIN IMMEDIATE")
            try:
                empty = cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM applications)").fetchone()[0]
                changed = [row[id_at] for row in app_rows]
                if changed and not empty:
                    _delete_application_rows(cursor, changed, drop_applications=False)
                removed = 0
                mine = ", ".join(str(int(o)) for o in info.office_ids) or "NULL"
                gone = [r[0] for r in cursor.execute(
                    f"SELECT id FROM applications WHERE office_id NOT IN ({mine})")]
                if gone:
                    removed = _delete_application_rows(cursor, sorted(set(gone)),
                                                       drop_applications=True)
                total = 0
                for name, columns, rows in batch.tables:
                    if name in REPLACED_WHOLE:
                        cursor.execute(f"DELETE FROM {name}")
                    if not rows:
                        continue
                    verb = "INSERT" if empty and name in APPLICATION_ROWS else "INSERT OR REPLACE"
                    marks = ", ".join("?" * len(columns))
                    cursor.executemany(
                        f"{verb} INTO {name} ({', '.join(map(_quote, columns))}) VALUES ({marks})",
                        rows)
                    total += len(rows)
                cursors = self.cursors_in(cursor)
                for office in info.office_ids:
                    cursors.setdefault(office, 0)
                for row in app_rows:
                    office = row[office_at]
                    if row[seq_at] > cursors.get(office, 0):
                        cursors[office] = row[seq_at]
                cursor.execute("DELETE FROM sync_cursors")
                cursor.executemany("INSERT INTO sync_cursors (office_id, change_seq) VALUES (?, ?)",
                                   [(o, cursors[o]) for o in info.office_ids])
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()
        finally:
            raw.close()
        return PullOutcome(applications=len(app_rows), rows=total, removed=removed)

    def remove_missing(self, keep_ids: Sequence[int]) -> int:
        """Drop local applications of the user's offices that the central store no longer
        has there (``keep_ids``: every application id of those offices, centrally)."""
        keep = set(keep_ids)
        with self.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            gone = [r[0] for r in cursor.execute("SELECT id FROM applications") if r[0] not in keep]
            removed = _delete_application_rows(cursor, gone, drop_applications=True) if gone else 0
            cursor.close()
        return removed

    @staticmethod
    def cursors_in(cursor: Any) -> dict[int, int]:
        return {int(o): int(s) for o, s in cursor.execute(
            "SELECT office_id, change_seq FROM sync_cursors")}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _delete_application_rows(cursor: Any, ids: Sequence[int], *, drop_applications: bool) -> int:
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS pulled_ids (id INTEGER PRIMARY KEY)")
    cursor.execute("DELETE FROM temp.pulled_ids")
    cursor.executemany("INSERT OR IGNORE INTO temp.pulled_ids (id) VALUES (?)", [(i,) for i in ids])
    ids_sql = "SELECT id FROM temp.pulled_ids"
    cursor.execute(f"DELETE FROM cost_sheet_materials WHERE cost_sheet_id IN "
                   f"(SELECT id FROM cost_sheets WHERE application_id IN ({ids_sql}))")
    for table in ("goods_lines", "cost_sheets", "supporting_documents", "certificates"):
        cursor.execute(f"DELETE FROM {table} WHERE application_id IN ({ids_sql})")
    # central audit rows (positive ids) are pulled again; optimistic local ones (negative
    # ids, one per pending outbox entry) stay until their operation is decided
    cursor.execute(f"DELETE FROM audit_events WHERE entity_type = 'application' AND id > 0 "
                   f"AND entity_id IN ({ids_sql})")
    count = 0
    if drop_applications:
        cursor.execute(f"DELETE FROM audit_events WHERE entity_type = 'application' "
                       f"AND entity_id IN ({ids_sql})")
        count = cursor.execute(f"DELETE FROM applications WHERE id IN ({ids_sql})").rowcount
    return count
