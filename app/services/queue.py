"""Loading the office queue from the central or local store in one query.

The rows come straight from the driver's cursor as tuples: SQLAlchemy's per-value result
processing (aware datetimes, exact decimals) costs more than the query itself on 100,000
rows, and the queue only needs them for display, where ``queue_rows`` converts lazily.
Exporters, offices and officers come from small lookups instead of joins, so their names
are shared between rows rather than copied into each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, String, select, type_coerce

from app.models import Application, Exporter, Office, User
from app.services.queue_rows import QueueRow


@dataclass(frozen=True)
class QueueQuery:
    office_ids: tuple[int, ...] | None = None  # None: every office
    statuses: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    application_ids: tuple[int, ...] | None = None


def queue_statement(query: QueueQuery):  # type: ignore[no-untyped-def]
    """One scan of the applications table; names come from small lookups (no joins)."""
    a = Application.__table__.c
    statement = select(
        a.number, a.kind, a.status, type_coerce(a.waiting_since, String), a.exporter_id,
        a.consignee_name, a.destination_country, a.hs_codes, type_coerce(a.total_fob, String),
        a.claimed_by_id, a.office_id, a.id,
    )
    if query.office_ids is not None:
        statement = statement.where(a.office_id.in_(query.office_ids))
    if query.statuses:
        statement = statement.where(a.status.in_(query.statuses))
    if query.kinds:
        statement = statement.where(a.kind.in_(query.kinds))
    if query.application_ids is not None:
        statement = statement.where(a.id.in_(query.application_ids))
    return statement


def _fetch_raw(connection: Connection, statement, chunk: int = 5000) -> Iterator[tuple]:  # type: ignore[no-untyped-def]
    """The statement's rows from the driver's cursor, a chunk at a time (no second copy)."""
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled))
        while batch := cursor.fetchmany(chunk):
            yield from batch
    finally:
        cursor.close()


def load_queue(engine: Engine, query: QueueQuery = QueueQuery()) -> list[QueueRow]:  # noqa: B008
    """Every application of the given offices as queue rows."""
    with engine.connect() as connection:
        exporters = {
            id_: (name, iec, f"\t{iec}\t{name}".lower())
            for id_, name, iec in connection.execute(select(Exporter.id, Exporter.name, Exporter.iec))
        }
        offices = dict(connection.execute(select(Office.id, Office.code)).tuples().all())
        users = dict(connection.execute(select(User.id, User.full_name)).tuples().all())
        users[None] = ""
        shared: dict[object, object] = {}
        share = shared.setdefault
        rows: list[QueueRow] = []
        append = rows.append
        for (number, kind, status, since, exporter_id, consignee, dest, hs, fob, claimed,
             office, id_) in _fetch_raw(connection, queue_statement(query)):
            name, iec, exporter_hay = exporters[exporter_id]
            append((  # in the order of queue_rows.Col
                number, share(status, status), since, offices[office], users[claimed],
                share(kind, kind), name, iec, share(consignee, consignee), share(dest, dest),
                share(hs, hs), fob, id_,
                f"{number.lower()}{exporter_hay}\t{consignee.lower()}\t{hs}",
            ))
    return rows
