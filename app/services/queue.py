"""The office queue as plain rows: loaded in one Core query, filtered and sorted in Python.

A queue of 100,000 applications must load in well under a second and filter in a few
milliseconds, so rows are tuples (no ORM objects) and each carries a lower-case
"haystack" of the fields an officer searches by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from app.models import Application, ApplicationKind, ApplicationStatus, Exporter, Office, User
from app.models.base import utcnow


class Col(IntEnum):
    """Positions in a queue row; the first ones are the table's columns, in order."""

    NUMBER = 0
    KIND = 1
    STATUS = 2
    WAITING_SINCE = 3
    EXPORTER = 4
    IEC = 5
    CONSIGNEE = 6
    DESTINATION = 7
    HS_CODES = 8
    FOB = 9
    CLAIMED_BY = 10
    OFFICE = 11
    # hidden
    ID = 12
    HAYSTACK = 13


HEADERS = (
    "Application", "Kind", "Status", "Waiting", "Exporter", "IEC", "Consignee", "Destination",
    "HS codes", "FOB (USD)", "Claimed by", "Office",
)
VISIBLE_COLUMNS = len(HEADERS)

QueueRow = tuple  # positions as in Col


class StatusFilter(IntEnum):
    ALL = 0
    WAITING = 1
    UNDER_SCRUTINY = 2
    RETURNED = 3
    APPROVED = 4
    ISSUED = 5
    CLOSED = 6


S = ApplicationStatus
STATUS_FILTERS: dict[StatusFilter, tuple[str, frozenset[str] | None]] = {
    StatusFilter.ALL: ("All", None),
    StatusFilter.WAITING: ("Waiting", frozenset({S.SUBMITTED, S.RESUBMITTED})),
    StatusFilter.UNDER_SCRUTINY: ("Under scrutiny", frozenset({S.UNDER_SCRUTINY})),
    StatusFilter.RETURNED: ("Returned", frozenset({S.RETURNED})),
    StatusFilter.APPROVED: ("Approved", frozenset({S.APPROVED})),
    StatusFilter.ISSUED: ("Issued", frozenset({S.ISSUED})),
    StatusFilter.CLOSED: ("Rejected & closed", frozenset({S.REJECTED, S.SUPERSEDED, S.CANCELLED})),
}


@dataclass(frozen=True)
class QueueQuery:
    office_ids: tuple[int, ...] | None = None  # None: every office
    statuses: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None


def load_queue(engine: Engine, query: QueueQuery = QueueQuery()) -> list[QueueRow]:
    """Every application of the given offices as queue rows (one SELECT)."""
    claimer = aliased(User)
    a = Application.__table__.c
    statement = (
        select(
            a.number, a.kind, a.status, Exporter.name, Exporter.iec, a.consignee_name,
            a.destination_country, a.hs_codes, a.total_fob, a.waiting_since,
            claimer.full_name, Office.code, a.id,
        )
        .join(Exporter, Exporter.id == a.exporter_id)
        .join(Office, Office.id == a.office_id)
        .outerjoin(claimer, claimer.id == a.claimed_by_id)
        .order_by(a.waiting_since)
    )
    if query.office_ids is not None:
        statement = statement.where(a.office_id.in_(query.office_ids))
    if query.statuses:
        statement = statement.where(a.status.in_(query.statuses))
    if query.kinds:
        statement = statement.where(a.kind.in_(query.kinds))
    with engine.connect() as connection:
        raw = connection.execute(statement).all()
    return [make_row(r) for r in raw]


def make_row(r: Sequence[object]) -> QueueRow:
    number, kind, status, exporter, iec, consignee, dest, hs, fob, since, claimed, office, app_id = r
    haystack = f"{number}\t{iec}\t{exporter}\t{consignee}\t{hs}".lower()
    return (
        number, kind, status, since, exporter, iec, consignee, dest, hs,
        fob if isinstance(fob, Decimal) else Decimal(str(fob or 0)),
        claimed or "", office, app_id, haystack,
    )


def filter_rows(
    rows: Iterable[QueueRow], text: str = "", statuses: frozenset[str] | None = None
) -> list[QueueRow]:
    """Rows whose status is among ``statuses`` and whose searchable text has every word."""
    words = text.lower().split()
    if statuses is None and not words:
        return list(rows)
    if not words:
        return [r for r in rows if r[Col.STATUS] in statuses]  # type: ignore[operator]
    if len(words) == 1:
        word = words[0]
        if statuses is None:
            return [r for r in rows if word in r[Col.HAYSTACK]]
        return [r for r in rows if word in r[Col.HAYSTACK] and r[Col.STATUS] in statuses]
    return [
        r for r in rows
        if (statuses is None or r[Col.STATUS] in statuses)
        and all(w in r[Col.HAYSTACK] for w in words)
    ]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def sort_rows(rows: list[QueueRow], column: int, descending: bool) -> list[QueueRow]:
    if column == Col.WAITING_SINCE:  # ascending = shortest wait first
        def key(r: QueueRow) -> object:
            return -(r[column] or _EPOCH).timestamp()
    elif column == Col.FOB:
        def key(r: QueueRow) -> object:
            return r[column]
    else:
        def key(r: QueueRow) -> object:
            value = r[column]
            return value.lower() if isinstance(value, str) else value
    return sorted(rows, key=key, reverse=descending)


def status_counts(rows: Iterable[QueueRow]) -> dict[StatusFilter, int]:
    by_status: dict[str, int] = {}
    total = 0
    for r in rows:
        by_status[r[Col.STATUS]] = by_status.get(r[Col.STATUS], 0) + 1
        total += 1
    counts = {}
    for key, (_label, statuses) in STATUS_FILTERS.items():
        counts[key] = total if statuses is None else sum(by_status.get(s, 0) for s in statuses)
    return counts


def waiting_hours(since: dt.datetime | None, now: dt.datetime | None = None) -> float:
    if since is None:
        return 0.0
    return ((now or utcnow()) - since).total_seconds() / 3600


def is_overdue(row: QueueRow, limit_hours: int, now: dt.datetime | None = None) -> bool:
    return (
        ApplicationStatus(row[Col.STATUS]).is_waiting_for_office
        and waiting_hours(row[Col.WAITING_SINCE], now) > limit_hours
    )


def format_waiting(hours: float) -> str:
    if hours < 1:
        return f"{max(int(hours * 60), 0)} min"
    if hours < 48:
        return f"{int(hours)} h"
    return f"{int(hours // 24)} d {int(hours % 24)} h"


def kind_label(kind: str) -> str:
    return ApplicationKind(kind).label


def status_label(status: str) -> str:
    return ApplicationStatus(status).label
