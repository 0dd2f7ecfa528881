"""The agency seals in the central store, their published trust list, and checking a
sealed QR payload against it.

- :func:`create_seal`: a new seal for an agency: the key pair generated on the seal
  token (:class:`~app.signing.seal.Sealer`), its certificate, a row in ``agency_seals``;
  the agency's previous seals are retired (they stay listed, so that certificates sealed
  with them keep verifying).
- :func:`seal_trust_list` (``session -> dict``): the JSON document of every seal, which the
  central service publishes at ``/.well-known/origin-desk/seals.json``.
- :func:`read_trust_list`: such a document checked (a bad one raises
  :class:`TrustListError`, one line naming the field); :func:`cache_trust_list` /
  :func:`load_cached_trust_list` keep the last one a desk saw in
  ``<trust folder>/seals.json`` for offline verification.
- :func:`verify_sealed_payload`: a QR payload checked offline against a trust list.
- :func:`seal_reservation`: the QR payload and URL of a reserved certificate, sealed.

The trust list document (format ``origin-desk/seal-trust-list/1``)::

    {"format": "origin-desk/seal-trust-list/1",
     "generated_at": "2026-11-30T10:00:00Z",
     "seals": [{"agency": "IGCC", "agency_name": "Indo-Gulf Chamber of Commerce",
                "key_id": "9f3c0a1b2c3d4e5f",          # SHA-256(certificate DER)[:8], hex
                "certificate": "MIIB...",                # base64 of the DER certificate
                "created_at": "2026-11-30T09:58:12Z",
                "retired_at": null}]}                    # or when a newer seal replaced it

Readers ignore members they do not know (later versions may add some); a different
``format`` is refused. The document is not signed: desks fetch it from the central store
(directly or over HTTPS from the service) and cache it; what they trust is that copy.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from app.documents.qr_payload import (
    QrPayloadError,
    QrVerification,
    build_qr_payload,
    key_id_for_certificate,
    parse_qr_payload,
    qr_url,
    verify_qr_payload,
)
from app.errors import UserFacingError
from app.models import Agency, AuditEvent
from app.signing.seal import SEAL_ALGORITHM, Sealer
from app.store.hub_tables import agency_seals

log = logging.getLogger(__name__)
# where the central service publishes the trust list (no sign-in needed)
TRUST_LIST_PATH = "/.well-known/origin-desk/seals.json"

TRUST_LIST_FORMAT = "origin-desk/seal-trust-list/1"
TRUST_LIST_FILE = "seals.json"
MAX_TRUST_LIST_BYTES = 1024 * 1024
_HEX_KEY_ID = re.compile(r"^[0-9a-fA-F]{16}$")


class TrustListError(UserFacingError):
    """A seal trust list cannot be used; the one-line message names the field."""


@dataclass(frozen=True)
class TrustedSeal:
    agency: str
    agency_name: str
    key_id: bytes
    certificate_der: bytes
    created_at: dt.datetime
    retired_at: dt.datetime | None

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_der)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "agency_name": self.agency_name,
            "key_id": self.key_id.hex(),
            "certificate": base64.b64encode(self.certificate_der).decode("ascii"),
            "created_at": _iso(self.created_at),
            "retired_at": _iso(self.retired_at) if self.retired_at else None,
        }


@dataclass(frozen=True)
class TrustList:
    seals: tuple[TrustedSeal, ...]
    generated_at: dt.datetime | None = None

    def by_key_id(self, key_id: bytes) -> TrustedSeal | None:
        for seal in self.seals:
            if seal.key_id == key_id:
                return seal
        return None

    def key_directory(self) -> dict[bytes, x509.Certificate]:
        """key id -> seal certificate, as ``verify_qr_payload`` takes it."""
        return {seal.key_id: seal.certificate for seal in self.seals}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TRUST_LIST_FORMAT,
            "generated_at": _iso(self.generated_at or dt.datetime.now(dt.UTC)),
            "seals": [seal.to_dict() for seal in self.seals],
        }


def _iso(moment: dt.datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the store -------------------------------------------------------------------------------


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def list_seals(session: Session) -> list[TrustedSeal]:
    """Every seal in the store (retired ones too), by agency and age."""
    rows = session.execute(
        select(Agency.code, Agency.name, agency_seals.c.key_id, agency_seals.c.certificate,
               agency_seals.c.created_at, agency_seals.c.retired_at)
        .join(Agency, Agency.id == agency_seals.c.agency_id)
        .order_by(Agency.code, agency_seals.c.created_at, agency_seals.c.id)
    ).all()
    return [TrustedSeal(r.code, r.name, bytes(r.key_id), bytes(r.certificate),
                        _aware(r.created_at), _aware(r.retired_at)) for r in rows]


def seal_trust_list(session: Session) -> dict[str, Any]:
    """The trust list document of every seal in the store (see the module doc)."""
    return TrustList(tuple(list_seals(session)), dt.datetime.now(dt.UTC)).to_dict()


def create_seal(engine: Engine, sealer: Sealer, agency_code: str, *,
                actor: str = "origin-desk seal create",
                now: dt.datetime | None = None) -> TrustedSeal:
    """A new seal for the agency (see the module doc), recorded in its own transaction.

    The key is made on the token first; if the store refuses the row, the key is removed
    from the token again, so that no seal seals that the trust list does not name.
    """
    code = agency_code.strip().upper()
    with Session(engine) as session:
        agency = session.execute(select(Agency.id, Agency.name)
                                 .where(Agency.code == code)).first()
    if agency is None:
        raise UserFacingError(f"There is no agency with code {code!r} in the central store.")
    key = sealer.generate(code, agency.name, now)
    created = key.created_at
    try:
        with Session(engine) as session, session.begin():
            session.execute(update(agency_seals).where(
                agency_seals.c.agency_id == agency.id, agency_seals.c.retired_at.is_(None)
            ).values(retired_at=created))
            seal_id = session.execute(insert(agency_seals).values(
                agency_id=agency.id, key_id=key.key_id, certificate=key.certificate_der,
                key_label=key.label, created_at=created, retired_at=None,
            )).inserted_primary_key[0]
            session.execute(insert(AuditEvent.__table__).values(
                at=created, actor_id=None, actor_label=actor[:200], action="seal.created",
                entity_type="agency_seal", entity_id=int(seal_id), before=None,
                after={"agency": code, "key_id": key.key_id.hex(), "key_label": key.label},
                note=""))
    except BaseException:
        try:
            sealer.delete(key.label)
        except Exception:  # the first error is the one to report
            log.exception("could not remove the unrecorded seal %s from the token", key.label)
        raise
    log.info("seal %s (key id %s) created for agency %s", key.label, key.key_id.hex(), code)
    return TrustedSeal(code, agency.name, key.key_id, key.certificate_der, created, None)


# --- reading a trust list --------------------------------------------------------------------


def read_trust_list(document: Mapping[str, Any] | str | bytes) -> TrustList:
    """Check a trust list document (a dict, or its JSON text); raise TrustListError."""
    if isinstance(document, str | bytes):
        if len(document) > MAX_TRUST_LIST_BYTES:
            raise TrustListError(f"seal trust list: larger than {MAX_TRUST_LIST_BYTES} bytes")
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TrustListError(f"seal trust list: not JSON ({exc})") from None
    if not isinstance(document, Mapping):
        raise TrustListError("seal trust list: expected a JSON object")
    form = document.get("format")
    if form != TRUST_LIST_FORMAT:
        if isinstance(form, str) and form.startswith("origin-desk/seal-trust-list/"):
            raise TrustListError(f"seal trust list: format {form} is unknown to this Origin "
                                 "Desk; update it")
        raise TrustListError(f"seal trust list: format: expected {TRUST_LIST_FORMAT!r}, "
                             f"not {form!r}")
    generated = document.get("generated_at")
    generated_at = _moment("generated_at", generated) if generated is not None else None
    entries = document.get("seals")
    if not isinstance(entries, list):
        raise TrustListError("seal trust list: seals: expected a list")
    seals: list[TrustedSeal] = []
    seen: set[bytes] = set()
    for index, entry in enumerate(entries):
        seal = _entry(f"seals[{index}]", entry)
        if seal.key_id in seen:
            raise TrustListError(f"seal trust list: seals[{index}].key_id: "
                                 f"{seal.key_id.hex()} is listed twice")
        seen.add(seal.key_id)
        seals.append(seal)
    return TrustList(tuple(seals), generated_at)


def _fail(where: str, problem: str) -> TrustListError:
    return TrustListError(f"seal trust list: {where}: {problem}")


def _moment(where: str, value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise _fail(where, "expected a date and time such as 2026-11-30T10:00:00Z")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(where, f"{value!r} is not a date and time such as "
                    "2026-11-30T10:00:00Z") from None
    if moment.tzinfo is None:
        raise _fail(where, f"{value!r} has no time zone (end it with Z)")
    return moment.astimezone(dt.UTC)


def _entry(where: str, entry: object) -> TrustedSeal:
    if not isinstance(entry, Mapping):
        raise _fail(where, "expected an object")
    agency = entry.get("agency")
    if not isinstance(agency, str) or not agency.strip():
        raise _fail(f"{where}.agency", "expected the agency's code")
    name = entry.get("agency_name", "")
    if not isinstance(name, str):
        raise _fail(f"{where}.agency_name", "expected text")
    key_hex = entry.get("key_id")
    if not isinstance(key_hex, str) or not _HEX_KEY_ID.match(key_hex):
        raise _fail(f"{where}.key_id", "expected 16 hexadecimal digits")
    encoded = entry.get("certificate")
    if not isinstance(encoded, str):
        raise _fail(f"{where}.certificate", "expected base64 of a DER certificate")
    try:
        der = base64.b64decode(encoded, validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise _fail(f"{where}.certificate", "is not base64 of a DER X.509 certificate") from None
    key_id = bytes.fromhex(key_hex)
    if key_id_for_certificate(der) != key_id:
        raise _fail(f"{where}.key_id", "does not match the certificate (the first 8 bytes "
                    "of SHA-256 of its DER)")
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve,
                                                                           ec.SECP256R1):
        raise _fail(f"{where}.certificate", "is not an ECDSA P-256 seal certificate")
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError):
        raise _fail(f"{where}.certificate", "its self-signature does not verify") from None
    created = _moment(f"{where}.created_at", entry.get("created_at"))
    retired_raw = entry.get("retired_at")
    retired = None if retired_raw is None else _moment(f"{where}.retired_at", retired_raw)
    return TrustedSeal(agency.strip().upper(), name, key_id, der, created, retired)


# --- the desk's cached copy ----------------------------------------------------------------


def trust_list_path(config: Any) -> Path:
    return Path(config.trust_path) / TRUST_LIST_FILE


def cache_trust_list(config: Any, document: Mapping[str, Any] | TrustList) -> Path:
    """Keep ``document`` (checked first) as the desk's copy for offline verification."""
    data = document.to_dict() if isinstance(document, TrustList) else dict(document)
    read_trust_list(data)
    path = trust_list_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1, sort_keys=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)  # readers never see half a file
    return path


def load_cached_trust_list(config: Any) -> TrustList | None:
    """The desk's cached trust list; None when it has none yet. A damaged copy raises
    TrustListError (naming the file)."""
    path = trust_list_path(config)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TrustListError(f"The cached seal trust list {path} cannot be read: "
                             f"{exc.strerror or exc}.") from None
    try:
        return read_trust_list(raw)
    except TrustListError as exc:
        raise TrustListError(f"{path}: {exc}") from None


# --- checking a sealed payload ---------------------------------------------------------------


def verify_sealed_payload(payload: bytes, trust_list: TrustList | Mapping[str, Any],
                          data: Any = None) -> QrVerification:
    """Check a QR payload offline against a seal trust list (and, given ``data``, that it
    names that certificate). Valid only when the payload parses, its key id is a seal of
    the list, the seal verifies, the certificate number belongs to the seal's agency, and
    the issue date is not after the seal was retired."""
    trust = trust_list if isinstance(trust_list, TrustList) else read_trust_list(trust_list)
    try:
        content = parse_qr_payload(payload)
    except QrPayloadError as exc:
        return QrVerification(False, str(exc))
    if content.draft or content.key_id is None:
        return QrVerification(False, "draft: this is not an issued certificate", content)
    seal = trust.by_key_id(content.key_id)
    if seal is None:
        return QrVerification(
            False, f"sealed by an unknown key (id {content.key_id.hex()}): no agency seal in "
            "the trust list has it; refresh the trust list, or treat the certificate as not "
            "genuine", content)
    result = verify_qr_payload(payload, key_directory={seal.key_id: seal.certificate},
                               data=data)
    if not result.valid:
        return result
    number_agency = content.reference_number.split("/", 1)[0].upper()
    if number_agency != seal.agency:
        return QrVerification(False, f"certificate {content.reference_number} is not "
                              f"numbered by {seal.agency}, whose seal this is", content,
                              result.signer)
    if seal.retired_at is not None and content.issue_date is not None and (
            content.issue_date > (seal.retired_at + dt.timedelta(days=1)).date()):
        return QrVerification(False, f"sealed with {seal.agency}'s seal retired on "
                              f"{seal.retired_at:%Y-%m-%d}, after its retirement", content,
                              result.signer)
    return result


# --- sealing at reservation ------------------------------------------------------------------


def agency_of_number(number: str) -> str:
    """The agency code of a certificate number ``AGENCY/YEAR/SERIAL``."""
    code = number.split("/", 1)[0].strip().upper()
    if not code or "/" not in number:
        raise UserFacingError(f"Certificate number {number!r} does not name its agency.")
    return code


def seal_reservation(sealer: Sealer, reservation: Any) -> Any:
    """``reservation`` with its QR payload sealed by its agency's current seal and the QR
    text (the verification URL) set."""
    signer = sealer.qr_signer(agency_of_number(reservation.number))
    payload = build_qr_payload(reservation.data, key_id=signer.key_id, sign=signer.sign,
                               algorithm=SEAL_ALGORITHM)
    return replace(reservation, qr_payload=payload,
                   qr_text=qr_url(sealer.public_base_url, payload))
