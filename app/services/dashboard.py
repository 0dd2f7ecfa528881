"""The dashboard's figures: one function, :func:`load_dashboard`, that reads the desk's own
store with a handful of aggregate queries and returns a frozen :class:`Dashboard` of plain
values (no ORM objects, nothing lazy), so the view only displays.

Which store: the desk's own (``Desk.engine``): the central store itself on the embedded
desk, the desk's synced local copy on a desk synced with PostgreSQL or through the central
service. The copy holds exactly what the user's own login (row-level security) or the
service let it pull, so an officer's figures cover their offices and nothing else, the
same on every path; figures are as of the last sync (the view says when).

Every figure is an aggregate the database computes (GROUP BY over indexed columns,
``LIMIT`` for the oldest): nothing walks the applications in Python, so 100,000
applications cost a few index scans (``bench/dashboard.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, literal_column, select

from app.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    Exporter,
    Office,
    OfficeWallet,
    User,
)
from app.models.agreements import trade_agreements
from app.models.trade_events import TradeEvent

INDIA = ZoneInfo("Asia/Kolkata")
DAYS = 30  # the chart's days, today included
OLDEST = 12  # the oldest waiting applications listed
S = ApplicationStatus
# the office owes a decision (queue_rows.WAITING_STATUSES); a returned one waits on the exporter
WAITING = (S.SUBMITTED.value, S.RESUBMITTED.value, S.UNDER_SCRUTINY.value, S.APPROVED.value)
# the officer's own work: audit actions counted, in the order shown
OWN_WORK = (("approved", "application.approve"), ("issued", "application.issue"),
            ("returned", "application.return"), ("rejected", "application.reject"))
STATUS_ORDER = tuple(s.value for s in ApplicationStatus)


@dataclass(frozen=True)
class OfficeFigures:
    id: int
    code: str
    name: str
    counts: tuple[tuple[str, int], ...]  # (status, count), in STATUS_ORDER, zeros left out
    total: int
    waiting: int  # waiting on the office (WAITING)
    overdue: int  # of those, waiting longer than the office's limit
    limit_hours: int

    def count(self, status: str) -> int:
        return dict(self.counts).get(status, 0)


@dataclass(frozen=True)
class WaitingApplication:
    id: int
    number: str
    office_code: str
    status: str
    exporter: str
    waiting_since: dt.datetime  # aware, UTC
    hours: float
    waits_on: str  # who or what it waits on, in words
    overdue: bool


@dataclass(frozen=True)
class DayCount:
    day: dt.date  # India date
    issued: int


@dataclass(frozen=True)
class OwnWork:
    approved: int = 0
    issued: int = 0
    returned: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.issued + self.returned + self.rejected


@dataclass(frozen=True)
class WalletFigure:
    office_code: str
    balance: Decimal
    enabled: bool
    balance_text: str = ""  # ₹1,23,456.00 as app.services.wallet.rupees writes it


@dataclass(frozen=True)
class TradeEventView:
    id: int
    title: str
    starts_on: dt.date
    ends_on: dt.date
    place: str
    note: str

    @property
    def dates(self) -> str:
        if self.starts_on == self.ends_on:
            return f"{self.starts_on:%d %b %Y}"
        if (self.starts_on.year, self.starts_on.month) == (self.ends_on.year, self.ends_on.month):
            return f"{self.starts_on:%d}–{self.ends_on:%d %b %Y}"
        return f"{self.starts_on:%d %b} – {self.ends_on:%d %b %Y}"


@dataclass(frozen=True)
class AgreementView:
    code: str
    name: str
    partners: str
    form: str
    general_rule: str
    validity: str


@dataclass(frozen=True)
class Dashboard:
    as_of: dt.datetime  # aware, UTC
    today: dt.date  # India date
    user_name: str
    is_admin: bool
    status_counts: tuple[tuple[str, int], ...]  # every office of the user together
    offices: tuple[OfficeFigures, ...]
    issued_per_day: tuple[DayCount, ...]  # DAYS entries, oldest first, today last
    oldest_waiting: tuple[WaitingApplication, ...]
    own_work: OwnWork
    wallets: tuple[WalletFigure, ...]  # administrators only (empty for an officer)
    trade_events: tuple[TradeEventView, ...]  # current and coming, soonest first
    agreements: tuple[AgreementView, ...]

    @property
    def total(self) -> int:
        return sum(n for _s, n in self.status_counts)

    @property
    def waiting(self) -> int:
        return sum(o.waiting for o in self.offices)

    @property
    def overdue(self) -> int:
        return sum(o.overdue for o in self.offices)

    @property
    def issued_in_period(self) -> int:
        return sum(d.issued for d in self.issued_per_day)


def india_today(now: dt.datetime) -> dt.date:
    return now.astimezone(INDIA).date()


def india_midnight(day: dt.date) -> dt.datetime:
    """The UTC moment an India date begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=INDIA).astimezone(dt.UTC)


def load_dashboard(engine: Engine, user_id: int, *, office_ids: Sequence[int] | None = None,
                   now: dt.datetime | None = None) -> Dashboard:
    """The figures of the user's offices (``office_ids``; None: the user's own, every office
    of the agency for an administrator) as the store holds them now."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    today = india_today(now)
    with engine.connect() as connection:
        user = connection.execute(select(User.full_name, User.role, User.agency_id)
                                  .where(User.id == user_id)).one()
        is_admin = user.role == "administrator"
        offices = _offices(connection, user_id, user.agency_id, is_admin, office_ids)
        ids = [o[0] for o in offices]
        counts = _status_counts(connection, ids)
        office_figures = tuple(_office_figures(connection, row, counts.get(row[0], {}), now)
                               for row in offices)
        totals: dict[str, int] = {}
        for per_office in counts.values():
            for status, n in per_office.items():
                totals[status] = totals.get(status, 0) + n
        limits = {o[0]: o[4] for o in offices}
        codes = {o[0]: o[1] for o in offices}
        dashboard = Dashboard(
            as_of=now, today=today, user_name=user.full_name, is_admin=is_admin,
            status_counts=_ordered(totals), offices=office_figures,
            issued_per_day=_issued_per_day(connection, ids, today),
            oldest_waiting=_oldest_waiting(connection, ids, codes, limits, now),
            own_work=_own_work(connection, user_id, today),
            wallets=_wallets(connection, offices) if is_admin else (),
            trade_events=_trade_events(connection, user.agency_id, today),
            agreements=agreement_views(),
        )
        connection.rollback()
    return dashboard


def _offices(connection: Connection, user_id: int, agency_id: int, is_admin: bool,
             office_ids: Sequence[int] | None) -> list[tuple]:
    o = Office.__table__.c
    statement = select(o.id, o.code, o.name, o.ewallet_enabled, o.overdue_limit_hours) \
        .where(o.agency_id == agency_id).order_by(o.code)
    if office_ids is not None:
        statement = statement.where(o.id.in_(list(office_ids)))
    elif not is_admin:
        from app.models.organisation import officer_offices

        statement = statement.where(o.id.in_(select(officer_offices.c.office_id)
                                             .where(officer_offices.c.user_id == user_id)))
    return [tuple(r) for r in connection.execute(statement)]


def _status_counts(connection: Connection, ids: list[int]) -> dict[int, dict[str, int]]:
    a = Application.__table__.c
    result: dict[int, dict[str, int]] = {}
    for office, status, n in connection.execute(
            select(a.office_id, a.status, func.count()).where(a.office_id.in_(ids))
            .group_by(a.office_id, a.status)):
        result.setdefault(int(office), {})[str(status)] = int(n)
    return result


def _ordered(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    known = [(s, counts[s]) for s in STATUS_ORDER if counts.get(s)]
    other = [(s, n) for s, n in sorted(counts.items()) if s not in STATUS_ORDER and n]
    return tuple(known + other)


def _office_figures(connection: Connection, row: tuple, counts: dict[str, int],
                    now: dt.datetime) -> OfficeFigures:
    office_id, code, name, _ewallet, limit = row
    a = Application.__table__.c
    cutoff = now - dt.timedelta(hours=int(limit))
    overdue = sum(connection.execute(select(func.count()).where(
        a.office_id == office_id, a.status == status, a.waiting_since < cutoff)).scalar_one()
        for status in WAITING)
    return OfficeFigures(
        id=int(office_id), code=code, name=name, counts=_ordered(counts),
        total=sum(counts.values()), waiting=sum(counts.get(s, 0) for s in WAITING),
        overdue=int(overdue), limit_hours=int(limit))


def _india_date_sql(connection: Connection, column):  # type: ignore[no-untyped-def]
    if connection.dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Kolkata", column))
    # SQLite keeps UTC as text: India is UTC+05:30 (no daylight saving)
    return func.date(column, literal_column("'+330 minutes'"))


def _issued_per_day(connection: Connection, ids: list[int],
                    today: dt.date) -> tuple[DayCount, ...]:
    first = today - dt.timedelta(days=DAYS - 1)
    c = Certificate.__table__.c
    day = _india_date_sql(connection, c.issued_at)
    rows = connection.execute(
        select(day, func.count()).where(c.issued_at >= india_midnight(first),
                                        c.office_id.in_(ids)).group_by(day))
    found = {str(d)[:10]: int(n) for d, n in rows}
    days = [first + dt.timedelta(days=i) for i in range(DAYS)]
    return tuple(DayCount(d, found.get(d.isoformat(), 0)) for d in days)


def _oldest_waiting(connection: Connection, ids: list[int], codes: dict[int, str],
                    limits: dict[int, int], now: dt.datetime) -> tuple[WaitingApplication, ...]:
    """The OLDEST longest waiting: the first few of each office and status from the index
    (office_id, status, waiting_since), then the oldest of those with their names."""
    a = Application.__table__.c
    firsts: list[tuple] = []
    for office in ids:
        for status in WAITING:
            firsts.extend(connection.execute(
                select(a.waiting_since, a.id).where(a.office_id == office, a.status == status)
                .order_by(a.waiting_since, a.id).limit(OLDEST)).tuples())
    chosen = [id_ for _since, id_ in sorted(firsts)[:OLDEST]]
    if not chosen:
        return ()
    claimer = User.__table__.alias("claimer")
    rows = connection.execute(
        select(a.id, a.number, a.office_id, a.status, a.waiting_since, Exporter.name,
               claimer.c.full_name)
        .join_from(Application.__table__, Exporter.__table__, Exporter.id == a.exporter_id)
        .outerjoin(claimer, claimer.c.id == a.claimed_by_id)
        .where(a.id.in_(chosen)).order_by(a.waiting_since, a.id))
    result = []
    for id_, number, office, status, since, exporter, claimed_by in rows:
        since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        hours = (now - since).total_seconds() / 3600
        result.append(WaitingApplication(
            id=int(id_), number=number, office_code=codes[office], status=str(status),
            exporter=exporter, waiting_since=since, hours=hours,
            waits_on=waits_on(str(status), codes[office], claimed_by),
            overdue=hours > limits[office]))
    return tuple(result)


def waits_on(status: str, office_code: str, claimed_by: str | None) -> str:
    """Who or what a waiting application waits on, in the officer's words."""
    if status in (S.SUBMITTED, S.RESUBMITTED):
        what = "a first look" if status == S.SUBMITTED else "a look at the exporter's answer"
        if claimed_by:
            return f"{claimed_by}: {what}"
        return f"any {office_code} officer: {what} (unclaimed)"
    if status == S.UNDER_SCRUTINY:
        return f"{claimed_by or 'an officer'}: scrutiny"
    if status == S.APPROVED:
        return f"{claimed_by or 'an officer'}: issue (approved, needs a signature)"
    return "the exporter"


def _own_work(connection: Connection, user_id: int, today: dt.date) -> OwnWork:
    e = AuditEvent.__table__.c
    actions = dict((action, name) for name, action in OWN_WORK)
    rows = connection.execute(
        select(e.action, func.count()).where(and_(
            e.actor_id == user_id, e.at >= india_midnight(today), e.action.in_(list(actions))))
        .group_by(e.action))
    return OwnWork(**{actions[action]: int(n) for action, n in rows})


def _wallets(connection: Connection, offices: list[tuple]) -> tuple[WalletFigure, ...]:
    w = OfficeWallet.__table__.c
    balances = {int(o): Decimal(str(b)).quantize(Decimal("0.01")) for o, b in connection.execute(
        select(w.office_id, w.balance).where(w.office_id.in_([o[0] for o in offices])))}
    from app.services.wallet import rupees

    result = []
    for office_id, code, _name, enabled, _limit in offices:
        balance = balances.get(office_id, Decimal("0.00"))
        result.append(WalletFigure(code, balance, bool(enabled), rupees(balance)))
    return tuple(result)


def _trade_events(connection: Connection, agency_id: int,
                  today: dt.date) -> tuple[TradeEventView, ...]:
    t = TradeEvent.__table__.c
    rows = connection.execute(
        select(t.id, t.title, t.starts_on, t.ends_on, t.place, t.note)
        .where(t.agency_id == agency_id, t.ends_on >= today)
        .order_by(t.starts_on, t.id).limit(50))
    return tuple(TradeEventView(int(r[0]), r[1], r[2], r[3], r[4] or "", r[5] or "")
                 for r in rows)


@functools.cache
def agreement_views() -> tuple[AgreementView, ...]:
    """The agreements panel: from the reference data (resources/agreements.json, read once)."""
    from app.services.desk import country_name

    views = []
    for code, agreement in sorted(trade_agreements().items()):
        rule = agreement.general_rule.text if agreement.general_rule is not None else ""
        views.append(AgreementView(
            code=code, name=agreement.name,
            partners=", ".join(country_name(p) for p in agreement.partners),
            form=f"{agreement.form} ({agreement.form_name})" if agreement.form_name
            else agreement.form,
            general_rule=rule or agreement.rule,
            validity=(f"{agreement.validity_months} months from issue"
                      if agreement.validity_months else "as the importing country's rules say")))
    return tuple(views)
