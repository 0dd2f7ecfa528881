"""The QR payload: compact, versioned, signed with the officer's DSC key (docs/QR-PAYLOAD.md).

Binary layout, version 1 (all integers big-endian)::

    version      u8     1
    flags        u8     bit 0: draft (unsigned); other bits must be 0
    algorithm    u8     0 none (draft), 1 ECDSA P-256 SHA-256 (r||s), 2 RSA PKCS#1 v1.5 SHA-256
    number       u8 length + ASCII   certificate number (application number on a draft)
    office       u8 length + ASCII   issuing office code
    iec          10 bytes ASCII      exporter's IEC
    destination  2 bytes ASCII       importing country, ISO 3166-1 alpha-2
    issue date   u16                 days since 2000-01-01; 0xFFFF = none (draft)
    digest       20 bytes            SHA-256 of the canonical certificate data, first 20 bytes
    key id       8 bytes             SHA-256 of the signer's DSC certificate (DER), first 8
    signature    rest                ECDSA: 64 bytes r||s; RSA: modulus length (256 for 2048)

A draft stops after the digest (no key id, no signature). The signature is made over
``b"ECOO-QR-SIG-1\\x00"`` + every byte before the signature. The signer is the agency's
seal (ECDSA P-256, sealed by the central store when the number is reserved) or, where no
seal is available, the officer's DSC. In the QR a sealed payload is the URL
``<public base>/v/`` + base64url(payload) (:func:`qr_url`); an officer-signed one is
``"ECOO:"`` + base45(payload), all in the QR alphanumeric alphabet. :func:`payload_from_qr_text`
reads both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding

from app.documents.base45 import Base45Error, b45decode, b45encode
from app.documents.canonical import DIGEST_SIZE, certificate_digest
from app.documents.certificate_data import CertificateData
from app.errors import UserFacingError

PAYLOAD_VERSION = 1
FLAG_DRAFT = 0x01
ALG_NONE = 0
ALGORITHMS: Mapping[str, int] = {"ecdsa-p256-sha256": 1, "rsa-pkcs1v15-sha256": 2}
ALGORITHM_NAMES: Mapping[int, str] = {v: k for k, v in ALGORITHMS.items()}
KEY_ID_SIZE = 8
SIGNING_CONTEXT = b"ECOO-QR-SIG-1\x00"
QR_TEXT_PREFIX = "ECOO:"
_EPOCH = date(2000, 1, 1)
_NO_DATE = 0xFFFF
_RSA_SIZES = (256, 384, 512)

PublicKeyOrCertificate = x509.Certificate | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class QrPayloadError(UserFacingError):
    """A QR payload cannot be built or read."""


@dataclass(frozen=True)
class QrSigner:
    """Signs QR payloads with the officer's DSC key (on the token, in production).

    ``sign(message)`` returns the raw signature of ``message`` hashed with SHA-256:
    for ECDSA P-256 the 64 bytes r||s (CKM_ECDSA_SHA256 gives exactly that; DER is also
    accepted), for RSA the PKCS#1 v1.5 signature (CKM_SHA256_RSA_PKCS).
    """

    key_id: bytes
    algorithm: str
    sign: Callable[[bytes], bytes]


@dataclass(frozen=True)
class QrContent:
    version: int
    draft: bool
    algorithm: str | None
    reference_number: str  # certificate number; application number on a draft
    office_code: str
    exporter_iec: str
    destination_country: str
    issue_date: date | None
    digest: bytes
    key_id: bytes | None
    signature: bytes
    signed_part: bytes  # the payload bytes the signature covers (without the context)


@dataclass(frozen=True)
class QrVerification:
    valid: bool
    reason: str  # "valid" or what is wrong, in words a verifier understands
    content: QrContent | None = None
    signer: PublicKeyOrCertificate | None = None


def key_id_for_certificate(certificate: x509.Certificate | bytes) -> bytes:
    """The key id of a DSC certificate: the first 8 bytes of SHA-256 of its DER."""
    der = certificate if isinstance(certificate, bytes) else certificate.public_bytes(
        Encoding.DER
    )
    return hashlib.sha256(der).digest()[:KEY_ID_SIZE]


def _ascii_field(name: str, value: str, limit: int = 255) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise QrPayloadError(f"QR payload: the {name} {value!r} is not ASCII") from None
    if len(raw) > limit:
        raise QrPayloadError(f"QR payload: the {name} is longer than {limit} characters")
    return raw


def _header(data: CertificateData, *, draft: bool, algorithm: int) -> bytes:
    number = _ascii_field("reference number", data.reference_number)
    office = _ascii_field("office code", data.issuing_office.code)
    iec = _ascii_field("IEC", data.exporter.iec)
    if data.issue_date is None:
        days = _NO_DATE
    else:
        days = (data.issue_date - _EPOCH).days
        if not 0 <= days < _NO_DATE:
            raise QrPayloadError(f"QR payload: issue date {data.issue_date} is out of range")
    parts = [
        bytes((PAYLOAD_VERSION, FLAG_DRAFT if draft else 0, algorithm)),
        bytes((len(number),)), number,
        bytes((len(office),)), office,
        iec,
        _ascii_field("destination country", data.destination_country),
        days.to_bytes(2, "big"),
        certificate_digest(data),
    ]
    return b"".join(parts)


def build_draft_qr_payload(data: CertificateData) -> bytes:
    """An unsigned payload flagged as a draft: it never verifies as valid."""
    return _header(data, draft=True, algorithm=ALG_NONE)


def build_qr_payload(
    data: CertificateData,
    *,
    key_id: bytes,
    sign: Callable[[bytes], bytes],
    algorithm: str,
) -> bytes:
    """The signed payload of an issued certificate (see the module's doc for the layout)."""
    if data.is_draft:
        raise QrPayloadError(
            f"application {data.application_number} has no certificate number yet; "
            "a draft carries an unsigned draft payload"
        )
    if algorithm not in ALGORITHMS:
        raise QrPayloadError(
            f"QR signature algorithm {algorithm!r} is not supported; use one of "
            + ", ".join(ALGORITHMS)
        )
    if len(key_id) != KEY_ID_SIZE:
        raise QrPayloadError(f"QR key id must be {KEY_ID_SIZE} bytes, not {len(key_id)}")
    signed = _header(data, draft=False, algorithm=ALGORITHMS[algorithm]) + key_id
    signature = _normalise_signature(algorithm, sign(SIGNING_CONTEXT + signed))
    return signed + signature


def _normalise_signature(algorithm: str, signature: bytes) -> bytes:
    if algorithm == "ecdsa-p256-sha256":
        if len(signature) == 64:
            return signature
        try:
            r, s = decode_dss_signature(signature)
        except ValueError:
            raise QrPayloadError(
                f"the token returned a {len(signature)}-byte ECDSA signature; expected 64 "
                "bytes r||s or DER"
            ) from None
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if len(signature) not in _RSA_SIZES:
        raise QrPayloadError(
            f"the token returned a {len(signature)}-byte RSA signature; expected 256, 384 "
            "or 512 bytes"
        )
    return signature


def parse_qr_payload(payload: bytes) -> QrContent:
    """Read a payload's fields without checking its signature; raise QrPayloadError."""
    reader = _Reader(payload)
    version = reader.byte("version")
    if version != PAYLOAD_VERSION:
        raise QrPayloadError(
            f"QR payload version {version} is unknown to this Origin Desk; update it"
        )
    flags = reader.byte("flags")
    if flags & ~FLAG_DRAFT:
        raise QrPayloadError(f"QR payload has unknown flags {flags:#04x}")
    draft = bool(flags & FLAG_DRAFT)
    alg = reader.byte("algorithm")
    if draft != (alg == ALG_NONE) or not draft and alg not in ALGORITHM_NAMES:
        raise QrPayloadError(f"QR payload has algorithm {alg} with draft flag {draft}")
    number = reader.text("reference number", reader.byte("number length"))
    office = reader.text("office code", reader.byte("office length"))
    iec = reader.text("IEC", 10)
    destination = reader.text("destination country", 2)
    days = int.from_bytes(reader.take("issue date", 2), "big")
    issue_date = None if days == _NO_DATE else _EPOCH + timedelta(days=days)
    digest = reader.take("digest", DIGEST_SIZE)
    if draft:
        key_id, signature = None, b""
        if reader.remaining:
            raise QrPayloadError("QR draft payload has extra bytes after the digest")
        signed_part = payload
    else:
        key_id = reader.take("key id", KEY_ID_SIZE)
        signed_part = payload[: reader.offset]
        signature = reader.take("signature", reader.remaining)
        expected = (64,) if alg == 1 else _RSA_SIZES
        if len(signature) not in expected:
            raise QrPayloadError(
                f"QR payload signature is {len(signature)} bytes; expected "
                + " or ".join(map(str, expected))
            )
    return QrContent(
        version=version,
        draft=draft,
        algorithm=ALGORITHM_NAMES.get(alg),
        reference_number=number,
        office_code=office,
        exporter_iec=iec,
        destination_country=destination,
        issue_date=issue_date,
        digest=digest,
        key_id=key_id,
        signature=signature,
        signed_part=signed_part,
    )


def verify_qr_payload(
    payload: bytes,
    *,
    key_directory: Mapping[bytes, PublicKeyOrCertificate],
    data: CertificateData | None = None,
) -> QrVerification:
    """Check a payload offline against the directory of registered DSC certificates.

    Valid only when the payload parses, is not a draft, names a registered key, its
    signature verifies with that key, and (when ``data`` is given) its digest and fields
    match that data.
    """
    try:
        content = parse_qr_payload(payload)
    except QrPayloadError as exc:
        return QrVerification(False, str(exc))
    if content.draft:
        return QrVerification(False, "draft: this is not an issued certificate", content)
    assert content.key_id is not None and content.algorithm is not None
    entry = key_directory.get(content.key_id)
    if entry is None:
        return QrVerification(
            False,
            f"signed by an unknown key (id {content.key_id.hex()}); sync the key directory "
            "or treat the certificate as not genuine",
            content,
        )
    if isinstance(entry, x509.Certificate):
        if key_id_for_certificate(entry) != content.key_id:
            return QrVerification(False, "key directory entry does not match its key id", content)
        public_key = entry.public_key()
    else:
        public_key = entry
    problem = _check_signature(content, public_key)
    if problem:
        return QrVerification(False, problem, content, entry)
    if data is not None:
        mismatch = _compare(content, data)
        if mismatch:
            return QrVerification(False, mismatch, content, entry)
    return QrVerification(True, "valid", content, entry)


def _check_signature(content: QrContent, public_key: object) -> str:
    message = SIGNING_CONTEXT + content.signed_part
    try:
        if content.algorithm == "ecdsa-p256-sha256":
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
                public_key.curve, ec.SECP256R1
            ):
                return "the signer's key is not an ECDSA P-256 key"
            r = int.from_bytes(content.signature[:32], "big")
            s = int.from_bytes(content.signature[32:], "big")
            public_key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        else:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return "the signer's key is not an RSA key"
            if len(content.signature) != (public_key.key_size + 7) // 8:
                return "the signature's length does not match the signer's RSA key"
            public_key.verify(content.signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "the signature does not match: the QR code was altered or not made by the issuer"
    return ""


def _compare(content: QrContent, data: CertificateData) -> str:
    if content.digest != certificate_digest(data):
        return "the certificate's content differs from what was signed"
    expected = (
        data.reference_number,
        data.issuing_office.code,
        data.exporter.iec,
        data.destination_country,
        data.issue_date,
    )
    got = (
        content.reference_number,
        content.office_code,
        content.exporter_iec,
        content.destination_country,
        content.issue_date,
    )
    if expected != got:
        return "the QR code's certificate number, office, IEC, country or date differ"
    return ""


def payload_mismatch(payload: bytes, data: CertificateData) -> str:
    """What differs between ``payload`` (parsed, its signature not checked) and ``data``;
    "" when the payload names this very certificate (digest and visible fields)."""
    try:
        content = parse_qr_payload(payload)
    except QrPayloadError as exc:
        return str(exc)
    if content.draft:
        return "the QR payload is a draft's"
    return _compare(content, data)


def encode_qr_text(payload: bytes) -> str:
    """The text put in the QR code: ``ECOO:`` + base45, QR alphanumeric mode throughout."""
    return QR_TEXT_PREFIX + b45encode(payload)


_ZBAR_PREFIX = re.compile(r"^QR-Code:")


def decode_qr_text(text: str | bytes) -> bytes:
    """The payload bytes from what a scanner returns (e.g. a line of ``zbarimg`` output)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise QrPayloadError("the scanned QR text is not an Origin Desk code") from None
    text = _ZBAR_PREFIX.sub("", text.rstrip("\r\n"))
    if not text.startswith(QR_TEXT_PREFIX):
        raise QrPayloadError("the scanned QR text is not an Origin Desk certificate code")
    try:
        return b45decode(text[len(QR_TEXT_PREFIX) :])
    except Base45Error as exc:
        raise QrPayloadError(f"the scanned QR text is damaged: {exc}") from None


VERIFY_PATH = "/v/"
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_PUBLIC_BASE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")


def qr_url(public_base: str, payload: bytes) -> str:
    """The QR text of a sealed payload: ``<public base>/v/<base64url payload, no padding>``,
    the public verification page's address (a phone camera opens it)."""
    base = public_base.strip().rstrip("/")
    if not _PUBLIC_BASE.match(base):
        raise QrPayloadError(
            f"the public base URL {public_base!r} is not an http(s) address without query "
            "or fragment, such as https://verify.example.org")
    return base + VERIFY_PATH + base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def payload_from_qr_text(text: str | bytes) -> bytes:
    """The payload bytes of a scanned QR text: the URL form (``https://host/v/<base64url>``)
    or the older ``ECOO:`` + base45 form, each with or without ``zbarimg``'s ``QR-Code:``
    prefix and a trailing line end. Anything else raises QrPayloadError (one line)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise QrPayloadError("the scanned QR text is not an Origin Desk code") from None
    text = _ZBAR_PREFIX.sub("", text.rstrip("\r\n"))
    if text.startswith(QR_TEXT_PREFIX):
        return decode_qr_text(text)
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or VERIFY_PATH not in rest:
        raise QrPayloadError("the scanned QR text is not an Origin Desk certificate code")
    encoded = rest.rsplit(VERIFY_PATH, 1)[1]
    if not _BASE64URL.match(encoded) or len(encoded) % 4 == 1:
        raise QrPayloadError(
            "the scanned QR address is damaged: what follows /v/ is not base64url")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        payload = None
    # one text per payload: unused low bits of the last character must be zero
    if payload is None or base64.urlsafe_b64encode(payload).rstrip(b"=") != encoded.encode():
        raise QrPayloadError(
            "the scanned QR address is damaged: what follows /v/ is not base64url")
    return payload


class _Reader:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.offset = 0

    @property
    def remaining(self) -> int:
        return len(self.payload) - self.offset

    def take(self, name: str, size: int) -> bytes:
        if size > self.remaining:
            raise QrPayloadError(f"QR payload is cut short in the {name}")
        chunk = self.payload[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def byte(self, name: str) -> int:
        return self.take(name, 1)[0]

    def text(self, name: str, size: int) -> str:
        raw = self.take(name, size)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise QrPayloadError(f"QR payload's {name} is not ASCII") from None

