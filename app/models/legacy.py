"""Certificates of the legacy system (DGFT eCoO 1.0) and the transition rule that keeps
in-lieu requests against them on that system.

DGFT Trade Notice No. 23/2024-25 (6 December 2024), paragraph 4.I: preferential filing
moved to eCoO 2.0 on 21.12.2024, and "application for in-lieu CoO applied against a
Preferential eCoO issued on from the legacy eCoO1.0 system shall be filed on the legacy
1.0 system even after 21.12.2024". This store issues (and replaces) only its own
certificates; :func:`is_legacy_certificate` is the one place that says which ones are not.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.models.base import Base, utcnow

# the day exporters began filing preferential certificates on eCoO 2.0 (notice 23/2024-25, 2.I)
ECOO2_START = dt.date(2024, 12, 21)
# this store's numbering scheme (app/store/numbers.py): AGENCY/YYYY/NNNNNNN, in ASCII digits
# (re's \d would take any script's digits, which the store's od_is_legacy_certificate cannot)
_NUMBER = re.compile(r"[^/\s]{1,16}/([0-9]{4})/[0-9]{7,}")

TRANSITION_RULE = (
    "DGFT Trade Notice No. 23/2024-25, paragraph 4.I: \"application for in-lieu CoO applied "
    "against a Preferential eCoO issued on from the legacy eCoO1.0 system shall be filed on "
    "the legacy 1.0 system even after 21.12.2024\""
)


def is_legacy_certificate(number: str | None, issued_on: dt.date | None = None, *,
                          migrated: bool = False) -> bool:
    """Whether the certificate ``number`` (issued on ``issued_on``, when known) was issued by
    the legacy eCoO 1.0 system, so that an in-lieu certificate for it is not issued here.

    Legacy when: recorded in this store as migrated from the legacy system (``migrated``:
    issue 13 adds that record), or its number is not in this store's scheme
    ``AGENCY/YYYY/NNNNNNN``, or the number's year is before 2024, or it is dated before
    21.12.2024 (nothing was issued on eCoO 2.0 before its preferential start). A number in
    the scheme that this store does not hold is not legacy: it is an unknown number.
    """
    if migrated:
        return True
    text = (number or "").strip()
    if text:
        match = _NUMBER.fullmatch(text)
        if match is None or int(match.group(1)) < ECOO2_START.year:
            return True
    return issued_on is not None and issued_on < ECOO2_START


def legacy_refusal(number: str | None, application_number: str | None = None) -> str:
    """The one sentence that refuses an in-lieu request against a legacy certificate."""
    subject = f"In-lieu application {application_number}" if application_number else \
        "This in-lieu request"
    return (f"{subject} replaces certificate {(number or '').strip() or '(none named)'}, "
            f"issued by the legacy eCoO 1.0 system; it cannot be filed, approved or issued "
            f"here: {TRANSITION_RULE}.")


LEGACY_STATUSES = ("valid", "cancelled", "superseded")


class LegacyCertificate(Base):
    """A certificate issued by the legacy eCoO 1.0 system, migrated into this store by
    ``origin-desk import-legacy`` (revision 0013_legacy_migration, ``docs/MIGRATION.md``):
    verifiable by number with its legacy status, and an in-lieu request against it is
    refused here (:func:`is_legacy_certificate` with ``migrated=True``). Rows are never
    changed or removed."""

    __tablename__ = "legacy_certificates"
    __table_args__ = (
        CheckConstraint("status IN ('valid', 'cancelled', 'superseded')",
                        name="legacy_status_known"),
        CheckConstraint("(status = 'superseded') = (superseded_by IS NOT NULL)",
                        name="legacy_superseded_by_named"),
        Index("ix_legacy_certificates_office_id", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    exporter_iec: Mapped[str] = mapped_column(String(10))
    exporter_name: Mapped[str] = mapped_column(String(200))
    consignee_name: Mapped[str] = mapped_column(String(200))
    destination_country: Mapped[str] = mapped_column(String(2))
    agreement: Mapped[str] = mapped_column(String(40), default="")
    form: Mapped[str] = mapped_column(String(40), default="")
    issued_on: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(12))
    superseded_by: Mapped[str | None] = mapped_column(String(32), default=None)
    goods_summary: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


def is_migrated(session: Session, number: str | None) -> bool:
    """Whether ``number`` is a certificate migrated from the legacy system into this store
    (whatever its form: a legacy number may look like this store's scheme)."""
    from sqlalchemy import text as sql

    clean = (number or "").strip()
    if not clean:
        return False
    if session.get_bind().dialect.name == "postgresql":  # any desk role, the service
        return bool(session.scalar(sql(
            "SELECT EXISTS (SELECT 1 FROM od_certificate_details(:n) WHERE legacy)"),
            {"n": clean}))
    return session.scalar(
        select(LegacyCertificate.id).where(LegacyCertificate.number == clean)) is not None
