"""The desks' sync and issuing API: the central interface (``app.services.central``) over
HTTPS, for a signed-in officer.

Each route runs the same ``SqlCentral`` method a desk on a direct store would, acting for
the officer (PostgreSQL: the officer's group role and login, so row-level security and
the issuing functions bind it). The service adds its own checks on top, the first wall on
the embedded SQLite store: a desk pulls only its officer's offices, reads only
certificates of those offices, and the issue moment is the store's own, never the desk's.

Bodies are the JSON of ``app.services.central_wire`` (both ends are Origin Desk).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from app.hub.auth import CurrentOfficer, Officer, hub_of
from app.hub.errors import Forbidden, NotFound
from app.models import Application, Certificate, CertificateNumber
from app.services import central_wire as wire
from app.services.central_issuing import issue_moment
from app.services.central_wire import WireError
from app.store.link import CentralInfo

router = APIRouter(prefix="/desk/v1", tags=["desk sync and issuing"])
JSON = "application/json"


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return wire.loads(raw) if raw else {}
    except WireError:
        raise WireError("The request body is not valid JSON.") from None


async def _as(officer: Officer, work: Callable[[], Any]) -> Any:
    def run() -> Any:
        with officer.acting():
            return work()
    return await run_in_threadpool(run)


def _answer(value: Any) -> Response:
    return Response(wire.dumps(value), media_type=JSON)


def _info(request: Request, officer: Officer) -> CentralInfo:
    hub = hub_of(request)
    info = hub.central.hello(officer.user.email)
    if info.user_id != officer.user_id:  # the store's login and the session disagree
        raise Forbidden("This session's user and the store's identity disagree.")
    return info


@router.get("/hello", summary="Who am I, which offices, which schema")
async def hello(request: Request, officer: CurrentOfficer) -> Response:
    info = await _as(officer, lambda: _info(request, officer))
    return _answer(wire.info_to_wire(info))


@router.post("/push", summary="Decide outbox operations (a retried batch applies once)")
async def push(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    operations = wire.operations_from_wire(body.get("operations"))
    hub = hub_of(request)
    results = await _as(officer, lambda: hub.central.push(officer.user_id, operations))
    return _answer({"results": [wire.result_to_wire(r) for r in results]})


@router.post("/pull", summary="What changed since the desk's cursors")
async def pull(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    asked = wire.filter_from_wire(body.get("filter"))
    hub = hub_of(request)

    def work() -> dict[str, Any]:
        info = _info(request, officer)
        served = set(info.office_ids)
        filter_ = replace(asked, office_ids=tuple(o for o in asked.office_ids if o in served),
                          force_ids=_visible_ids(hub, asked.force_ids, served))
        return wire.pull_to_wire(hub.central.pull(info, filter_))

    return _answer(await _as(officer, work))


def _visible_ids(hub: Any, ids: tuple[int, ...], offices: set[int]) -> tuple[int, ...]:
    if not ids:
        return ()
    with hub.central.sessions() as session:
        rows = session.execute(select(Application.id, Application.office_id)
                               .where(Application.id.in_(list(ids)))).all()
    return tuple(i for i, office in rows if office in offices)


@router.post("/application-ids", summary="Which applications exist in the desk's offices")
async def application_ids(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    asked = wire.integers(body.get("office_ids"), "office_ids")
    hub = hub_of(request)

    def work() -> list[int]:
        served = set(_info(request, officer).office_ids)
        return hub.central.application_ids([o for o in asked if o in served])

    return _answer({"ids": await _as(officer, work)})


@router.post("/application-states", summary="Issuing states of applications")
async def application_states(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    numbers = wire.texts(body.get("numbers", []), "numbers")
    ids = wire.integers(body.get("ids", []), "ids")
    hub = hub_of(request)

    def work() -> list[Any]:
        agency_offices = _agency_office_codes(hub, officer)
        states = hub.central.application_states(officer.user_id, numbers, ids=ids)
        return [s for s in states if s.office_code in agency_offices]

    states = await _as(officer, work)
    return _answer({"states": [wire.state_to_wire(s) for s in states]})


def _agency_office_codes(hub: Any, officer: Officer) -> set[str]:
    from app.models import Office

    with hub.central.sessions() as session:
        return set(session.scalars(select(Office.code)
                                   .where(Office.agency_id == officer.user.agency_id)))


@router.post("/reserve", summary="Reserve a certificate number for an approved application")
async def reserve(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    application_id = wire.integer(body.get("application_id"), "application_id")
    desk_session = wire.text(body.get("desk_session"), "desk_session", limit=64)
    hub = hub_of(request)
    reservation = await _as(officer, lambda: hub.central.reserve(
        officer.user_id, application_id, desk_session))
    return _answer(wire.reservation_to_wire(reservation))


@router.post("/record", summary="Record a signed certificate for its reservation")
async def record(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    reservation = wire.reservation_from_wire(body.get("reservation"))
    pdf = wire.unb64(body.get("pdf"), "pdf")
    fingerprint = wire.text(body.get("signer_fingerprint"), "signer_fingerprint", limit=64)
    # signed with Aadhaar eSign through this service's gateway (app/hub/esign.py)
    esign_txn = wire.text(body.get("esign_txn"), "esign_txn", optional=True, limit=50)
    hub = hub_of(request)

    def work() -> Any:
        # the issue moment is the store's clock at reservation, whatever the desk sent
        with hub.central.sessions() as session:
            reserved_at = session.scalar(select(CertificateNumber.reserved_at).where(
                CertificateNumber.number == reservation.number))
        if reserved_at is None:
            raise NotFound(f"Certificate number {reservation.number} is not reserved.")
        issued_at, issue_date = issue_moment(_aware(reserved_at))
        trusted = replace(reservation, issued_at=issued_at, issue_date=issue_date)
        return hub.central.record(officer.user_id, trusted, pdf, fingerprint,  # type: ignore[arg-type]
                                  esign_txn=esign_txn)

    recorded = await _as(officer, work)
    hub.metrics.issued.inc()
    return _answer(wire.recorded_to_wire(recorded))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.post("/release", summary="Void a reservation that will not be issued")
async def release(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    number = wire.text(body.get("number"), "number", limit=64)
    reason = wire.text(body.get("reason"), "reason", limit=2000)
    hub = hub_of(request)
    await _as(officer, lambda: hub.central.release(officer.user_id, number, reason))
    return _answer({"released": number})


@router.post("/release-abandoned", summary="Void the reservations of ended desk sessions")
async def release_abandoned(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    sessions = wire.texts(body.get("desk_sessions", []), "desk_sessions")
    hub = hub_of(request)
    voided = await _as(officer, lambda: hub.central.release_abandoned(officer.user_id,
                                                                      sessions))
    return _answer({"voided": voided})


@router.post("/wallet/charges", summary="What issuing applications would debit from their "
             "offices' e-wallets, with the balances (checked before the PIN is asked)")
async def wallet_charges(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    ids = wire.integers(body.get("ids", []), "ids")
    hub = hub_of(request)

    def work() -> list[Any]:
        served = set(_info(request, officer).office_ids)
        return hub.central.wallet_charges(officer.user_id, _visible_ids(hub, tuple(ids), served))

    charges = await _as(officer, work)
    return _answer({"charges": [
        {"office_code": c.office_code, "ewallet_enabled": c.ewallet_enabled,
         "balance": str(c.balance), "fees": [[n, k, str(f)] for n, k, f in c.fees]}
        for c in charges]})


@router.post("/certificates/cancel", summary="Cancel the certificate of an issued application "
             "with a reason (a same-day cancellation refunds the fee)")
async def cancel_certificate(request: Request, officer: CurrentOfficer) -> Response:
    body = wire.mapping(await _json(request), "body")
    application_id = wire.integer(body.get("application_id"), "application_id")
    reason = wire.text(body.get("reason"), "reason")  # the store says what is too long
    hub = hub_of(request)

    def work() -> Any:
        with hub.central.sessions() as session:
            office = session.scalar(select(Application.office_id)
                                    .where(Application.id == application_id))
        if office is None or office not in set(_info(request, officer).office_ids):
            raise NotFound(f"Application #{application_id} is not in your offices.")
        return hub.central.cancel_certificate(officer.user_id, application_id, reason)

    cancelled = await _as(officer, work)
    return _answer({"number": cancelled.number,
                    "application_number": cancelled.application_number,
                    "refund": None if cancelled.refund is None else str(cancelled.refund)})


def _certificate_office_served(hub: Any, officer: Officer, number: str) -> bool:
    info_offices = set(hub.central.hello(officer.user.email).office_ids)
    with hub.central.sessions() as session:
        office = session.scalar(select(Certificate.office_id)
                                .where(Certificate.number == number))
    return office is not None and office in info_offices


@router.get("/certificates/pdf", summary="The signed PDF of a certificate")
async def certificate_pdf(number: str, request: Request, officer: CurrentOfficer) -> Response:
    hub = hub_of(request)
    wire.text(number, "number", limit=64)

    def work() -> bytes | None:
        if not _certificate_office_served(hub, officer, number):
            return None
        return hub.central.certificate_pdf(number)

    pdf = await _as(officer, work)
    if pdf is None:
        raise NotFound(f"No certificate {number} in your offices.")
    return Response(pdf, media_type="application/pdf")


@router.get("/documents/{document_id}/content",
            summary="The bytes of a supporting document of an application in your offices")
async def document_content(document_id: int, request: Request,
                           officer: CurrentOfficer) -> Response:
    from app.models import SupportingDocument

    hub = hub_of(request)

    def work() -> bytes | None:
        served = set(_info(request, officer).office_ids)
        with hub.central.sessions() as session:  # acting as the officer: RLS binds too
            office = session.scalar(
                select(Application.office_id)
                .join(SupportingDocument, SupportingDocument.application_id == Application.id)
                .where(SupportingDocument.id == document_id))
        if office is None or office not in served:
            return None
        return hub.central.document_content(document_id)

    content = await _as(officer, work)
    if content is None:
        raise NotFound(f"No supporting document #{document_id} in your offices.")
    # bytes as stored: the desk checks them against the row's SHA-256 and sniffs them
    return Response(content, media_type="application/octet-stream",
                    headers={"Content-Disposition": "attachment",
                             "X-Content-Type-Options": "nosniff"})


@router.get("/certificates/status", summary="A certificate's status by number or digest")
async def certificate_status(request: Request, officer: CurrentOfficer,
                             number: str | None = None, sha256: str | None = None) -> Response:
    hub = hub_of(request)
    if number is not None:
        wire.text(number, "number", limit=64)
    if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF"
                                                        for c in sha256)):
        raise WireError("sha256: expected 64 hexadecimal digits")
    status = await _as(officer, lambda: hub.central.certificate_status(number=number,
                                                                       pdf_sha256=sha256))
    return _answer({"status": wire.status_to_wire(status)})


@router.get("/certificates/record", summary="The data a certificate was made from")
async def certificate_record(number: str, request: Request, officer: CurrentOfficer) -> Response:
    from app.documents.certificate_json import certificate_data_to_dict

    hub = hub_of(request)
    wire.text(number, "number", limit=64)
    data, status = await _as(officer, lambda: hub.central.certificate_record(number))
    return _answer({"data": None if data is None else certificate_data_to_dict(data),
                    "status": status})


@router.post("/certificates/extend", summary="Keep a certificate's file with fresh validation "
             "data and a document timestamp (administrators)")
async def extend_certificate(request: Request, officer: CurrentOfficer) -> Response:
    from app.models.enums import Role

    body = wire.mapping(await _json(request), "body")
    number = wire.text(body.get("number"), "number", limit=64)
    pdf = wire.unb64(body.get("pdf"), "pdf")
    if officer.user.role != Role.ADMINISTRATOR:
        raise Forbidden("Only an administrator of the agency keeps extended certificate files.")
    hub = hub_of(request)

    def work() -> None:
        if not _certificate_office_served(hub, officer, number):
            raise NotFound(f"No certificate {number} in your agency.")
        hub.central.extend_certificate(number, pdf)  # type: ignore[arg-type]

    await _as(officer, work)
    return _answer({"extended": number})


@router.get("/dsc", summary="Fingerprints of your registered DSCs")
async def dsc_fingerprints(request: Request, officer: CurrentOfficer) -> Response:
    hub = hub_of(request)
    fingerprints = await _as(officer, lambda: hub.central.registered_fingerprints(
        officer.user_id))
    return _answer({"fingerprints": sorted(fingerprints)})


@router.post("/dsc", summary="Register a DSC certificate for yourself")
async def register_dsc(request: Request, officer: CurrentOfficer) -> Response:
    from app.signing.certificates import CertificateInfo

    body = wire.mapping(await _json(request), "body")
    der = wire.unb64(body.get("certificate"), "certificate")
    raw_chain = body.get("intermediates", [])
    if not isinstance(raw_chain, list) or len(raw_chain) > 10:
        raise WireError("intermediates: expected a list of at most 10 certificates")
    chain = [wire.unb64(c, f"intermediates[{i}]") for i, c in enumerate(raw_chain)]
    try:
        certificate = CertificateInfo.from_der(der)  # type: ignore[arg-type]
    except ValueError:
        raise WireError("certificate: not a DER X.509 certificate") from None
    hub = hub_of(request)
    registered = await _as(officer, lambda: hub.central.register_dsc(
        officer.user_id, certificate, chain))
    return _answer({"fingerprint": registered.fingerprint, "key_id": registered.key_id,
                    "created": registered.created, "subject": registered.subject})


@router.get("/verification-material", summary="DSC certificates by QR key id, signers")
async def verification_material(request: Request, officer: CurrentOfficer) -> Response:
    from cryptography.hazmat.primitives.serialization import Encoding

    hub = hub_of(request)
    material = await _as(officer, hub.central.verification_material)
    return _answer({
        "key_directory": {k.hex(): base64.b64encode(c.public_bytes(Encoding.DER)).decode()
                          for k, c in material.key_directory.items()},
        "signers": material.signers,
    })


# --- trade events (app/services/trade_events.py): the agency's administrators write, its
# officers read (they reach a desk in the pull as well); PostgreSQL's guard checks again


def _trade_events(request: Request, officer: Officer) -> Any:
    from app.services.trade_events import TradeEventBook

    return TradeEventBook(hub_of(request).central.engine, officer.user_id)


@router.get("/trade-events", summary="The agency's trade events")
async def trade_events(request: Request, officer: CurrentOfficer) -> Response:
    rows = await _as(officer, lambda: _trade_events(request, officer).list())
    return _answer({"events": [r.to_json() for r in rows]})


@router.post("/trade-events", summary="Add a trade event (administrators)")
async def add_trade_event(request: Request, officer: CurrentOfficer) -> Response:
    from app.services.trade_events import data_from_json

    data = data_from_json(await _json(request))
    row = await _as(officer, lambda: _trade_events(request, officer).add(data))
    return _answer({"event": row.to_json()})


@router.post("/trade-events/{event_id}", summary="Change a trade event (administrators)")
async def change_trade_event(event_id: int, request: Request,
                             officer: CurrentOfficer) -> Response:
    from app.services.trade_events import data_from_json

    data = data_from_json(await _json(request))
    row = await _as(officer, lambda: _trade_events(request, officer).update(event_id, data))
    return _answer({"event": row.to_json()})


@router.post("/trade-events/{event_id}/remove", summary="Remove a trade event (administrators)")
async def remove_trade_event(event_id: int, request: Request,
                             officer: CurrentOfficer) -> Response:
    row = await _as(officer, lambda: _trade_events(request, officer).remove(event_id))
    return _answer({"event": row.to_json()})
