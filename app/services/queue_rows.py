"""Queue rows and what the desk does with them in memory: columns, filtering, sorting,
waiting times. Plain Python (no SQLAlchemy), so the window can import it at start-up.

A queue of 100,000 applications must filter in a few milliseconds, so rows are tuples and
each carries a lower-case "haystack" of the fields an officer searches by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from zoneinfo import ZoneInfo

from app.models.enums import ApplicationKind, ApplicationStatus


class Col(IntEnum):
    """Positions in a queue row; the first ones are the table's columns, in order."""

    NUMBER = 0
    STATUS = 1
    WAITING_SINCE = 2
    OFFICE = 3
    CLAIMED_BY = 4
    KIND = 5
    EXPORTER = 6
    IEC = 7
    CONSIGNEE = 8
    DESTINATION = 9
    HS_CODES = 10
    FOB = 11
    # hidden
    ID = 12
    HAYSTACK = 13


HEADERS = (
    "Application", "Status", "Waiting", "Office", "Claimed by", "Kind", "Exporter", "IEC",
    "Consignee", "Destination", "HS codes", "FOB (USD)",
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
    StatusFilter.UNDER_SCRUTINY: ("Scrutiny", frozenset({S.UNDER_SCRUTINY})),
    StatusFilter.RETURNED: ("Returned", frozenset({S.RETURNED})),
    StatusFilter.APPROVED: ("Approved", frozenset({S.APPROVED})),
    StatusFilter.ISSUED: ("Issued", frozenset({S.ISSUED})),
    StatusFilter.CLOSED: ("Closed", frozenset({S.REJECTED, S.SUPERSEDED, S.CANCELLED})),
}


def filter_rows(
    rows: Iterable[QueueRow], text: str = "", statuses: frozenset[str] | None = None,
    kind: str | None = None,
) -> list[QueueRow]:
    """Rows of ``kind`` whose status is among ``statuses`` and whose searchable text has
    every word of ``text``."""
    if kind is not None:
        rows = [r for r in rows if r[Col.KIND] == kind]
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


WAITING_STATUSES = frozenset(s.value for s in ApplicationStatus if s.is_waiting_for_office)


def sort_rows(rows: list[QueueRow], column: int, descending: bool) -> list[QueueRow]:
    if column == Col.WAITING_SINCE:
        # waiting applications first, by how long they wait; decided ones after them
        waiting = [r for r in rows if r[Col.STATUS] in WAITING_STATUSES]
        decided = [r for r in rows if r[Col.STATUS] not in WAITING_STATUSES]
        waiting.sort(key=lambda r: r[column] or "", reverse=not descending)
        decided.sort(key=lambda r: r[column] or "", reverse=True)
        return waiting + decided
    if column == Col.FOB:
        def key(r: QueueRow) -> object:
            return as_decimal(r[column])
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


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands back text, PostgreSQL datetimes)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


INDIA = ZoneInfo("Asia/Kolkata")  # certificates are dated in India: times shown there


def local_time(value: dt.datetime | str | None, *, seconds: bool = False) -> str:
    """A stored time as India's local time with the zone, e.g. "30 Nov 2026 11:05 IST"
    (a naive time is UTC, as the stores keep it)."""
    moment = as_utc(value)
    if moment is None:
        return ""
    pattern = "%d %b %Y %H:%M:%S IST" if seconds else "%d %b %Y %H:%M IST"
    return moment.astimezone(INDIA).strftime(pattern)


def as_decimal(value: Decimal | str | float | None) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        return Decimal(0)


def waiting_hours(since: dt.datetime | str | None, now: dt.datetime | None = None) -> float:
    moment = as_utc(since)
    if moment is None:
        return 0.0
    return ((now or utcnow()) - moment).total_seconds() / 3600


def is_overdue(row: QueueRow, limit_hours: int, now: dt.datetime | None = None,
               office_limits: dict[str, int] | None = None) -> bool:
    """Waiting on the office longer than its limit (``office_limits``: office code ->
    hours, ``offices.overdue_limit_hours``; ``limit_hours`` for an office not in it)."""
    if office_limits:
        limit_hours = office_limits.get(row[Col.OFFICE], limit_hours)
    return (
        row[Col.STATUS] in WAITING_STATUSES
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
