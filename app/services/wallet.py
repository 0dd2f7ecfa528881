"""The offices' e-wallets: balances, statements, top-ups, and the sentences that refuse an
issue the balance cannot pay for (``docs/WALLET.md``).

The ledger is ``wallet_entries`` (top-ups by administrators with a payment-gateway
reference, a fee debited in the issuing transaction, a refund when a certificate is
cancelled on the India date it was issued); the balance is ``office_wallets``, kept by
the store's triggers in the transaction that writes each line and never below zero
(revision ``0009_wallet_ledger``). The helpers at the top are pure and shared by the
issuing paths (``central_issuing``, the desk's check before the PIN); :class:`WalletBook`
is the administrator's service, bound to an :class:`~app.services.admin.AgencyAdmin`
(the same engine and administrator: on PostgreSQL the administrator's own login, where
the store checks a top-up again).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.models.certificates import CERTIFICATE_FEES

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin

INDIA = ZoneInfo("Asia/Kolkata")
MAX_TOP_UP = Decimal("10000000.00")  # revision 0009_wallet_ledger, MAX_TOP_UP
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 /_.:-]{3,99}")  # 0009, REFERENCE_PATTERN
PAISE = Decimal("0.01")


class WalletRefused(UserFacingError):
    """A top-up or a statement that cannot be made; the message says why."""


# --- pure helpers --------------------------------------------------------------------------


def rupees(amount: Decimal) -> str:
    """₹1,400.00 (the store's od_rupees writes the same)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}₹{abs(amount).quantize(PAISE):,.2f}"


def fee_for(kind: str) -> Decimal:
    """The certificate fee of an application kind (``CERTIFICATE_FEES``)."""
    return CERTIFICATE_FEES["preferential" if str(kind) == "preferential" else "non_preferential"]


def shortfall(office_code: str, balance: Decimal, fee: Decimal, application_number: str) -> str:
    """The refusal of one certificate whose fee the balance cannot pay."""
    return (f"Office {office_code}'s e-wallet holds {rupees(balance)}; the certificate fee for "
            f"application {application_number} is {rupees(fee)}: ask an administrator to top "
            "it up first.")


@dataclass(frozen=True)
class OfficeCharge:
    """What a batch would debit from one office's e-wallet, and what it holds now."""

    office_code: str
    ewallet_enabled: bool
    balance: Decimal
    fees: tuple[tuple[str, str, Decimal], ...]  # (application number, kind, fee)

    @property
    def total(self) -> Decimal:
        return sum((fee for _n, _k, fee in self.fees), Decimal("0.00"))

    @property
    def short(self) -> bool:
        return self.ewallet_enabled and self.balance < self.total

    def refusal(self) -> str:
        """One sentence naming the balance and the fee(s)."""
        if len(self.fees) == 1:
            number, _kind, fee = self.fees[0]
            return shortfall(self.office_code, self.balance, fee, number)[:-1] + (
                "; nothing was signed.")
        each = sorted({(kind, fee) for _n, kind, fee in self.fees}, key=lambda kf: -kf[1])
        parts = ", ".join(
            f"{sum(1 for _n, k, _f in self.fees if k == kind)} {kind.replace('_', '-')} at "
            f"{rupees(fee)}" for kind, fee in each)
        return (f"Office {self.office_code}'s e-wallet holds {rupees(self.balance)}; the fees "
                f"for these {len(self.fees)} certificates come to {rupees(self.total)} "
                f"({parts}): ask an administrator to top it up first; nothing was signed.")


def charges(rows: Iterable[tuple[str, bool, Decimal | None, str, str]]) -> list[OfficeCharge]:
    """``(office code, e-wallet on, balance, application number, kind)`` rows -> per office."""
    grouped: dict[str, tuple[bool, Decimal, list[tuple[str, str, Decimal]]]] = {}
    for code, enabled, balance, number, kind in rows:
        entry = grouped.setdefault(code, (bool(enabled), _money(balance or 0), []))
        fee_kind = "preferential" if str(kind) == "preferential" else "non_preferential"
        entry[2].append((number, fee_kind, fee_for(fee_kind)))
    return [OfficeCharge(code, enabled, balance, tuple(fees))
            for code, (enabled, balance, fees) in sorted(grouped.items())]


def balance_of(session: Session, office_id: int) -> Decimal:
    """The office's balance as the store keeps it (0.00 before its first line)."""
    from app.models import OfficeWallet

    value = session.scalar(select(OfficeWallet.balance).where(OfficeWallet.office_id == office_id))
    return _money(value or 0)


def office_charges(session: Session, application_ids: Sequence[int]) -> list[OfficeCharge]:
    """The e-wallet charges of issuing ``application_ids``, read in ``session`` (the
    caller's login: row-level security shows an officer only their offices)."""
    from app.models import Application, Office, OfficeWallet

    if not application_ids:
        return []
    rows = session.execute(
        select(Office.code, Office.ewallet_enabled, OfficeWallet.balance, Application.number,
               Application.kind)
        .join(Office, Office.id == Application.office_id)
        .outerjoin(OfficeWallet, OfficeWallet.office_id == Office.id)
        .where(Application.id.in_(list(application_ids)))
        .order_by(Application.id)
    ).all()
    return charges((r[0], r[1], r[2], r[3], str(r[4])) for r in rows)


def same_india_date(issued_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether a cancellation at ``now`` is on the India date of the issue (a refund)."""
    def india(moment: dt.datetime) -> dt.date:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return aware.astimezone(INDIA).date()

    return india(issued_at) == india(now)


def parse_amount(text: str | Decimal) -> Decimal:
    """A top-up amount in rupees (up to two decimals, more than 0, at most MAX_TOP_UP)."""
    raw = str(text).strip().replace(",", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise WalletRefused(f"The amount {str(text)!r} is not a number of rupees (e.g. "
                            "1000.00).") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_TOP_UP:
        raise WalletRefused(f"A top-up is more than ₹0.00 and at most {rupees(MAX_TOP_UP)}; "
                            f"{raw} is not.")
    if amount != amount.quantize(PAISE):
        raise WalletRefused(f"The amount {raw} has more than two decimals (paise).")
    return amount.quantize(PAISE)


def check_reference(text: str) -> str:
    """A payment-gateway reference: 4 to 100 letters, digits, spaces and / _ . : -."""
    reference = (text or "").strip()
    if not REFERENCE_PATTERN.fullmatch(reference):
        shown = reference[:60] + ("…" if len(reference) > 60 else "")
        raise WalletRefused(f"The payment-gateway reference {shown!r} is not one: 4 to 100 "
                            "letters, digits, spaces and / _ . : -, starting with a letter or "
                            "digit.")
    return reference


def _money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(PAISE)


def india_date(moment: dt.datetime) -> dt.date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(INDIA).date()


# --- the administrator's book ----------------------------------------------------------------


@dataclass(frozen=True)
class OfficeBalance:
    office_id: int
    code: str
    name: str
    ewallet_enabled: bool
    balance: Decimal


@dataclass(frozen=True)
class StatementLine:
    at: dt.datetime
    kind: str  # top_up | fee | refund
    amount: Decimal
    certificate_number: str | None
    reference: str
    balance: Decimal  # the running balance after this line

    @property
    def date(self) -> dt.date:
        return india_date(self.at)


@dataclass(frozen=True)
class Statement:
    office_code: str
    office_name: str
    date_from: dt.date | None
    date_to: dt.date | None
    opening: Decimal  # the balance before the first line shown
    lines: tuple[StatementLine, ...]
    closing: Decimal

    def to_json(self) -> dict[str, object]:
        return {
            "office": self.office_code,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "opening_balance": str(self.opening),
            "closing_balance": str(self.closing),
            "lines": [{"date": line.date.isoformat(), "at": line.at.isoformat(),
                       "kind": line.kind, "amount": str(line.amount),
                       "certificate": line.certificate_number, "reference": line.reference,
                       "balance": str(line.balance)} for line in self.lines],
        }


class WalletBook:
    """Balances, statements and top-ups of the administrator's agency's offices."""

    def __init__(self, admin: AgencyAdmin) -> None:
        self.admin = admin

    def balances(self) -> list[OfficeBalance]:
        from app.models import Office, OfficeWallet

        with self.admin.sessions() as session:
            self.admin._actor(session)
            rows = session.execute(
                select(Office.id, Office.code, Office.name, Office.ewallet_enabled,
                       OfficeWallet.balance)
                .outerjoin(OfficeWallet, OfficeWallet.office_id == Office.id)
                .where(Office.agency_id == self.admin.agency_id).order_by(Office.code)
            ).all()
        return [OfficeBalance(r.id, r.code, r.name, bool(r.ewallet_enabled), _money(r.balance or 0))
                for r in rows]

    def statement(self, office_code: str, date_from: dt.date | None = None,
                  date_to: dt.date | None = None) -> Statement:
        """The office's ledger lines between two India dates (inclusive), with the running
        balance; the opening balance is the sum of the lines before ``date_from``."""
        from app.models import WalletEntry

        if date_from and date_to and date_from > date_to:
            raise WalletRefused(f"The statement runs from {date_from} to {date_to}: the start "
                                "is after the end.")
        with self.admin.sessions() as session:
            office = self._office(session, office_code)
            entries = session.execute(
                select(WalletEntry.at, WalletEntry.kind, WalletEntry.amount,
                       WalletEntry.certificate_number, WalletEntry.reference)
                .where(WalletEntry.office_id == office.id)
                .order_by(WalletEntry.at, WalletEntry.id)
            ).all()
        running = Decimal("0.00")
        opening = Decimal("0.00")
        lines: list[StatementLine] = []
        for at, kind, amount, certificate, reference in entries:
            running += _money(amount)
            day = india_date(at)
            if date_from and day < date_from:
                opening = running
                continue
            if date_to and day > date_to:
                continue
            lines.append(StatementLine(at, str(kind), _money(amount), certificate,
                                       reference or "", running))
        closing = lines[-1].balance if lines else opening
        return Statement(office.code, office.name, date_from, date_to, opening, tuple(lines),
                         closing)

    def top_up(self, office_code: str, amount: str | Decimal, reference: str) -> OfficeBalance:
        """Credit a payment received through the gateway (its reference credits once)."""
        from app.models import AuditEvent, WalletEntry, WalletEntryKind
        from app.models.base import utcnow
        from app.services.admin import _label

        value = parse_amount(amount)
        clean = check_reference(reference)
        code = office_code.strip().upper()
        try:
            with self.admin.sessions() as session, session.begin():
                actor = self.admin._actor(session)
                office = self._office(session, code)
                self._refuse_replay(session, office, clean)
                now = utcnow()
                session.add(WalletEntry(office_id=office.id, kind=WalletEntryKind.TOP_UP,
                                        amount=value, certificate_number=None,
                                        reference=clean, at=now))
                session.flush()
                session.add(AuditEvent(
                    at=now, actor_id=actor.id, actor_label=_label(actor),
                    action="office.wallet_top_up", entity_type="office", entity_id=office.id,
                    before={"balance": str(balance_of(session, office.id) - value)},
                    after={"balance": str(balance_of(session, office.id)),
                           "amount": str(value), "reference": clean},
                ))
        except IntegrityError:  # the same reference credited meanwhile (another window)
            with self.admin.sessions() as session:
                self._refuse_replay(session, self._office(session, code), clean)
            raise
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "ODREF":
                message = getattr(getattr(exc.orig, "diag", None), "message_primary", None)
                raise WalletRefused(str(message or exc.orig)) from None
            raise
        return next(b for b in self.balances() if b.code == code)

    def _office(self, session: Session, code: str):  # type: ignore[no-untyped-def]
        from app.models import Office

        wanted = (code or "").strip().upper()
        office = session.scalars(select(Office).where(
            Office.code == wanted, Office.agency_id == self.admin.agency_id)).first()
        if office is None:
            raise WalletRefused(f"No office with the code {code!r} in your agency.")
        return office

    @staticmethod
    def _refuse_replay(session: Session, office: object, reference: str) -> None:
        from app.models import WalletEntry, WalletEntryKind

        credited = session.execute(
            select(WalletEntry.at, WalletEntry.amount).where(
                WalletEntry.office_id == office.id,  # type: ignore[attr-defined]
                WalletEntry.kind == WalletEntryKind.TOP_UP, WalletEntry.reference == reference)
        ).first()
        if credited is not None:
            raise WalletRefused(
                f"Payment-gateway reference {reference} was already credited to office "
                f"{office.code} on {india_date(credited.at)} "  # type: ignore[attr-defined]
                f"({rupees(_money(credited.amount))}); a payment is credited once.")
