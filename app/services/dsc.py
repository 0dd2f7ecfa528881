"""DSC registration: which token certificates may sign for which officer.

An officer registers the certificate of their token; the signing policy then accepts only
that certificate for them (``registered_fingerprints``). The registrations are also the
verifier's key directory for QR codes (``key_directory``) and tell the PDF validator
whether a signer is a registered officer (``is_registered``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session, selectinload

from app.config import Config
from app.errors import UserFacingError
from app.models import AuditEvent, DscRegistration, Role, User
from app.services.central import as_central
from app.signing.certificates import CertificateInfo
from app.store.central import session_factory

log = logging.getLogger(__name__)


class DscRegistrationError(UserFacingError):
    """A certificate cannot be registered; the message says why."""


@dataclass(frozen=True)
class TokenCertificate:
    """A certificate found on a plugged-in token, with whether it may be registered."""

    token_label: str
    token_serial: str
    certificate: CertificateInfo
    problems: tuple[str, ...]
    registered_to: str | None = None  # e-mail of the officer it is registered to

    @property
    def qualifies(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class RegisteredDsc:
    id: int
    officer_email: str
    fingerprint: str
    key_id: str
    subject: str
    issuer: str
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    created: bool  # False when it was registered already


def registered_fingerprints(
    session: Session, user_id: int, now: dt.datetime | None = None
) -> set[str]:
    """SHA-256 fingerprints of the officer's registered, unrevoked DSC certificates."""
    now = now or dt.datetime.now(dt.UTC)
    rows = session.scalars(
        select(DscRegistration.fingerprint_sha256).where(
            DscRegistration.user_id == user_id,
            or_(DscRegistration.revoked_at.is_(None), DscRegistration.revoked_at > now),
        )
    )
    return {f.lower() for f in rows}


def key_directory(session: Session) -> dict[bytes, x509.Certificate]:
    """QR key id -> DSC certificate, for every registration (revoked ones too: a certificate
    issued before the revocation stays genuine)."""
    directory: dict[bytes, x509.Certificate] = {}
    for key_id, der in session.execute(
        select(DscRegistration.key_id, DscRegistration.certificate_der)
    ):
        try:
            directory[bytes.fromhex(key_id)] = x509.load_der_x509_certificate(der)
        except ValueError:
            log.warning("DSC registration with key id %s holds an unreadable certificate", key_id)
    return directory


def registered_signers(session: Session) -> dict[str, str]:
    """Fingerprint -> officer e-mail, for every registration, and for every one-time
    Aadhaar eSign certificate the store recorded with the issue it signed (revision 0014:
    ``certificates.signed_with = 'esign'``; its transaction was checked then)."""
    signers = {
        fp.lower(): email
        for fp, email in session.execute(
            select(DscRegistration.fingerprint_sha256, User.email).join(
                User, User.id == DscRegistration.user_id
            )
        )
    }
    from sqlalchemy.exc import DBAPIError

    from app.models import Certificate

    try:
        with session.begin_nested():  # a store older than 0014 has no signed_with
            signers.update({
                fp.lower(): email for fp, email in session.execute(
                    select(Certificate.signer_fingerprint, User.email)
                    .join(User, User.id == Certificate.issued_by_id)
                    .where(Certificate.signed_with == "esign"))})
    except DBAPIError:
        pass
    return signers


def is_registered_checker(engine: Engine) -> Callable[[bytes], bool]:
    """``is_registered(cert_der)`` for the validator: is this a registered officer's DSC?"""
    from app.signing.certificates import fingerprint

    with session_factory(engine)() as session:
        known = set(registered_signers(session))
    return lambda der: fingerprint(der) in known


def token_certificates(config: Config, central: Any = None) -> list[TokenCertificate]:
    """Every end-entity certificate on the plugged-in token(s), with why it may not sign
    (and to whom it is registered, when the central interface ``central`` is given)."""
    from app.signing.discovery import discover_from_config
    from app.signing.errors import NoTokenPresent
    from app.signing.policy import chain_problem, load_trust_roots

    now = dt.datetime.now(dt.UTC)
    discovery = discover_from_config(config)
    tokens = [t for t in discovery.tokens if not config.token_label
              or t.label == config.token_label]
    if not tokens:
        raise NoTokenPresent(discovery.module_paths, config.token_label)
    roots = load_trust_roots(config.trust_path)
    owners: dict[str, str] = {}
    if central is not None:
        owners = as_central(central, config).verification_material().signers
    found = []
    for token in tokens:
        for cert in token.certificates:
            if cert.is_ca:
                continue
            problems = list(cert.problems(now))
            if not problems:
                chain = chain_problem(cert, trust_roots=roots,
                                      intermediates=[c.der for c in token.ca_certificates],
                                      now=now)
                if chain:
                    problems.append(f"does not chain to a trusted root ({chain})")
            found.append(TokenCertificate(token.label, token.serial, cert, tuple(problems),
                                          owners.get(cert.fingerprint)))
    return found


def register_dsc(
    engine: Engine,
    config: Config,
    *,
    user_id: int,
    certificate: CertificateInfo,
    intermediates: list[bytes] | None = None,
    now: dt.datetime | None = None,
) -> RegisteredDsc:
    """Register ``certificate`` for the officer ``user_id``; refuse with the rule's message.

    Refused: expired, not yet valid, without a signing key usage, not chaining to a trust
    root (settings' trust folder), registered to another officer, or the user is not an
    active issuing officer. Registering the same certificate again changes nothing.
    """
    from app.documents.qr_payload import key_id_for_certificate
    from app.signing.errors import SigningRefused
    from app.signing.policy import check_signing_certificate, load_trust_roots

    now = now or dt.datetime.now(dt.UTC)
    try:
        check_signing_certificate(
            certificate,
            registered_fingerprints={certificate.fingerprint},  # this rule is what we grant
            trust_roots=load_trust_roots(config.trust_path),
            intermediates=intermediates or [],
            now=now,
        )
    except SigningRefused as exc:
        raise DscRegistrationError(f"Cannot register this DSC: {exc}") from None
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        user = session.scalars(
            select(User).options(selectinload(User.offices)).where(User.id == user_id)
        ).first()
        if user is None:
            raise DscRegistrationError(f"User #{user_id} is not in the store.")
        if user.role != Role.OFFICER or not user.is_active:
            raise DscRegistrationError(
                f"{user.full_name} is not an active issuing officer ({user.role}, "
                f"{user.status}); only issuing officers register a DSC."
            )
        existing = session.scalars(
            select(DscRegistration).where(
                DscRegistration.fingerprint_sha256 == certificate.fingerprint
            )
        ).first()
        if existing is not None:
            if existing.user_id != user.id:
                owner = session.get(User, existing.user_id)
                raise DscRegistrationError(
                    f"This DSC ({certificate.describe()}) is registered to "
                    f"{owner.full_name if owner else 'another user'}; a certificate can be "
                    "registered to one officer only."
                )
            if existing.revoked_at is not None:
                raise DscRegistrationError(
                    f"This DSC was revoked for {user.full_name} on "
                    f"{existing.revoked_at:%Y-%m-%d}; ask the administrator."
                )
            return _registered(existing, user.email, created=False)
        row = DscRegistration(
            user_id=user.id,
            fingerprint_sha256=certificate.fingerprint,
            key_id=key_id_for_certificate(certificate.der).hex(),
            subject=certificate.subject[:400],
            issuer=certificate.issuer[:400],
            serial_hex=format(certificate.serial, "x"),
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            certificate_der=certificate.der,
            registered_at=now,
        )
        session.add(row)
        session.flush()
        session.add(AuditEvent(
            at=now, actor_id=user.id, actor_label=f"{user.full_name} <{user.email}>",
            action="dsc.registered", entity_type="dsc_registration", entity_id=row.id,
            after={"fingerprint_sha256": row.fingerprint_sha256, "subject": row.subject,
                   "issuer": row.issuer, "serial": row.serial_hex,
                   "not_after": row.not_after.isoformat()},
        ))
        log.info("DSC %s registered for %s", row.fingerprint_sha256[:16], user.email)
        return _registered(row, user.email, created=True)


def register_from_token(
    central: Any,
    config: Config,
    *,
    user_id: int,
    choose: Callable[[list[TokenCertificate]], TokenCertificate | None] | None = None,
) -> RegisteredDsc:
    """Read the token and register its qualifying certificate; ``choose`` picks among several
    (None from it cancels). Without ``choose``, several qualifying certificates are an error."""
    from app.signing.discovery import discover_from_config

    central = as_central(central, config)
    found = token_certificates(config, central)
    qualifying = [c for c in found if c.qualifies]
    if not qualifying:
        reasons = "; ".join(
            f"{c.certificate.describe()}: {', '.join(c.problems)}" for c in found
        ) or "it holds no certificate"
        raise DscRegistrationError(f"No certificate on the token can be registered ({reasons}).")
    if len(qualifying) == 1:
        chosen: TokenCertificate | None = qualifying[0]
    elif choose is None:
        names = ", ".join(c.certificate.describe() for c in qualifying)
        raise DscRegistrationError(
            f"The token holds several certificates that could be registered: {names}. "
            "Choose one (--fingerprint)."
        )
    else:
        chosen = choose(qualifying)
    if chosen is None:
        raise DscRegistrationError("Registration cancelled: no certificate was chosen.")
    discovery = discover_from_config(config, rescan=False)
    intermediates = [
        c.der for t in discovery.tokens if t.label == chosen.token_label
        for c in t.ca_certificates
    ]
    return central.register_dsc(user_id, chosen.certificate, intermediates)


class DscService:
    """DSC registration for the signed-in officer, bound to the desk's central interface."""

    def __init__(self, central: Any, config: Config, user_id: int) -> None:
        self.central, self.config, self.user_id = central, config, user_id

    def token_certificates(self) -> list[TokenCertificate]:
        return token_certificates(self.config, self.central)

    def register(
        self, choose: Callable[[list[TokenCertificate]], TokenCertificate | None] | None = None
    ) -> RegisteredDsc:
        return register_from_token(self.central, self.config, user_id=self.user_id,
                                   choose=choose)


def user_id_for_email(engine: Engine, email: str) -> int:
    with session_factory(engine)() as session:
        user_id = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    if user_id is None:
        raise UserFacingError(f"No user with the e-mail address {email!r} in this store.")
    return int(user_id)


def _registered(row: DscRegistration, email: str, *, created: bool) -> RegisteredDsc:
    return RegisteredDsc(
        id=row.id, officer_email=email, fingerprint=row.fingerprint_sha256, key_id=row.key_id,
        subject=row.subject, issuer=row.issuer, serial_hex=row.serial_hex,
        not_before=row.not_before, not_after=row.not_after, created=created,
    )


def describe(item: Any) -> str:
    """One line for a TokenCertificate (CLI and dialog)."""
    cert: CertificateInfo = item.certificate
    verdict = "can be registered" if item.qualifies else "cannot: " + "; ".join(item.problems)
    owner = f", registered to {item.registered_to}" if item.registered_to else ""
    return (f"{cert.common_name} — issuer {cert.issuer}, serial {cert.serial:x}, valid to "
            f"{cert.not_after:%Y-%m-%d}, {cert.key_algorithm}{owner}: {verdict}")
