"""The agency's eSign gateway: the central service as the eSign 2.1 Application Service
Provider (ASP). docs/ESIGN.md describes both sides.

Desks (officer-authenticated, ``/desk/v1/esign``): whether eSign is offered; a request for
the digest of a certificate whose number the officer reserved (a one-time consent URL
back); the request's state (the CMS once signed); cancel.

The officer's browser (``/esign/v1``): the consent page (single-use nonce) posts the
ASP-signed request XML to the ESP; the ESP posts its signed response back, which is
verified (``app.signing.esign``) and kept in ``esign_transactions`` as ``signed`` with the
CMS, or ``failed`` with the refusal's sentence.

The transactions live in a table only the service's own role reaches (PostgreSQL): every
read and write here runs as the service, never as the officer; the one thing read as the
officer is the reservation (row-level security binds it). Keys, nonces and the CMS are
never logged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import logging
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy import select, update

from app.errors import UserFacingError
from app.hub.app import Hub
from app.hub.auth import CurrentOfficer, hub_of
from app.hub.database import acting_for
from app.hub.errors import NotFound
from app.hub.rate_limit import RateLimiter
from app.hub.settings import EsignSettings
from app.models import CertificateNumber
from app.services import central_wire as wire
from app.services.central_issuing import IssueRefused
from app.signing.esign.cms import load_ca_certificates
from app.signing.esign.errors import EsignRefused
from app.signing.esign.messages import XmlSigningKey, build_request, peek, sign_xml
from app.signing.esign.verify import verify_esp_signature, verify_response
from app.store.esign_tables import esign_transactions as T

log = logging.getLogger(__name__)

router = APIRouter()
desk = APIRouter(prefix="/desk/v1/esign", tags=["eSign gateway: desks"])
browser = APIRouter(prefix="/esign/v1", tags=["eSign gateway: the officer's browser"])

RESPONSE_PATH = "/esign/v1/response"
DIGEST = re.compile(r"[0-9a-f]{64}")
JSON = "application/json"
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


class EsignUnavailable(UserFacingError):
    """The service offers no eSign (no ``[esign]`` settings)."""


class EsignRequestRefused(IssueRefused):
    """A desk's eSign request refused (answered 409 like an issue refusal)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _settings(hub: Hub) -> EsignSettings:
    if hub.settings.esign is None:
        raise EsignUnavailable("This central service offers no Aadhaar eSign (it has no "
                               "[esign] settings); sign with your DSC token.")
    return hub.settings.esign


def _asp_key(hub: Hub, settings: EsignSettings) -> Any:
    """The ASP key signxml signs with: the PEM of the key file, or the key on its token
    (one per process, kept in ``hub.extras``)."""
    if settings.asp_key_on_token is None:
        return settings.asp_key_pem
    key = hub.extras.get("esign_asp_key")
    if key is None:
        from app.signing.esign.asp_key import Pkcs11AspKey

        key = hub.extras.setdefault("esign_asp_key", Pkcs11AspKey(settings.asp_key_on_token))
    return key


def _limit(hub: Hub, key: str) -> None:
    limiter = hub.extras.get("esign_limit")
    if limiter is None:
        limiter = hub.extras.setdefault("esign_limit",
                                        RateLimiter(hub.settings.api_per_minute))
    limiter.check(key)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _as_service(hub: Hub, work: Any) -> Any:
    """``work(session)`` in one transaction as the service itself (never the officer)."""
    with acting_for(None), hub.central.sessions() as session, session.begin():
        return work(session)


def _row(session: Any, txn: str) -> Any:
    return session.execute(select(T).where(T.c.txn == txn)).first()


def _expire_if_due(session: Any, row: Any, now: dt.datetime) -> Any:
    if row is not None and row.state == "pending" and _aware(row.expires_at) <= now:
        session.execute(update(T).where(T.c.id == row.id, T.c.state == "pending").values(
            state="expired", decided_at=now, nonce_sha256=None,
            message="The eSign consent was not completed in time; the request expired."))
        row = _row(session, row.txn)
    return row


# --- desks -------------------------------------------------------------------------------

@desk.get("", summary="Whether this service offers Aadhaar eSign, through which ESP")
async def availability(request: Request, officer: CurrentOfficer) -> dict[str, Any]:
    settings = hub_of(request).settings.esign
    if settings is None:
        return {"available": False, "esp": "", "timeout_seconds": 0}
    return {"available": True, "esp": settings.esp_name,
            "timeout_seconds": int(settings.request_timeout.total_seconds())}


@desk.post("/requests", status_code=201,
           summary="Ask for an eSign of a reserved certificate's digest; a consent URL back")
async def create_request(request: Request, officer: CurrentOfficer) -> Response:
    hub = hub_of(request)
    settings = _settings(hub)
    _limit(hub, f"user:{officer.user_id}")
    raw = await request.body()
    body = wire.mapping(wire.loads(raw) if raw else {}, "body")
    application_id: int = wire.integer(body.get("application_id"), "application_id")  # type: ignore[assignment]
    number: str = wire.text(body.get("certificate_number"), "certificate_number", limit=32)  # type: ignore[assignment]
    digest: str = wire.text(body.get("digest_sha256"), "digest_sha256", limit=64)  # type: ignore[assignment]
    name: str = wire.text(body.get("document_name"), "document_name", limit=100)  # type: ignore[assignment]
    if not DIGEST.fullmatch(digest):
        raise wire.WireError("digest_sha256: expected 64 lowercase hexadecimal digits")
    if not name.strip() or any(ord(c) < 32 for c in name):
        raise wire.WireError("document_name: expected a file name of printable characters")

    def work() -> dict[str, Any]:
        with officer.acting(), hub.central.sessions() as session:  # RLS binds the officer
            reserved = session.execute(
                select(CertificateNumber.application_id, CertificateNumber.state,
                       CertificateNumber.reserved_by_id)
                .where(CertificateNumber.number == number)).first()
        if (reserved is None or reserved.application_id != application_id
                or reserved.state != "reserved" or reserved.reserved_by_id != officer.user_id):
            raise EsignRequestRefused(
                f"Certificate number {number} is not reserved by you for application "
                f"#{application_id} (or was already issued or released); eSign cannot sign "
                "it.")
        txn = "OD" + secrets.token_hex(16)
        nonce = secrets.token_urlsafe(32)
        now = _now()
        expires = now + settings.request_timeout

        def insert_row(session: Any) -> None:
            session.execute(T.insert().values(
                txn=txn, user_id=officer.user_id, application_id=application_id,
                certificate_number=number, digest_sha256=digest, document_name=name.strip(),
                nonce_sha256=_sha256(nonce), state="pending", message="", created_at=now,
                expires_at=expires))

        _as_service(hub, insert_row)
        log.info("esign request %s for %s by user %s", txn, number, officer.user_id)
        return {"txn": txn,
                "consent_url": f"{hub.settings.public_base_url}/esign/v1/consent/{txn}?k={nonce}",
                "expires_at": expires.isoformat()}

    answer = await run_in_threadpool(work)
    return Response(wire.dumps(answer), status_code=201, media_type=JSON)


def _state_of(row: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"state": row.state, "message": row.message or "",
                              "signer_name": row.signer_name or ""}
    if row.state == "signed":
        answer["cms"] = base64.b64encode(row.cms).decode("ascii")
        answer["signer_certificate"] = base64.b64encode(row.signer_certificate).decode("ascii")
    return answer


@desk.get("/requests/{txn}", summary="The state of your eSign request (the CMS once signed)")
async def request_state(txn: str, request: Request, officer: CurrentOfficer) -> Response:
    hub = hub_of(request)
    _limit(hub, f"user:{officer.user_id}")

    def work(session: Any) -> Any:
        row = _row(session, txn[:50])
        if row is None or row.user_id != officer.user_id:
            return None
        return _expire_if_due(session, row, _now())

    row = await run_in_threadpool(_as_service, hub, work)
    if row is None:
        raise NotFound(f"No eSign request {txn[:50]} of yours.")
    return Response(wire.dumps(_state_of(row)), media_type=JSON)


@desk.post("/requests/{txn}/cancel", summary="Cancel your pending eSign request")
async def cancel_request(txn: str, request: Request, officer: CurrentOfficer) -> Response:
    hub = hub_of(request)
    _limit(hub, f"user:{officer.user_id}")

    def work(session: Any) -> Any:
        row = _expire_if_due(session, _row(session, txn[:50]), _now())
        if row is None or row.user_id != officer.user_id:
            return None
        session.execute(update(T).where(T.c.id == row.id, T.c.state == "pending").values(
            state="cancelled", decided_at=_now(), nonce_sha256=None,
            message="The officer cancelled the eSign request."))
        return _row(session, row.txn)

    row = await run_in_threadpool(_as_service, hub, work)
    if row is None:
        raise NotFound(f"No eSign request {txn[:50]} of yours.")
    return Response(wire.dumps({"state": row.state}), media_type=JSON)


# --- the officer's browser ---------------------------------------------------------------

def _page(title: str, body: str, status: int = 200, *, script: str = "",
          form_action: str = "'none'") -> HTMLResponse:
    csp = f"default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}"
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        csp += f"; script-src 'sha256-{digest}'"
    document = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><meta name=\"viewport\" "
        "content=\"width=device-width, initial-scale=1\"><style>body{font-family:sans-serif;"
        "max-width:40em;margin:3em auto;padding:0 1em;color:#222}button{font-size:1.1em;"
        "padding:.5em 1.2em}code{word-break:break-all}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}"
        + (f"<script>{script}</script>" if script else "") + "</body></html>")
    return HTMLResponse(document, status_code=status,
                        headers={**PAGE_HEADERS, "Content-Security-Policy": csp})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


ASP_KEY_UNAVAILABLE = ("The agency's eSign gateway could not sign the request (its ASP key "
                       "is unavailable); nothing was sent to the eSign service provider.")
AUTO_SUBMIT = "document.getElementById('esign').submit();"
CONSENT_GONE = ("This eSign link was already used, was cancelled or has expired. Start the "
                "eSign again from Origin Desk.")


@browser.get("/consent/{txn}", summary="The consent page: posts the signed request to the ESP",
             response_class=HTMLResponse)
async def consent(txn: str, request: Request, k: str = "") -> HTMLResponse:
    hub = hub_of(request)
    _limit(hub, f"client:{_client(request)}")
    settings = _settings(hub)

    def work(session: Any) -> Any:
        now = _now()
        row = _expire_if_due(session, _row(session, txn[:50]), now)
        if row is None or row.state != "pending" or row.nonce_sha256 is None or \
                not hmac.compare_digest(row.nonce_sha256, _sha256(k[:100])):
            return None
        taken = session.execute(update(T).where(
            T.c.id == row.id, T.c.state == "pending",
            T.c.nonce_sha256 == row.nonce_sha256).values(nonce_sha256=None)).rowcount
        return row if taken == 1 else None

    row = await run_in_threadpool(_as_service, hub, work)
    if row is None:
        return _page("eSign link not valid", f"<p>{html.escape(CONSENT_GONE)}</p>", 410)
    document = build_request(
        txn=row.txn, asp_id=settings.asp_id,
        response_url=hub.settings.public_base_url + RESPONSE_PATH,
        digest_hex=row.digest_sha256, doc_info=row.document_name, now=_now(),
        max_wait_minutes=max(1, int(settings.request_timeout.total_seconds() // 60)))
    try:
        signed = await run_in_threadpool(sign_xml, document, XmlSigningKey(
            _asp_key(hub, settings), settings.asp_certificate_pem))
    except UserFacingError as exc:  # the ASP key's HSM cannot sign now
        log.error("esign %s: the ASP key cannot sign (%s)", row.txn, type(exc).__name__)
        await run_in_threadpool(_as_service, hub, lambda s: s.execute(update(T).where(
            T.c.id == row.id, T.c.state == "pending").values(
                state="failed", decided_at=_now(), message=ASP_KEY_UNAVAILABLE)))
        return _page("eSign unavailable", "<p>The agency's eSign gateway cannot sign the "
                     "request now. Try again later, or sign with your DSC token.</p>", 503)
    body = (
        f"<p>You are about to sign <strong>{html.escape(row.document_name)}</strong> "
        f"(certificate {html.escape(row.certificate_number)}) with Aadhaar eSign through "
        f"{html.escape(settings.esp_name)}. Only its digest leaves the agency:</p>"
        f"<p><code>SHA-256 {row.digest_sha256}</code></p>"
        f"<form id=\"esign\" method=\"post\" action=\"{html.escape(settings.esp_url)}\">"
        f"<input type=\"hidden\" name=\"msg\" value=\"{html.escape(signed.decode('utf-8'))}\">"
        f"<button type=\"submit\">Continue to {html.escape(settings.esp_name)}</button>"
        "</form><p>You will confirm with the one-time password sent to the mobile number "
        "linked to your Aadhaar.</p>")
    return _page("Sign with Aadhaar eSign", body, script=AUTO_SUBMIT,
                 form_action=_origin(settings.esp_url))


RESULT_SIGNED = "Signed — return to Origin Desk"


@browser.post("/response", summary="The ESP's signed response (form field msg)",
              response_class=HTMLResponse)
async def esp_response(request: Request) -> HTMLResponse:
    hub = hub_of(request)
    _limit(hub, f"client:{_client(request)}")
    settings = _settings(hub)
    form = await request.form()
    message = form.get("msg")
    if not isinstance(message, str) or not message.strip():
        return _page("eSign not completed", "<p>The eSign service provider's answer is "
                     "missing (no msg field).</p>", 400)
    document = message.encode("utf-8")
    try:
        outcome = await run_in_threadpool(_decide, hub, settings, document)
    except EsignRefused as exc:
        log.warning("esign response refused (%s)", exc.kind)
        return _page("eSign not completed", f"<p>{html.escape(str(exc))}</p>", 409)
    state, text = outcome
    if state == "signed":
        return _page(RESULT_SIGNED, "<p>The certificate's signature is ready. Return to "
                     "Origin Desk, which embeds it and records the issue.</p>")
    return _page("eSign not completed", f"<p>{html.escape(text)}</p><p>Return to Origin "
                 "Desk: the certificate was not issued.</p>", 409)


def _decide(hub: Hub, settings: EsignSettings, document: bytes) -> tuple[str, str]:
    """Verify the ESP's response and record the transaction's outcome: ('signed', '') or
    ('failed', sentence). A response that names no pending transaction (replayed, or
    forged) raises and changes nothing."""
    root = peek(document, "EsignResp")
    txn = (root.get("txn") or "")[:50]
    now = _now()
    row = _as_service(hub, lambda s: _expire_if_due(s, _row(s, txn), now))
    if row is None:
        raise EsignRefused("The eSign response names no transaction of this gateway; a "
                           "replayed or forged response is refused.", "replayed")
    try:
        response = verify_esp_signature(document, settings.esp_certificate_pem)
        if row.state != "pending":
            raise EsignRefused(
                f"The eSign response for transaction {txn} came after the transaction was "
                f"{row.state}; a replayed response is refused.", "replayed")
        signature = verify_response(
            response, txn=txn, digest_hex=row.digest_sha256,
            ca_certificates=load_ca_certificates(settings.esign_ca_pem), now=now,
            window=settings.timestamp_window)
    except EsignRefused as exc:
        if exc.kind == "replayed":
            raise
        log.warning("esign %s refused (%s)", txn, exc.kind)
        refusal = str(exc)
        _as_service(hub, lambda s: s.execute(update(T).where(
            T.c.id == row.id, T.c.state == "pending").values(
                state="failed", message=refusal, decided_at=now, nonce_sha256=None)))
        return "failed", refusal

    def record(session: Any) -> int:
        return int(session.execute(update(T).where(
            T.c.id == row.id, T.c.state == "pending").values(
                state="signed", message="", cms=signature.cms,
                signer_certificate=signature.signer_certificate,
                signer_sha256=signature.signer_fingerprint,
                signer_name=signature.signer_name[:200], decided_at=now,
                nonce_sha256=None)).rowcount)

    if _as_service(hub, record) != 1:
        raise EsignRefused(f"The eSign response for transaction {txn} came after the "
                           "transaction was decided; a replayed response is refused.",
                           "replayed")
    log.info("esign %s signed", txn)
    return "signed", ""


router.include_router(desk)
router.include_router(browser)
