"""What an officer's certificate says, read once from its DER with ``cryptography``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from app.signing.errors import InvalidInput

SIGNING_USAGES = frozenset({"digital_signature", "content_commitment"})
"""Key usages that allow signing documents (content_commitment = nonRepudiation)."""

_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def fingerprint(der: bytes) -> str:
    """SHA-256 of the DER certificate, lowercase hex: the form officers' DSCs are registered in."""
    return hashlib.sha256(der).hexdigest()


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from DER or PEM bytes; InvalidInput when it is neither."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InvalidInput(f"Not an X.509 certificate (PEM or DER): {exc}") from None


def key_usages(cert: x509.Certificate) -> frozenset[str]:
    """Key usage names present; a certificate without the extension allows every usage."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset(_USAGE_NAMES)
    return frozenset(name for name in _USAGE_NAMES if getattr(ku, name))


def key_algorithm(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ECDSA-P256", "secp384r1": "ECDSA-P384"}.get(
            key.curve.name, f"ECDSA-{key.curve.name}"
        )
    return type(key).__name__


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate found on a token (or registered to an officer)."""

    der: bytes = field(repr=False)
    subject: str
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    usages: frozenset[str]
    key_algorithm: str
    fingerprint: str
    key_id: bytes = b""
    has_private_key: bool | None = None
    """True/False when the token showed whether a private key has this CKA_ID; None unknown."""

    @classmethod
    def from_der(
        cls, der: bytes, *, key_id: bytes = b"", has_private_key: bool | None = None
    ) -> CertificateInfo:
        cert = load_certificate(der)
        der = cert.public_bytes(Encoding.DER)
        return cls(
            der=der,
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial=cert.serial_number,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            usages=key_usages(cert),
            key_algorithm=key_algorithm(cert),
            fingerprint=fingerprint(der),
            key_id=key_id,
            has_private_key=has_private_key,
        )

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def common_name(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else self.subject

    @property
    def is_ca(self) -> bool:
        try:
            return bool(
                self.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
                .value.ca
            )
        except x509.ExtensionNotFound:
            return False

    def can_sign(self) -> bool:
        return bool(self.usages & SIGNING_USAGES)

    def problems(self, now: datetime | None = None) -> list[str]:
        """Why this certificate may not sign today (empty when it qualifies)."""
        now = now or datetime.now(UTC)
        found = []
        if now > self.not_after:
            found.append(f"expired on {self.not_after:%Y-%m-%d}")
        if now < self.not_before:
            found.append(f"not valid before {self.not_before:%Y-%m-%d}")
        if not self.can_sign():
            found.append("lacks digitalSignature/nonRepudiation key usage")
        if self.has_private_key is False:
            found.append("no private key with its ID")
        if self.is_ca:
            found.append("a CA certificate")
        return found

    def qualifies(self, now: datetime | None = None) -> bool:
        return not self.problems(now)

    def describe(self) -> str:
        return f"'{self.common_name}' (serial {self.serial:x}, valid to {self.not_after:%Y-%m-%d})"

    def to_dict(self, now: datetime | None = None) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": format(self.serial, "x"),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key_usage": sorted(self.usages),
            "key_algorithm": self.key_algorithm,
            "sha256": self.fingerprint,
            "key_id": self.key_id.hex(),
            "has_private_key": self.has_private_key,
            "qualifies": self.qualifies(now),
            "problems": self.problems(now),
        }
