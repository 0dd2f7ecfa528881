"""An exporter of the seeded store with applications in one office, a second invoice on
two of them, and an applicant user who has filed nothing yet."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.models import Applicant, Application, ApplicationStatus, Exporter, Office

LIVE = (ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED, ApplicationStatus.ISSUED,
        ApplicationStatus.UNDER_SCRUTINY, ApplicationStatus.RETURNED,
        ApplicationStatus.RESUBMITTED)


@dataclass(frozen=True)
class Scene:
    exporter_id: int
    iec: str
    name: str
    first: int  # application ids of the office, both live
    second: int
    third: int  # a third one, later rejected with the same invoice
    invoice: str
    idle_email: str  # an applicant user with no application
    office_code: str


def duplicate_invoice_scene(engine: Engine, office_code: str = "MUM") -> Scene:
    """Two live applications of one exporter in ``office_code`` get the same invoice number
    (written differently: spaces and case), a third one a third spelling."""
    with Session(engine) as session, session.begin():
        office_id = session.scalar(select(Office.id).where(Office.code == office_code))
        exporter_id = session.scalar(
            select(Application.exporter_id).where(Application.office_id == office_id,
                                                   Application.status.in_(LIVE))
            .group_by(Application.exporter_id).having(func.count() >= 3)
            .order_by(Application.exporter_id))
        assert exporter_id is not None
        apps = session.scalars(select(Application).where(
            Application.exporter_id == exporter_id, Application.office_id == office_id,
            Application.status.in_(LIVE)).order_by(Application.id).limit(3)).all()
        invoice = "INV/77-DUP/0042"
        apps[0].invoice_number = invoice
        apps[1].invoice_number = "  inv/77-dup/0042 "
        apps[2].invoice_number = "Inv/77-Dup/0042"
        exporter = session.get(Exporter, exporter_id)
        assert exporter is not None
        idle = Applicant(exporter_id=exporter_id, full_name="Meera Idle-Applicant",
                         email=f"meera.idle.{exporter_id}@example.in", phone="+91 98200 11223")
        session.add(idle)
        session.flush()
        return Scene(exporter_id, exporter.iec, exporter.name, apps[0].id, apps[1].id,
                     apps[2].id, invoice, idle.email, office_code)


def set_status(engine: Engine, application_id: int, status: ApplicationStatus) -> None:
    with Session(engine) as session, session.begin():
        app = session.get(Application, application_id)
        assert app is not None
        app.status = status
