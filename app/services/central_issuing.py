"""The central store's half of issuing, in Python: reserve a number, record an issue,
release a reservation. Used where the central store is SQLite (the embedded demo, tests);
on PostgreSQL the same rules run inside the store as SECURITY DEFINER functions
(``od_reserve_certificate_number``, ``od_record_issue``, ``od_void_certificate_number``,
``od_release_reservations``: ``docs/STORE.md``), so that an officer's own login can do
nothing more than these rules allow.

Every function here takes a session whose transaction the caller commits, and the acting
user's id: the actor is never taken from anything the desk sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, joinedload

from app.errors import UserFacingError
from app.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CertificateNumber,
    CertificateStatus,
    DscRegistration,
    User,
    WalletEntry,
    WalletEntryKind,
)
from app.models.certificates import certificate_fee
from app.models.enums import Action, Role, UserStatus
from app.models.legacy import is_legacy_certificate, legacy_refusal
from app.models.organisation import Agency, officer_offices
from app.models.workflow import WorkflowError, perform
from app.services.certificate_data import (
    ApplicationView,
    issue_certificate_data,
    load_application_for_certificate,
    read_application_for_certificate,
)
from app.store.numbers import (
    CertificateNumberError,
    allocate_certificate_number,
    confirm_certificate_number,
    void_certificate_number,
)

log = logging.getLogger(__name__)

INDIA = ZoneInfo("Asia/Kolkata")
STALE_RESERVATION = dt.timedelta(minutes=15)
ABANDONED = "reservation abandoned: the desk that reserved it stopped before issuing"


class IssueRefused(UserFacingError):
    """This application cannot be issued now; the message says why (the batch goes on)."""


class ConcurrentIssue(IssueRefused):
    """Another desk changed or issued the application while it was being signed."""


@dataclass(frozen=True)
class Reservation:
    """A number reserved for one approved application, with what the desk needs to render
    and sign its certificate. ``issued_at`` is the central store's clock at reservation:
    the moment printed on the certificate and recorded as its issue time.

    ``qr_payload`` / ``qr_text``: the QR payload sealed by the agency's seal when the
    number was reserved, and its QR text (the verification URL); None where the central
    store has no seal (the officer's token then signs the QR payload)."""

    application_id: int
    application_number: str
    version: int
    number: str
    issued_at: dt.datetime
    issue_date: dt.date
    data: object  # CertificateData without images (they go into the signature appearance)
    kind: str
    office_place: str
    stamp_png: bytes | None
    signature_png: bytes | None
    qr_payload: bytes | None = None
    qr_text: str | None = None


@dataclass(frozen=True)
class RecordedIssue:
    certificate_id: int
    issued_at: dt.datetime
    superseded_number: str | None
    pdf_sha256: str


def issue_moment(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.date]:
    """The issue instant (UTC) and the issue date printed on the certificate (India)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment, moment.astimezone(INDIA).date()


_APPS = Application.__table__
_USERS = User.__table__
_CERTIFICATES = Certificate.__table__
_NUMBERS = CertificateNumber.__table__

_OFFICER = (
    select(_USERS.c.full_name, _USERS.c.designation, _USERS.c.email, _USERS.c.status,
           _USERS.c.role,
           _USERS.c.agency_id, _USERS.c.signature_png, Agency.__table__.c.code,
           exists().where(officer_offices.c.user_id == _USERS.c.id,
                          officer_offices.c.office_id == bindparam("office_id")).label("mapped"))
    .join(Agency.__table__, Agency.__table__.c.id == _USERS.c.agency_id)
    .where(_USERS.c.id == bindparam("user_id"))
)
_CERTIFICATE_OF_APPLICATION = select(_CERTIFICATES.c.number).where(
    _CERTIFICATES.c.application_id == bindparam("application_id")
)
_RESERVED_FOR_APPLICATION = select(_NUMBERS.c.number, _NUMBERS.c.reserved_at).where(
    _NUMBERS.c.application_id == bindparam("application_id"), _NUMBERS.c.state == "reserved"
)
_LOCK_APPLICATION = (
    select(_APPS.c.number, _APPS.c.status, _APPS.c.version, _APPS.c.kind, _APPS.c.office_id,
           _APPS.c.original_certificate_number)
    .where(_APPS.c.id == bindparam("application_id"))
    .with_for_update()
)
_NUMBER_ROW = select(_NUMBERS.c.application_id, _NUMBERS.c.state, _NUMBERS.c.reserved_by_id,
                     _NUMBERS.c.agency_id).where(_NUMBERS.c.number == bindparam("number"))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _officer(session: Session, user_id: int, office_id: int) -> object:
    row = session.execute(_OFFICER, {"user_id": user_id, "office_id": office_id}).first()
    if row is None:
        raise UserFacingError(f"User #{user_id} is not in the store.")
    return row


def reserve(session: Session, user_id: int, application_id: int, desk_session: str,
            now: dt.datetime | None = None) -> Reservation:
    """Check the application may be issued by this officer and reserve its number."""
    issued_at, issue_date = issue_moment(now)
    app = read_application_for_certificate(session, application_id)
    officer = _officer(session, user_id, app.office_id)
    _check_may_issue(session, app, officer, issued_at)
    if app.kind == ApplicationKind.IN_LIEU:
        refuse_legacy_original(app.original_certificate_number, app.original_certificate_date,
                               app.number, session)
        check_original(session, app.original_certificate_number, app.number)
    if app.kind == ApplicationKind.BACK_TO_BACK:  # early, for the officer: before signing
        _check_draw(session, app.id)
    _check_wallet(session, app.office, str(app.kind), app.number)
    agency_id = app.office.agency_id
    number = allocate_certificate_number(
        session, agency_id=agency_id, application_id=app.id, year=issue_date.year,
        agency_code=officer.code if officer.agency_id == agency_id else None,
    )
    session.execute(update(_NUMBERS).where(_NUMBERS.c.number == number).values(
        reserved_at=issued_at, reserved_by_id=user_id, desk_session=desk_session[:64]))
    data = issue_certificate_data(app, officer_name=officer.full_name,
                                  officer_designation=officer.designation,
                                  certificate_number=number, issue_date=issue_date)
    return Reservation(
        application_id=app.id, application_number=app.number, version=app.version,
        number=number, issued_at=issued_at, issue_date=issue_date, data=data,
        kind=str(app.kind), office_place=app.office.place, stamp_png=app.stamp_png,
        signature_png=officer.signature_png,
    )


def _check_may_issue(session: Session, app: ApplicationView, officer: object,
                     now: dt.datetime) -> None:
    # the questions of allowed_actions(app, officer) for ISSUE, in its order
    status = ApplicationStatus(app.status)
    if status != ApplicationStatus.APPROVED:
        raise IssueRefused(
            f"Application {app.number} is {status.label.lower()}; only approved "
            "applications can be issued."
        )
    if officer.status != UserStatus.ACTIVE:
        raise IssueRefused(f"{officer.full_name}'s account is {officer.status}.")
    if officer.role == Role.ADMINISTRATOR or not officer.mapped:
        raise IssueRefused(
            f"{officer.full_name} is not an issuing officer of office {app.office.code}, "
            f"which holds application {app.number}."
        )
    params = {"application_id": app.id}
    existing = session.execute(_CERTIFICATE_OF_APPLICATION, params).scalar()
    if existing:
        raise IssueRefused(f"Application {app.number} already has certificate {existing}.")
    for row in session.execute(_RESERVED_FOR_APPLICATION, params).all():
        reserved_at = _aware(row.reserved_at)
        if now - reserved_at < STALE_RESERVATION:
            raise IssueRefused(
                f"Application {app.number} is being issued at another desk (number "
                f"{row.number} reserved at {reserved_at:%H:%M} UTC)."
            )
        void_certificate_number(session, row.number, ABANDONED)


def _check_draw(session: Session, application_id: int) -> None:
    """A back-to-back application's draw on its foreign certificate fits what issued
    certificates left (app/services/back_to_back.py; on PostgreSQL the store's trigger)."""
    from app.services.back_to_back import OverDraw, check_issue

    try:
        check_issue(session, application_id)
    except OverDraw as exc:
        raise IssueRefused(str(exc)) from None


def refuse_legacy_original(original_number: str | None, original_date: dt.date | None,
                           app_number: str, session: Session | None = None) -> None:
    """An in-lieu request against a certificate of the legacy system is issued there
    (the transition rule quoted): refused before a number is reserved, on both engines;
    with ``session``, a certificate migrated from the legacy system too (revision 0013)."""
    from app.models.legacy import is_migrated

    migrated = session is not None and is_migrated(session, original_number)
    if is_legacy_certificate(original_number, original_date, migrated=migrated):
        raise IssueRefused(legacy_refusal(original_number, app_number))


def check_original(session: Session, original_number: str | None, app_number: str) -> Certificate:
    number = (original_number or "").strip()
    original = session.scalars(select(Certificate).where(Certificate.number == number)).first()
    if original is None:
        raise IssueRefused(
            f"The original certificate {number or '(none named)'} of in-lieu application "
            f"{app_number} is not in this store; an in-lieu certificate for one issued by "
            "the legacy system is issued there."
        )
    if original.status == CertificateStatus.CANCELLED:
        raise IssueRefused(f"The original certificate {number} was cancelled; it cannot be replaced.")
    if original.superseded_by_number:
        raise IssueRefused(
            f"The original certificate {number} was already replaced by "
            f"{original.superseded_by_number}."
        )
    return original


def record(session: Session, user_id: int, reservation: Reservation, pdf: bytes,
           pdf_sha256: str, signer_fingerprint: str,
           esign_txn: str | None = None) -> RecordedIssue:
    """Record the issue: the certificate, its number, the status (through the workflow),
    the fee and the audit events, in the caller's transaction. With ``esign_txn`` the
    certificate was signed with Aadhaar eSign through the gateway: the transaction's rule
    (:func:`check_esign_signature`) stands in for the DSC registration, and the
    transaction is used up with the issue."""
    app = session.execute(_LOCK_APPLICATION,
                          {"application_id": reservation.application_id}).one()
    number = session.execute(_NUMBER_ROW, {"number": reservation.number}).first()
    if (number is None or number.application_id != reservation.application_id
            or number.reserved_by_id not in (None, user_id)):
        raise IssueRefused(
            f"Certificate number {reservation.number} is not reserved for {app.number} by "
            "you; it was not issued.")
    if app.version != reservation.version or app.status != ApplicationStatus.APPROVED:
        raise ConcurrentIssue(
            f"Application {app.number} changed at another desk while it was being signed "
            f"(now {ApplicationStatus(app.status).label.lower()}); it was not issued here."
        )
    if hashlib.sha256(pdf).hexdigest() != pdf_sha256.lower():
        raise IssueRefused(f"The signed PDF of {app.number} does not match its digest.")
    esign_id = None
    if esign_txn is not None:
        esign_id = check_esign_signature(session, esign_txn, user_id, reservation, app.number,
                                         signer_fingerprint.lower(), pdf)
    registered = esign_id or session.scalar(select(DscRegistration.id).where(
        DscRegistration.user_id == user_id,
        DscRegistration.fingerprint_sha256 == signer_fingerprint.lower(),
        DscRegistration.revoked_at.is_(None)))
    if registered is None:
        raise IssueRefused(
            f"The certificate of {app.number} was signed with a DSC that is not registered "
            "to you (or was revoked); it was not issued.")
    try:
        confirm_certificate_number(session, reservation.number,
                                   application_id=reservation.application_id)
    except CertificateNumberError as exc:
        raise ConcurrentIssue(
            f"Certificate number {reservation.number} is no longer reserved for "
            f"{app.number} ({exc}); it was not issued."
        ) from None
    # the ISSUE transition goes through the one state machine (it re-checks the officer
    # and writes the audit event); the version column catches a concurrent change
    application = session.get(Application, reservation.application_id,
                              options=[joinedload(Application.office)])
    officer = session.scalars(
        select(User).options(joinedload(User.offices)).where(User.id == user_id)
    ).unique().one()
    issued_at = _aware(reservation.issued_at)
    try:
        perform(session, application, Action.ISSUE, officer, now=issued_at)
    except WorkflowError as exc:
        raise IssueRefused(str(exc)) from None
    if app.kind == ApplicationKind.BACK_TO_BACK:
        # authoritative: after this transaction's first write SQLite holds its one writer
        # lock, so no other issue draws from the foreign certificate between check and row
        _check_draw(session, reservation.application_id)
    session.flush()
    certificate_id = session.execute(insert(_CERTIFICATES), {
        "number": reservation.number,
        "application_id": reservation.application_id,
        "office_id": app.office_id,
        "issued_by_id": user_id,
        "issued_at": issued_at,
        "status": CertificateStatus.VALID.value,
        "signer_fingerprint": signer_fingerprint.lower(),
        "pdf_sha256": pdf_sha256.lower(),
        "pdf": pdf,
        "signed_with": "esign" if esign_id else "dsc",
    }).inserted_primary_key[0]
    if esign_id is not None:  # used with this issue, never again
        from app.store.esign_tables import esign_transactions

        session.execute(update(esign_transactions).where(esign_transactions.c.id == esign_id)
                        .values(state="used"))
    if application.office.ewallet_enabled:
        # the balance is read after this transaction's first write: SQLite holds its one
        # writer lock from there on, so no other issue debits between check and line
        _check_wallet(session, application.office, str(app.kind), app.number,
                      not_issued=True)
        session.execute(insert(WalletEntry.__table__), {
            "office_id": app.office_id, "kind": WalletEntryKind.FEE.value,
            "amount": -certificate_fee(app.kind == ApplicationKind.PREFERENTIAL),
            "certificate_number": reservation.number, "reference": app.number,
            "at": issued_at,
        })
    superseded = None
    if app.kind == ApplicationKind.IN_LIEU:
        superseded = _supersede(session, officer, app.number, app.original_certificate_number,
                                reservation.number, issued_at)
    session.execute(insert(AuditEvent.__table__), {
        "at": issued_at, "actor_id": user_id,
        "actor_label": f"{officer.full_name} <{officer.email}>",
        "action": "certificate.issued", "entity_type": "certificate",
        "entity_id": certificate_id,
        "after": {"number": reservation.number, "application": app.number,
                  "pdf_sha256": pdf_sha256.lower(), "signer_sha256": signer_fingerprint.lower(),
                  "signed_with": "esign" if esign_id else "dsc", "esign_txn": esign_txn,
                  "supersedes": superseded},
    })
    return RecordedIssue(int(certificate_id), issued_at, superseded, pdf_sha256.lower())


def check_esign_signature(session: Session, txn: str, user_id: int, reservation: Reservation,
                          app_number: str, signer: str, pdf: bytes) -> int:
    """The id of eSign transaction ``txn`` when it signed this issue: made by this officer
    for this application and number, ``signed`` (never ``used``), its one-time
    certificate the signer, and its CMS in a signature over the whole PDF whose byte
    ranges hash to the digest sent. The PostgreSQL store's ``od_esign_signature``
    (revision 0014) refuses with the same sentences."""
    from app.signing.esign.pdf_signature import signed_range_digest
    from app.store.esign_tables import esign_transactions as t

    row = session.execute(select(t).where(t.c.txn == txn)).first()
    if row is None:
        raise IssueRefused(f"The eSign transaction {txn} is not known to the central store; "
                           f"application {app_number} was not issued.")
    if (row.user_id != user_id or row.application_id != reservation.application_id
            or row.certificate_number != reservation.number):
        raise IssueRefused(f"The eSign transaction {txn} was made for another officer, "
                           f"application or certificate number; application {app_number} "
                           "was not issued.")
    if row.state == "used":
        raise IssueRefused(f"The eSign transaction {txn} was already used for an issue, and a "
                           f"signature is never used twice; application {app_number} was not "
                           "issued.")
    if row.state != "signed":
        raise IssueRefused(f"The eSign transaction {txn} is {row.state}, not signed; "
                           f"application {app_number} was not issued.")
    if row.signer_certificate is None or \
            hashlib.sha256(row.signer_certificate).hexdigest() != signer:
        raise IssueRefused(f"The certificate of application {app_number} was not signed with "
                           f"the one-time certificate of eSign transaction {txn}; it was not "
                           "issued.")
    digest = signed_range_digest(pdf, row.cms)
    if digest is None:
        raise IssueRefused(f"The signed PDF of application {app_number} does not carry the "
                           f"signature of eSign transaction {txn} over the whole file; it was "
                           "not issued.")
    if digest != row.digest_sha256:
        raise IssueRefused(f"The signature in the PDF of application {app_number} is not over "
                           f"the digest sent for eSign transaction {txn}; it was not issued.")
    return int(row.id)


def _check_wallet(session: Session, office: object, kind: str, app_number: str,
                  not_issued: bool = False) -> None:
    """Refuse when the office's e-wallet is on and cannot pay this kind's fee (the same
    sentence as the PostgreSQL store's, revision 0009_wallet_ledger)."""
    from app.services.wallet import balance_of, fee_for, shortfall

    if not office.ewallet_enabled:  # type: ignore[attr-defined]
        return
    balance, fee = balance_of(session, office.id), fee_for(kind)  # type: ignore[attr-defined]
    if balance < fee:
        message = shortfall(office.code, balance, fee, app_number)  # type: ignore[attr-defined]
        raise IssueRefused(message[:-1] + "; it was not issued." if not_issued else message)


@dataclass(frozen=True)
class CancelledCertificate:
    number: str
    application_number: str
    refund: Decimal | None  # the fee credited back (cancelled on the India date of issue)


def cancel(session: Session, user_id: int, application_id: int, reason: str,
           now: dt.datetime | None = None) -> CancelledCertificate:
    """Cancel the certificate of an issued application (workflow CANCEL: an officer of its
    office or an administrator of the agency, with a reason); on the India date of the
    issue, the fee debited comes back as a refund line, in the caller's transaction."""
    from app.services.wallet import same_india_date

    now = now or dt.datetime.now(dt.UTC)
    application = session.get(Application, application_id,
                              options=[joinedload(Application.office)])
    actor = session.scalars(
        select(User).options(joinedload(User.offices)).where(User.id == user_id)
    ).unique().first()
    if application is None or actor is None or actor.agency_id != application.office.agency_id:
        raise IssueRefused(f"Application #{application_id} is not in the central store.")
    certificate = session.scalars(select(Certificate).where(
        Certificate.application_id == application.id)).first()
    if certificate is None:
        raise IssueRefused(f"Application {application.number} has no certificate to cancel.")
    if certificate.status == CertificateStatus.CANCELLED:
        raise IssueRefused(f"Certificate {certificate.number} of application "
                           f"{application.number} is already cancelled.")
    if certificate.status != CertificateStatus.VALID:
        state = (f"superseded by {certificate.superseded_by_number}"
                 if certificate.superseded_by_number else str(certificate.status))
        raise IssueRefused(f"Certificate {certificate.number} of application "
                           f"{application.number} is {state}; only a valid certificate of an "
                           "issued application can be cancelled.")
    try:
        event = perform(session, application, Action.CANCEL, actor, text=reason, now=now)
    except WorkflowError as exc:
        raise IssueRefused(str(exc)) from None
    certificate.status = CertificateStatus.CANCELLED
    certificate.cancel_reason = event.note
    refund = None
    fee = session.scalars(select(WalletEntry).where(
        WalletEntry.certificate_number == certificate.number,
        WalletEntry.kind == WalletEntryKind.FEE)).first()
    if fee is not None and same_india_date(certificate.issued_at, now):
        refund = -fee.amount
        session.add(WalletEntry(office_id=fee.office_id, kind=WalletEntryKind.REFUND,
                                amount=refund, certificate_number=certificate.number,
                                reference=application.number, at=now))
    session.flush()
    session.add(AuditEvent(
        at=now, actor_id=actor.id, actor_label=f"{actor.full_name} <{actor.email}>",
        action="certificate.cancelled", entity_type="certificate", entity_id=certificate.id,
        before={"status": CertificateStatus.VALID.value},
        after={"status": CertificateStatus.CANCELLED.value, "number": certificate.number,
               "application": application.number,
               "refund": None if refund is None else str(refund)},
        note=event.note,
    ))
    session.flush()
    return CancelledCertificate(certificate.number, application.number, refund)


def _supersede(session: Session, officer: User, app_number: str, original_number: str | None,
               number: str, now: dt.datetime) -> str:
    original = check_original(session, original_number, app_number)
    original.status = CertificateStatus.SUPERSEDED
    original.superseded_by_number = number
    original_app = load_application_for_certificate(session,
                                                    application_id=original.application_id)
    if original_app.status == ApplicationStatus.ISSUED:
        if officer.is_mapped_to(original_app.office_id):
            perform(session, original_app, Action.SUPERSEDE, officer, now=now,
                    text=f"superseded by in-lieu certificate {number}")
        else:  # issued by another office of the agency: as od_record_issue does
            _supersede_elsewhere(session, original_app, officer, number, now)
    session.flush()
    return original.number


def _supersede_elsewhere(session: Session, application: Application, officer: User,
                         number: str, now: dt.datetime) -> None:
    """The original's application, held by an office the issuing officer does not serve,
    superseded by the issue itself (the workflow's SUPERSEDE asks for an officer of that
    office; on PostgreSQL ``od_record_issue`` does this for any office of the agency)."""
    if application.office.agency_id != officer.agency_id:
        raise IssueRefused(f"The original certificate of in-lieu certificate {number} is "
                           "another agency's; it cannot be replaced here.")
    before = {"status": str(application.status), "claimed_by_id": application.claimed_by_id,
              "query_text": application.query_text,
              "rejection_reason": application.rejection_reason}
    application.status = ApplicationStatus.SUPERSEDED
    application.claimed_by_id = application.claimed_at = None
    application.claimed_by = None
    session.add(AuditEvent(
        at=now, actor_id=officer.id, actor_label=f"{officer.full_name} <{officer.email}>",
        action="application.supersede", entity_type="application", entity_id=application.id,
        before=before, after={**before, "status": ApplicationStatus.SUPERSEDED.value,
                              "claimed_by_id": None},
        note=f"superseded by in-lieu certificate {number}",
    ))


def release(session: Session, user_id: int, number: str, reason: str) -> None:
    """Void a reservation that will not be issued (its reserver or an administrator)."""
    row = session.execute(_NUMBER_ROW, {"number": number}).first()
    if row is None:
        raise CertificateNumberError(f"Certificate number {number} does not exist.")
    user = session.execute(select(_USERS.c.role, _USERS.c.agency_id)
                           .where(_USERS.c.id == user_id)).first()
    is_admin = user is not None and user.role == Role.ADMINISTRATOR and user.agency_id == row.agency_id
    if row.reserved_by_id not in (None, user_id) and not is_admin:
        raise CertificateNumberError(
            f"Certificate number {number} was reserved by another user; only they or an "
            "administrator can release it.")
    void_certificate_number(session, number, reason)


def release_abandoned(session: Session, user_id: int, desk_sessions: list[str],
                      now: dt.datetime | None = None) -> list[str]:
    """Void this user's reservations made by ``desk_sessions`` (desk runs that ended), and
    any reservation of the user's agency older than :data:`STALE_RESERVATION`."""
    now = now or dt.datetime.now(dt.UTC)
    agency_id = session.scalar(select(_USERS.c.agency_id).where(_USERS.c.id == user_id))
    if agency_id is None:
        return []
    own = (_NUMBERS.c.reserved_by_id == user_id) & _NUMBERS.c.desk_session.in_(
        [s[:64] for s in desk_sessions] or [""])
    stale = _NUMBERS.c.reserved_at < now - STALE_RESERVATION
    numbers = list(session.scalars(select(_NUMBERS.c.number).where(
        _NUMBERS.c.agency_id == agency_id, _NUMBERS.c.state == "reserved", own | stale)))
    for number in numbers:
        void_certificate_number(session, number, ABANDONED)
    if numbers:
        log.warning("voided %d abandoned certificate number reservation(s)", len(numbers))
    return numbers
