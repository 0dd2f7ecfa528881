"""Hand-made in-lieu applications: a copy of an issued application's printed fields with a
changed consignee and one changed goods quantity, filed against its certificate (as the
store's owner, on SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    Certificate,
    CertificateStatus,
    GoodsLine,
    Office,
    User,
)

NEW_CONSIGNEE = "Al Noor Trading LLC"
COPIED = (
    "office_id", "exporter_id", "applicant_id", "agreement_code", "form_code",
    "consignee_address", "consignee_country", "destination_country", "origin_country",
    "transport_mode", "vessel_or_flight", "port_of_loading", "port_of_discharge",
    "departure_date", "invoice_number", "invoice_date", "remarks", "declaration_place",
    "declaration_date", "currency", "hs_codes", "total_fob",
)
GOODS = ("item_no", "description", "hs_code", "quantity", "unit", "gross_weight_kg",
         "package_count", "package_kind", "marks", "fob_value", "origin_criterion")


@dataclass(frozen=True)
class InLieu:
    application_id: int
    number: str
    original_application_id: int
    original_number: str  # the certificate replaced
    changed_item: int
    old_quantity: Decimal
    new_quantity: Decimal


def original_candidates(session: Session, office_code: str) -> list[int]:
    """Issued non-preferential applications of the office with a valid certificate."""
    return list(session.scalars(
        select(Application.id)
        .join(Certificate, Certificate.application_id == Application.id)
        .join(Office, Office.id == Application.office_id)
        .where(Office.code == office_code, Application.status == ApplicationStatus.ISSUED,
               Application.kind == ApplicationKind.NON_PREFERENTIAL,
               Certificate.status == CertificateStatus.VALID,
               Certificate.superseded_by_number.is_(None))
        .order_by(Application.id)))


def make_in_lieu(engine: Engine, *, office_code: str = "MUM", officer_email: str | None = None,
                 status: ApplicationStatus = ApplicationStatus.APPROVED, skip: int = 0,
                 original_number: str | None = None,
                 original_office: str | None = None) -> InLieu:
    """An in-lieu application of ``office_code`` replacing an issued certificate of
    ``original_office`` (the same office by default; or naming ``original_number`` as it
    stands), approved and claimed by ``officer_email``."""
    with Session(engine) as session, session.begin():
        original = session.get(Application, original_candidates(
            session, original_office or office_code)[skip])
        assert original is not None
        certificate = session.scalars(select(Certificate).where(
            Certificate.application_id == original.id)).one()
        officer = session.scalars(select(User).where(User.email == officer_email)).first() \
            if officer_email else None
        serial = (session.scalar(select(func.max(Application.id))) or 0) + 1
        app = Application(
            number=f"APP-IL-{serial:06d}", kind=ApplicationKind.IN_LIEU, status=status,
            consignee_name=NEW_CONSIGNEE,
            original_certificate_number=original_number or certificate.number,
            original_certificate_date=(dt.date(2024, 11, 5) if original_number
                                       else certificate.issued_at.date()),
            in_lieu_reason="Consignee renamed; quantity of item 1 corrected.",
            claimed_by_id=officer.id if officer and status in (
                ApplicationStatus.APPROVED, ApplicationStatus.UNDER_SCRUTINY) else None,
            **{name: getattr(original, name) for name in COPIED},
        )
        app.office_id = session.scalars(select(Office.id).where(Office.code == office_code)).one()
        session.add(app)
        session.flush()
        changed = original.goods[0]
        for line in original.goods:
            values = {name: getattr(line, name) for name in GOODS}
            values["fob_value"] = line.fob_value.quantize(Decimal("0.01"))  # PostgreSQL: 0.000
            if line.item_no == changed.item_no:
                values["quantity"] = line.quantity + Decimal("25")
            session.add(GoodsLine(application_id=app.id, **values))
        session.flush()
        return InLieu(app.id, app.number, original.id, certificate.number, changed.item_no,
                      changed.quantity, changed.quantity + Decimal("25"))
