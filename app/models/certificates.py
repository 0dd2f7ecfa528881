"""Issued certificates, their numbers, the DSC registrations that sign them, fees and audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.applications import Application
from app.models.base import Base, utcnow
from app.models.enums import CertificateStatus, WalletEntryKind
from app.models.organisation import Office, User

# Fee per certificate in rupees (before GST), debited from the office's e-wallet on issue
CERTIFICATE_FEES = {"preferential": Decimal("600.00"), "non_preferential": Decimal("200.00")}


def certificate_fee(preferential: bool) -> Decimal:
    return CERTIFICATE_FEES["preferential" if preferential else "non_preferential"]


class Certificate(Base):
    __tablename__ = "certificates"
    # certificates issued per day on the dashboard (revision 0012)
    __table_args__ = (Index("ix_certificates_issued_at", "issued_at", "office_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[CertificateStatus] = mapped_column(String(20), default=CertificateStatus.VALID)
    superseded_by_number: Mapped[str | None] = mapped_column(String(32), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)
    signer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf: Mapped[bytes | None] = mapped_column(default=None, deferred=True)
    # how the officer signed it: 'dsc' (a registered token) or 'esign' (Aadhaar eSign
    # through the agency's gateway; revision 0014). Server default only: the demo's seed,
    # written before revision 0014, omits it
    signed_with: Mapped[str] = mapped_column(String(10), server_default="dsc")

    application: Mapped[Application] = relationship()
    office: Mapped[Office] = relationship()
    issued_by: Mapped[User] = relationship()


class CertificateNumber(Base):
    """Every number the store handed out: issued, or voided with the reason it was not used."""

    __tablename__ = "certificate_numbers"
    __table_args__ = (UniqueConstraint("agency_id", "year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    year: Mapped[int]
    serial: Mapped[int]
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    reserved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="reserved")  # reserved|issued|void
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # who reserved it, from which desk session (an opaque id): revision 0004_central_rules
    reserved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    desk_session: Mapped[str | None] = mapped_column(String(64), default=None)


class DscRegistration(Base):
    """A DSC certificate that an officer registered for signing."""

    __tablename__ = "dsc_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)  # QR key id (hex)
    subject: Mapped[str] = mapped_column(String(400))
    issuer: Mapped[str] = mapped_column(String(400))
    serial_hex: Mapped[str] = mapped_column(String(80))
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    certificate_der: Mapped[bytes]
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class WalletEntry(Base):
    """A line of an office's e-wallet ledger (top-ups, fees debited on issue, refunds).

    Revision 0009_wallet_ledger: one fee and at most one refund per certificate, and a
    payment-gateway reference credited once per office (``docs/WALLET.md``)."""

    __tablename__ = "wallet_entries"
    __table_args__ = (
        Index("ux_wallet_entries_certificate_kind", "certificate_number", "kind", unique=True),
        Index("ux_wallet_entries_top_up_reference", "office_id", "reference", unique=True,
              sqlite_where=text("kind = 'top_up'"), postgresql_where=text("kind = 'top_up'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    kind: Mapped[WalletEntryKind] = mapped_column(String(10))
    amount: Mapped[Decimal]  # positive credits, negative debits, in rupees
    certificate_number: Mapped[str | None] = mapped_column(String(32), default=None)
    reference: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OfficeWallet(Base):
    """An office's e-wallet balance: the sum of its ledger, kept by the store in the
    transaction that writes each line (triggers of revision 0009_wallet_ledger), never
    below zero. Its row is what concurrent issues from several desks queue on."""

    __tablename__ = "office_wallets"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what, when, to which record, with the values before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),
                      # the user's own work today on the dashboard (revision 0012)
                      Index("ix_audit_events_actor_at", "actor_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
