"""From an application in the store to the :class:`CertificateData` a certificate is
rendered from. Used by the preview, ``origin-desk render`` and issuing alike, so that
the page an officer previews is the page that gets signed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.documents.certificate_data import (
    CertificateData,
    Exporter,
    ExporterDeclaration,
    ForeignCertificate,
    GoodsLine,
    InLieuOf,
    IssuingOffice,
    Party,
    Transport,
)
from app.errors import UserFacingError
from app.models import Application, ApplicationKind, User
from app.models import Exporter as ExporterRow

_MODES = {"sea": "Sea", "air": "Air", "road": "Road", "rail": "Rail", "multimodal": "Multimodal"}


def load_application_for_certificate(session: Session, *, application_id: int | None = None,
                                     number: str | None = None) -> Application:
    # one row for the application and its one-to-one neighbours, one query per list
    statement = select(Application).options(
        selectinload(Application.goods),
        joinedload(Application.exporter).selectinload(ExporterRow.gst_registrations),
        joinedload(Application.applicant),
        joinedload(Application.office),
        joinedload(Application.claimed_by),
    )
    if application_id is not None:
        statement = statement.where(Application.id == application_id)
    else:
        statement = statement.where(Application.number == (number or "").strip().upper())
    app = session.scalars(statement).first()
    if app is None:
        raise UserFacingError(f"Application {number or application_id} is not in the store.")
    return app


def _lines(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace("\n", ", ").split(", ") if part.strip())


def certificate_data(
    app: Application,
    *,
    officer: User | None = None,
    certificate_number: str | None = None,
    issue_date: dt.date | None = None,
) -> CertificateData:
    """The certificate data of ``app``; a draft unless a certificate number is given."""
    exporter = app.exporter
    gstin = exporter.gst_registrations[0].gstin if exporter.gst_registrations else ""
    signer = officer or app.claimed_by
    kind = ApplicationKind(app.kind)
    goods = tuple(
        GoodsLine(
            item_no=g.item_no, marks_and_numbers=g.marks, package_count=g.package_count,
            package_kind=g.package_kind, description=g.description, hs_code=g.hs_code,
            quantity=g.quantity, unit=g.unit, gross_weight_kg=g.gross_weight_kg,
            fob_value=g.fob_value, currency=app.currency, origin_criterion=g.origin_criterion or "",
        )
        for g in app.goods
    )
    in_lieu = None
    if kind == ApplicationKind.IN_LIEU:
        in_lieu = InLieuOf(
            original_certificate_number=app.original_certificate_number or "",
            original_date=app.original_certificate_date or app.invoice_date,
            reason=app.in_lieu_reason or "",
        )
    back_to_back = None
    if kind == ApplicationKind.BACK_TO_BACK:
        back_to_back = ForeignCertificate(
            country_of_origin=app.foreign_origin_country or app.origin_country,
            certificate_number=app.foreign_certificate_number or "",
            issuing_country=app.foreign_certificate_country or app.foreign_origin_country or "",
            issuer=app.foreign_certificate_issuer or "",
            issue_date=app.foreign_certificate_date or app.invoice_date,
        )
    return CertificateData(
        kind=kind.value,  # type: ignore[arg-type]
        form_code=app.form_code,
        application_number=app.number,
        certificate_number=certificate_number,
        issue_date=issue_date if certificate_number else None,
        exporter=Exporter(name=exporter.name, address_lines=_lines(exporter.address),
                          iec=exporter.iec, gstin=gstin),
        consignee=Party(name=app.consignee_name, address_lines=_lines(app.consignee_address),
                        country=app.consignee_country),
        destination_country=app.destination_country,
        origin_country=app.origin_country,
        transport=Transport(
            mode=_MODES.get(app.transport_mode, app.transport_mode.capitalize()),
            vessel_or_flight=app.vessel_or_flight, port_of_loading=app.port_of_loading,
            port_of_discharge=app.port_of_discharge, departure_date=app.departure_date,
        ),
        goods=goods,
        declaration=ExporterDeclaration(
            place=app.declaration_place or app.office.place,
            date=app.declaration_date or app.invoice_date,
            signatory_name=app.applicant.full_name,
            signatory_designation="for " + exporter.name,
        ),
        issuing_office=IssuingOffice(code=app.office.code, name=app.office.name,
                                     place=app.office.place),
        officer_name=signer.full_name if signer else "Issuing officer",
        remarks=app.remarks or "",
        invoice_number=app.invoice_number,
        invoice_date=app.invoice_date,
        in_lieu=in_lieu,
        back_to_back=back_to_back,
        stamp_png=app.office.stamp_png,
        signature_png=signer.signature_png if signer else None,
    )
