"""From an application in the store to the :class:`CertificateData` a certificate is
rendered from. Used by the preview, ``origin-desk render`` and issuing alike, so that
the page an officer previews is the page that gets signed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
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
from app.models import GoodsLine as GoodsLineRow
from app.models.exporters import Applicant, GstRegistration
from app.models.organisation import Agency, Office

_MODES = {"sea": "Sea", "air": "Air", "road": "Road", "rail": "Rail", "multimodal": "Multimodal"}


def load_application_for_certificate(session: Session, *, application_id: int | None = None,
                                     number: str | None = None) -> Application:
    # one row for the application and its one-to-one neighbours, one query per list
    statement = select(Application).options(
        selectinload(Application.goods),
        joinedload(Application.exporter).selectinload(ExporterRow.gst_registrations),
        joinedload(Application.applicant),
        joinedload(Application.office).joinedload(Office.agency),
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


# --- the same, read with three Core statements (the issue path) ----------------------------

_APPS = Application.__table__
_EXPORTERS = ExporterRow.__table__
_OFFICES = Office.__table__
_APPLICANTS = Applicant.__table__
_GOODS = GoodsLineRow.__table__
_GSTS = GstRegistration.__table__
_AGENCIES = Agency.__table__

_APPLICATION_ROW = (
    select(
        _APPS,
        _EXPORTERS.c.name.label("exporter_name"),
        _EXPORTERS.c.address.label("exporter_address"),
        _EXPORTERS.c.iec.label("exporter_iec"),
        _APPLICANTS.c.full_name.label("applicant_full_name"),
        _OFFICES.c.agency_id.label("office_agency_id"),
        _OFFICES.c.code.label("office_code"),
        _OFFICES.c.name.label("office_name"),
        _OFFICES.c.place.label("office_place"),
        _OFFICES.c.address.label("office_address"),
        _AGENCIES.c.name.label("agency_name"),
        _OFFICES.c.ewallet_enabled.label("office_ewallet_enabled"),
        _OFFICES.c.stamp_png.label("office_stamp_png"),
        select(_GSTS.c.gstin).where(_GSTS.c.exporter_id == _APPS.c.exporter_id)
        .order_by(_GSTS.c.id).limit(1).scalar_subquery().label("exporter_gstin"),
    )
    .join(_EXPORTERS, _EXPORTERS.c.id == _APPS.c.exporter_id)
    .join(_APPLICANTS, _APPLICANTS.c.id == _APPS.c.applicant_id)
    .join(_OFFICES, _OFFICES.c.id == _APPS.c.office_id)
    .join(_AGENCIES, _AGENCIES.c.id == _OFFICES.c.agency_id)
    .where(_APPS.c.id == bindparam("application_id"))
)
_GOODS_ROWS = (
    select(_GOODS)
    .where(_GOODS.c.application_id == bindparam("application_id"))
    .order_by(_GOODS.c.item_no)
)


@dataclass(frozen=True)
class _Gst:
    gstin: str


@dataclass(frozen=True)
class _ExporterView:
    name: str
    address: str
    iec: str
    gst_registrations: tuple[_Gst, ...]


@dataclass(frozen=True)
class _AgencyView:
    name: str


@dataclass(frozen=True)
class OfficeView:
    id: int
    agency_id: int
    code: str
    name: str
    place: str
    ewallet_enabled: bool
    stamp_png: bytes | None
    address: str = ""
    agency: _AgencyView = _AgencyView("")


@dataclass(frozen=True)
class _PersonView:
    full_name: str
    signature_png: bytes | None = None
    designation: str = ""


class ApplicationView:
    """An application row with the neighbours :func:`certificate_data` reads, read-only.

    Stands in for an ORM ``Application`` (same attribute names) where loading the ORM graph
    costs more than the certificate: the issue path reads it with three Core statements.
    ``stamp_png`` of ``office`` is None (images go into the signature appearance); the
    office's stamp is in :attr:`stamp_png`.
    """

    def __init__(self, row: Any, goods: list[Any]) -> None:
        self._row = row
        self.goods = goods
        self.exporter = _ExporterView(
            name=row.exporter_name, address=row.exporter_address, iec=row.exporter_iec,
            gst_registrations=(_Gst(row.exporter_gstin),) if row.exporter_gstin else (),
        )
        self.applicant = _PersonView(row.applicant_full_name)
        self.office = OfficeView(
            id=row.office_id, agency_id=row.office_agency_id, code=row.office_code,
            name=row.office_name, place=row.office_place,
            ewallet_enabled=bool(row.office_ewallet_enabled), stamp_png=None,
            address=row.office_address or "", agency=_AgencyView(row.agency_name),
        )
        self.stamp_png: bytes | None = row.office_stamp_png
        self.claimed_by = None  # issuing always names the officer

    def __getattr__(self, name: str) -> Any:  # the application's own columns
        return getattr(self._row, name)


def read_application_for_certificate(session: Session, application_id: int) -> ApplicationView:
    """:func:`load_application_for_certificate` by id, as an :class:`ApplicationView`."""
    params = {"application_id": application_id}
    row = session.execute(_APPLICATION_ROW, params).first()
    if row is None:
        raise UserFacingError(f"Application {application_id} is not in the store.")
    goods = list(session.execute(_GOODS_ROWS, params))
    return ApplicationView(row, goods)


def issue_certificate_data(
    app: ApplicationView, *, officer_name: str, certificate_number: str, issue_date: dt.date,
    officer_designation: str = "",
) -> CertificateData:
    """The certificate data of ``app`` for issue, without images (as :func:`certificate_data`
    with ``stamp_png`` and ``signature_png`` left out)."""
    return certificate_data(
        app,  # type: ignore[arg-type]
        officer=_PersonView(officer_name, None, officer_designation or ""),  # type: ignore[arg-type]
        certificate_number=certificate_number,
        issue_date=issue_date,
    )


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
        # back-to-back certificates are non-preferential whatever the row says
        form_code="NONPREF" if kind == ApplicationKind.BACK_TO_BACK else app.form_code,
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
        issuing_office=IssuingOffice(
            code=app.office.code, name=app.office.name, place=app.office.place,
            agency_name=app.office.agency.name or "", address_lines=_lines(app.office.address or ""),
        ),
        officer_name=signer.full_name if signer else "Issuing officer",
        officer_designation=(signer.designation or "") if signer else "",
        remarks=app.remarks or "",
        invoice_number=app.invoice_number,
        invoice_date=app.invoice_date,
        in_lieu=in_lieu,
        back_to_back=back_to_back,
        stamp_png=app.office.stamp_png,
        signature_png=signer.signature_png if signer else None,
    )
