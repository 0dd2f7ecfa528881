"""Public verification, no sign-in (docs/HUB.md, "Public verification").

- ``GET /verify``, ``POST /verify``: the page. Number + agency code + the service's own
  captcha (``app.hub.captcha``); the answer shows the certificate's details and a status
  banner (valid, superseded by ..., cancelled) or the "no certificate" alert.
- ``GET /v/{payload}``: the address a certificate's QR code holds. The sealed payload is
  its own proof, so no captcha: the seal is checked against the trust list in the store,
  then the status is looked up.
- ``GET /api/v1/verify``, ``POST /api/v1/verify/qr``: the same answers as JSON for customs
  systems; no captcha (machines cannot answer one), a rate limit per client address.

Every answer carries ``Cache-Control: no-store``; pages carry a Content-Security-Policy
without any script, and may not be framed. Look-ups are counted in
``origin_desk_hub_verifications_total{outcome}``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from app.documents.qr_payload import QrPayloadError
from app.hub import verify_html
from app.hub.app import Hub
from app.hub.auth import hub_of
from app.hub.captcha import CaptchaRefused, Captchas
from app.hub.database import acting_for
from app.hub.errors import TooManyRequests
from app.hub.rate_limit import RateLimiter
from app.hub.verify_lookup import (
    MAX_AGENCY,
    MAX_NUMBER,
    MAX_PAYLOAD_TEXT,
    NOT_VERIFIED,
    Answer,
    Problem,
    SealCheck,
    check_query,
    decode_payload_text,
    look_up,
    look_up_payload,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["public verification"])

PAGE_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
MAX_FORM_FIELD = 200


# --- what the hub keeps for this feature ---------------------------------------------------

class VerifyLimits:
    """Per client address: the page (every GET and POST of /verify and /v/), the number
    API, and the QR API (the sealed payload is proof of possession: a higher budget)."""

    def __init__(self, hub: Hub) -> None:
        per_minute = hub.settings.verify_per_minute
        self.page = RateLimiter(per_minute)
        self.number_api = RateLimiter(per_minute)
        self.qr_api = RateLimiter(hub.settings.api_per_minute)


def _limits(hub: Hub) -> VerifyLimits:
    limits = hub.extras.get("verify_limits")
    if limits is None:
        limits = hub.extras.setdefault("verify_limits", VerifyLimits(hub))
    return limits  # type: ignore[no-any-return]


def _captchas(hub: Hub) -> Captchas:
    captchas = hub.extras.get("captchas")
    if captchas is None:
        captchas = hub.extras.setdefault("captchas", Captchas(hub.settings.secret))
    # tests only: a callback told each new captcha's answer (never shown on a page)
    captchas.oracle = hub.extras.get("captcha_oracle")
    return captchas  # type: ignore[no-any-return]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _count(hub: Hub, outcome: str) -> None:
    hub.metrics.verifications.labels(outcome).inc()


def _html(body: str, status: int = 200, extra: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(extra or {})})


def _page_limited(hub: Hub, request: Request) -> HTMLResponse | None:
    """The 429 page when this client address is past the page's rate, else None."""
    try:
        _limits(hub).page.check(_client(request))
    except TooManyRequests as exc:
        return _too_many_page(hub, exc)
    return None


def _too_many_page(hub: Hub, exc: TooManyRequests) -> HTMLResponse:
    _count(hub, "rate_limited")
    wait = int(getattr(exc, "retry_after", 60))
    return _html(verify_html.too_many_page(wait), 429, {"Retry-After": str(wait)})


# --- the page ------------------------------------------------------------------------------

@router.get(verify_html.STYLESHEET_PATH, include_in_schema=False)
def stylesheet() -> Response:
    return Response(verify_html.STYLESHEET, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400",
                             "X-Content-Type-Options": "nosniff"})


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_form(request: Request, number: str = "", agency: str = "",
                captcha: str = "image") -> HTMLResponse:
    hub = hub_of(request)
    refused = _page_limited(hub, request)
    if refused is not None:
        return refused
    return _html(verify_html.verify_page(_captchas(hub).new(captcha),
                                         number=number[:MAX_NUMBER].strip().upper(),
                                         agency=agency[:MAX_AGENCY].strip().upper()))


@router.post("/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_submit(request: Request) -> HTMLResponse:
    hub = hub_of(request)
    refused = _page_limited(hub, request)
    if refused is not None:
        return refused
    try:
        form = await request.form(max_files=0, max_fields=10)
    except HTTPException:  # too many fields, a file: not this page's form
        _count(hub, "invalid_input")
        return _html(verify_html.verify_page(
            _captchas(hub).new(), problems=[Problem("number", "The form could not be "
                                                    "read; fill it in again.")]), 400)
    fields = {k: (v if isinstance(v, str) else "")[:MAX_FORM_FIELD]
              for k, v in form.items()}
    return await run_in_threadpool(_answer_form, hub, fields)


def _answer_form(hub: Hub, fields: dict[str, str]) -> HTMLResponse:
    number, agency, problems = check_query(fields.get("number"), fields.get("agency"))
    token, answer = fields.get("captcha_token", ""), fields.get("captcha_answer", "")
    captchas = _captchas(hub)
    kind = captchas.kind_of(token)
    if not answer.strip():
        problems.append(Problem("captcha", "Type the characters shown in the picture."
                                if kind == "image" else "Answer the security question."))
    if problems:
        _count(hub, "invalid_input")
        return _html(verify_html.verify_page(captchas.new(kind), number=number, agency=agency,
                                             problems=problems), 400)
    try:
        with acting_for(None), hub.central.sessions() as session:
            captchas.check(session, token, answer)
    except CaptchaRefused as exc:
        _count(hub, f"captcha_{exc.reason}")
        return _html(verify_html.verify_page(captchas.new(kind), number=number, agency=agency,
                                             problems=[Problem("captcha", str(exc))]), 400)
    result = look_up(hub.central, number, agency)
    _count(hub, result.outcome)
    section = verify_html.answer_section(result, asked_number=number, asked_agency=agency)
    return _html(verify_html.verify_page(captchas.new(kind), number=number, agency=agency,
                                         result=section))


@router.get("/v/{payload:path}", response_class=HTMLResponse, include_in_schema=False)
def verify_qr_page(payload: str, request: Request) -> HTMLResponse:
    hub = hub_of(request)
    refused = _page_limited(hub, request)
    if refused is not None:
        return refused
    try:
        raw = decode_payload_text(payload)
    except QrPayloadError as exc:
        _count(hub, NOT_VERIFIED)
        answer = Answer(NOT_VERIFIED, "", "", seal=SealCheck(False, str(exc)),
                        checked_at=dt.datetime.now(dt.UTC))
        return _html(verify_html.qr_page(answer), 400)
    answer = look_up_payload(hub.central, raw)
    _count(hub, answer.outcome)
    return _html(verify_html.qr_page(answer))


# --- the JSON API --------------------------------------------------------------------------

Outcome = Literal["valid", "superseded", "cancelled", "unknown", "seal_invalid"]


class CertificateVerdict(BaseModel):
    """The answer for a certificate, the same as the page shows."""

    outcome: Outcome = Field(description="valid, superseded (by an in-lieu certificate), "
                             "cancelled, unknown (no certificate with this number from this "
                             "agency) or seal_invalid (QR payloads only)")
    found: bool = Field(description="The agency's records hold this certificate")
    message: str = Field(description="One sentence for people, as on the page")
    number: str
    agency_code: str
    agency_name: str | None = None
    office_name: str | None = None
    issue_date: dt.date | None = Field(default=None, description="In India's time zone")
    superseded_by: str | None = Field(default=None, description="The in-lieu certificate's "
                                      "number, when superseded")
    legacy: bool = Field(default=False, description="Issued by the legacy eCoO 1.0 system "
                         "and migrated into this store (docs/MIGRATION.md); its status is "
                         "the one the legacy system recorded")
    checked_at: dt.datetime


class SealedFields(BaseModel):
    """What the QR payload holds under its seal."""

    number: str
    office_code: str
    exporter_iec: str
    destination_country: str = Field(description="ISO 3166-1 alpha-2")
    issue_date: dt.date | None
    digest: str = Field(description="The first 20 bytes of SHA-256 of the certificate's "
                        "canonical data, hex (docs/QR-PAYLOAD.md)")


class SealVerdict(BaseModel):
    valid: bool
    problem: str | None = Field(default=None, description="Why it does not verify")
    signer: Literal["agency seal", "officer's DSC"] | None = None
    sealed: SealedFields | None = None


class QrVerdict(CertificateVerdict):
    """The answer for a QR payload: its seal, and the certificate's status when it
    verifies."""

    seal: SealVerdict


class QrQuery(BaseModel):
    payload: str = Field(max_length=MAX_PAYLOAD_TEXT, description=(
        "What follows /v/ in the QR code's address (base64url without padding), or the "
        "whole scanned QR text (the https://.../v/... address or the older ECOO: form)"))


class Refusal(BaseModel):
    error: str
    kind: str
    problems: list[dict[str, str]] | None = None


REFUSALS = {
    422: {"model": Refusal, "description": "The number or agency code is not well formed "
          "(one problem per field)"},
    429: {"model": Refusal, "description": "Too many requests from this address; see "
          "Retry-After"},
}


def _verdict(answer: Answer) -> dict[str, object]:
    return CertificateVerdict(
        outcome=answer.outcome, found=answer.found, message=answer.message,  # type: ignore[arg-type]
        number=answer.number, agency_code=answer.agency_code,
        agency_name=answer.agency_name or None, office_name=answer.office_name or None,
        issue_date=answer.issue_date, superseded_by=answer.superseded_by,
        legacy=answer.legacy, checked_at=answer.checked_at or dt.datetime.now(dt.UTC),
    ).model_dump(mode="json")


def _seal_verdict(seal: SealCheck) -> dict[str, object]:
    content = seal.content
    sealed = None if content is None or not seal.valid else SealedFields(
        number=content.reference_number, office_code=content.office_code,
        exporter_iec=content.exporter_iec, destination_country=content.destination_country,
        issue_date=content.issue_date, digest=content.digest.hex())
    return SealVerdict(valid=seal.valid, problem=seal.problem or None,
                       signer=seal.signer or None,  # type: ignore[arg-type]
                       sealed=sealed).model_dump(mode="json")


def _json(value: dict[str, object], status: int = 200,
          extra: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(value, status_code=status, headers={**API_HEADERS, **(extra or {})})


def _api_too_many(hub: Hub, exc: TooManyRequests) -> JSONResponse:
    _count(hub, "rate_limited")
    wait = int(getattr(exc, "retry_after", 60))
    return _json({"error": str(exc), "kind": "TooManyRequests"}, 429,
                 {"Retry-After": str(wait)})


@router.get("/api/v1/verify", response_model=CertificateVerdict, responses=REFUSALS,
            summary="Verify a certificate by its number and the issuing agency's code")
def verify_number_api(
    request: Request,
    number: str = Query(max_length=200, description="e.g. IGCC/2026/0000123"),
    agency: str = Query(max_length=200, description="The issuing agency's code, e.g. IGCC"),
) -> JSONResponse:
    """No captcha: limited per client address (``verify_per_minute``). An unknown number,
    or a number of another agency, is ``"outcome": "unknown"`` (200)."""
    hub = hub_of(request)
    try:
        _limits(hub).number_api.check(_client(request))
    except TooManyRequests as exc:
        return _api_too_many(hub, exc)
    number, agency, problems = check_query(number, agency)
    if problems:
        _count(hub, "invalid_input")
        return _json({"error": problems[0].message, "kind": "InvalidInput",
                      "problems": [{"field": p.field, "problem": p.message}
                                   for p in problems]}, 422)
    answer = look_up(hub.central, number, agency)
    _count(hub, answer.outcome)
    return _json(_verdict(answer))


@router.post("/api/v1/verify/qr", response_model=QrVerdict, responses=REFUSALS,
             summary="Verify a certificate's QR code: its seal, then its status")
def verify_qr_api(body: QrQuery, request: Request) -> JSONResponse:
    """No captcha: limited per client address (``api_per_minute``). A payload that does
    not verify is ``"outcome": "seal_invalid"`` with ``seal.problem`` (200); nothing from
    the store is told about it."""
    hub = hub_of(request)
    try:
        _limits(hub).qr_api.check(_client(request))
    except TooManyRequests as exc:
        return _api_too_many(hub, exc)
    try:
        raw = decode_payload_text(body.payload)
    except QrPayloadError as exc:
        answer = Answer(NOT_VERIFIED, "", "", seal=SealCheck(False, str(exc)),
                        checked_at=dt.datetime.now(dt.UTC))
    else:
        answer = look_up_payload(hub.central, raw)
    _count(hub, answer.outcome)
    assert answer.seal is not None
    return _json({**_verdict(answer), "seal": _seal_verdict(answer.seal)})
