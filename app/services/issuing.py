"""Issuing certificates: number, render, sign with the officer's token, record, in one unit.

One certificate goes through three short transactions, so that the store is never held
locked while the token signs (a real token takes 0.2-1 s per signature) and so that every
certificate number is either issued or voided with its reason:

1. **reserve**: the application is checked (approved, the officer may issue it, an in-lieu
   original that can be superseded), a number is allocated and recorded as ``reserved``
   for this application, and the certificate data is read. Committed.
2. **render and sign** (no transaction): the renderer draws the certificate, with the
   office stamp and the officer's signature image in the certification box's page content
   (so every viewer shows them, and the signature covers them), and with the QR payload
   the central store sealed with the agency's seal at step 1 (where it has no seal, a
   payload signed by the token, ``session.sign_raw``); then the token makes the PAdES
   signature, its field over the stamp and signature with an empty appearance: with a
   seal, the only signature the token makes for the certificate.
3. **record**: the application is re-read and must still be approved at the version read
   in step 1 (never issued twice: the version check and the unique certificate per
   application stop a second desk); the certificate, its PDF and digest, the signer's
   fingerprint, the e-wallet fee, the workflow ISSUE (and SUPERSEDE of an in-lieu
   original) and the number's ``issued`` state are written. Committed.

Steps 1 and 3 are the central store's (``CentralLink.reserve`` / ``record`` /
``release``: ``app/services/central_issuing.py`` on SQLite, SECURITY DEFINER functions on
PostgreSQL, the central service over HTTPS); step 2 is this desk's, on the token thread.
Any failure after step 1 leaves the application approved and releases the number with the
reason (step 3 rolls back whole). Each reservation names the desk run that made it
(:class:`~app.services.desk_runs.DeskRuns`): when a desk starts again after a crash, it
releases the reservations of its ended runs at once; other desks' abandoned reservations
are released after :data:`STALE_RESERVATION`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from app.config import Config
from app.errors import UserFacingError
from app.models import ApplicationStatus
from app.services.central_issuing import (  # noqa: F401 - re-exported for callers
    INDIA,
    STALE_RESERVATION,
    ConcurrentIssue,
    IssueRefused,
    Reservation,
    issue_moment,
)
from app.services.desk_runs import DeskRuns
from app.signing.batch import BatchOutcome, IssueBatch, Progress
from app.signing.token_thread import run_in_token_thread

if TYPE_CHECKING:
    from app.services.central import CentralLink

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "IssuingOfficerSignature"


@dataclass(frozen=True)
class IssuedCertificate:
    application_id: int
    application_number: str
    certificate_number: str
    kind: str
    pdf_sha256: str
    signer_fingerprint: str
    superseded_number: str | None = None


# --- issuing ---------------------------------------------------------------------------------


def qr_algorithm(key_algorithm: str) -> str:
    if key_algorithm.startswith("RSA"):
        return "rsa-pkcs1v15-sha256"
    if key_algorithm == "ECDSA-P256":
        return "ecdsa-p256-sha256"
    raise IssueRefused(
        f"The token's {key_algorithm} key cannot sign the QR code; RSA or ECDSA P-256 is needed."
    )


OnIssued = Callable[[IssuedCertificate, bytes], None]


class Issuer:
    """Issues certificates as one officer, through the central interface.

    The central store reserves the number, checks and records the issue (``central``: a
    :class:`~app.services.central.CentralLink`); this side renders and signs on the token.
    An ``Engine`` may be given instead of a link (the store is then used directly).
    ``runs`` (the desk's :class:`~app.services.desk_runs.DeskRuns`) names this run on each
    reservation, so that a restarted desk releases its own abandoned reservations at once.
    Thread-safe in the way the batch uses it: one batch at a time per instance, run on any
    worker thread.
    """

    def __init__(
        self, central: CentralLink | Engine, config: Config, officer_id: int, *,
        runs: DeskRuns | None = None, on_issued: OnIssued | None = None,
        after_batch: Callable[[list[int]], None] | None = None,
    ) -> None:
        from app.services.central import as_central

        self.central: CentralLink = as_central(central, config)
        self.config = config
        self.officer_id = officer_id
        self.runs = runs
        self.desk_session = runs.current if runs is not None else DeskRuns.anonymous()
        self.on_issued = on_issued
        self.after_batch = after_batch

    # --- before a batch ------------------------------------------------------------------

    def registered_fingerprints(self) -> set[str]:
        return self.central.registered_fingerprints(self.officer_id)

    def approved_ids(self, numbers: Sequence[str], office_code: str | None = None) -> list[int]:
        """Application ids for ``numbers`` (checked before any PIN is asked: known, approved,
        in ``office_code``, and of an office this officer serves)."""
        wanted = [n.strip().upper() for n in numbers if n.strip()]
        if not wanted:
            raise UserFacingError("Name at least one application number to issue.")
        found = {r.number: r for r in self.central.application_states(self.officer_id, wanted)}
        problems, ids = [], []
        for number in dict.fromkeys(wanted):
            row = found.get(number)
            if row is None:
                problems.append(f"{number} is not in the store")
            elif office_code and row.office_code != office_code.strip().upper():
                problems.append(f"{number} belongs to office {row.office_code}, not {office_code}")
            elif not row.served:
                problems.append(f"{number} belongs to office {row.office_code}, which you do "
                                "not serve")
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
        """One PIN, then every application issued or left approved (see IssueBatch).
        Refused before the PIN is asked when an office's e-wallet cannot pay the fees."""
        self.check_wallet(application_ids)
        self.sweep_reservations()
        outcome = self.batch(application_ids, cancel=cancel, on_progress=on_progress).run_with(
            lambda: self.open_token_session(ask_pin, certificate_fingerprint=certificate_fingerprint)
        )
        if self.after_batch is not None and outcome.done:
            try:
                self.after_batch([app_id for app_id, _issued in outcome.done])
            except Exception:  # issued centrally; the next sync brings them
                log.exception("could not bring the issued certificates into this desk's copy")
        return outcome

    def check_wallet(self, application_ids: Sequence[int]) -> None:
        """IssueRefused, naming the balance and the fee(s), when an office's e-wallet holds
        less than the batch's fees for it (offices without an e-wallet are not charged).
        The store checks again at reserve and at record (another desk may debit meanwhile)."""
        short = [c for c in self.central.wallet_charges(self.officer_id, list(application_ids))
                 if c.short]
        if short:
            raise IssueRefused(" ".join(c.refusal() for c in short))

    def cancel_certificate(self, application_id: int, reason: str) -> Any:
        """Cancel the certificate of an issued application with a reason (workflow CANCEL);
        a same-day cancellation refunds the fee. Returns the CancelledCertificate."""
        cancelled = self.central.cancel_certificate(self.officer_id, application_id, reason)
        log.info("cancelled certificate %s of %s", cancelled.number,
                 cancelled.application_number)
        if self.after_batch is not None:
            try:
                self.after_batch([application_id])
            except Exception:  # cancelled centrally; the next sync brings it
                log.exception("could not bring the cancellation into this desk's copy")
        return cancelled

    def certificate_pdf(self, number: str) -> bytes:
        pdf = self.central.certificate_pdf(number)
        if pdf is None:
            raise UserFacingError(f"Certificate {number} is not in the store.")
        return pdf

    def application_numbers(self, application_ids: Sequence[int]) -> dict[int, str]:
        if not application_ids:
            return {}
        rows = self.central.application_states(self.officer_id, ids=list(application_ids))
        return {row.id: row.number for row in rows}

    def sweep_reservations(self) -> list[str]:
        """Release this desk's reservations left by runs that ended (a crash, a pulled
        plug) at once, and the agency's reservations older than the stale limit."""
        ended = self.runs.ended() if self.runs is not None else []
        voided = self.central.release_abandoned(self.officer_id, ended)
        if self.runs is not None and ended:
            self.runs.forget(ended)
        if voided:
            log.warning("released %d abandoned reservation(s): %s", len(voided),
                        ", ".join(voided))
        return voided

    # --- one certificate ---------------------------------------------------------------------

    def issue_one(self, application_id: int, token: Any) -> IssuedCertificate:
        """Issue one approved application with ``token`` (a TokenSession); see the module doc."""
        reservation = self.central.reserve(self.officer_id, application_id, self.desk_session)
        try:
            # on the token thread: the QR signature and the PAdES signature made there
            # directly, one thread hand-over per certificate instead of two
            pdf = run_in_token_thread(self._render_and_sign, reservation, token)
            fingerprint = hashlib.sha256(token.certificate_der).hexdigest()
            recorded = self.central.record(self.officer_id, reservation, pdf, fingerprint)
        except BaseException as exc:
            self._release_after_failure(reservation, exc)
            raise
        log.info("issued %s for %s (%s)", reservation.number, reservation.application_number,
                 reservation.kind)
        return self._announce_issued(reservation, recorded, fingerprint, pdf)

    def _announce_issued(self, reservation: Reservation, recorded: Any, fingerprint: str,
                         pdf: bytes) -> IssuedCertificate:
        """The issued certificate (whichever way it was signed), told to ``on_issued``."""
        issued = IssuedCertificate(
            application_id=reservation.application_id,
            application_number=reservation.application_number,
            certificate_number=reservation.number,
            kind=reservation.kind,
            pdf_sha256=recorded.pdf_sha256,
            signer_fingerprint=fingerprint,
            superseded_number=recorded.superseded_number,
        )
        if self.on_issued is not None:
            try:
                self.on_issued(issued, pdf)
            except Exception:  # the certificate is issued: a failing listener cannot undo it
                log.exception("after issuing %s", reservation.number)
        return issued

    def _render_and_sign(self, reservation: Reservation, token: Any) -> bytes:
        from app.documents.qr_payload import QrSigner, key_id_for_certificate
        from app.documents.renderer import render_certificate

        # the stamp and the signature image are drawn in the page content the signature covers
        data = replace(reservation.data, stamp_png=reservation.stamp_png,  # type: ignore[type-var]
                       signature_png=reservation.signature_png)
        if reservation.qr_payload is not None and reservation.qr_text is not None:
            # sealed by the agency's seal at reservation: the token signs only the PDF
            rendered = render_certificate(
                data, sealed=(reservation.qr_payload, reservation.qr_text),
                issued_at=reservation.issued_at)
        else:  # no seal (a desk on a direct PostgreSQL store): the token signs the QR too
            signer = QrSigner(
                key_id=key_id_for_certificate(token.certificate_der),
                algorithm=qr_algorithm(token.key_algorithm),
                sign=token.sign_raw,
            )
            rendered = render_certificate(data, qr_signer=signer, issued_at=reservation.issued_at)
        box = rendered.signature_box
        officer = reservation.data.officer_name  # type: ignore[attr-defined]
        return token.sign_pdf(
            rendered.pdf,
            field_name=SIGNATURE_FIELD,
            page=rendered.certification_page,
            box=box,
            stamp_png=None,  # an empty appearance: what it covers is in the page already
            stamp_text="",
            reason=f"Certificate of Origin {reservation.number} issued by {officer}",
            location=reservation.office_place,
        )

    def _release_after_failure(self, reservation: Reservation, exc: BaseException) -> None:
        reason = f"not issued for {reservation.application_number}: {_reason(exc)}"
        try:
            self.central.release(self.officer_id, reservation.number, reason)
            log.info("voided %s: %s", reservation.number, reason)
        except Exception:  # the store may be gone too; the restarted desk releases it
            log.exception("could not void certificate number %s", reservation.number)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, UserFacingError):
        text = f"{type(exc).__name__}: {text}"
    return text[:900]


# --- verification of an issued certificate PDF: app/services/verification.py -------------------

from app.services.verification import (  # noqa: E402, F401 - re-exported for callers
    QR_CHECK_NAME,
    CertificateVerification,
    Check,
    Verifier,
    qr_texts_in_pdf,
    seal_trust_list_for,
    verify_certificate_pdf,
)
