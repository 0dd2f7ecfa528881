"""Proof of the registered DSC at sign-in: the service hands out a nonce, the desk signs
it on the officer's token, the service checks the signature against a DSC registered (and
not revoked) for that officer.

The nonce is stateless (any replica checks it): random bytes, an expiry, and an HMAC over
both with the service's secret. The signed message binds the nonce to the e-mail address::

    b"ORIGIN-DESK-SIGN-IN-1\\x00" + nonce + b"\\x00" + email
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.errors import UserFacingError

CONTEXT = b"ORIGIN-DESK-SIGN-IN-1\x00"
NONCE_LIFE_SECONDS = 120


class DscProofRefused(UserFacingError):
    """The DSC proof at sign-in is missing, stale or does not verify."""


def make_nonce(secret: bytes, now: float | None = None) -> str:
    expires = int((now or time.time()) + NONCE_LIFE_SECONDS)
    body = secrets.token_bytes(16) + expires.to_bytes(8, "big")
    tag = hmac.new(secret, b"nonce\x00" + body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + tag).decode("ascii").rstrip("=")


def check_nonce(secret: bytes, nonce: str, now: float | None = None) -> None:
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except (ValueError, TypeError):
        raise DscProofRefused("The sign-in challenge is not one this service made.") from None
    if len(raw) != 40:
        raise DscProofRefused("The sign-in challenge is not one this service made.")
    body, tag = raw[:24], raw[24:]
    expected = hmac.new(secret, b"nonce\x00" + body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(tag, expected):
        raise DscProofRefused("The sign-in challenge is not one this service made.")
    if int.from_bytes(body[16:], "big") < (now or time.time()):
        raise DscProofRefused("The sign-in challenge has expired; sign in again.")


def proof_message(nonce: str, email: str) -> bytes:
    return CONTEXT + nonce.encode("ascii") + b"\x00" + email.strip().lower().encode("utf-8")


def check_signature(certificate_der: bytes, message: bytes, signature: bytes) -> None:
    """Raise DscProofRefused unless ``signature`` (the token's raw form: RSA PKCS#1 v1.5,
    or ECDSA r||s) over ``message`` verifies with the certificate's key."""
    try:
        key = x509.load_der_x509_certificate(certificate_der).public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) == 64:
                signature = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                                 int.from_bytes(signature[32:], "big"))
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            raise DscProofRefused("The DSC's key type is not supported for sign-in proof.")
    except (InvalidSignature, ValueError):
        raise DscProofRefused("The DSC signature of the sign-in challenge does not verify."
                              ) from None


def token_prover(config: object, ask_pin: object) -> object:
    """The desk's side: a callable that signs a sign-in challenge on the officer's token
    (one PIN entry, the session closed at once) and gives (certificate DER, signature).
    The service checks that the certificate is registered to the officer."""

    def prove(message: bytes) -> tuple[bytes, bytes]:
        from app.signing.discovery import choose_token, configured_modules, discover_tokens
        from app.signing.token_session import open_token_session_from_config

        paths, explicit = configured_modules(config)
        discovery = discover_tokens(paths, explicit=explicit, rescan=True)
        token = choose_token(discovery.tokens, getattr(config, "token_label", ""),
                             discovery.module_paths)
        candidates = {c.fingerprint for c in token.signing_candidates}
        session = open_token_session_from_config(config, ask_pin=ask_pin,  # type: ignore[arg-type]
                                                 registered_fingerprints=candidates)
        try:
            return session.certificate_der, session.sign_raw(message)
        finally:
            session.close()

    return prove
