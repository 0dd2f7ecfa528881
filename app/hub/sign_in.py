"""Officers sign in to the central service: e-mail and password (argon2id; the
administrator's initial password must be changed; lockout after repeated failures), and,
where the agency asks it, proof of the registered DSC (``app.services.dsc_proof``). They
get an opaque, expiring, revocable session token."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.hub.auth import CurrentOfficer, hub_of
from app.hub.database import acting_for
from app.models import DscRegistration
from app.services import credentials
from app.services.dsc_proof import (
    DscProofRefused,
    check_nonce,
    check_signature,
    make_nonce,
    proof_message,
)
from app.store.hub_tables import agency_sign_in_policies

log = logging.getLogger(__name__)
router = APIRouter(prefix="/desk/v1", tags=["desk sign-in"])
ADDRESS_FACTOR = 6  # sign-ins per address per minute: this many times those per account


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=credentials.MAX_PASSWORD)
    new_password: str | None = Field(default=None, max_length=credentials.MAX_PASSWORD)
    client: str = Field(default="", max_length=200)
    nonce: str | None = Field(default=None, max_length=100)
    dsc_certificate: str | None = Field(default=None, max_length=20_000,
                                        description="base64 DER of the DSC")
    dsc_signature: str | None = Field(default=None, max_length=2_000,
                                      description="base64 token signature of the challenge")


class SignedIn(BaseModel):
    token: str
    expires_at: str
    user_id: int
    email: str
    role: str


class PasswordChange(BaseModel):
    password: str = Field(max_length=credentials.MAX_PASSWORD)
    new_password: str = Field(max_length=credentials.MAX_PASSWORD)


@router.post("/sign-in/challenge", summary="A nonce to sign with the DSC at sign-in")
def challenge(request: Request) -> dict[str, str]:
    return {"nonce": make_nonce(hub_of(request).settings.secret)}


def _limit(request: Request, email: str) -> None:
    """Sign-in attempts per client address and per account: each costs an argon2id check
    (tens of MB, a good fraction of a second), so they are rationed."""
    from app.hub.rate_limit import RateLimiter

    hub = hub_of(request)
    per_account = hub.settings.sign_in_per_minute
    limits = hub.extras.get("sign_in_limits")
    if limits is None:  # an office behind one address: several officers at nine o'clock
        limits = hub.extras.setdefault("sign_in_limits", (
            RateLimiter(per_account * ADDRESS_FACTOR), RateLimiter(per_account)))
    limits[0].check(request.client.host if request.client else "")
    limits[1].check(email.strip().lower())


@router.post("/sign-in", response_model=SignedIn, summary="Sign in; get a session token")
def sign_in(body: SignIn, request: Request) -> SignedIn:
    hub = hub_of(request)
    _limit(request, body.email)
    with acting_for(None), hub.central.sessions() as session:
        try:
            user = credentials.authenticate(session, body.email, body.password, hub.policy,
                                            new_password=body.new_password)
            fingerprint = _dsc_proof(session, hub.settings.secret, user, body)
        except credentials.SignInRefused:
            hub.metrics.sign_ins.labels("refused").inc()
            raise
        token, expires = credentials.open_session(
            session, user.id, hub.policy, client=body.client, dsc_fingerprint=fingerprint)
        credentials.purge_ended_sessions(session, user.id)
        session.commit()
    hub.metrics.sign_ins.labels("signed_in").inc()
    log.info("user #%s signed in%s", user.id, " with DSC proof" if fingerprint else "")
    return SignedIn(token=token, expires_at=expires.isoformat(), user_id=user.id,
                    email=user.email, role=str(user.role))


def _dsc_proof(session, secret: bytes, user, body: SignIn) -> str | None:  # type: ignore[no-untyped-def]
    required = session.scalar(select(agency_sign_in_policies.c.require_dsc).where(
        agency_sign_in_policies.c.agency_id == user.agency_id))
    if not body.dsc_certificate and not required:
        return None
    if not (body.nonce and body.dsc_certificate and body.dsc_signature):
        raise DscProofRefused("Your agency asks for your DSC at sign-in: insert your token "
                              "and sign in again.")
    check_nonce(secret, body.nonce)
    try:
        der = base64.b64decode(body.dsc_certificate, validate=True)
        signature = base64.b64decode(body.dsc_signature, validate=True)
    except (binascii.Error, ValueError):
        raise DscProofRefused("The DSC proof is not valid base64.") from None
    fingerprint = hashlib.sha256(der).hexdigest()
    registered = session.scalar(select(DscRegistration.id).where(
        DscRegistration.user_id == user.id, DscRegistration.fingerprint_sha256 == fingerprint,
        DscRegistration.revoked_at.is_(None)))
    if registered is None:
        raise DscProofRefused("This DSC is not registered for you (or was revoked); ask your "
                              "administrator.")
    check_signature(der, proof_message(body.nonce, user.email), signature)
    return fingerprint


@router.post("/sign-out", summary="End this session")
def sign_out(request: Request, officer: CurrentOfficer) -> dict[str, bool]:
    hub = hub_of(request)
    with acting_for(None), hub.central.sessions() as session, session.begin():
        credentials.revoke_session(session, officer.token)
    return {"signed_out": True}


@router.post("/password", summary="Change your password (ends your other sessions)")
def change_password(body: PasswordChange, request: Request,
                    officer: CurrentOfficer) -> dict[str, bool]:
    hub = hub_of(request)
    with acting_for(None), hub.central.sessions() as session:
        credentials.authenticate(session, officer.user.email, body.password, hub.policy,
                                 new_password=body.new_password)
        session.commit()
    return {"changed": True}
