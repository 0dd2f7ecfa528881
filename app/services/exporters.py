"""An exporter (IEC) with its applicant users and its applications, as the desk's store
holds them, and the warning for one invoice number on two live applications.

Read from the desk's own store: the central store on the embedded demo, the local copy on
a synced desk (the applications of the offices the officer serves, their exporters and
every applicant user of those exporters: ``app/store/pull_sql.py``). An officer sees the
applications of the offices they serve; an administrator those of the agency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Certificate,
    Exporter,
    Office,
)
from app.models.exporters import ExporterBranch, GstRegistration

# an application that no longer stands (its invoice may be used again)
NOT_LIVE = frozenset({ApplicationStatus.REJECTED, ApplicationStatus.CANCELLED,
                      ApplicationStatus.SUPERSEDED})
SEARCH_LIMIT = 50


def invoice_key(number: str | None) -> str:
    """Invoice numbers are compared trimmed and case-folded."""
    return (number or "").strip().casefold()


def is_live(status: str) -> bool:
    return ApplicationStatus(status) not in NOT_LIVE


@dataclass(frozen=True)
class InvoiceRow:
    """What the duplicate-invoice check needs of one application."""

    application_id: int
    number: str
    invoice_number: str
    status: str


def duplicate_invoices(rows: Iterable[InvoiceRow]) -> dict[int, tuple[InvoiceRow, ...]]:
    """For each live application whose invoice number (trimmed, case-folded) is also on
    another live application of the same rows (one exporter's), those others."""
    groups: dict[str, list[InvoiceRow]] = {}
    for row in rows:
        key = invoice_key(row.invoice_number)
        if key and is_live(row.status):
            groups.setdefault(key, []).append(row)
    result: dict[int, tuple[InvoiceRow, ...]] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        for row in group:
            result[row.application_id] = tuple(
                other for other in sorted(group, key=lambda r: r.number)
                if other.application_id != row.application_id)
    return result


def duplicate_warning(others: Sequence[InvoiceRow]) -> str:
    """The warning shown for an application whose invoice number is on ``others`` too."""
    names = ", ".join(f"{o.number} ({ApplicationStatus(o.status).label.lower()}, invoice "
                      f"{o.invoice_number.strip()})" for o in others)
    return (f"Invoice number also on live application{'s' if len(others) > 1 else ''} of "
            f"the same exporter: {names}.")


# --- the data the exporter window shows -------------------------------------------------------

@dataclass(frozen=True)
class ExporterHit:
    id: int
    iec: str
    name: str
    place: str


@dataclass(frozen=True)
class ApplicantRow:
    full_name: str
    email: str
    phone: str
    status: str  # what this store knows of the user: applications filed, the last one


@dataclass(frozen=True)
class ExporterApplicationRow:
    application_id: int
    number: str
    filed_by: str
    kind: str
    status: str
    office: str
    submitted: str
    decided: str
    invoice: str
    certificate: str
    warning: str  # the duplicate-invoice warning, or ""


@dataclass(frozen=True)
class ExporterOverview:
    id: int
    iec: str
    name: str
    details: tuple[tuple[str, str], ...]
    applicants: tuple[ApplicantRow, ...]
    applications: tuple[ExporterApplicationRow, ...]
    warnings: tuple[str, ...]
    scope: str  # which offices' applications are listed


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%d %b %Y %H:%M")
    return value.strftime("%d %b %Y")


def search_exporters(session: Session, text: str, office_ids: Sequence[int] | None = None,
                     limit: int = SEARCH_LIMIT) -> list[ExporterHit]:
    """Exporters whose IEC starts with ``text`` or whose name contains it (any case),
    among those with applications in ``office_ids`` (None: every exporter in the store)."""
    words = text.strip()
    statement = select(Exporter).order_by(Exporter.name).limit(limit)
    if words:
        statement = statement.where(or_(
            func.upper(Exporter.iec).startswith(words.upper(), autoescape=True),
            func.lower(Exporter.name).contains(words.lower(), autoescape=True)))
    if office_ids is not None:
        statement = statement.where(Exporter.id.in_(
            select(Application.exporter_id).where(Application.office_id.in_(list(office_ids)))))
    return [ExporterHit(e.id, e.iec, e.name, e.state or e.address.split(",")[-1].strip())
            for e in session.scalars(statement)]


def exporter_invoice_rows(session: Session, exporter_id: int,
                          office_ids: Sequence[int] | None = None) -> list[InvoiceRow]:
    statement = select(Application.id, Application.number, Application.invoice_number,
                       Application.status).where(Application.exporter_id == exporter_id)
    if office_ids is not None:
        statement = statement.where(Application.office_id.in_(list(office_ids)))
    return [InvoiceRow(r.id, r.number, r.invoice_number, str(r.status))
            for r in session.execute(statement)]


def invoice_warnings(session: Session, application_id: int, exporter_id: int,
                     office_ids: Sequence[int] | None = None) -> list[str]:
    """The duplicate-invoice warning of one application (the detail panel), or none."""
    clashes = duplicate_invoices(exporter_invoice_rows(session, exporter_id, office_ids))
    others = clashes.get(application_id)
    return [duplicate_warning(others)] if others else []


def exporter_overview(session: Session, exporter_id: int,
                      office_ids: Sequence[int] | None = None,
                      scope: str = "all offices") -> ExporterOverview | None:
    exporter = session.get(Exporter, exporter_id)
    if exporter is None:
        return None
    gstins = session.scalars(select(GstRegistration.gstin).where(
        GstRegistration.exporter_id == exporter_id).order_by(GstRegistration.gstin)).all()
    branches = session.execute(select(ExporterBranch.name, ExporterBranch.address).where(
        ExporterBranch.exporter_id == exporter_id).order_by(ExporterBranch.name)).all()
    statement = (
        select(Application.id, Application.number, Application.kind, Application.status,
               Application.submitted_at, Application.decided_at, Application.invoice_number,
               Application.invoice_date, Application.applicant_id, Office.code,
               Certificate.number.label("certificate"),
               Certificate.status.label("certificate_status"))
        .join(Office, Office.id == Application.office_id)
        .outerjoin(Certificate, Certificate.application_id == Application.id)
        .where(Application.exporter_id == exporter_id)
        .order_by(Application.submitted_at.desc(), Application.id.desc())
    )
    if office_ids is not None:
        statement = statement.where(Application.office_id.in_(list(office_ids)))
    rows = session.execute(statement).all()
    applicants = session.scalars(select(Applicant).where(
        Applicant.exporter_id == exporter_id).order_by(Applicant.full_name)).all()
    names = {a.id: a.full_name for a in applicants}
    clashes = duplicate_invoices(InvoiceRow(r.id, r.number, r.invoice_number, str(r.status))
                                 for r in rows)
    filed: dict[int, list[dt.datetime]] = {}
    for r in rows:
        filed.setdefault(r.applicant_id, []).append(r.submitted_at)
    applicant_rows = []
    for a in applicants:
        times = filed.get(a.id, [])
        status = (f"{len(times)} application{'s' if len(times) != 1 else ''}, last "
                  f"{_day(max(times))}" if times else "no applications here")
        applicant_rows.append(ApplicantRow(a.full_name, a.email, a.phone, status))
    applications = []
    for r in rows:
        certificate = ""
        if r.certificate:
            certificate = r.certificate + (
                f" ({r.certificate_status})" if r.certificate_status != "valid" else "")
        others = clashes.get(r.id)
        applications.append(ExporterApplicationRow(
            application_id=r.id, number=r.number,
            filed_by=names.get(r.applicant_id, f"applicant #{r.applicant_id}"),
            kind=ApplicationKind(r.kind).label, status=ApplicationStatus(r.status).label,
            office=r.code, submitted=_day(r.submitted_at), decided=_day(r.decided_at),
            invoice=f"{r.invoice_number} of {_day(r.invoice_date)}", certificate=certificate,
            warning=duplicate_warning(others) if others else "",
        ))
    warnings = []
    seen: set[str] = set()
    for r in rows:
        others = clashes.get(r.id)
        key = invoice_key(r.invoice_number)
        if others and key not in seen:
            seen.add(key)
            numbers = sorted([r.number] + [o.number for o in others])
            warnings.append(f"Invoice {r.invoice_number.strip()} is on {len(numbers)} live "
                            f"applications: {', '.join(numbers)}.")
    details = [("IEC", exporter.iec), ("Name", exporter.name), ("Address", exporter.address)]
    if exporter.state:
        details.append(("State", exporter.state))
    if exporter.email:
        details.append(("E-mail", exporter.email))
    if gstins:
        details.append(("GSTIN", ", ".join(gstins)))
    details += [(f"Branch: {name}", address) for name, address in branches]
    return ExporterOverview(
        id=exporter.id, iec=exporter.iec, name=exporter.name, details=tuple(details),
        applicants=tuple(applicant_rows), applications=tuple(applications),
        warnings=tuple(warnings), scope=scope,
    )
