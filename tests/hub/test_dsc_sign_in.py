"""Where the agency asks for it, an officer proves the registered DSC at sign-in: the
service's challenge is signed on the token (real SoftHSM2, one PIN entry); an unregistered
certificate, a forged signature or a stale challenge is refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import insert, select

from app.services.central_http import HttpCentral
from app.services.dsc_proof import proof_message, token_prover
from app.store.hub_tables import agency_sign_in_policies
from app.store.link import SyncRefused
from tests.hub.conftest import PASSWORD, set_password
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    PIN,
    ca,
    config,
    hsm,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)


def _require_dsc(engine: Any) -> None:
    from app.models import User

    with engine.begin() as connection:
        agency = connection.execute(select(User.agency_id).where(
            User.email == OFFICER_EMAIL)).scalar_one()
        connection.execute(insert(agency_sign_in_policies).values(agency_id=agency,
                                                                  require_dsc=True))


def test_the_registered_dsc_signs_the_challenge_at_sign_in(
    tmp_path, demo_hub, serve, demo_engine, rsa_token, config  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    set_password(demo_engine, OFFICER_EMAIL)
    _require_dsc(demo_engine)
    server = serve(demo_hub)
    without = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda p: PASSWORD)
    with pytest.raises(SyncRefused, match="asks for your DSC"):
        without.hello(OFFICER_EMAIL)
    pins: list[str] = []
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda p: PASSWORD,
                       prove_dsc=token_prover(config, lambda token, warnings: pins.append(PIN)
                                              or PIN))
    assert link.hello(OFFICER_EMAIL).email == OFFICER_EMAIL
    assert pins == [PIN]
    from app.store.hub_tables import hub_sessions

    with demo_engine.connect() as connection:
        proven = connection.execute(select(hub_sessions.c.dsc_fingerprint).where(
            hub_sessions.c.dsc_fingerprint.is_not(None))).scalars().all()
    assert proven == [rsa_token.certs["sign"].fingerprint]


def test_a_forged_or_unregistered_proof_is_refused(
    client, demo_engine, rsa_token, ca  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    set_password(demo_engine, OFFICER_EMAIL)
    _require_dsc(demo_engine)
    nonce = client.post("/desk/v1/sign-in/challenge").json()["nonce"]
    registered = rsa_token.certs["sign"].der
    body = {"email": OFFICER_EMAIL, "password": PASSWORD, "nonce": nonce,
            "dsc_certificate": base64.b64encode(registered).decode(),
            "dsc_signature": base64.b64encode(b"\x01" * 256).decode()}
    forged = client.post("/desk/v1/sign-in", json=body)
    assert forged.status_code == 400 and "does not verify" in forged.json()["error"]
    # a certificate of the same CA with its own key, not registered to the officer
    key = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives.serialization import Encoding

    other = ca.issue(key.public_key(), common_name="Somebody Else").public_bytes(Encoding.DER)
    signature = key.sign(proof_message(nonce, OFFICER_EMAIL), ec.ECDSA(hashes.SHA256()))
    body.update(dsc_certificate=base64.b64encode(other).decode(),
                dsc_signature=base64.b64encode(signature).decode())
    unregistered = client.post("/desk/v1/sign-in", json=body)
    assert unregistered.status_code == 400
    assert "not registered" in unregistered.json()["error"]
    tampered = nonce[:-2] + ("AA" if not nonce.endswith("AA") else "BB")
    body.update(nonce=tampered)
    stale = client.post("/desk/v1/sign-in", json=body)
    assert stale.status_code == 400 and "not one this service made" in stale.json()["error"]
    from app.store.hub_tables import hub_sessions

    with demo_engine.connect() as connection:
        assert connection.execute(select(hub_sessions)).first() is None
