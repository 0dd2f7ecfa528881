"""Issuing one certificate with Aadhaar eSign, through the agency's eSign gateway.

The central service is the agency's Application Service Provider (``docs/ESIGN.md``); the
desk never talks to the eSign Service Provider and only the document's digest leaves it.
One certificate goes through the same three steps as a token issue
(``app/services/issuing.py``), the signing step being the officer's consent in the browser:

1. **reserve** (``CentralLink.reserve``): the number, the certificate data, the QR payload
   sealed by the agency's seal. eSign cannot sign the QR payload itself (the one-time
   certificate is made after the request, so it cannot be named on the page it signs):
   without the seal, the issue is refused before any request.
2. **render, prepare, request, wait, embed**: the certificate is rendered exactly as for a
   token (stamp and signature image in the page content, the sealed QR code), its
   signature field and byte range are prepared without a certificate and its SHA-256
   digest sent to the gateway (``esign_request``); the officer completes consent and OTP
   in the browser (``open_consent(request)`` opens ``consent_url``); the desk polls the
   transaction (:data:`POLL_SECONDS`) until it is signed, fails, or the service's timeout
   passes, or the officer cancels (then the gateway is told); the CMS is checked against
   the digest sent and embedded (``app/signing/esign_pdf.py``).
3. **record** (``CentralLink.record(..., esign_txn=txn)``): the store accepts the one-time
   certificate only for that signed transaction of this officer, application and number,
   and marks it used in the same transaction as the issue.

All or nothing, as with a token: on any failure or cancel after step 1 the reservation is
released with the reason, nothing is issued, the PDF is left unsigned and the application
stays approved; the error says why in one sentence (the gateway's message when it has one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.errors import UserFacingError
from app.services.central_issuing import IssueRefused, Reservation

log = logging.getLogger(__name__)

POLL_SECONDS = 1.5
"""How often the desk asks the gateway how the transaction stands."""

TERMINAL_STATES = frozenset({"signed", "failed", "expired", "cancelled", "used"})


@dataclass(frozen=True)
class EsignOffer:
    """Whether the central service offers Aadhaar eSign, through which ESP, and how long
    a transaction may wait for the officer's consent."""

    available: bool
    esp: str = ""
    timeout_seconds: int = 0


NOT_OFFERED = EsignOffer(False)


@dataclass(frozen=True)
class EsignRequest:
    """A transaction opened at the gateway: where the officer consents, until when."""

    txn: str
    consent_url: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class EsignState:
    """How a transaction stands at the gateway; ``cms`` and ``signer_certificate`` (DER)
    only once it is signed."""

    state: str
    message: str = ""
    cms: bytes | None = None
    signer_name: str = ""
    signer_certificate: bytes | None = None

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


class EsignNotOffered(UserFacingError):
    """This desk's central store has no eSign gateway."""


class EsignFailed(UserFacingError):
    """The eSign transaction did not end signed; nothing was issued."""


class EsignCancelled(EsignFailed):
    """The officer cancelled while the gateway waited for consent; nothing was issued."""


@dataclass(frozen=True)
class WaitingState:
    """What the dialog shows while the officer consents: the transaction's state and the
    seconds left before the desk gives up."""

    state: str
    seconds_left: float
    message: str = ""


def document_name(certificate_number: str) -> str:
    """The name the ESP shows the officer: the certificate number, as a file name."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in certificate_number)
    return f"{safe[:96]}.pdf"


def esign_offer_of(central: Any) -> EsignOffer:
    """The offer of ``central`` (not offered by a link that has no gateway: the embedded
    demo and a desk on a PostgreSQL store, which reach no central service)."""
    offer = getattr(central, "esign_offer", None)
    return offer() if offer is not None else NOT_OFFERED


class EsignIssuer:
    """Issues one approved application with Aadhaar eSign, as the officer of ``issuer``
    (an :class:`~app.services.issuing.Issuer`: its central link, desk run, wallet check,
    listeners and the release of a failed reservation are the token path's)."""

    def __init__(self, issuer: Any, *, poll_seconds: float = POLL_SECONDS,
                 timeout_seconds: float | None = None) -> None:
        self.issuer = issuer
        self.central = issuer.central
        self.officer_id = issuer.officer_id
        self.poll_seconds = poll_seconds
        self.timeout_override = timeout_seconds
        self._offer: EsignOffer | None = None

    def offer(self) -> EsignOffer:
        if self._offer is None:
            self._offer = esign_offer_of(self.central)
        return self._offer

    def issue(
        self,
        application_id: int,
        *,
        open_consent: Callable[[EsignRequest], None],
        cancel: threading.Event | None = None,
        on_state: Callable[[WaitingState], None] | None = None,
    ) -> Any:
        """Issue ``application_id`` (see the module's doc); the IssuedCertificate.

        ``open_consent(request)`` is called once the gateway opened the transaction (the
        desk opens the consent page in the browser); ``cancel`` set by the officer stops
        the wait; ``on_state`` hears each poll. Raises EsignNotOffered, IssueRefused,
        EsignFailed / EsignCancelled, or the store's refusal: nothing issued then."""

        cancel = cancel or threading.Event()
        offer = self.offer()
        if not offer.available:
            raise EsignNotOffered(
                "Aadhaar eSign is not offered here: it needs the agency's central service "
                "with its eSign gateway configured. Sign with your DSC token instead.")
        self.issuer.check_wallet([application_id])
        self.issuer.sweep_reservations()
        reservation = self.central.reserve(self.officer_id, application_id,
                                           self.issuer.desk_session)
        txn: list[str] = []
        try:
            pdf, fingerprint = self._sign(reservation, offer, open_consent, cancel, on_state,
                                          txn)
            recorded = self.central.record(self.officer_id, reservation, pdf, fingerprint,
                                           esign_txn=txn[0])
        except BaseException as exc:
            if txn:
                self._cancel_quietly(txn[0])
            self.issuer._release_after_failure(reservation, exc)
            raise
        log.info("issued %s for %s with Aadhaar eSign (transaction %s)", reservation.number,
                 reservation.application_number, txn[0])
        issued = self.issuer._announce_issued(reservation, recorded, fingerprint, pdf)
        if self.issuer.after_batch is not None:
            try:
                self.issuer.after_batch([reservation.application_id])
            except Exception:  # issued centrally; the next sync brings it
                log.exception("could not bring the issued certificate into this desk's copy")
        return issued

    # --- the steps ---------------------------------------------------------------------------

    def _sign(self, reservation: Reservation, offer: EsignOffer,
              open_consent: Callable[[EsignRequest], None], cancel: threading.Event,
              on_state: Callable[[WaitingState], None] | None,
              txn: list[str]) -> tuple[bytes, str]:
        from app.signing.esign_pdf import check_cms, embed_cms

        prepared = self.prepare(reservation)
        if cancel.is_set():
            raise EsignCancelled("Cancelled: nothing was issued.")
        request = self.central.esign_request(
            self.officer_id, reservation.application_id, reservation.number,
            prepared.digest_hex, document_name(reservation.number))
        txn.append(request.txn)
        log.info("eSign transaction %s opened for %s", request.txn, reservation.number)
        open_consent(request)
        state = self._wait(request, offer, cancel, on_state)
        if state.cms is None:
            raise EsignFailed("The eSign gateway reported the transaction signed but sent no "
                              "signature; nothing was issued.")
        signer = check_cms(state.cms, prepared.digest)
        if state.signer_certificate and state.signer_certificate != signer.certificate_der:
            raise EsignFailed("The signature's certificate is not the one-time certificate "
                              "the gateway reported; nothing was issued.")
        return embed_cms(prepared, state.cms), signer.fingerprint

    def prepare(self, reservation: Reservation) -> Any:
        """Render the certificate as for a token issue and prepare its deferred signature."""
        from app.documents.renderer import render_certificate
        from app.services.issuing import SIGNATURE_FIELD
        from app.signing.esign_pdf import ESIGN_REASON_MARK, prepare_pdf

        if reservation.qr_payload is None or reservation.qr_text is None:
            raise IssueRefused(
                "Aadhaar eSign needs the agency's seal on the QR code, and the central store "
                "sealed none for this certificate; sign with your DSC token instead.")
        data = replace(reservation.data, stamp_png=reservation.stamp_png,  # type: ignore[type-var]
                       signature_png=reservation.signature_png)
        rendered = render_certificate(data, sealed=(reservation.qr_payload, reservation.qr_text),
                                      issued_at=reservation.issued_at)
        officer = reservation.data.officer_name  # type: ignore[attr-defined]
        return prepare_pdf(
            rendered.pdf, field_name=SIGNATURE_FIELD, page=rendered.certification_page,
            box=rendered.signature_box, stamp_text="",  # an empty appearance, as with a token
            reason=f"Certificate of Origin {reservation.number} issued by {officer} "
                   + ESIGN_REASON_MARK,
            location=reservation.office_place)

    def _wait(self, request: EsignRequest, offer: EsignOffer, cancel: threading.Event,
              on_state: Callable[[WaitingState], None] | None) -> EsignState:
        timeout = self.timeout_override if self.timeout_override is not None \
            else float(offer.timeout_seconds or 300)
        deadline = time.monotonic() + timeout
        while True:
            if cancel.is_set():
                raise EsignCancelled("Cancelled while waiting for your eSign consent: nothing "
                                     "was issued and the application stays approved.")
            state = self.central.esign_state(request.txn)
            left = max(0.0, deadline - time.monotonic())
            if on_state is not None:
                on_state(WaitingState(state.state, left, state.message))
            if state.state == "signed":
                return state
            if state.finished:
                raise EsignFailed(_failure_sentence(state))
            if left <= 0:
                raise EsignFailed(
                    f"No eSign consent within {_duration(timeout)}: the transaction was "
                    "cancelled, nothing was issued and the application stays approved.")
            cancel.wait(min(self.poll_seconds, max(left, 0.01)))

    def _cancel_quietly(self, txn: str) -> None:
        try:
            self.central.esign_cancel(txn)
        except Exception as exc:  # the gateway may be gone; the transaction expires anyway
            log.info("could not cancel eSign transaction %s: %s", txn, type(exc).__name__)


def _failure_sentence(state: EsignState) -> str:
    message = state.message.strip().rstrip(".")
    if state.state == "expired":
        head = message or "The eSign transaction expired before it was signed"
    elif state.state == "cancelled":
        head = message or "The eSign transaction was cancelled"
    elif state.state == "used":
        head = message or "The eSign transaction was already used for an issue"
    else:
        head = message or "The eSign Service Provider did not sign"
    return f"{head}; nothing was issued and the application stays approved."


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{seconds // 60} minutes"


def signer_fingerprint(certificate_der: bytes) -> str:
    return hashlib.sha256(certificate_der).hexdigest()
