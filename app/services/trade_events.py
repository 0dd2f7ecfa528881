"""Trade events: an agency's fairs, missions and buyer-seller meets, kept in the central
store (revision 0012_officers_day), written by its administrators, read by its officers
(the dashboard's panel, which reads them from the desk's own store: app/services/dashboard.py).

:class:`TradeEventBook` works on a central store's engine as one user: the embedded SQLite
store (the rules are checked here) or PostgreSQL through the user's own login or the
central service acting for them, where the store's guard ``trade_events_a_guard`` checks
the same rules again (SQLSTATE ``ODREF``). :class:`HttpTradeEvents` is the same book
through the central service's API (``/desk/v1/trade-events``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from app.errors import UserFacingError
from app.models.base import utcnow
from app.models.trade_events import MAX_NOTE, MAX_PLACE, MAX_TITLE, TradeEvent

MAX_DAYS = 60  # an event lasts at most this many days
FAR_YEARS = 5  # and starts at most this many years ahead (or ago)


class TradeEventInvalid(UserFacingError):
    """A field of a trade event is wrong; the message says which and why."""


class TradeEventRefused(UserFacingError):
    """The user may not write trade events, or the event is not theirs to change."""


@dataclass(frozen=True)
class TradeEventData:
    title: str
    starts_on: dt.date
    ends_on: dt.date
    place: str = ""
    note: str = ""

    def to_json(self) -> dict[str, str]:
        values = asdict(self)
        values["starts_on"] = self.starts_on.isoformat()
        values["ends_on"] = self.ends_on.isoformat()
        return values


@dataclass(frozen=True)
class TradeEventRow(TradeEventData):
    id: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **super().to_json()}


def parse_date(text: str | dt.date, field: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise TradeEventInvalid(
            f"The {field} {str(text)[:40]!r} is not a date: write it as YYYY-MM-DD.") from None


def check_event(title: str, starts_on: str | dt.date, ends_on: str | dt.date | None = None,
                place: str = "", note: str = "", *, today: dt.date | None = None
                ) -> TradeEventData:
    """The event's fields, trimmed and checked; TradeEventInvalid names the first wrong."""
    title = (title or "").strip()
    if not title:
        raise TradeEventInvalid("A trade event needs a title.")
    if len(title) > MAX_TITLE:
        raise TradeEventInvalid(f"The title has {len(title)} characters; at most {MAX_TITLE}.")
    first = parse_date(starts_on, "first day")
    last = first if ends_on in (None, "") else parse_date(ends_on, "last day")  # type: ignore[arg-type]
    if last < first:
        raise TradeEventInvalid(f"The last day ({last:%d %b %Y}) is before the first "
                                f"({first:%d %b %Y}).")
    if (last - first).days >= MAX_DAYS:
        raise TradeEventInvalid(f"An event lasts at most {MAX_DAYS} days; this one "
                                f"{(last - first).days + 1}.")
    today = today or dt.date.today()
    if abs(first.year - today.year) > FAR_YEARS:
        raise TradeEventInvalid(f"The first day ({first:%d %b %Y}) is more than {FAR_YEARS} "
                                "years away.")
    place = (place or "").strip()
    if len(place) > MAX_PLACE:
        raise TradeEventInvalid(f"The place has {len(place)} characters; at most {MAX_PLACE}.")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise TradeEventInvalid(f"The note has {len(note)} characters; at most {MAX_NOTE}.")
    return TradeEventData(title, first, last, place, note)


def _refusal(exc: DBAPIError) -> UserFacingError | None:
    if getattr(exc.orig, "sqlstate", None) == "ODREF":
        diag = getattr(exc.orig, "diag", None)
        return TradeEventRefused(str(getattr(diag, "message_primary", "") or exc.orig))
    return None


class TradeEventBook:
    """The trade events of the user's agency, on a central store's engine, as the user."""

    def __init__(self, engine: Engine, user_id: int) -> None:
        self.engine = engine
        self.user_id = user_id

    def _user(self, connection: Any) -> tuple[int, str, str, str]:
        from app.models import User

        row = connection.execute(select(User.agency_id, User.role, User.status, User.full_name)
                                 .where(User.id == self.user_id)).first()
        if row is None:
            raise TradeEventRefused(f"User #{self.user_id} is not in the central store.")
        return int(row[0]), str(row[1]), str(row[2]), str(row[3])

    def _writer(self, connection: Any) -> int:
        agency_id, role, status, name = self._user(connection)
        if role != "administrator" or status != "active":
            raise TradeEventRefused("Only an administrator of the agency adds, changes or "
                                    f"removes its trade events; {name} cannot.")
        return agency_id

    def list(self, *, from_date: dt.date | None = None) -> list[TradeEventRow]:
        t = TradeEvent.__table__.c
        with self.engine.connect() as connection:
            agency_id = self._user(connection)[0]
            statement = select(t.id, t.title, t.starts_on, t.ends_on, t.place, t.note) \
                .where(t.agency_id == agency_id).order_by(t.starts_on, t.id)
            if from_date is not None:
                statement = statement.where(t.ends_on >= from_date)
            return [TradeEventRow(r.title, r.starts_on, r.ends_on, r.place or "", r.note or "",
                                  id=int(r.id)) for r in connection.execute(statement)]

    def add(self, data: TradeEventData) -> TradeEventRow:
        def work(connection: Any) -> TradeEventRow:
            agency_id = self._writer(connection)
            new_id = connection.execute(insert(TradeEvent.__table__).values(
                agency_id=agency_id, created_by_id=self.user_id, updated_at=utcnow(),
                **asdict(data)).returning(TradeEvent.__table__.c.id)).scalar_one()
            self._audit(connection, "trade_event.add", int(new_id), None, data)
            return TradeEventRow(**asdict(data), id=int(new_id))
        return self._write(work)

    def update(self, event_id: int, data: TradeEventData) -> TradeEventRow:
        def work(connection: Any) -> TradeEventRow:
            before = self._own(connection, event_id)
            connection.execute(update(TradeEvent.__table__)
                               .where(TradeEvent.__table__.c.id == event_id)
                               .values(updated_at=utcnow(), **asdict(data)))
            self._audit(connection, "trade_event.change", event_id, before, data)
            return TradeEventRow(**asdict(data), id=event_id)
        return self._write(work)

    def remove(self, event_id: int) -> TradeEventRow:
        def work(connection: Any) -> TradeEventRow:
            before = self._own(connection, event_id)
            connection.execute(delete(TradeEvent.__table__)
                               .where(TradeEvent.__table__.c.id == event_id))
            self._audit(connection, "trade_event.remove", event_id, before, None)
            return before
        return self._write(work)

    def _own(self, connection: Any, event_id: int) -> TradeEventRow:
        agency_id = self._writer(connection)
        t = TradeEvent.__table__.c
        row = connection.execute(select(t.id, t.title, t.starts_on, t.ends_on, t.place, t.note)
                                 .where(t.id == event_id, t.agency_id == agency_id)).first()
        if row is None:
            raise TradeEventRefused(f"No trade event #{event_id} in your agency.")
        return TradeEventRow(row.title, row.starts_on, row.ends_on, row.place or "",
                             row.note or "", id=int(row.id))

    def _audit(self, connection: Any, action: str, event_id: int,
               before: TradeEventData | None, after: TradeEventData | None) -> None:
        from app.models import AuditEvent, User

        name, email = connection.execute(select(User.full_name, User.email)
                                         .where(User.id == self.user_id)).one()
        connection.execute(insert(AuditEvent.__table__).values(
            at=utcnow(), actor_id=self.user_id, actor_label=f"{name} <{email}>",
            action=action, entity_type="trade_event", entity_id=event_id,
            before=None if before is None else TradeEventData.to_json(before),
            after=None if after is None else TradeEventData.to_json(after), note=""))

    def _write(self, work: Any) -> TradeEventRow:
        try:
            with self.engine.begin() as connection:
                return work(connection)  # type: ignore[no-any-return]
        except DBAPIError as exc:
            refusal = _refusal(exc)
            if refusal is not None:
                raise refusal from None
            raise


def row_from_json(raw: Any) -> TradeEventRow:
    """A row as the service sends it (the service checked it)."""
    if not isinstance(raw, dict):
        raise TradeEventInvalid("A trade event is an object.")
    return TradeEventRow(str(raw.get("title", "")), parse_date(str(raw.get("starts_on")), "first day"),
                         parse_date(str(raw.get("ends_on")), "last day"),
                         str(raw.get("place", "")), str(raw.get("note", "")),
                         id=int(raw.get("id", 0) or 0))


def data_from_json(raw: Any) -> TradeEventData:
    """A request's event, checked (one line naming what is wrong)."""
    if not isinstance(raw, dict):
        raise TradeEventInvalid("A trade event is an object.")
    return check_event(str(raw.get("title") or ""), str(raw.get("starts_on") or ""),
                       str(raw.get("ends_on") or ""), str(raw.get("place") or ""),
                       str(raw.get("note") or ""))


class HttpTradeEvents:
    """The book through the central service (a desk that reaches the store over HTTPS)."""

    def __init__(self, central: Any) -> None:
        self.central = central

    def list(self, *, from_date: dt.date | None = None) -> list[TradeEventRow]:
        answer = self.central._json("GET", "/desk/v1/trade-events", None)
        rows = [row_from_json(r) for r in answer["events"]]
        return [r for r in rows if from_date is None or r.ends_on >= from_date]

    def add(self, data: TradeEventData) -> TradeEventRow:
        return row_from_json(self.central._json("POST", "/desk/v1/trade-events",
                                                data.to_json())["event"])

    def update(self, event_id: int, data: TradeEventData) -> TradeEventRow:
        return row_from_json(self.central._json(
            "POST", f"/desk/v1/trade-events/{int(event_id)}", data.to_json())["event"])

    def remove(self, event_id: int) -> TradeEventRow:
        return row_from_json(self.central._json(
            "POST", f"/desk/v1/trade-events/{int(event_id)}/remove", {})["event"])
