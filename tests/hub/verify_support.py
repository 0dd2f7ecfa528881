"""Helpers for the public verification tests: certificates of the demo store by status,
an agency seal made with a software key, sealed payloads, and answering the captcha as a
person reading it would (through the service's test-only oracle)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import Engine, insert, select, update

TOKEN = re.compile(r'name="captcha_token" value="([^"]+)"')
VERDICT = re.compile(r'id="verdict-head">([^<]*)<')


def certificate_numbers(engine: Engine) -> dict[str, str]:
    """One demo certificate number per status: valid, superseded, cancelled."""
    from app.models import Certificate

    with engine.connect() as connection:
        found = {}
        for status in ("valid", "superseded", "cancelled"):
            found[status] = connection.scalar(
                select(Certificate.number).where(Certificate.status == status)
                .order_by(Certificate.superseded_by_number.is_(None), Certificate.id)
                .limit(1))
    assert all(found.values()), found
    return found


def set_status(engine: Engine, number: str, status: str, superseded_by: str | None = None
               ) -> None:
    from app.models import Certificate

    with engine.begin() as connection:
        connection.execute(update(Certificate).where(Certificate.number == number)
                           .values(status=status, superseded_by_number=superseded_by))


class CaptchaOracle:
    """Told each captcha's answer by the service (hub.extras["captcha_oracle"])."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.last: str | None = None

    def __call__(self, token: str, answer: str) -> None:
        self.answers[token] = answer
        self.last = token


def install_oracle(hub: Any) -> CaptchaOracle:
    oracle = CaptchaOracle()
    hub.extras["captcha_oracle"] = oracle
    return oracle


def token_of(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "no captcha on the page"
    return match.group(1)


def verdict_of(page: str) -> str:
    match = VERDICT.search(page)
    assert match, "no verdict on the page"
    return match.group(1)


def field_errors(page: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', page)


def check_by_number(client: Any, oracle: CaptchaOracle, number: str, agency: str,
                    answer: str | None = None) -> Any:
    """GET the form, POST it with the right captcha answer (or ``answer``)."""
    form = client.get("/verify")
    assert form.status_code == 200, form.text
    token = token_of(form.text)
    return client.post("/verify", data={
        "number": number, "agency": agency, "captcha_token": token,
        "captcha_answer": oracle.answers[token] if answer is None else answer})


class SoftSeal:
    """An agency seal whose key is held in memory: for tests that need sealed payloads
    without a seal token. Recorded in ``agency_seals`` like a real one."""

    def __init__(self, engine: Engine, agency_code: str = "IGCC") -> None:
        from app.documents.qr_payload import key_id_for_certificate
        from app.models import Agency
        from app.signing.seal import self_signed_seal_certificate
        from app.store.hub_tables import agency_seals

        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        with engine.begin() as connection:
            agency_id, name = connection.execute(
                select(Agency.id, Agency.name).where(Agency.code == agency_code)).one()
            self.certificate = self_signed_seal_certificate(
                self.key.public_key(), agency_code, name, now,
                lambda tbs: self.key.sign(tbs, ec.ECDSA(hashes.SHA256())))
            der = self.certificate.public_bytes(Encoding.DER)
            self.key_id = key_id_for_certificate(der)
            connection.execute(insert(agency_seals).values(
                agency_id=agency_id, key_id=self.key_id, certificate=der,
                key_label=f"test-{agency_code}", created_at=now, retired_at=None))

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    def payload(self, central: Any, number: str) -> bytes:
        """The sealed QR payload of a certificate of the store."""
        from app.documents.qr_payload import build_qr_payload

        data, _status = central.certificate_record(number)
        return build_qr_payload(data, key_id=self.key_id, sign=self.sign,
                                algorithm="ecdsa-p256-sha256")


def b64url(payload: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")
