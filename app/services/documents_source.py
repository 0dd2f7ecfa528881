"""What ``origin-desk render APPLICATION_NUMBER`` renders: the application's certificate
data from the configured store (the embedded demo when none is configured)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import load_config
from app.documents.certificate_data import CertificateData
from app.models import Certificate
from app.services.certificate_data import certificate_data, load_application_for_certificate


def certificate_data_for(application_number: str) -> CertificateData:
    """The draft certificate data (a draft carries no stamp and no signature image)."""
    from app.services.desk import open_central

    engine = open_central(load_config())
    try:
        with Session(engine) as session:
            app = load_application_for_certificate(session, number=application_number)
            return replace(certificate_data(app), stamp_png=None, signature_png=None)
    finally:
        engine.dispose()


def issued_certificate_pdf(application_number: str) -> tuple[str, bytes] | None:
    """The signed PDF of the application's certificate, when it was issued with one."""
    from app.services.desk import open_central

    engine = open_central(load_config())
    try:
        with Session(engine) as session:
            app = load_application_for_certificate(session, number=application_number)
            row = session.execute(
                select(Certificate.number, Certificate.pdf).where(Certificate.application_id == app.id)
            ).first()
            return (row[0], row[1]) if row is not None and row[1] else None
    finally:
        engine.dispose()
