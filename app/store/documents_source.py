"""What ``origin-desk render APPLICATION_NUMBER`` renders: the application's certificate
data from the configured store (the embedded demo when none is configured)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.config import load_config
from app.documents.certificate_data import CertificateData
from app.services.certificate_data import certificate_data, load_application_for_certificate


def certificate_data_for(application_number: str) -> CertificateData:
    from app.services.desk import open_central

    engine = open_central(load_config())
    try:
        with Session(engine) as session:
            app = load_application_for_certificate(session, number=application_number)
            return certificate_data(app)
    finally:
        engine.dispose()
