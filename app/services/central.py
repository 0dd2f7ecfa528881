"""The central interface a desk works through, and its SQL implementation.

:class:`CentralLink` is everything a desk asks of the central store: the sync protocol of
:class:`app.store.link.SyncLink` (hello, push, pull) and what issuing, DSC registration and
verification need (reserve numbers, record an issue, release a reservation, register and
list DSCs, look a certificate up). Desks never hold an engine in their views: they hold a
``CentralLink``. :class:`SqlCentral` implements it over SQLAlchemy, for the embedded SQLite
store and for PostgreSQL through the officer's own login, where the issuing rules run
inside the store (SECURITY DEFINER functions, ``docs/STORE.md``). An HTTPS implementation
of the same protocol stands in for desks that must not reach the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.config import Config
from app.errors import UserFacingError
from app.models import Certificate, CertificateStatus
from app.services import central_issuing
from app.services.central_issuing import (
    CancelledCertificate,
    ConcurrentIssue,
    IssueRefused,
    RecordedIssue,
    Reservation,
    issue_moment,
)
from app.store.link import (
    CentralUnavailable,
    SqlCentralLink,
    SyncLink,
    _is_connection_error,
    _unavailable,
)

if TYPE_CHECKING:
    from app.services.esign_issuing import EsignOffer, EsignRequest, EsignState
    from app.services.wallet import OfficeCharge
    from app.signing.seal import Sealer

log = logging.getLogger(__name__)
ALLOCATION_RETRIES = 5


@dataclass(frozen=True)
class CertificateStatusInfo:
    number: str
    status: str  # valid | superseded | cancelled
    issued_at: dt.datetime | None
    superseded_by: str | None
    agency_code: str
    agency_name: str
    office_name: str

    @property
    def description(self) -> str:
        if self.status == CertificateStatus.SUPERSEDED and self.superseded_by:
            return f"superseded by {self.superseded_by}"
        return self.status


@dataclass(frozen=True)
class VerificationMaterial:
    """What a verifier needs from the central store: QR key id -> DSC certificate, and
    DSC fingerprint -> officer e-mail (revoked registrations too: certificates issued
    before a revocation stay genuine)."""

    key_directory: dict[bytes, Any]
    signers: dict[str, str]


@dataclass(frozen=True)
class ApplicationState:
    """What the issue command checks of an application before the PIN is asked."""

    id: int
    number: str
    status: str
    office_code: str
    served: bool  # an office the asking officer serves


class CentralLink(SyncLink, Protocol):
    # --- issuing -------------------------------------------------------------------------
    def application_states(self, user_id: int, numbers: Sequence[str] = (), *,
                           ids: Sequence[int] = ()) -> list[ApplicationState]: ...

    def reserve(self, user_id: int, application_id: int, desk_session: str) -> Reservation: ...

    def record(self, user_id: int, reservation: Reservation, pdf: bytes,
               signer_fingerprint: str, *, esign_txn: str | None = None) -> RecordedIssue:
        """Record the signed certificate; ``esign_txn``: signed with Aadhaar eSign in that
        gateway transaction (the store then accepts its one-time certificate, once)."""
        ...

    def release(self, user_id: int, number: str, reason: str) -> None: ...

    def release_abandoned(self, user_id: int, desk_sessions: Sequence[str]) -> list[str]: ...

    def certificate_pdf(self, number: str) -> bytes | None: ...

    def document_content(self, document_id: int) -> bytes | None:
        """The bytes of a supporting document of an application the user may see (None:
        no such document, or not theirs: row-level security and the service decide). A
        pull carries documents' metadata only; the desk fetches and caches the bytes
        when the officer opens one (``app.services.documents``)."""
        ...

    def wallet_charges(self, user_id: int, application_ids: Sequence[int]) -> list[OfficeCharge]:
        """What issuing ``application_ids`` would debit from each office's e-wallet, with the
        balance it holds now (``app.services.wallet``): the desk refuses a batch the
        balance cannot pay before it asks for the PIN."""
        ...

    def cancel_certificate(self, user_id: int, application_id: int,
                           reason: str) -> CancelledCertificate:
        """Cancel the certificate of an issued application with a reason (an officer of its
        office or an administrator of the agency); a same-day cancellation refunds the
        fee in the same transaction. IssueRefused says why not."""
        ...

    def extend_certificate(self, number: str, pdf: bytes) -> None:
        """Keep ``pdf`` as the certificate's file: the stored file with validation data and
        a document timestamp added (``app.signing.archive``); ``pdf_sha256`` stays the
        digest recorded at issue. ExtensionRefused says why not. Administrators only on
        PostgreSQL and the service."""
        ...

    # --- Aadhaar eSign (the central service's gateway: app/services/esign_issuing.py) -----
    def esign_offer(self) -> EsignOffer:
        """Whether eSign is offered (never by the embedded demo or a PostgreSQL store: only
        the central service is the agency's eSign gateway)."""
        ...

    def esign_request(self, user_id: int, application_id: int, certificate_number: str,
                      digest_sha256: str, document_name: str) -> EsignRequest: ...

    def esign_state(self, txn: str) -> EsignState: ...

    def esign_cancel(self, txn: str) -> str: ...

    # --- DSC registration ------------------------------------------------------------------
    def registered_fingerprints(self, user_id: int) -> set[str]: ...

    def register_dsc(self, user_id: int, certificate: Any, intermediates: list[bytes]) -> Any: ...

    # --- verification ------------------------------------------------------------------------
    def verification_material(self) -> VerificationMaterial: ...

    def certificate_status(self, *, number: str | None = None,
                           pdf_sha256: str | None = None) -> CertificateStatusInfo | None: ...

    def certificate_record(self, number: str) -> tuple[Any, str]: ...

    def seal_trust_list(self) -> dict[str, Any] | None: ...


def _refusal(exc: DBAPIError) -> UserFacingError | None:
    """The officer-readable refusal raised by a central store function, if it is one."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    message = str(getattr(getattr(exc.orig, "diag", None), "message_primary", "") or exc.orig)
    if sqlstate == "ODREF":
        return IssueRefused(message)
    if sqlstate == "ODCON":
        return ConcurrentIssue(message)
    return None


class ExtensionRefused(UserFacingError):
    """The store did not keep an extended certificate file (one sentence why)."""


class SqlCentral(SqlCentralLink):
    """The central interface over SQLAlchemy (SQLite, or PostgreSQL through the login).

    With a ``sealer`` (:class:`~app.signing.seal.Sealer`: the central service, the
    embedded demo) every reservation comes back with its QR payload sealed by the agency's
    seal (``Reservation.qr_payload`` / ``qr_text``); without one (a desk on a direct
    PostgreSQL store) the officer's token signs the QR payload.
    """

    def __init__(self, engine: Engine, config: Config, sealer: Sealer | None = None) -> None:
        super().__init__(engine)
        self.config = config
        self.uses_functions = self.dialect == "postgresql"
        self.sealer = sealer

    def _run(self, work: Callable[[Session], Any]) -> Any:
        """``work`` in one transaction; a lost connection becomes CentralUnavailable and a
        refusal of a store function the officer's message."""
        try:
            with self.sessions() as session, session.begin():
                return work(session)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            refusal = _refusal(exc)
            if refusal is not None:
                raise refusal from None
            raise

    # --- issuing -------------------------------------------------------------------------

    def application_states(self, user_id: int, numbers: Sequence[str] = (), *,
                           ids: Sequence[int] = ()) -> list[ApplicationState]:
        from app.models import Application, Office
        from app.models.organisation import officer_offices

        def read(session: Session) -> list[ApplicationState]:
            served = set(session.scalars(
                select(officer_offices.c.office_id).where(officer_offices.c.user_id == user_id)))
            where = (Application.number.in_(list(numbers)) if numbers
                     else Application.id.in_(list(ids)))
            rows = session.execute(
                select(Application.id, Application.number, Application.status,
                       Application.office_id, Office.code)
                .join(Office, Office.id == Application.office_id).where(where)
            ).all()
            return [ApplicationState(r.id, r.number, str(r.status), r.code,
                                     r.office_id in served) for r in rows]

        return self._run(read)

    def reserve(self, user_id: int, application_id: int, desk_session: str) -> Reservation:
        reservation = self._reserve(user_id, application_id, desk_session)
        return reservation if self.sealer is None else self._seal(user_id, reservation)

    def _reserve(self, user_id: int, application_id: int, desk_session: str) -> Reservation:
        for attempt in range(ALLOCATION_RETRIES):
            try:
                if self.uses_functions:
                    return self._run(lambda s: self._reserve_pg(s, user_id, application_id,
                                                                desk_session))
                return self._run(lambda s: central_issuing.reserve(s, user_id, application_id,
                                                                   desk_session))
            except IntegrityError:
                if attempt == ALLOCATION_RETRIES - 1:
                    raise
                log.info("certificate number taken by another desk; allocating again")
        raise AssertionError("unreachable")

    def _seal(self, user_id: int, reservation: Reservation) -> Reservation:
        """The reservation's QR payload sealed (after its transaction: no lock is held while
        the HSM signs); a failure releases the number with the reason."""
        from app.services.seals import seal_reservation

        assert self.sealer is not None
        try:
            return seal_reservation(self.sealer, reservation)
        except BaseException as exc:
            reason = (f"not issued for {reservation.application_number}: the QR seal "
                      f"failed: {str(exc).strip() or type(exc).__name__}")[:900]
            try:
                self.release(user_id, reservation.number, reason)
            except Exception:  # the store may be gone too; the stale sweep releases it
                log.exception("could not void certificate number %s", reservation.number)
            raise

    def _reserve_pg(self, session: Session, user_id: int, application_id: int,
                    desk_session: str) -> Reservation:
        from app.services.certificate_data import (
            issue_certificate_data,
            read_application_for_certificate,
        )

        ask = session.execute(
            text("SELECT number, kind, original_certificate_number, original_certificate_date "
                 "FROM applications WHERE id = :a"), {"a": application_id}).first()
        if ask is not None and ask.kind == "in_lieu":  # the store's own refusal comes next
            central_issuing.refuse_legacy_original(
                ask.original_certificate_number, ask.original_certificate_date, ask.number)
        row = session.execute(
            text("SELECT number, reserved_at, version FROM "
                 "od_reserve_certificate_number(:a, :s)"),
            {"a": application_id, "s": desk_session[:64]},
        ).one()
        issued_at, issue_date = issue_moment(row.reserved_at)
        app = read_application_for_certificate(session, application_id)
        officer = session.execute(
            text("SELECT full_name, designation, signature_png FROM users WHERE id = :u"),
            {"u": user_id},
        ).one()
        data = issue_certificate_data(app, officer_name=officer.full_name,
                                      officer_designation=officer.designation,
                                      certificate_number=row.number, issue_date=issue_date)
        return Reservation(
            application_id=app.id, application_number=app.number, version=int(row.version),
            number=row.number, issued_at=issued_at, issue_date=issue_date, data=data,
            kind=str(app.kind), office_place=app.office.place, stamp_png=app.stamp_png,
            signature_png=officer.signature_png,
        )

    def record(self, user_id: int, reservation: Reservation, pdf: bytes,
               signer_fingerprint: str, esign_txn: str | None = None) -> RecordedIssue:
        from sqlalchemy.orm.exc import StaleDataError

        digest = hashlib.sha256(pdf).hexdigest()
        try:
            if self.uses_functions:
                extra = (esign_txn,) if esign_txn is not None else ()  # a DSC: as before
                return self._run(lambda s: self._record_pg(s, reservation, pdf, digest,
                                                           signer_fingerprint, *extra))
            return self._run(lambda s: central_issuing.record(
                s, user_id, reservation, pdf, digest, signer_fingerprint, esign_txn))
        except StaleDataError:
            raise ConcurrentIssue(
                f"Application {reservation.application_number} was changed at another desk "
                "while it was being signed; it was not issued. Reload it and try again."
            ) from None
        except IntegrityError:
            raise ConcurrentIssue(
                f"Application {reservation.application_number} was issued at another desk "
                "while it was being signed; this copy was discarded."
            ) from None

    @staticmethod
    def _record_pg(session: Session, reservation: Reservation, pdf: bytes, digest: str,
                   fingerprint: str, esign_txn: str | None = None) -> RecordedIssue:
        # with an eSign transaction: revision 0014's od_record_issue (seven arguments)
        esign = ", :txn" if esign_txn is not None else ""
        row = session.execute(
            text("SELECT certificate_id, issued_at, superseded_number FROM "
                 f"od_record_issue(:n, :a, :v, :pdf, :sha, :fp{esign})"),
            {"n": reservation.number, "a": reservation.application_id,
             "v": reservation.version, "pdf": pdf, "sha": digest, "fp": fingerprint,
             "txn": esign_txn},
        ).one()
        return RecordedIssue(int(row.certificate_id), row.issued_at, row.superseded_number, digest)

    def release(self, user_id: int, number: str, reason: str) -> None:
        if self.uses_functions:
            self._run(lambda s: s.execute(text("SELECT od_void_certificate_number(:n, :r)"),
                                          {"n": number, "r": reason}))
        else:
            self._run(lambda s: central_issuing.release(s, user_id, number, reason))

    def release_abandoned(self, user_id: int, desk_sessions: Sequence[str]) -> list[str]:
        if not self.uses_functions:
            return self._run(lambda s: central_issuing.release_abandoned(
                s, user_id, list(desk_sessions)))
        voided: list[str] = []
        for desk_session in list(desk_sessions) or [""]:  # "": only the agency's stale ones
            voided += self._run(lambda s, d=desk_session: list(s.execute(
                text("SELECT * FROM od_release_reservations(:d)"), {"d": d[:64]}).scalars()))
        return voided

    def trade_events(self, user_id: int) -> Any:
        """The agency's trade events as this user (app/services/trade_events.py)."""
        from app.services.trade_events import TradeEventBook

        return TradeEventBook(self.engine, user_id)

    def certificate_pdf(self, number: str) -> bytes | None:
        return self._run(lambda s: s.scalar(
            select(Certificate.pdf).where(Certificate.number == number)))

    def document_content(self, document_id: int) -> bytes | None:
        from app.models import SupportingDocument

        return self._run(lambda s: s.scalar(
            select(SupportingDocument.content).where(SupportingDocument.id == int(document_id))))

    def esign_offer(self) -> EsignOffer:
        """Not offered: the embedded demo and a desk on PostgreSQL reach no eSign gateway."""
        from app.services.esign_issuing import NOT_OFFERED

        return NOT_OFFERED

    def wallet_charges(self, user_id: int, application_ids: Sequence[int]) -> list[OfficeCharge]:
        from app.services.wallet import office_charges

        return self._run(lambda s: office_charges(s, list(application_ids)))

    def cancel_certificate(self, user_id: int, application_id: int,
                           reason: str) -> CancelledCertificate:
        from decimal import Decimal

        if not self.uses_functions:
            return self._run(lambda s: central_issuing.cancel(s, user_id, application_id,
                                                              reason))

        def cancel_pg(session: Session) -> CancelledCertificate:
            row = session.execute(
                text("SELECT number, application_number, refund FROM "
                     "od_cancel_certificate(:a, :r)"),
                {"a": application_id, "r": reason}).one()
            refund = None if row.refund is None else Decimal(str(row.refund)).quantize(
                Decimal("0.01"))
            return CancelledCertificate(row.number, row.application_number, refund)

        return self._run(cancel_pg)

    def extend_certificate(self, number: str, pdf: bytes) -> None:
        """The checks of ``app.signing.archive.extension_problem`` here (PL/pgSQL cannot
        read a PDF), then ``od_extend_certificate`` on PostgreSQL (administrators; it checks
        again that the file starts with the stored one and adds a document timestamp), or
        the update on SQLite, only if the stored file is still the one checked."""
        from sqlalchemy import update

        from app.signing.archive import extension_problem

        stored = self.certificate_pdf(number)
        if stored is None:
            raise ExtensionRefused(f"Certificate {number} is not in this store.")
        problem = extension_problem(stored, pdf)
        if problem:
            raise ExtensionRefused(f"Certificate {number} was not extended: {problem}.")
        if self.uses_functions:
            self._run(lambda s: s.execute(text("SELECT od_extend_certificate(:n, :pdf)"),
                                          {"n": number, "pdf": pdf}))
            return
        changed = self._run(lambda s: s.execute(
            update(Certificate).where(Certificate.number == number, Certificate.pdf == stored)
            .values(pdf=pdf)).rowcount)
        if changed != 1:
            raise ConcurrentIssue(f"Certificate {number} was changed meanwhile (extended at "
                                  "another desk?); it was not extended. Try again.")

    def valid_certificate_numbers(self) -> list[str]:
        """Every valid certificate's number (``extend --all``)."""
        return list(self._run(lambda s: s.scalars(
            select(Certificate.number).where(Certificate.status == CertificateStatus.VALID)
            .order_by(Certificate.number))))

    # --- DSC registration ----------------------------------------------------------------

    def registered_fingerprints(self, user_id: int) -> set[str]:
        from app.services.dsc import registered_fingerprints

        return self._run(lambda s: registered_fingerprints(s, user_id))

    def register_dsc(self, user_id: int, certificate: Any, intermediates: list[bytes]) -> Any:
        from app.services.dsc import register_dsc

        try:
            return register_dsc(self.engine, self.config, user_id=user_id,
                                certificate=certificate, intermediates=intermediates)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            raise

    # --- verification ----------------------------------------------------------------------

    def verification_material(self) -> VerificationMaterial:
        from app.services.dsc import key_directory, registered_signers

        return self._run(lambda s: VerificationMaterial(key_directory(s), registered_signers(s)))

    def certificate_status(self, *, number: str | None = None,
                           pdf_sha256: str | None = None) -> CertificateStatusInfo | None:
        if not number and not pdf_sha256:
            raise UserFacingError("Name a certificate number or a PDF digest to look up.")
        return self._run(lambda s: _status(s, number, pdf_sha256, self.uses_functions))

    def certificate_record(self, number: str) -> tuple[Any, str]:
        return self._run(lambda s: certificate_data_for(s, number))

    def seal_trust_list(self) -> dict[str, Any] | None:
        """The seal trust list document of this store (``app/services/seals.py``); None when
        this login may not read the seals (an officer's own PostgreSQL login) or the store
        predates them. CentralUnavailable when the store cannot be reached."""
        from app.services.seals import seal_trust_list

        try:
            return self._run(seal_trust_list)
        except DBAPIError as exc:
            log.info("no seal trust list from the central store: %s",
                     str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__)
            return None


def _status(session: Session, number: str | None, digest: str | None,
            functions: bool) -> CertificateStatusInfo | None:
    if digest and not number:
        number = session.scalar(select(Certificate.number)
                                .where(Certificate.pdf_sha256 == digest.lower()))
        if number is None:
            return None
    if functions:
        row = session.execute(
            text("SELECT number, status, issued_at, superseded_by_number, agency_code, "
                 "agency_name, office_name FROM od_certificate_status(:n)"), {"n": number}
        ).first()
    else:
        from app.models import Agency, Office

        row = session.execute(
            select(Certificate.number, Certificate.status, Certificate.issued_at,
                   Certificate.superseded_by_number, Agency.code.label("agency_code"),
                   Agency.name.label("agency_name"), Office.name.label("office_name"))
            .join(Office, Office.id == Certificate.office_id)
            .join(Agency, Agency.id == Office.agency_id)
            .where(Certificate.number == number)
        ).first()
    if row is None:
        return None
    return CertificateStatusInfo(
        number=row[0], status=str(row[1]), issued_at=row[2], superseded_by=row[3],
        agency_code=row[4], agency_name=row[5], office_name=row[6],
    )


def certificate_data_for(session: Session, number: str) -> tuple[Any, str]:
    """The CertificateData a certificate was rendered from, and its status in the store."""
    from sqlalchemy.orm import selectinload

    from app.services.certificate_data import certificate_data, load_application_for_certificate

    row = session.scalars(
        select(Certificate).options(selectinload(Certificate.issued_by))
        .where(Certificate.number == number)
    ).first()
    if row is None:
        return None, "not in this store"
    app = load_application_for_certificate(session, application_id=row.application_id)
    issued_at = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=dt.UTC)
    data = certificate_data(app, officer=row.issued_by, certificate_number=number,
                            issue_date=issued_at.astimezone(central_issuing.INDIA).date())
    status = str(row.status)
    if row.status == CertificateStatus.SUPERSEDED and row.superseded_by_number:
        status = f"superseded by {row.superseded_by_number}"
    elif row.status == CertificateStatus.CANCELLED:
        status = f"cancelled ({row.cancel_reason or 'no reason recorded'})"
    return replace(data, stamp_png=None, signature_png=None), status


def as_central(central: CentralLink | Engine, config: Config) -> CentralLink:
    """A central interface for ``central``: an Engine is used directly (``SqlCentral``)."""
    return SqlCentral(central, config) if isinstance(central, Engine) else central


def ensure_online(link: CentralLink | None) -> CentralLink:
    if link is None:
        raise CentralUnavailable(
            "This desk is offline: issuing, DSC registration and certificate look-ups need "
            "the central store. Reconnect (turn off offline in the settings) and try again."
        )
    return link
