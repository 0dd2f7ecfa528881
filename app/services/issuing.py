"""Issuing certificates: number, render, sign with the officer's token, record, in one unit.

One certificate goes through three short transactions, so that the store is never held
locked while the token signs (a real token takes 0.2-1 s per signature) and so that every
certificate number is either issued or voided with its reason:

1. **reserve**: the application is checked (approved, the officer may issue it, an in-lieu
   original that can be superseded), a number is allocated and recorded as ``reserved``
   for this application, and the certificate data is read. Committed.
2. **render and sign** (no transaction): the renderer draws the certificate with the QR
   payload signed by the token (``session.sign_raw``), then the token makes the PAdES
   signature, visible over the certification box, with the office stamp and the officer's
   signature image as its appearance.
3. **record**: the application is re-read and must still be approved at the version read
   in step 1 (never issued twice: the version check and the unique certificate per
   application stop a second desk); the certificate, its PDF and digest, the signer's
   fingerprint, the e-wallet fee, the workflow ISSUE (and SUPERSEDE of an in-lieu
   original) and the number's ``issued`` state are written. Committed.

Any failure after step 1 leaves the application approved and voids the number with the
reason (step 3's transaction rolls back whole). A reservation whose desk died before it
could void it is voided by the next batch after :data:`STALE_RESERVATION` ("abandoned").

Numbers come from the central store's allocator (``app.store.numbers``): reserved in the
first, committed step (so a number is never handed out twice), confirmed in the recording
transaction, and voided with the reason when anything in between fails.

Cost (``make bench``: the product's own work per certificate must stay small beside a real
token's signature): steps 1 and 3 are Core statements, not ORM graphs (the application and
its neighbours in three statements, :class:`~app.services.certificate_data.ApplicationView`);
what ``perform(ISSUE)`` checks of the officer (active, an issuing officer, mapped to the
office) is re-read with one statement in each step, while the officer's agency code and
signature image are read once per batch (per token session). Step 2 runs on the token
thread, so the QR and PAdES signatures are made there without a thread hand-over each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from app.config import Config
from app.errors import UserFacingError
from app.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CertificateNumber,
    CertificateStatus,
    Office,
    User,
    WalletEntry,
    WalletEntryKind,
)
from app.models.certificates import certificate_fee
from app.models.enums import Action, Role, UserStatus
from app.models.organisation import Agency, officer_offices
from app.models.workflow import WorkflowError, perform
from app.services.certificate_data import (
    ApplicationView,
    certificate_data,
    issue_certificate_data,
    load_application_for_certificate,
    read_application_for_certificate,
)
from app.signing.batch import BatchOutcome, IssueBatch, Progress
from app.signing.token_thread import run_in_token_thread
from app.store.central import session_factory
from app.store.numbers import (
    CertificateNumberError,
    allocate_certificate_number,
    confirm_certificate_number,
    void_certificate_number,
)

log = logging.getLogger(__name__)

INDIA = ZoneInfo("Asia/Kolkata")
STALE_RESERVATION = dt.timedelta(minutes=15)
SIGNATURE_FIELD = "IssuingOfficerSignature"
ALLOCATION_RETRIES = 5


class IssueRefused(UserFacingError):
    """This application cannot be issued now; the message says why (the batch goes on)."""


class ConcurrentIssue(IssueRefused):
    """Another desk changed or issued the application while it was being signed."""


@dataclass(frozen=True)
class IssuedCertificate:
    application_id: int
    application_number: str
    certificate_number: str
    kind: str
    pdf_sha256: str
    signer_fingerprint: str
    superseded_number: str | None = None


@dataclass(frozen=True)
class _OfficerConstants:
    """What a batch reads of its officer once: it does not change during a batch."""

    agency_id: int
    agency_code: str
    signature_png: bytes | None


@dataclass(frozen=True)
class _Standing:
    """The officer as the store says now (re-read for every certificate, twice)."""

    full_name: str
    email: str
    status: str
    may_issue_here: bool  # active, an issuing officer, mapped to the application's office

    @property
    def label(self) -> str:
        return f"{self.full_name} <{self.email}>"


_APPS = Application.__table__
_USERS = User.__table__
_CERTIFICATES = Certificate.__table__
_NUMBERS = CertificateNumber.__table__
_AUDIT = AuditEvent.__table__
_WALLET = WalletEntry.__table__

_OFFICER_CONSTANTS = (
    select(_USERS.c.agency_id, Agency.__table__.c.code, _USERS.c.signature_png)
    .join(Agency.__table__, Agency.__table__.c.id == _USERS.c.agency_id)
    .where(_USERS.c.id == bindparam("user_id"))
)
_OFFICER_STANDING = select(
    _USERS.c.full_name,
    _USERS.c.email,
    _USERS.c.status,
    _USERS.c.role,
    exists().where(
        officer_offices.c.user_id == _USERS.c.id,
        officer_offices.c.office_id == bindparam("office_id"),
    ).label("mapped"),
).where(_USERS.c.id == bindparam("user_id"))
_CERTIFICATE_OF_APPLICATION = select(_CERTIFICATES.c.number).where(
    _CERTIFICATES.c.application_id == bindparam("application_id")
)
_RESERVED_FOR_APPLICATION = select(_NUMBERS.c.number, _NUMBERS.c.reserved_at).where(
    _NUMBERS.c.application_id == bindparam("application_id"), _NUMBERS.c.state == "reserved"
)
_LOCK_APPLICATION = (  # re-read in the recording transaction, locked on PostgreSQL
    select(_APPS.c.number, _APPS.c.status, _APPS.c.version)
    .where(_APPS.c.id == bindparam("application_id"))
    .with_for_update()
)
_INSERT_CERTIFICATE = insert(_CERTIFICATES)
_INSERT_WALLET_ENTRY = insert(_WALLET)
_INSERT_AUDIT = insert(_AUDIT)

@dataclass(frozen=True)
class _Reserved:
    application_id: int
    application_number: str
    version: int
    number: str
    issue_date: dt.date
    issued_at: dt.datetime
    data: Any  # CertificateData without images (they go into the signature appearance)
    kind: str
    office_id: int
    office_place: str
    preferential: bool
    ewallet: bool
    stamp_png: bytes | None
    signature_png: bytes | None
    original_number: str | None


# --- certificate numbers --------------------------------------------------------------------


def void_abandoned_reservations(
    session: Session, *, agency_id: int, now: dt.datetime | None = None
) -> list[str]:
    """Void reservations older than :data:`STALE_RESERVATION` (their desk stopped)."""
    now = now or dt.datetime.now(dt.UTC)
    rows = session.scalars(
        select(CertificateNumber).where(
            CertificateNumber.agency_id == agency_id,
            CertificateNumber.state == "reserved",
            CertificateNumber.reserved_at < now - STALE_RESERVATION,
        )
    ).all()
    for row in rows:
        void_certificate_number(
            session, row.number,
            "reservation abandoned: the desk that reserved it stopped before issuing",
        )
    if rows:
        log.warning("voided %d abandoned certificate number reservation(s)", len(rows))
    return [r.number for r in rows]


# --- the signature appearance ----------------------------------------------------------------


def appearance_png(
    stamp_png: bytes | None,
    signature_png: bytes | None,
    box: Sequence[float],
    *,
    pixels_per_point: float = 2.0,
) -> bytes | None:
    """Stamp and signature composed for the visible signature over ``box`` (points).

    The same arrangement as the renderer's preview: the round stamp at the left, the
    signature overlapping its right quarter, both centred vertically; transparent elsewhere.
    """
    if not stamp_png and not signature_png:
        return None
    from PIL import Image

    w_pt, h_pt = box[2] - box[0], box[3] - box[1]
    scale = pixels_per_point
    canvas = Image.new("RGBA", (max(1, round(w_pt * scale)), max(1, round(h_pt * scale))))
    mm = 72.0 / 25.4
    side = 0.0
    if stamp_png:
        stamp = _image(stamp_png)
        side = min(h_pt, w_pt * 0.55, 34 * mm)
        size = max(1, round(side * scale))
        placed = stamp.resize((size, size), Image.Resampling.LANCZOS)
        canvas.alpha_composite(placed, (0, round((h_pt - side) / 2 * scale)))
    if signature_png:
        sig = _image(signature_png)
        aspect = sig.width / max(sig.height, 1)
        sig_w = min(w_pt * 0.62 if stamp_png else w_pt, 56 * mm)
        sig_h = min(h_pt * 0.7, sig_w / max(aspect, 0.3), 24 * mm)
        sig_w = min(sig_w, sig_h * aspect)
        placed = sig.resize(
            (max(1, round(sig_w * scale)), max(1, round(sig_h * scale))), Image.Resampling.LANCZOS
        )
        x = side * 0.75 if stamp_png else 0.0
        canvas.alpha_composite(placed, (round(x * scale), round((h_pt - sig_h) / 2 * scale)))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


def _image(png: bytes) -> Any:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except Exception as exc:  # Pillow raises many kinds
        raise IssueRefused(f"A stamp or signature image in the store cannot be read: {exc}") from None
    return image.convert("RGBA")


# --- issuing ---------------------------------------------------------------------------------


def issue_moment(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.date]:
    """The issue instant (UTC) and the issue date printed on the certificate (India)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment, moment.astimezone(INDIA).date()


def qr_algorithm(key_algorithm: str) -> str:
    if key_algorithm.startswith("RSA"):
        return "rsa-pkcs1v15-sha256"
    if key_algorithm == "ECDSA-P256":
        return "ecdsa-p256-sha256"
    raise IssueRefused(
        f"The token's {key_algorithm} key cannot sign the QR code; RSA or ECDSA P-256 is needed."
    )


class Issuer:
    """Issues certificates as one officer; bound to a store and the settings.

    Thread-safe in the way the batch uses it: one batch at a time per instance, run on any
    worker thread; every method opens its own sessions.
    """

    def __init__(self, engine: Engine, config: Config, officer_id: int) -> None:
        self.engine = engine
        self.config = config
        self.officer_id = officer_id
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self._appearance_cache: dict[tuple[str, str, tuple[float, ...]], bytes | None] = {}
        self._lock = threading.Lock()
        # per batch (one token session): the officer's constants, read once
        self._batch_constants: tuple[Any, _OfficerConstants] | None = None

    # --- before a batch ------------------------------------------------------------------

    def officer(self, session: Session) -> User:
        user = session.scalars(
            select(User).options(joinedload(User.offices)).where(User.id == self.officer_id)
        ).unique().first()
        if user is None:
            raise UserFacingError(f"User #{self.officer_id} is not in the store.")
        return user

    def registered_fingerprints(self) -> set[str]:
        from app.services.dsc import registered_fingerprints

        with self.sessions() as session:
            return registered_fingerprints(session, self.officer_id)

    def approved_ids(self, numbers: Sequence[str], office_code: str | None = None) -> list[int]:
        """Application ids for ``numbers`` (checked before any PIN is asked: known, approved,
        in ``office_code``, and of an office this officer serves)."""
        wanted = [n.strip().upper() for n in numbers if n.strip()]
        if not wanted:
            raise UserFacingError("Name at least one application number to issue.")
        with self.sessions() as session:
            rows = session.execute(
                select(Application.number, Application.id, Application.status, Office.code)
                .join(Office, Office.id == Application.office_id)
                .where(Application.number.in_(wanted))
            ).all()
            served = set(session.scalars(
                select(Office.code).join(officer_offices, officer_offices.c.office_id == Office.id)
                .where(officer_offices.c.user_id == self.officer_id)
            ))
        found = {r.number: r for r in rows}
        problems, ids = [], []
        for number in dict.fromkeys(wanted):
            row = found.get(number)
            if row is None:
                problems.append(f"{number} is not in the store")
            elif office_code and row.code != office_code.strip().upper():
                problems.append(f"{number} belongs to office {row.code}, not {office_code}")
            elif row.code not in served:
                problems.append(f"{number} belongs to office {row.code}, which you do not serve")
            elif row.status != ApplicationStatus.APPROVED:
                problems.append(f"{number} is {ApplicationStatus(row.status).label.lower()}, "
                                "not approved")
            else:
                ids.append(row.id)
        if problems:
            raise UserFacingError("Cannot issue: " + "; ".join(problems) + ".")
        return ids

    def open_token_session(
        self,
        ask_pin: Callable[[Any, list[str]], str | None],
        *,
        certificate_fingerprint: str | None = None,
    ) -> Any:
        """Log in to the configured token with the officer's registered certificate."""
        from app.signing.token_session import open_token_session_from_config

        fingerprints = self.registered_fingerprints()
        return open_token_session_from_config(
            self.config,
            ask_pin=ask_pin,
            registered_fingerprints=fingerprints,
            certificate_fingerprint=certificate_fingerprint,
        )

    def batch(
        self,
        application_ids: Sequence[int],
        *,
        cancel: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> IssueBatch[int, IssuedCertificate]:
        self._batch_constants = None  # a new batch reads the officer afresh
        return IssueBatch(list(application_ids), self.issue_one, cancel=cancel,
                          on_progress=on_progress)

    def run_batch(
        self,
        application_ids: Sequence[int],
        ask_pin: Callable[[Any, list[str]], str | None],
        *,
        cancel: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        certificate_fingerprint: str | None = None,
    ) -> BatchOutcome[int, IssuedCertificate]:
        """One PIN, then every application issued or left approved (see IssueBatch)."""
        self.sweep_reservations()
        return self.batch(application_ids, cancel=cancel, on_progress=on_progress).run_with(
            lambda: self.open_token_session(ask_pin, certificate_fingerprint=certificate_fingerprint)
        )

    def certificate_pdf(self, number: str) -> bytes:
        with self.sessions() as session:
            pdf = session.scalar(select(Certificate.pdf).where(Certificate.number == number))
        if pdf is None:
            raise UserFacingError(f"Certificate {number} is not in the store.")
        return pdf

    def application_numbers(self, application_ids: Sequence[int]) -> dict[int, str]:
        if not application_ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(Application.id, Application.number)
                .where(Application.id.in_(list(application_ids)))
            ).all()
        return {row.id: row.number for row in rows}

    def sweep_reservations(self) -> list[str]:
        with self.sessions() as session, session.begin():
            agency_id = self.officer(session).agency_id
            return void_abandoned_reservations(session, agency_id=agency_id)

    # --- one certificate ---------------------------------------------------------------------

    def issue_one(
        self, application_id: int, token: Any, *, now: dt.datetime | None = None
    ) -> IssuedCertificate:
        """Issue one approved application with ``token`` (a TokenSession); see the module doc."""
        reserved = self._reserve(application_id, now, token)
        try:
            # on the token thread: the QR signature and the PAdES signature made there
            # directly, one thread hand-over per certificate instead of two
            pdf = run_in_token_thread(self._render_and_sign, reserved, token)
            return self._record(reserved, pdf, token)
        except BaseException as exc:
            self._void_after_failure(reserved, exc)
            raise

    def _reserve(self, application_id: int, now: dt.datetime | None, token: Any) -> _Reserved:
        issued_at, issue_date = issue_moment(now)
        for attempt in range(ALLOCATION_RETRIES):
            try:
                with self.sessions() as session, session.begin():
                    return self._reserve_in(session, application_id, issued_at, issue_date,
                                            token)
            except IntegrityError:
                if attempt == ALLOCATION_RETRIES - 1:
                    raise
                log.info("certificate number taken by another desk; allocating again")
        raise AssertionError("unreachable")

    def _officer_constants(self, session: Session, token: Any) -> _OfficerConstants:
        """The officer's agency and signature image, read once per batch (token session)."""
        cached = self._batch_constants
        if cached is not None and cached[0] is token:
            return cached[1]
        row = session.execute(_OFFICER_CONSTANTS, {"user_id": self.officer_id}).first()
        if row is None:
            raise UserFacingError(f"User #{self.officer_id} is not in the store.")
        constants = _OfficerConstants(row.agency_id, row.code, row.signature_png)
        self._batch_constants = (token, constants)
        return constants

    def _standing(self, session: Session, office_id: int) -> _Standing:
        """What ``perform(ISSUE)`` asks of the officer, read with one Core statement."""
        row = session.execute(
            _OFFICER_STANDING, {"user_id": self.officer_id, "office_id": office_id}
        ).first()
        if row is None:
            raise UserFacingError(f"User #{self.officer_id} is not in the store.")
        may = (row.status == UserStatus.ACTIVE and row.role != Role.ADMINISTRATOR
               and bool(row.mapped))
        return _Standing(row.full_name, row.email, str(row.status), may)

    def _reserve_in(
        self, session: Session, application_id: int, issued_at: dt.datetime,
        issue_date: dt.date, token: Any,
    ) -> _Reserved:
        app = read_application_for_certificate(session, application_id)
        officer = self._standing(session, app.office_id)
        self._check_may_issue(session, app, officer, issued_at)
        original_number = None
        if app.kind == ApplicationKind.IN_LIEU:
            original_number = self._check_original(
                session, app.original_certificate_number, app.number
            ).number
        constants = self._officer_constants(session, token)
        agency_id = app.office.agency_id
        number = allocate_certificate_number(
            session, agency_id=agency_id, application_id=app.id, year=issue_date.year,
            agency_code=constants.agency_code if constants.agency_id == agency_id else None,
        )
        data = issue_certificate_data(
            app, officer_name=officer.full_name, certificate_number=number, issue_date=issue_date
        )
        return _Reserved(
            application_id=app.id,
            application_number=app.number,
            version=app.version,
            number=number,
            issue_date=issue_date,
            issued_at=issued_at,
            data=data,
            kind=str(app.kind),
            office_id=app.office_id,
            office_place=app.office.place,
            preferential=app.kind == ApplicationKind.PREFERENTIAL,
            ewallet=bool(app.office.ewallet_enabled),
            stamp_png=app.stamp_png,
            signature_png=constants.signature_png,
            original_number=original_number,
        )

    def _check_may_issue(
        self, session: Session, app: ApplicationView, officer: _Standing, now: dt.datetime
    ) -> None:
        # the questions of allowed_actions(app, officer) for ISSUE, in its order
        status = ApplicationStatus(app.status)
        if status != ApplicationStatus.APPROVED:
            raise IssueRefused(
                f"Application {app.number} is {status.label.lower()}; only approved "
                "applications can be issued."
            )
        if officer.status != UserStatus.ACTIVE:
            raise IssueRefused(f"{officer.full_name}'s account is {officer.status}.")
        if not officer.may_issue_here:
            raise IssueRefused(
                f"{officer.full_name} is not an issuing officer of office {app.office.code}, "
                f"which holds application {app.number}."
            )
        params = {"application_id": app.id}
        existing = session.execute(_CERTIFICATE_OF_APPLICATION, params).scalar()
        if existing:
            raise IssueRefused(f"Application {app.number} already has certificate {existing}.")
        for row in session.execute(_RESERVED_FOR_APPLICATION, params).all():
            reserved_at = row.reserved_at
            if reserved_at.tzinfo is None:
                reserved_at = reserved_at.replace(tzinfo=dt.UTC)
            if now - reserved_at < STALE_RESERVATION:
                raise IssueRefused(
                    f"Application {app.number} is being issued at another desk (number "
                    f"{row.number} reserved at {reserved_at:%H:%M} UTC)."
                )
            void_certificate_number(
                session, row.number, "reservation abandoned: the desk that reserved it stopped"
            )

    def _check_original(
        self, session: Session, original_number: str | None, app_number: str
    ) -> Certificate:
        number = (original_number or "").strip()
        original = session.scalars(
            select(Certificate).where(Certificate.number == number)
        ).first()
        if original is None:
            raise IssueRefused(
                f"The original certificate {number or '(none named)'} of in-lieu application "
                f"{app_number} is not in this store; an in-lieu certificate for one issued by "
                "the legacy system is issued there."
            )
        if original.status == CertificateStatus.CANCELLED:
            raise IssueRefused(
                f"The original certificate {number} was cancelled; it cannot be replaced."
            )
        if original.superseded_by_number:
            raise IssueRefused(
                f"The original certificate {number} was already replaced by "
                f"{original.superseded_by_number}."
            )
        return original

    def _appearance(self, reserved: _Reserved, box: Sequence[float]) -> bytes | None:
        key = (
            hashlib.sha256(reserved.stamp_png or b"").hexdigest(),
            hashlib.sha256(reserved.signature_png or b"").hexdigest(),
            tuple(round(v, 2) for v in box),
        )
        with self._lock:
            if key not in self._appearance_cache:
                self._appearance_cache[key] = appearance_png(
                    reserved.stamp_png, reserved.signature_png, box
                )
            return self._appearance_cache[key]

    def _render_and_sign(self, reserved: _Reserved, token: Any) -> bytes:
        from app.documents.qr_payload import QrSigner, key_id_for_certificate
        from app.documents.renderer import render_certificate

        signer = QrSigner(
            key_id=key_id_for_certificate(token.certificate_der),
            algorithm=qr_algorithm(token.key_algorithm),
            sign=token.sign_raw,
        )
        rendered = render_certificate(reserved.data, qr_signer=signer)
        box = rendered.signature_box
        officer = reserved.data.officer_name
        return token.sign_pdf(
            rendered.pdf,
            field_name=SIGNATURE_FIELD,
            page=rendered.certification_page,
            box=box,
            stamp_png=self._appearance(reserved, box),
            stamp_text="",
            reason=f"Certificate of Origin {reserved.number} issued by {officer}",
            location=reserved.office_place,
        )

    def _record(self, reserved: _Reserved, pdf: bytes, token: Any) -> IssuedCertificate:
        from sqlalchemy.orm.exc import StaleDataError

        fingerprint = hashlib.sha256(token.certificate_der).hexdigest()
        digest = hashlib.sha256(pdf).hexdigest()
        try:
            with self.sessions() as session, session.begin():
                superseded = self._record_in(session, reserved, pdf, digest, fingerprint)
        except StaleDataError:
            raise ConcurrentIssue(
                f"Application {reserved.application_number} was changed at another desk while "
                "it was being signed; it was not issued. Reload it and try again."
            ) from None
        except IntegrityError:
            raise ConcurrentIssue(
                f"Application {reserved.application_number} was issued at another desk while "
                "it was being signed; this copy was discarded."
            ) from None
        log.info("issued %s for %s (%s)", reserved.number, reserved.application_number,
                 reserved.kind)
        return IssuedCertificate(
            application_id=reserved.application_id,
            application_number=reserved.application_number,
            certificate_number=reserved.number,
            kind=reserved.kind,
            pdf_sha256=digest,
            signer_fingerprint=fingerprint,
            superseded_number=superseded,
        )

    def _record_in(
        self, session: Session, reserved: _Reserved, pdf: bytes, digest: str, fingerprint: str
    ) -> str | None:
        """Record the issue: ``perform(ISSUE)`` through the workflow, then the certificate,
        its number, fee and audit as Core statements (cheaper than ORM objects here)."""
        app = session.execute(
            _LOCK_APPLICATION, {"application_id": reserved.application_id}
        ).one()
        if app.version != reserved.version or app.status != ApplicationStatus.APPROVED:
            raise ConcurrentIssue(
                f"Application {app.number} changed at another desk while it was being signed "
                f"(now {ApplicationStatus(app.status).label.lower()}); it was not issued here."
            )
        try:
            confirm_certificate_number(
                session, reserved.number, application_id=reserved.application_id
            )
        except CertificateNumberError as exc:
            raise ConcurrentIssue(
                f"Certificate number {reserved.number} is no longer reserved for "
                f"{app.number} ({exc}); it was not issued."
            ) from None
        # the ISSUE transition goes through the one state machine (it re-checks the officer
        # and writes the audit event); the version column catches a concurrent change
        application = session.get(
            Application, reserved.application_id, options=[joinedload(Application.office)]
        )
        officer_row = self.officer(session)
        try:
            perform(session, application, Action.ISSUE, officer_row, now=reserved.issued_at)
        except WorkflowError as exc:
            raise IssueRefused(str(exc)) from None
        session.flush()
        officer = _Standing(
            officer_row.full_name, officer_row.email, str(officer_row.status), True
        )
        certificate_id = session.execute(_INSERT_CERTIFICATE, {
            "number": reserved.number,
            "application_id": reserved.application_id,
            "office_id": reserved.office_id,
            "issued_by_id": self.officer_id,
            "issued_at": reserved.issued_at,
            "status": CertificateStatus.VALID.value,
            "signer_fingerprint": fingerprint,
            "pdf_sha256": digest,
            "pdf": pdf,
        }).inserted_primary_key[0]
        if reserved.ewallet:
            session.execute(_INSERT_WALLET_ENTRY, {
                "office_id": reserved.office_id, "kind": WalletEntryKind.FEE.value,
                "amount": -certificate_fee(reserved.preferential), "certificate_number": reserved.number,
                "reference": app.number, "at": reserved.issued_at,
            })
        superseded = None
        if reserved.original_number:
            superseded = self._supersede(session, app.number, reserved)
        session.execute(_INSERT_AUDIT, {
            "at": reserved.issued_at,
            "actor_id": self.officer_id,
            "actor_label": officer.label,
            "action": "certificate.issued",
            "entity_type": "certificate",
            "entity_id": certificate_id,
            "after": {"number": reserved.number, "application": app.number,
                      "pdf_sha256": digest, "signer_sha256": fingerprint,
                      "supersedes": superseded},
        })
        return superseded

    def _supersede(self, session: Session, app_number: str, reserved: _Reserved) -> str:
        original = self._check_original(session, reserved.original_number, app_number)
        original.status = CertificateStatus.SUPERSEDED
        original.superseded_by_number = reserved.number
        original_app = load_application_for_certificate(
            session, application_id=original.application_id
        )
        if original_app.status == ApplicationStatus.ISSUED:
            perform(session, original_app, Action.SUPERSEDE, self.officer(session),
                    now=reserved.issued_at,
                    text=f"superseded by in-lieu certificate {reserved.number}")
        session.flush()
        return original.number

    def _void_after_failure(self, reserved: _Reserved, exc: BaseException) -> None:
        reason = f"not issued for {reserved.application_number}: {_reason(exc)}"
        try:
            with self.sessions() as session, session.begin():
                void_certificate_number(session, reserved.number, reason)
            log.info("voided %s: %s", reserved.number, reason)
        except Exception:  # the store may be gone too; the sweep voids it later
            log.exception("could not void certificate number %s", reserved.number)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, UserFacingError):
        text = f"{type(exc).__name__}: {text}"
    return text[:900]


# --- verification of an issued certificate PDF -------------------------------------------------

QR_CHECK_NAME = "QR code matches the document"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None  # None: could not be checked
    detail: str = ""


@dataclass(frozen=True)
class CertificateVerification:
    valid: bool
    checks: tuple[Check, ...]
    certificate_number: str | None
    store_status: str  # what the store says of the number ("valid", "superseded by ...")
    signer: str
    report: Any  # the signing core's ValidationReport


def qr_texts_in_pdf(pdf: bytes) -> list[str]:
    """The QR text of every page of a certificate rendered by ``app.documents``.

    The renderer draws each QR symbol as one vector path of module rectangles; the path is
    read back from the page content, drawn clean at 4 pixels per module and decoded with
    zxing-cpp. Pages without such a symbol give no entry.
    """
    import re

    import zxingcpp
    from PIL import Image, ImageDraw
    from pyhanko.pdf_utils.reader import PdfFileReader

    symbol = re.compile(
        rb"q 0 g [\d.]+ 0 0 [\d.]+ [\d.\-]+ [\d.\-]+ cm\n((?:\d+ \d+ \d+ 1 re\n)+)f\nQ"
    )
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    texts = []
    for page_index in range(int(reader.root["/Pages"]["/Count"])):
        page = _page(reader, page_index)
        contents = page.get("/Contents")
        contents = contents.get_object() if hasattr(contents, "get_object") else contents
        streams = contents if isinstance(contents, list) else [contents]
        data = b"".join(s.get_object().data for s in streams if s is not None)
        match = symbol.search(data)
        if match is None:
            continue
        rects = [tuple(int(v) for v in line.split()[:3])
                 for line in match.group(1).decode().splitlines()]
        n = max(max(x + w for x, _, w in rects), max(y for _, y, _ in rects) + 1)
        scale, quiet = 4, 4
        size = (n + 2 * quiet) * scale
        image = Image.new("L", (size, size), 255)
        draw = ImageDraw.Draw(image)
        for x, y, w in rects:
            top = (n - 1 - y + quiet) * scale
            left = (x + quiet) * scale
            draw.rectangle((left, top, left + w * scale - 1, top + scale - 1), fill=0)
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        if found:
            texts.append(found[0].text)
    return texts


def _page(reader: Any, index: int) -> Any:
    def walk(node: Any) -> list[Any]:
        node = node.get_object() if hasattr(node, "get_object") else node
        if node.get("/Type") == "/Page":
            return [node]
        return [leaf for kid in node["/Kids"] for leaf in walk(kid)]

    return walk(reader.root["/Pages"])[index]


def verify_certificate_pdf(engine: Engine, config: Config, pdf: bytes) -> CertificateVerification:
    """Every check an officer or a verifier wants, on a signed certificate PDF.

    Signature intact, chain to a trust root, signer registered, no change after signing
    (the signing core's ``validate_pdf``), and the QR payload: signed by a registered key
    and matching the certificate's data in this store.
    """
    from app.documents.qr_payload import decode_qr_text, parse_qr_payload, verify_qr_payload
    from app.services.dsc import key_directory, registered_signers
    from app.signing.certificates import fingerprint
    from app.signing.policy import load_trust_roots
    from app.signing.validation import validate_pdf

    sessions = session_factory(engine)
    with sessions() as session:
        directory = key_directory(session)
        signers = registered_signers(session)
    qr: dict[str, Any] = {"passed": None, "detail": "", "number": None, "status": ""}

    def check_document(data: bytes) -> list[str]:
        try:
            texts = qr_texts_in_pdf(data)
        except Exception as exc:  # a damaged page: say so, don't crash the report
            qr.update(passed=False, detail=f"the QR code cannot be read: {exc}")
            return [f"QR code: cannot be read ({exc})"]
        if not texts:
            qr.update(passed=False, detail="no QR code found on the certificate")
            return ["QR code: none found on the certificate."]
        if len(set(texts)) > 1:
            qr.update(passed=False, detail="the pages carry different QR codes")
            return ["QR code: the pages carry different QR codes."]
        try:
            payload = decode_qr_text(texts[0])
            number = parse_qr_payload(payload).reference_number
        except UserFacingError as exc:
            qr.update(passed=False, detail=str(exc))
            return [f"QR code: {exc}"]
        qr["number"] = number
        with sessions() as session:
            data_in_store, status = _certificate_data_for(session, number)
        result = verify_qr_payload(payload, key_directory=directory, data=data_in_store)
        qr["status"] = status
        if data_in_store is None and result.valid:
            qr.update(passed=False, detail=f"signed by a registered officer, but certificate "
                      f"{number} is not in this store")
            return [f"QR code: certificate {number} is not in this store."]
        qr.update(passed=result.valid, detail=result.reason if not result.valid else
                  f"certificate {number}, signed by a registered officer's key")
        return [] if result.valid else [f"QR code: {result.reason}"]

    report = validate_pdf(
        pdf,
        trust_roots=load_trust_roots(config.trust_path),
        is_registered=lambda der: fingerprint(der) in signers,
        check_document=check_document,
    )
    sigs = report.signatures

    def all_of(attr: str) -> bool | None:
        values = [getattr(s, attr) for s in sigs]
        if not values or any(v is None for v in values):
            return None  # not checked
        return all(values)

    intact = all(s.intact and s.valid for s in sigs) if sigs else None
    signer = _common_name(sigs[0].signer) if sigs else ""
    registered = all_of("registered")
    email = signers.get(sigs[0].signer_sha256, "") if sigs else ""
    checks = (
        Check("Signature intact", intact,
              "the signed bytes and the signature verify" if intact else
              _first(sigs, "altered", "verify") or "no signature"),
        Check("Chain to a trusted root", all_of("trusted"),
              "the signer's certificate chains to a trusted root" if all_of("trusted") else
              _first(sigs, "chain") or ("not checked: the signed content was altered"
                                        if sigs else "no signature")),
        Check("Signer registered", registered,
              f"{signer} ({email})" if registered else
              (f"{signer} is not a registered officer" if sigs else "no signature")),
        Check("No change after signing", all_of("unchanged"),
              "nothing was added after the signature" if all_of("unchanged") else
              _first(sigs, "changed") or "no signature"),
        Check(QR_CHECK_NAME, qr["passed"], qr["detail"]),
    )
    return CertificateVerification(
        valid=report.valid and all(c.passed for c in checks),
        checks=checks,
        certificate_number=qr["number"],
        store_status=qr["status"],
        signer=signer,
        report=report,
    )


def _common_name(human_friendly: str) -> str:
    """'Common Name: X' out of asn1crypto's human-friendly name (else the whole name)."""
    for part in human_friendly.split(", "):
        if part.startswith("Common Name: "):
            return part.removeprefix("Common Name: ")
    return human_friendly


def _first(sigs: Sequence[Any], *words: str) -> str:
    for sig in sigs:
        for problem in sig.problems:
            if any(w in problem for w in words):
                return str(problem)
    return ""


def _certificate_data_for(session: Session, number: str) -> tuple[Any, str]:
    """The CertificateData a certificate was rendered from, and its status in the store."""
    row = session.scalars(
        select(Certificate).options(selectinload(Certificate.issued_by))
        .where(Certificate.number == number)
    ).first()
    if row is None:
        return None, "not in this store"
    app = load_application_for_certificate(session, application_id=row.application_id)
    issued_at = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=dt.UTC)
    data = certificate_data(app, officer=row.issued_by, certificate_number=number,
                            issue_date=issued_at.astimezone(INDIA).date())
    status = str(row.status)
    if row.status == CertificateStatus.SUPERSEDED and row.superseded_by_number:
        status = f"superseded by {row.superseded_by_number}"
    elif row.status == CertificateStatus.CANCELLED:
        status = f"cancelled ({row.cancel_reason or 'no reason recorded'})"
    return replace(data, stamp_png=None, signature_png=None), status
