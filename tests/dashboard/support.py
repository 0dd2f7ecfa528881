"""What the dashboard must show, computed independently: plain SQL on the store (rows,
not the service's GROUP BY), India dates with zoneinfo in Python; and the checks that a
DashboardView displays exactly that."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

INDIA = ZoneInfo("Asia/Kolkata")
WAITING = ("submitted", "resubmitted", "under_scrutiny", "approved")
OWN = {"application.approve": "approved", "application.issue": "issued",
       "application.return": "returned", "application.reject": "rejected"}


@dataclass
class Expected:
    office_codes: dict[int, str]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (office, status)
    overdue: dict[str, int] = field(default_factory=dict)
    per_day: list[int] = field(default_factory=list)  # 30 days, oldest first
    own: dict[str, int] = field(default_factory=dict)
    wallets: dict[str, Decimal] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def expected(engine: Engine, office_ids: list[int], user_id: int, now: dt.datetime) -> Expected:
    ids = ", ".join(str(int(i)) for i in office_ids)
    today = now.astimezone(INDIA).date()
    first = today - dt.timedelta(days=29)
    with engine.connect() as c:
        codes = {int(i): code for i, code in c.execute(text(
            f"SELECT id, code FROM offices WHERE id IN ({ids})"))}
        limits = {int(i): int(h) for i, h in c.execute(text(
            f"SELECT id, overdue_limit_hours FROM offices WHERE id IN ({ids})"))}
        result = Expected(codes)
        for office, status, since in c.execute(text(
                f"SELECT office_id, status, waiting_since FROM applications "
                f"WHERE office_id IN ({ids})")):
            key = (codes[office], str(status))
            result.counts[key] = result.counts.get(key, 0) + 1
            hours = (now - _utc(since)).total_seconds() / 3600
            if status in WAITING and hours > limits[office]:
                result.overdue[codes[office]] = result.overdue.get(codes[office], 0) + 1
        days = [0] * 30
        for (issued_at,) in c.execute(text(
                f"SELECT issued_at FROM certificates WHERE office_id IN ({ids})")):
            day = _utc(issued_at).astimezone(INDIA).date()
            if first <= day <= today:
                days[(day - first).days] += 1
        result.per_day = days
        for action, at in c.execute(text(
                "SELECT action, at FROM audit_events WHERE actor_id = :u"), {"u": user_id}):
            if action in OWN and _utc(at).astimezone(INDIA).date() == today:
                result.own[OWN[action]] = result.own.get(OWN[action], 0) + 1
        for office, balance in c.execute(text(
                f"SELECT office_id, balance FROM office_wallets WHERE office_id IN ({ids})")):
            result.wallets[codes[office]] = Decimal(str(balance)).quantize(Decimal("0.01"))
        result.events = [title for title, in c.execute(text(
            "SELECT title FROM trade_events WHERE ends_on >= :d ORDER BY starts_on, id"),
            {"d": today})]
    return result


def _number(text_: str) -> int:
    return int(text_.replace(",", ""))


def assert_view_shows(view: Any, want: Expected) -> None:
    """The view's tables, chart and labels hold exactly the expected figures."""
    from app.services.queue_rows import status_label

    table = view.status_table
    offices = [table.horizontalHeaderItem(c).text() for c in range(1, table.columnCount() - 1)]
    labels = {status_label(s): s for s in ("submitted", "under_scrutiny", "returned",
                                           "resubmitted", "approved", "issued", "rejected",
                                           "superseded", "cancelled")}
    shown: dict[tuple[str, str], int] = {}
    rows: dict[str, list[int]] = {}
    for row in range(table.rowCount()):
        label = table.item(row, 0).text()
        values = [_number(table.item(row, c).text()) for c in range(1, table.columnCount())]
        rows[label] = values
        if label in labels:
            for office, n in zip(offices, values, strict=False):
                if n:
                    shown[(office, labels[label])] = n
    assert shown == want.counts
    overdue = {office: n for office, n in zip(offices, rows["Overdue"], strict=False) if n}
    assert overdue == want.overdue
    assert rows["Total"][-1] == sum(want.counts.values())
    assert rows["Overdue"][-1] == sum(want.overdue.values())
    assert view.chart_values() == want.per_day
    assert {k: _number(v.text()) for k, v in view.work_labels.items()} == {
        k: want.own.get(k, 0) for k in ("approved", "issued", "returned", "rejected")}
    events = [view.events_table.item(r, 1).text().split("\n")[0]
              for r in range(view.events_table.rowCount())]
    assert events == (want.events or ["No trade events announced."])
