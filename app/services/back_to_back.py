"""Back-to-back certificates: the foreign certificate an application rests on, what its goods
certify, what was drawn from them, and the balance (no Qt, no HTTP here).

A back-to-back application names its foreign certificate by number and issuing country
(``applications.foreign_certificate_number`` / ``_country``); the exporter recorded that
certificate once, with its goods (``app/models/foreign_certificates.py``). Each goods line
draws its quantity from one goods item (``goods_lines.foreign_goods_id``), in the item's
unit. For each item:

- **issued**: what other applications' certificates drew (certificates not cancelled);
- **approved**: what other approved applications (no certificate yet) drew;
- **this application**: what its own lines draw;
- **balance**: quantity − issued − approved (what is left for this application).

Approval refuses a draw above quantity − issued − approved; issuing refuses a draw above
quantity − issued (authoritative when the certificate is recorded: on PostgreSQL the
store's trigger on ``certificates`` locks the foreign certificate; on SQLite the issuing
transaction holds the database's write lock).

Where the numbers come from: the central store's own rows (SQLite demo); on PostgreSQL the
SECURITY DEFINER function ``od_foreign_draws`` (an officer sees only their offices'
applications, the balance needs every office's); on a synced desk the local store's
``foreign_draws`` copy of that function's answer, pulled with the queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, exists, inspect, select, text
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    Certificate,
    CertificateStatus,
    ForeignCertificate,
    ForeignGoods,
    GoodsLine,
)

ZERO = Decimal("0")
ISSUED, APPROVED = "issued", "approved"


class OverDraw(UserFacingError):
    """A back-to-back application draws more than its foreign certificate has left, or
    draws from nothing recorded; the message is one sentence naming the balance."""


def quantity_text(value: Decimal) -> str:
    """A quantity as the store prints it (trailing zeros dropped: 40, 12.5)."""
    text_ = f"{value:f}"
    if "." in text_:
        text_ = text_.rstrip("0").rstrip(".")
    return text_ or "0"


@dataclass(frozen=True)
class ItemBalance:
    """One goods item of the foreign certificate, as an officer weighs a draw on it."""

    item_no: int
    description: str
    hs_code: str
    unit: str
    quantity: Decimal
    issued: Decimal  # drawn by other applications' certificates
    approved: Decimal  # drawn by other approved applications
    this_draw: Decimal  # drawn by this application's lines

    @property
    def balance(self) -> Decimal:
        return self.quantity - self.issued - self.approved

    @property
    def over(self) -> bool:
        return self.this_draw > self.balance


@dataclass(frozen=True)
class ForeignBalance:
    number: str
    country: str
    issuer: str
    issued_on: dt.date
    items: tuple[ItemBalance, ...]
    undrawn_lines: tuple[int, ...]  # this application's lines that draw from no item
    # this application's lines in another unit than their item: (line, its unit, item's)
    wrong_units: tuple[tuple[int, str, str], ...] = ()


def recorded_certificate(session: Session, application: Application) -> ForeignCertificate | None:
    """The recorded foreign certificate a back-to-back application names, if any."""
    number = (application.foreign_certificate_number or "").strip()
    country = application.foreign_certificate_country or application.foreign_origin_country
    if not number or not country:
        return None
    return session.scalars(select(ForeignCertificate).where(
        ForeignCertificate.exporter_id == application.exporter_id,
        ForeignCertificate.country == country,
        ForeignCertificate.number == number)).first()


def draws(session: Session, certificate_ids: Iterable[int]) -> list[tuple[int, int, Decimal, str]]:
    """(foreign goods id, application id, quantity, 'issued' | 'approved') of every goods
    line of an approved or issued application drawing from these foreign certificates."""
    ids = sorted({int(i) for i in certificate_ids})
    if not ids:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.execute(text(
            "SELECT foreign_goods_id, application_id, quantity, state "
            "FROM od_foreign_draws(CAST(:ids AS integer[]))"), {"ids": ids}).all()
        return [(r[0], r[1], Decimal(r[2]), r[3]) for r in rows]
    if _has_local_copy(connection):
        from app.store.local import foreign_draws

        items = select(ForeignGoods.id).where(ForeignGoods.foreign_certificate_id.in_(ids))
        rows = connection.execute(select(foreign_draws).where(
            foreign_draws.c.foreign_goods_id.in_(items))).all()
        return [(r.foreign_goods_id, r.application_id, Decimal(r.quantity), r.state)
                for r in rows]
    return central_draws(connection, ids)


def central_draws(connection: Connection, certificate_ids: list[int]
                  ) -> list[tuple[int, int, Decimal, str]]:
    """:func:`draws` from the central store's own rows (also what a pull copies)."""
    lines = GoodsLine.__table__
    apps = Application.__table__
    certificates = Certificate.__table__
    items = ForeignGoods.__table__
    live = exists().where(certificates.c.application_id == apps.c.id,
                          certificates.c.status != CertificateStatus.CANCELLED.value)
    rows = connection.execute(
        select(lines.c.foreign_goods_id, lines.c.application_id, lines.c.quantity,
               live.label("issued"))
        .join(apps, apps.c.id == lines.c.application_id)
        .join(items, items.c.id == lines.c.foreign_goods_id)
        .where(items.c.foreign_certificate_id.in_(certificate_ids),
               (apps.c.status == ApplicationStatus.APPROVED.value) | live)).all()
    return [(r[0], r[1], r[2], ISSUED if r[3] else APPROVED) for r in rows]


def _has_local_copy(connection: Connection) -> bool:
    return bool(inspect(connection).has_table("foreign_draws"))


def balance(session: Session, application: Application) -> ForeignBalance | None:
    """The foreign certificate's goods and what is left of them for this application;
    None when it is not back-to-back or names no recorded foreign certificate."""
    if application.kind != ApplicationKind.BACK_TO_BACK:
        return None
    certificate = recorded_certificate(session, application)
    if certificate is None:
        return None
    issued: dict[int, Decimal] = {}
    approved: dict[int, Decimal] = {}
    for goods_id, application_id, quantity, state in draws(session, [certificate.id]):
        if application_id == application.id:
            continue
        target = issued if state == ISSUED else approved
        target[goods_id] = target.get(goods_id, ZERO) + quantity
    mine: dict[int, Decimal] = {}
    undrawn = []
    for line in application.goods:
        if line.foreign_goods_id is None:
            undrawn.append(line.item_no)
        else:
            mine[line.foreign_goods_id] = mine.get(line.foreign_goods_id, ZERO) + line.quantity
    items = tuple(
        ItemBalance(item_no=g.item_no, description=g.description, hs_code=g.hs_code,
                    unit=g.unit, quantity=g.quantity, issued=issued.get(g.id, ZERO),
                    approved=approved.get(g.id, ZERO), this_draw=mine.get(g.id, ZERO))
        for g in certificate.goods)
    units = {g.id: g.unit for g in certificate.goods}
    undrawn += [line.item_no for line in application.goods
                if line.foreign_goods_id is not None and line.foreign_goods_id not in units]
    wrong = tuple((line.item_no, line.unit, units[line.foreign_goods_id])
                  for line in application.goods
                  if line.foreign_goods_id in units and units[line.foreign_goods_id] != line.unit)
    return ForeignBalance(number=certificate.number, country=certificate.country,
                          issuer=certificate.issuer, issued_on=certificate.issued_on,
                          items=items, undrawn_lines=tuple(sorted(undrawn)), wrong_units=wrong)


def over_draw_sentence(number: str, certificate: str, item: ItemBalance, *,
                       with_approved: bool) -> str:
    """The one sentence an over-draw is refused with (the store's own words, 0010)."""
    q = quantity_text
    approved = f", {q(item.approved)} by other approved applications" if with_approved else ""
    left = item.quantity - item.issued - (item.approved if with_approved else ZERO)
    return (f"Back-to-back application {number} draws {q(item.this_draw)} {item.unit} of item "
            f"{item.item_no} ({item.description}) of foreign certificate {certificate}, whose "
            f"balance is {q(left)} {item.unit} ({q(item.quantity)} certified, "
            f"{q(item.issued)} drawn by issued certificates{approved}).")


def check_draw(session: Session, application: Application, *, at_approval: bool) -> None:
    """Refuse (OverDraw) a back-to-back application that rests on no recorded foreign
    certificate, has a line drawing from none of its items or in another unit, or draws
    more than is left: at approval, less what other approved applications drew too."""
    if application.kind != ApplicationKind.BACK_TO_BACK:
        return
    number = application.number
    found = balance(session, application)
    if found is None:
        raise OverDraw(
            f"Back-to-back application {number} names foreign certificate "
            f"{application.foreign_certificate_number or '(none)'}, which is not recorded for "
            "its exporter; record it with its goods before the application is approved.")
    if found.undrawn_lines:
        raise OverDraw(
            f"Goods line(s) {', '.join(map(str, found.undrawn_lines))} of back-to-back "
            f"application {number} draw from no goods item of foreign certificate "
            f"{found.number}.")
    if found.wrong_units:
        item_no, unit, item_unit = found.wrong_units[0]
        raise OverDraw(
            f"Goods line {item_no} of application {number} is in {unit} but the foreign "
            f"goods item it draws from is in {item_unit}; a line draws in the item's unit.")
    for item in found.items:
        if item.this_draw <= 0:
            continue
        left = item.balance if at_approval else item.quantity - item.issued
        if item.this_draw > left:
            raise OverDraw(over_draw_sentence(number, found.number, item,
                                              with_approved=at_approval))


def check_issue(session: Session, application_id: int) -> None:
    """:func:`check_draw` for issuing (the central SQLite store's issuing path)."""
    application = session.get(Application, application_id)
    if application is not None and application.kind == ApplicationKind.BACK_TO_BACK:
        check_draw(session, application, at_approval=False)



@dataclass(frozen=True)
class ForeignBalanceView:
    """What the detail panel shows of a back-to-back application's foreign certificate:
    a heading and one row of display-ready text per goods item (no computing in the view)."""

    heading: str
    # item, description, HS code, certified, issued, other approved, this draw, balance
    rows: tuple[tuple[str, str, str, str, str, str, str, str], ...]
    over_rows: frozenset[int]  # rows this application's draw would over-draw (red)
    note: str  # not recorded, lines drawing from nothing: one sentence; else ""


def balance_view(session: Session, application: Application) -> ForeignBalanceView | None:
    if application.kind != ApplicationKind.BACK_TO_BACK:
        return None
    found = balance(session, application)
    if found is None:
        return ForeignBalanceView(
            heading=f"Foreign certificate {application.foreign_certificate_number or '(none)'}",
            rows=(), over_rows=frozenset(),
            note="Not recorded for this exporter: nothing to draw from; it cannot be approved.")
    q = quantity_text
    rows = tuple(
        (str(i.item_no), i.description, i.hs_code, f"{q(i.quantity)} {i.unit}",
         f"{q(i.issued)} {i.unit}", f"{q(i.approved)} {i.unit}", f"{q(i.this_draw)} {i.unit}",
         f"{q(i.balance)} {i.unit}")
        for i in found.items)
    note = ""
    if found.undrawn_lines:
        note = (f"Goods line(s) {', '.join(map(str, found.undrawn_lines))} draw from no item "
                "of this foreign certificate.")
    elif found.wrong_units:
        line, unit, item_unit = found.wrong_units[0]
        note = (f"Goods line {line} is in {unit} but the goods item it draws from is in "
                f"{item_unit}.")
    elif any(i.over for i in found.items):
        note = "This application draws more than the balance of the item(s) in red."
    return ForeignBalanceView(
        heading=(f"Foreign certificate {found.number} ({found.country}), {found.issuer}, "
                 f"dated {found.issued_on:%d %b %Y}"),
        rows=rows, over_rows=frozenset(n for n, i in enumerate(found.items) if i.over),
        note=note)
