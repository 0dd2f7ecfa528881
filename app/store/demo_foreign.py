"""The demo's back-to-back story: foreign certificates recorded with their goods, and
back-to-back applications of office MUM drawing from them (``docs/STORE.md``,
"Back-to-back").

Foreign certificate ``CCPIT/SH/2026/0042117`` (China) certifies 100 MTS of copper cathodes
and 5,000 NOS of battery cells. Drawn from it: an issued certificate (40 MTS, 2,000 NOS),
an approved application (35 MTS), and two under scrutiny by Anita Deshpande: one drawing
20 MTS and 1,000 NOS (it can be approved: 100 − 40 − 35 = 25 MTS left) and one drawing
30 MTS, which would over-draw (approval refused, balance 25 MTS).

Foreign certificate ``VN-2026-HCM-0088123`` (Viet Nam) certifies 20,000 KGS of cashew
kernels; two approved applications draw 12,000 KGS each: the first issued leaves 8,000
KGS, so the second is refused at issue, also when two desks issue both at once.

Rows go in after the migrations (the tables are revision 0010's), as the table owner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import (
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CertificateStatus,
    Exporter,
    ForeignCertificate,
    ForeignGoods,
    GoodsLine,
    Office,
    User,
    WalletEntry,
    WalletEntryKind,
)
from app.models.certificates import certificate_fee
from app.store.numbers import allocate_certificate_number, confirm_certificate_number

S = ApplicationStatus
OFFICE = "MUM"
OFFICER = "anita.deshpande@igcc.org.in"
COPPER_CERTIFICATE = "CCPIT/SH/2026/0042117"
CASHEW_CERTIFICATE = "VN-2026-HCM-0088123"


@dataclass(frozen=True)
class _Draw:
    item: int  # the foreign goods item's number
    quantity: str
    fob: str


# certificate -> (country, issuer, days before today, items, applications)
# items: (description, HS code, quantity, unit, package kind, kg per unit)
# applications: (status, consignee, draws)
PLAN = {
    COPPER_CERTIFICATE: (
        "CN", "China Council for the Promotion of International Trade, Shanghai", 45,
        [("Copper cathodes, grade A, 99.99% Cu", "740311", "100", "MTS", "bundles", 1000),
         ("Lithium-ion battery cells, LiFePO4, 3.2 V 280 Ah", "850760", "5000", "NOS",
          "pallets", Decimal("5.4"))],
        [(S.ISSUED, "Gulf Metals Trading FZE", [_Draw(1, "40", "368000.00"),
                                                _Draw(2, "2000", "96000.00")]),
         (S.APPROVED, "Emirates Cable Industries LLC", [_Draw(1, "35", "322000.00")]),
         (S.UNDER_SCRUTINY, "Al Hamra Power Systems LLC", [_Draw(1, "20", "184000.00"),
                                                           _Draw(2, "1000", "48000.00")]),
         (S.UNDER_SCRUTINY, "Sharjah Wire Products LLC", [_Draw(1, "30", "276000.00")])],
    ),
    CASHEW_CERTIFICATE: (
        "VN", "Vietnam Chamber of Commerce and Industry, Ho Chi Minh City", 30,
        [("Cashew kernels, shelled, W320 grade, vacuum packed in tins", "080132", "20000",
          "KGS", "cartons", 1)],
        [(S.APPROVED, "Al Ghurair Foods LLC", [_Draw(1, "12000", "102000.00")]),
         (S.APPROVED, "Lulu Hypermarket Trading LLC", [_Draw(1, "12000", "102000.00")])],
    ),
}


APPLICATIONS = sum(len(plan[4]) for plan in PLAN.values())  # added to the demo's 2,000


def seed_foreign_certificates(engine: Engine, today: dt.date | None = None) -> list[str]:
    """Add the demo's foreign certificates and the applications drawing from them; returns
    the applications' numbers."""
    today = today or dt.date.today()
    now = dt.datetime.combine(today, dt.time(6, 0), tzinfo=dt.UTC)
    numbers: list[str] = []
    with Session(engine) as session, session.begin():
        office = session.scalars(select(Office).where(Office.code == OFFICE)).one()
        officer = session.scalars(select(User).where(User.email == OFFICER)).one()
        exporter = session.scalars(select(Exporter).order_by(Exporter.id)).first()
        applicant = session.scalars(select(Applicant).where(
            Applicant.exporter_id == exporter.id).order_by(Applicant.id)).first()
        next_id = (session.scalar(select(Application.id).order_by(Application.id.desc()).limit(1))
                   or 0) + 1
        for number, (country, issuer, age, items, plan) in PLAN.items():
            certificate = ForeignCertificate(
                exporter_id=exporter.id, number=number, country=country, issuer=issuer,
                issued_on=today - dt.timedelta(days=age), recorded_at=now - dt.timedelta(days=20))
            certificate.goods = [
                ForeignGoods(item_no=n, description=d, hs_code=hs, quantity=Decimal(q), unit=u)
                for n, (d, hs, q, u, _kind, _kg) in enumerate(items, start=1)]
            session.add(certificate)
            session.flush()
            for k, (status, consignee, draws) in enumerate(plan):
                submitted = now - dt.timedelta(days=6 - k, hours=3)
                app = Application(
                    id=next_id, number=f"APP-{today.year}-{next_id:06d}",
                    kind=ApplicationKind.BACK_TO_BACK, status=S.SUBMITTED,
                    office_id=office.id, exporter_id=exporter.id, applicant_id=applicant.id,
                    agreement_code=None, form_code="NONPREF", consignee_name=consignee,
                    consignee_address="Jebel Ali Free Zone, Dubai", consignee_country="AE",
                    destination_country="AE", origin_country=country, transport_mode="sea",
                    vessel_or_flight="MV Maersk Kensington V.112E",
                    port_of_loading="Nhava Sheva (JNPT)", port_of_discharge="Jebel Ali",
                    departure_date=today + dt.timedelta(days=5),
                    invoice_number=f"B2B/26-27/{next_id:04d}", invoice_date=today - dt.timedelta(days=8),
                    remarks="Merchanting trade: goods re-exported in original packing.",
                    declaration_place="Mumbai", declaration_date=today - dt.timedelta(days=7),
                    foreign_origin_country=country, foreign_certificate_number=number,
                    foreign_certificate_country=country, foreign_certificate_issuer=issuer,
                    foreign_certificate_date=certificate.issued_on, submitted_at=submitted,
                    waiting_since=submitted, currency="USD", updated_at=now)
                _decide(app, status, officer, submitted)
                for n, draw in enumerate(draws, start=1):
                    description, hs, _q, unit, kind, kg = items[draw.item - 1]
                    quantity = Decimal(draw.quantity)
                    app.goods.append(GoodsLine(
                        item_no=n, description=description, hs_code=hs, quantity=quantity,
                        unit=unit, gross_weight_kg=quantity * Decimal(kg) * Decimal("1.02"),
                        package_count=max(1, int(quantity) // 25), package_kind=kind,
                        marks=f"B2B/{next_id}/{n}", fob_value=Decimal(draw.fob),
                        foreign_goods_id=certificate.goods[draw.item - 1].id))
                app.refresh_search_fields()
                session.add(app)
                session.flush()
                _history(session, app, status, officer, office, submitted, now)
                numbers.append(app.number)
                next_id += 1
    return numbers


def _decide(app: Application, status: ApplicationStatus, officer: User,
            submitted: dt.datetime) -> None:
    """The application's row as the officer left it at ``status`` (before it is inserted:
    the demo is the same on every run)."""
    app.status = status
    if status in (S.UNDER_SCRUTINY, S.APPROVED):
        app.claimed_by_id, app.claimed_at = officer.id, submitted + dt.timedelta(hours=1)
    if status in (S.APPROVED, S.ISSUED):
        app.decided_at = submitted + dt.timedelta(hours=2)


def _history(session: Session, app: Application, status: ApplicationStatus, officer: User,
             office: Office, submitted: dt.datetime, now: dt.datetime) -> None:
    """The audit events of the officer's steps, and the certificate of an issued one."""
    label = f"{officer.full_name} <{officer.email}>"
    steps = [("submit", S.SUBMITTED), ("claim", S.UNDER_SCRUTINY)]
    if status in (S.APPROVED, S.ISSUED):
        steps.append(("approve", S.APPROVED))
    if status == S.ISSUED:
        steps.append(("issue", S.ISSUED))
    before = None
    at = submitted
    for action, after in steps:
        session.add(AuditEvent(
            at=at, actor_id=None if action == "submit" else officer.id,
            actor_label="applicant" if action == "submit" else label,
            action=f"application.{action}", entity_type="application", entity_id=app.id,
            before=None if before is None else {"status": str(before)},
            after={"status": str(after)}, note=""))
        before, at = after, at + dt.timedelta(hours=1)
    session.flush()
    if status != S.ISSUED:
        return
    issued_at = min(submitted + dt.timedelta(hours=3), now)
    number = allocate_certificate_number(session, agency_id=office.agency_id,
                                         application_id=app.id, year=issued_at.year)
    session.add(Certificate(number=number, application_id=app.id, office_id=office.id,
                            issued_by_id=officer.id, issued_at=issued_at,
                            status=CertificateStatus.VALID))
    session.flush()
    confirm_certificate_number(session, number, application_id=app.id)
    if office.ewallet_enabled:
        session.add(WalletEntry(office_id=office.id, kind=WalletEntryKind.FEE,
                                amount=-certificate_fee(False), certificate_number=number,
                                reference=app.number, at=issued_at))
    session.flush()
