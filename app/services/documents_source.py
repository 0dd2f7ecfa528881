"""What ``origin-desk render APPLICATION_NUMBER`` writes: the issued, signed certificate
when there is one, else a draft, and which of the two it is.

The configured store decides where both come from:

- the embedded demo and a central PostgreSQL store (through the officer's own login): the
  application and its certificate are read from the store itself;
- the central service (an ``https://`` ``central_url``): the application is read from
  this desk's synced copy (the local store) and its signed PDF is fetched through the
  service (:class:`~app.services.central_http.HttpCentral`), signed in as the officer the
  copy belongs to (or ``officer``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.config import Config, load_config
from app.documents.certificate_data import CertificateData
from app.errors import UserFacingError
from app.models import Certificate
from app.services.certificate_data import certificate_data, load_application_for_certificate

AskPassword = Callable[[str], "str | None"]


@dataclass(frozen=True)
class RenderedCertificate:
    """The PDF to write. ``issued`` True: the signed certificate ``certificate_number``
    byte for byte; False: a draft, ``why_draft`` saying why it is not the signed one."""

    pdf: bytes
    issued: bool
    application_number: str
    certificate_number: str | None = None
    form_code: str = ""
    pages: int = 0
    why_draft: str = ""
    source: str = ""  # where it came from: "the embedded demo store", "the central service …"

    def summary(self, out: object) -> str:
        """The line ``render`` prints: always names which of the two it wrote."""
        if self.issued:
            return (f"wrote {out}: the issued, signed certificate {self.certificate_number} "
                    f"of {self.application_number} (from {self.source})")
        return (f"wrote {out}: a DRAFT of {self.application_number} ({self.form_code}, "
                f"{self.pages} page(s); watermarked, not valid), not a signed certificate: "
                f"{self.why_draft}")


def certificate_data_for(application_number: str) -> CertificateData:
    """The draft certificate data (a draft carries no stamp and no signature image)."""
    config = load_config()
    engine = _engine(config, None)
    try:
        with Session(engine) as session:
            return _draft_data(session, application_number)
    finally:
        engine.dispose()


def issued_certificate_pdf(application_number: str) -> tuple[str, bytes] | None:
    """The signed PDF of the application's certificate, when it was issued with one."""
    rendered = render_application(load_config(), application_number)
    return (rendered.certificate_number or "", rendered.pdf) if rendered.issued else None


def render_application(config: Config, application_number: str, *,
                       ask_password: AskPassword | None = None,
                       officer: str | None = None) -> RenderedCertificate:
    """The signed certificate of ``application_number`` when it is issued and its signed
    PDF can be had, else a draft saying why (see the module's doc)."""
    if config.uses_central_service:
        return _through_service(config, application_number, ask_password, officer)
    engine = _engine(config, ask_password)
    source = "the embedded demo store" if config.is_embedded else "the central store"
    try:
        with Session(engine) as session:
            app = load_application_for_certificate(session, number=application_number)
            row = session.execute(select(Certificate.number, Certificate.pdf).where(
                Certificate.application_id == app.id)).first()
            if row is not None and row[1]:
                return RenderedCertificate(bytes(row[1]), True, app.number, str(row[0]),
                                           source=source)
            if row is not None:
                why = (f"{app.number} was issued as {row[0]}, but {source} holds no signed "
                       "PDF of it")
            else:
                why = f"{app.number} is not issued (it is {_status(app)})"
            return _draft(_draft_data(session, application_number), why, app.number)
    finally:
        engine.dispose()


def _engine(config: Config, ask_password: AskPassword | None) -> Engine:
    """The store's engine, checked to answer (one clear line otherwise)."""
    from app.services.desk import open_central
    from app.store.central import central_engine, ensure_reachable

    if config.uses_central_service:
        raise UserFacingError(
            f"central_url {config.central_url} is the central service: render reads the "
            "application from this desk's synced copy")
    engine = open_central(config) if config.is_embedded else central_engine(config, ask_password)
    try:
        ensure_reachable(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _through_service(config: Config, application_number: str,
                     ask_password: AskPassword | None,
                     officer: str | None) -> RenderedCertificate:
    from app.models import User
    from app.services.central_http import HttpCentral
    from app.store.local import LocalStore

    if not config.local_store_path.exists():
        raise UserFacingError(
            f"This desk has no synced copy yet ({config.local_store_path}): sign in to the "
            "desk once, or run 'origin-desk db sync --email YOU', then render again.")
    local = LocalStore(config.local_store_path)
    try:
        with Session(local.engine) as session:
            try:
                app = load_application_for_certificate(session, number=application_number)
            except UserFacingError:
                raise UserFacingError(
                    f"Application {application_number.strip().upper()} is not in this desk's "
                    "synced copy (only your offices' applications are): sync, then render "
                    "again.") from None
            number = session.scalar(select(Certificate.number).where(
                Certificate.application_id == app.id))
            email = officer
            if not email:
                owner = local.owner() or ""
                user_id = owner.split("@", 1)[0]
                email = session.scalar(select(User.email).where(
                    User.id == int(user_id))) if user_id.isdigit() else None
            data = _draft_data(session, application_number)
            status = _status(app)
    finally:
        local.close()
    source = f"the central service at {config.central_url}"
    if number is None:
        return _draft(data, f"{data.reference_number} is not issued (it is {status})",
                      data.reference_number)
    if not email:
        raise UserFacingError(
            "Name yourself with --officer EMAIL: the central service signs you in to fetch "
            f"the signed certificate {number}.")
    link = HttpCentral(config.central_url, ca_file=config.central_ca_file,
                       ask_password=ask_password)
    try:
        link.hello(email)
        pdf = link.certificate_pdf(number)
    finally:
        link.sign_out()
        link.close()
    if pdf:
        return RenderedCertificate(pdf, True, data.reference_number, number, source=source)
    return _draft(data, f"{data.reference_number} was issued as {number}, but {source} "
                  "gave no signed PDF of it", data.reference_number)


def _draft_data(session: Session, application_number: str) -> CertificateData:
    app = load_application_for_certificate(session, number=application_number)
    return replace(certificate_data(app), stamp_png=None, signature_png=None)


def _draft(data: CertificateData, why: str, application_number: str) -> RenderedCertificate:
    from app.documents.renderer import render_certificate

    result = render_certificate(data, draft=True)
    return RenderedCertificate(result.pdf, False, application_number, form_code=data.form_code,
                               pages=result.page_count, why_draft=why)


def _status(app: object) -> str:
    status = getattr(app, "status", "")
    return str(getattr(status, "value", status)).replace("_", " ")
