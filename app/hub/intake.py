"""The intake API (``/api/v1``): exporters' systems and authorised customs agents file
applications for Certificates of Origin, upload supporting documents, answer an office's
query by resubmitting, and read the status.

Every request carries an API key that an agency administrator issued for the exporter's
IEC (``Authorization: Bearer odk_…`` or ``X-API-Key: odk_…``). Requests are counted per
client address before the key is looked at, and per key after
(``[limits] api_per_minute``); a flood is answered 429 with ``Retry-After``. A POST or PUT
may carry an ``Idempotency-Key``: the same key with the same request gets the recorded
answer again (``Idempotent-Replayed: true``), with another request 422.

The rules live in ``app.services.intake``; this module is the web face: the documented
JSON schema (the models below, shown at ``/docs``), authentication and rate limits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    Path,
    Request,
    Response,
    UploadFile,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from app.errors import UserFacingError
from app.hub.errors import TooLarge
from app.hub.rate_limit import RateLimiter
from app.services.api_keys import KeyHolder
from app.services.intake import MAX_DOCUMENT_BYTES, Intake, IntakeAnswer

Date = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                           json_schema_extra={"format": "date"})]  # checked by the service
Amount = Annotated[Decimal, Field(description="An amount with at most 2 decimals, as a "
                                  "string (exact) or a JSON number", examples=["18250.00"])]


# --- the schema -----------------------------------------------------------------------------

class GoodsLineIn(BaseModel):
    """One goods line (box 6/7 of the certificate); numbered in the order sent."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=2000, description="Description of the goods",
                             examples=["Basmati rice, 1121 Sella, in 25 kg PP bags"])
    hs_code: str = Field(max_length=12, description="HS sub-heading (6 digits) or ITC-HS "
                         "tariff line (8 digits); dots and spaces between groups are removed",
                         examples=["10063020"])
    quantity: Decimal = Field(description="Quantity, above 0, at most 3 decimals",
                              examples=["25000"])
    unit: str = Field(max_length=3, description="Customs unit quantity code (UQC)",
                      examples=["KGS"])
    gross_weight_kg: Decimal = Field(description="Gross weight in kg, above 0, at most 3 "
                                     "decimals", examples=["25750.5"])
    package_count: int = Field(ge=0, le=1_000_000, description="Number of packages",
                               examples=[1000])
    package_kind: str = Field(max_length=40, description="Kind of packages",
                              examples=["PP bags"])
    marks: str | None = Field(None, max_length=200, description="Marks and numbers",
                              examples=["AL NOOR/0042/1"])
    fob_value: Amount = Field(description="FOB value of the line, in the invoice currency")
    origin_criterion: str | None = Field(
        None, max_length=40, description="Preferential (and in-lieu of preferential) only: "
        "WO, PE, CC, CTH, CTSH, PSR, or a value content such as 'RVC 42%' (at least the "
        "agreement's minimum)", examples=["WO"])
    foreign_item: int | None = Field(
        None, ge=1, le=500, description="Back-to-back only: the number (1, 2, ...) of the "
        "foreign certificate's goods item this line draws its quantity from, in that "
        "item's unit; may be left out when the foreign certificate has one item",
        examples=[1])


class ForeignGoodsIn(BaseModel):
    """One goods item of the foreign certificate a back-to-back application rests on;
    numbered in the order sent."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=2000, examples=["Copper cathodes, grade A"])
    hs_code: str = Field(max_length=12, description="HS code as on the foreign certificate "
                         "(6 or 8 digits)", examples=["740311"])
    quantity: Decimal = Field(description="The quantity the foreign certificate certifies, "
                              "above 0, at most 3 decimals", examples=["100"])
    unit: str = Field(max_length=3, description="Customs unit quantity code (UQC)",
                      examples=["MTS"])


class MaterialIn(BaseModel):
    """One material of the cost sheet."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=200, examples=["Steel billets"])
    hs_code: str = Field(max_length=12, description="HS code of the material (6 or 8 "
                         "digits)", examples=["720711"])
    origin_country: str | None = Field(None, max_length=2, description="ISO country code; "
                                       "leave out when undetermined (counts as "
                                       "non-originating)", examples=["CN"])
    originating: bool = Field(description="Whether the material is originating under the "
                              "agreement")
    value: Amount = Field(description="CIF value, or earliest ascertainable price")
    evidence: str | None = Field(None, max_length=200, examples=["Bill of entry 2231157"])


class CostSheetIn(BaseModel):
    """The exporter's costing of the product, for the origin claim (preferential)."""

    model_config = ConfigDict(extra="forbid")
    product_hs_code: str = Field(max_length=12, examples=["730890"])
    method: Literal["build_down", "build_up"] = Field(
        description="build_down: RVC = (FOB − non-originating) / FOB; build_up: RVC = "
        "(originating + labour + overheads + profit + other costs) / FOB")
    labour: Amount
    overheads: Amount
    profit: Amount
    other_costs: Amount | None = None
    ex_works: Amount
    fob: Amount
    materials: list[MaterialIn] = Field(default_factory=list, max_length=200)


class ApplicationIn(BaseModel):
    """An application for a Certificate of Origin, of one of four kinds.

    - ``non_preferential``: goods of Indian origin, no agreement;
    - ``preferential``: under a trade agreement (``agreement_code``), an origin criterion
      on every goods line and a cost sheet unless every line is wholly obtained (WO);
    - ``in_lieu``: replaces a certificate already issued to the same IEC
      (``original_certificate_number``, ``in_lieu_reason``); the agreement and the need
      for origin criteria follow the original;
    - ``back_to_back``: goods not of Indian origin re-exported, on a foreign certificate
      (``foreign_*``); the origin is the foreign country.

    Fields of another kind must be left out. Dates are ``YYYY-MM-DD``.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "preferential",
        "applicant_email": "priya.shah0@example.co.in",
        "agreement_code": "IUCEPA",
        "consignee_name": "Al Noor Trading LLC",
        "consignee_address": "12 Harbour Road, Dubai",
        "consignee_country": "AE",
        "destination_country": "AE",
        "transport_mode": "sea",
        "vessel_or_flight": "MV Maersk Kensington V.112E",
        "port_of_loading": "Nhava Sheva (JNPT)",
        "port_of_discharge": "Jebel Ali",
        "departure_date": "2026-11-25",
        "invoice_number": "EXP/26-27/0042",
        "invoice_date": "2026-11-18",
        "currency": "USD",
        "declaration_place": "Mumbai",
        "declaration_date": "2026-11-19",
        "goods": [{"description": "Basmati rice, 1121 Sella, in 25 kg PP bags",
                   "hs_code": "10063020", "quantity": "25000", "unit": "KGS",
                   "gross_weight_kg": "25750", "package_count": 1000,
                   "package_kind": "PP bags", "marks": "AL NOOR/0042/1",
                   "fob_value": "28750.00", "origin_criterion": "WO"}],
    }]})

    kind: Literal["non_preferential", "preferential", "in_lieu", "back_to_back"]
    applicant_email: str = Field(max_length=200, description="The applicant user of the "
                                 "IEC who files (one of its registered applicant users)")
    agreement_code: str | None = Field(None, max_length=16, description="Preferential only: "
                                       "AIFTA, SAFTA, APTA, IJCEPA, IKCEPA, ISCECA, IMCECA, "
                                       "IUCEPA, IAECTA, IMCECPA, ISLFTA")
    consignee_name: str = Field(max_length=200)
    consignee_address: str = Field(max_length=500)
    consignee_country: str = Field(max_length=2, description="ISO 3166-1 alpha-2")
    destination_country: str = Field(max_length=2, description="ISO 3166-1 alpha-2; for "
                                     "preferential, a partner of the agreement")
    origin_country: str | None = Field(None, max_length=2, description="IN (the default); "
                                       "back-to-back: the foreign origin")
    transport_mode: Literal["sea", "air", "road", "rail", "multimodal"]
    vessel_or_flight: str | None = Field(None, max_length=100)
    port_of_loading: str = Field(max_length=100)
    port_of_discharge: str = Field(max_length=100)
    departure_date: Date | None = Field(None, description="Up to a year ahead")
    invoice_number: str = Field(max_length=40)
    invoice_date: Date = Field(description="Not in the future")
    currency: str | None = Field(None, max_length=3, description="ISO 4217, default USD")
    remarks: str | None = Field(None, max_length=2000)
    declaration_place: str | None = Field(None, max_length=100)
    declaration_date: Date | None = None
    original_certificate_number: str | None = Field(
        None, max_length=32, description="In-lieu only: the certificate replaced (issued to "
        "this IEC in this system, still valid)", examples=["IGCC/2026/0000123"])
    original_certificate_date: Date | None = Field(None, description="In-lieu only; "
                                                   "default: its issue date")
    in_lieu_reason: str | None = Field(None, max_length=2000, description="In-lieu only")
    foreign_origin_country: str | None = Field(None, max_length=2,
                                               description="Back-to-back only")
    foreign_certificate_number: str | None = Field(None, max_length=64,
                                                   description="Back-to-back only")
    foreign_certificate_country: str | None = Field(None, max_length=2,
                                                    description="Back-to-back only")
    foreign_certificate_issuer: str | None = Field(None, max_length=200,
                                                   description="Back-to-back only")
    foreign_certificate_date: Date | None = Field(None, description="Back-to-back only")
    foreign_certificate_goods: list[ForeignGoodsIn] | None = Field(
        None, max_length=500, description="Back-to-back only: the foreign certificate's goods "
        "with the quantities it certifies. Required the first time the IEC files on a foreign "
        "certificate (number and country), which is then recorded; later filings may leave "
        "it out (or send exactly the recorded data: different data for a recorded "
        "certificate is refused)")
    goods: list[GoodsLineIn] = Field(min_length=1, max_length=500)
    cost_sheet: CostSheetIn | None = None


class DocumentOut(BaseModel):
    id: int
    kind: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_at: str


class ApplicationStatusOut(BaseModel):
    """Where an application stands."""

    number: str = Field(examples=["APP-2026-002001"])
    kind: str
    status: str = Field(description="submitted, under_scrutiny, returned, resubmitted, "
                        "approved, issued, rejected, superseded or cancelled")
    status_label: str
    iec: str
    office: dict[str, str] | None = Field(description="The office whose queue holds it")
    submitted_at: str
    waiting_since: str
    query: str | None = Field(description="The office's query (returned or resubmitted)")
    rejection_reason: str | None
    certificate: dict[str, Any] | None
    goods_lines: int
    total_fob: str
    currency: str
    documents: list[DocumentOut]
    version: int


class ProblemOut(BaseModel):
    field: str = Field(examples=["goods.0.hs_code"])
    problem: str = Field(examples=["expected 6 or 8 digits, e.g. 847130 or 8471.30.10; "
                                   "got '1006'"])


class RefusalOut(BaseModel):
    error: str
    kind: str
    problems: list[ProblemOut] | None = None


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": RefusalOut, "description": "No API key, or an unknown or revoked one"},
    404: {"model": RefusalOut, "description": "No such application under this key's IEC"},
    409: {"model": RefusalOut, "description": "Not possible in the application's state"},
    413: {"model": RefusalOut, "description": "The body (or document) is too large"},
    422: {"model": RefusalOut, "description": "Each field that is wrong, with what it "
          "expects; or an Idempotency-Key reused for another request"},
    429: {"model": RefusalOut, "description": "Too many requests; see Retry-After"},
}


# --- authentication and rate limits ---------------------------------------------------------

class IntakeRoute(APIRoute):
    """Counts the request and authenticates its key before the body is even read."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            hub = request.app.state.hub
            limiter = _limiter(hub)
            limiter.check("address:" + (request.client.host if request.client else "?"))
            presented = _presented_key(request)
            holder = await run_in_threadpool(_service(hub).authenticate, presented)
            limiter.check(f"key:{holder.prefix}")
            request.state.api_key = holder
            try:
                return await handler(request)
            except HTTPException as exc:
                raise _body_error(exc) from None

        return guarded


def _body_error(exc: HTTPException) -> Exception:
    """FastAPI answers 400 to anything that fails while it reads a declared body; the
    service's refusal (the body-size limit: 413) and undecodable JSON (422) are kept."""
    cause = exc.__cause__
    if isinstance(cause, BaseExceptionGroup):  # read in a task group
        refusals = [e for e in cause.exceptions if isinstance(e, UserFacingError)]
        cause = refusals[0] if refusals else cause
    if isinstance(cause, UserFacingError):
        return cause
    if isinstance(cause, UnicodeDecodeError | ValueError):
        return RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                        "msg": "JSON decode error: expected UTF-8 JSON",
                                        "input": {}}])
    return exc


def _limiter(hub: Any) -> RateLimiter:
    limiter = hub.extras.get("intake_rate_limit")
    if limiter is None:
        limiter = hub.extras.setdefault("intake_rate_limit",
                                        RateLimiter(hub.settings.api_per_minute))
    return limiter  # type: ignore[no-any-return]


def _service(hub: Any) -> Intake:
    service = hub.extras.get("intake")
    if service is None:
        service = hub.extras.setdefault("intake", Intake(hub.engine))
    return service  # type: ignore[no-any-return]


def _presented_key(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key")


# for /docs only: the route class above does the work
_bearer = HTTPBearer(auto_error=False, scheme_name="API key (Bearer)",
                     description="Authorization: Bearer odk_<prefix>_<secret>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="API key (header)",
                       description="X-API-Key: odk_<prefix>_<secret>")


def _holder(request: Request, _bearer_key: Annotated[Any, Depends(_bearer)],
            _header_key: Annotated[Any, Depends(_header)]) -> KeyHolder:
    return request.state.api_key  # type: ignore[no-any-return]


Holder = Annotated[KeyHolder, Depends(_holder)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Makes a retry safe: the same key with the same request gets the recorded "
    "answer; with another request, 422. Kept 24 hours.")]
Number = Annotated[str, Path(max_length=24, description="The application number",
                             examples=["APP-2026-002001"])]

router = APIRouter(prefix="/api/v1", tags=["intake"], route_class=IntakeRoute,
                   responses=REFUSALS)


def _answer(answer: IntakeAnswer, location: str | None = None) -> JSONResponse:
    headers = {}
    if location:
        headers["Location"] = location
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


def _filing(body: ApplicationIn) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_none=True)


# --- routes ---------------------------------------------------------------------------------

@router.post("/applications", status_code=201, response_model=ApplicationStatusOut,
             summary="File an application",
             description="Validated in full; 201 with its number and status, and it is in "
                         "the office's queue.")
async def file_application(request: Request, body: ApplicationIn, holder: Holder,
                           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    service = _service(request.app.state.hub)
    answer = await run_in_threadpool(service.file, holder, _filing(body),
                                     idempotency_key=idempotency_key)
    return _answer(answer, f"/api/v1/applications/{answer.body.get('number', '')}")


@router.get("/applications/{number}", response_model=ApplicationStatusOut,
            summary="Read an application's status")
async def application_status(request: Request, number: Number, holder: Holder) -> JSONResponse:
    service = _service(request.app.state.hub)
    body = await run_in_threadpool(service.status, holder, number)
    return JSONResponse(body)


@router.put("/applications/{number}/resubmission", response_model=ApplicationStatusOut,
            summary="Answer a query: resubmit the corrected application",
            description="Only for an application returned with a query. The whole filing is "
                        "sent again (the same schema, the same kind); its goods lines and "
                        "cost sheet are replaced and it goes back to the office's queue.")
async def resubmit_application(request: Request, number: Number, body: ApplicationIn,
                               holder: Holder,
                               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    service = _service(request.app.state.hub)
    answer = await run_in_threadpool(service.resubmit, holder, number, _filing(body),
                                     idempotency_key=idempotency_key)
    return _answer(answer)


@router.post("/applications/{number}/documents", status_code=201, response_model=DocumentOut,
             summary="Upload a supporting document",
             description=f"PDF, JPEG or PNG, known by its content (the file name's extension "
                         f"must agree), at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; while "
                         "the application waits in the queue or is returned.")
async def upload_document(
    request: Request, number: Number, holder: Holder,
    file: Annotated[UploadFile, File(description="The document")],
    kind: Annotated[str, Form(description="invoice, packing_list, bill_of_lading, "
                              "airway_bill, cost_sheet, foreign_certificate, "
                              "original_certificate or other")] = "other",
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    content = await file.read(MAX_DOCUMENT_BYTES + 1)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise TooLarge(f"A supporting document may have at most {MAX_DOCUMENT_BYTES:,} bytes.")
    service = _service(request.app.state.hub)
    answer = await run_in_threadpool(service.add_document, holder, number, kind,
                                     file.filename or "", content,
                                     idempotency_key=idempotency_key)
    return _answer(answer)
