"""The public verification's answer, the same for the page and the JSON API: by certificate
number and agency code, or from a QR code's sealed payload.

The service looks certificates up as itself (``acting_for(None)``; on PostgreSQL through
``od_certificate_status``, granted to ``origin_desk_hub``). A number is found only together
with the agency that issued it: another agency's code is "unknown", exactly like a number
that does not exist, so the answer tells nothing about other agencies' numbers.

A QR payload is checked offline-style first (it parses, is not a draft, names a key of the
trust list: an agency seal, or the registered DSC of an issuing officer for certificates
from before the seal; its signature verifies), and only then is the certificate's status
looked up; a payload that does not verify reveals nothing from the store.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.qr_payload import (
    QrContent,
    QrPayloadError,
    parse_qr_payload,
    payload_from_qr_text,
    verify_qr_payload,
)
from app.hub.database import acting_for
from app.services.central import CertificateStatusInfo, SqlCentral

INDIA = ZoneInfo("Asia/Kolkata")
MAX_NUMBER = 32
MAX_AGENCY = 16
MAX_PAYLOAD_TEXT = 1400  # base64url of the largest payload (RSA-4096) with room to spare
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/.\-]*$")
_AGENCY = re.compile(r"^[A-Z0-9][A-Z0-9\-]*$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")

# outcomes (also the metric's labels)
VALID, SUPERSEDED, CANCELLED, UNKNOWN, NOT_VERIFIED = (
    "valid", "superseded", "cancelled", "unknown", "seal_invalid")


@dataclass(frozen=True)
class Problem:
    field: str  # number | agency | captcha | payload
    message: str


def check_query(number: str | None, agency: str | None) -> tuple[str, str, list[Problem]]:
    """Normalised number and agency code, and one problem per field that is wrong."""
    number = (number or "").strip().upper()
    agency = (agency or "").strip().upper()
    problems: list[Problem] = []
    if not number:
        problems.append(Problem("number", "Enter the certificate number."))
    elif len(number) > MAX_NUMBER:
        problems.append(Problem("number", f"A certificate number has at most {MAX_NUMBER} "
                                "characters."))
    elif not _NUMBER.match(number):
        problems.append(Problem("number", "A certificate number has only letters, digits and "
                                "the characters / - . (for example IGCC/2026/0000123)."))
    if not agency:
        problems.append(Problem("agency", "Enter the issuing agency's code."))
    elif len(agency) > MAX_AGENCY:
        problems.append(Problem("agency", f"An agency code has at most {MAX_AGENCY} "
                                "characters."))
    elif not _AGENCY.match(agency):
        problems.append(Problem("agency", "An agency code has only letters, digits and - "
                                "(for example IGCC)."))
    return number, agency, problems


@dataclass(frozen=True)
class SealCheck:
    """What the QR payload says and whether its seal verifies."""

    valid: bool
    problem: str  # "" when valid
    signer: str = ""  # "agency seal" | "officer's DSC"
    agency_code: str = ""  # the sealing agency (seal) or the certificate's (DSC)
    content: QrContent | None = None


@dataclass(frozen=True)
class Answer:
    outcome: str  # valid | superseded | cancelled | unknown | seal_invalid
    number: str
    agency_code: str
    agency_name: str = ""
    office_name: str = ""
    issued_at: dt.datetime | None = None
    superseded_by: str | None = None
    seal: SealCheck | None = None
    checked_at: dt.datetime | None = None
    legacy: bool = False  # migrated from the legacy system (eCoO 1.0): revision 0013

    @property
    def found(self) -> bool:
        return self.outcome in (VALID, SUPERSEDED, CANCELLED)

    @property
    def issue_date(self) -> dt.date | None:
        return self.issued_at.astimezone(INDIA).date() if self.issued_at else None

    @property
    def message(self) -> str:
        """One sentence for people, the same on the page and in the JSON."""
        if self.legacy and self.outcome in (VALID, SUPERSEDED, CANCELLED):
            return _legacy_message(self)
        if self.outcome == VALID:
            return (f"Certificate {self.number} was issued by {self.agency_name} and is "
                    "valid.")
        if self.outcome == SUPERSEDED:
            by = self.superseded_by or "an in-lieu certificate"
            return (f"Certificate {self.number} was replaced by the in-lieu certificate "
                    f"{by}; it is no longer valid. Ask for {by}.")
        if self.outcome == CANCELLED:
            return f"Certificate {self.number} was cancelled by the issuing agency; it is " \
                   "not valid."
        if self.outcome == NOT_VERIFIED:
            return ("This QR code does not verify: it was altered, damaged or not made by an "
                    "issuing agency. Do not rely on the certificate it came with.")
        return ("No certificate with this number from this agency. Check the number and "
                "the agency code as printed on the certificate; a certificate that cannot "
                "be found here may be forged.")


def _legacy_message(answer: Answer) -> str:
    issued = (f"Certificate {answer.number} was issued by {answer.agency_name} on the legacy "
              "eCoO 1.0 system and migrated here")
    if answer.outcome == VALID:
        return f"{issued}; it is valid."
    if answer.outcome == SUPERSEDED:
        by = answer.superseded_by or "another certificate"
        return f"{issued}; it was replaced by {by} and is no longer valid. Ask for {by}."
    return f"{issued}; it was cancelled and is not valid."


def _legacy_status(central: SqlCentral, number: str) -> CertificateStatusInfo | None:
    """A certificate migrated from the legacy system (revision 0013), as a status (its
    legacy status, issued at midnight in India); None for any other number."""
    from app.services.certificate_lookup import read_certificate_details

    with acting_for(None), central.sessions() as session:
        details = read_certificate_details(session, number, central.uses_functions)
    if details is None or not details.legacy:
        return None
    issued = (dt.datetime.combine(details.issued_on, dt.time(), tzinfo=INDIA)
              if details.issued_on else None)
    return CertificateStatusInfo(
        number=details.number, status=details.status, issued_at=issued,
        superseded_by=details.superseded_by, agency_code=details.agency_code,
        agency_name=details.agency_name, office_name=details.office_name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _from_status(info: CertificateStatusInfo | None, number: str, agency: str,
                 seal: SealCheck | None = None, legacy: bool = False) -> Answer:
    if info is None or info.agency_code.upper() != agency.upper():
        return Answer(UNKNOWN, number, agency, seal=seal, checked_at=_now())
    outcome = info.status if info.status in (VALID, SUPERSEDED, CANCELLED) else UNKNOWN
    return Answer(outcome, info.number, info.agency_code, agency_name=info.agency_name,
                  office_name=info.office_name, issued_at=info.issued_at,
                  superseded_by=info.superseded_by if outcome == SUPERSEDED else None,
                  seal=seal, checked_at=_now(), legacy=legacy)


def look_up(central: SqlCentral, number: str, agency: str) -> Answer:
    """The answer for a checked number and agency code (see :func:`check_query`)."""
    with acting_for(None):
        info = central.certificate_status(number=number)
    # a migrated certificate: PostgreSQL's od_certificate_status finds it too (0013)
    legacy = _legacy_status(central, number)
    return _from_status(legacy or info, number, agency, legacy=legacy is not None)


# --- QR payloads ---------------------------------------------------------------------------

def decode_payload_text(text: str) -> bytes:
    """The payload bytes of what follows ``/v/`` (base64url, no padding), or of a whole
    scanned QR text (the URL or the older ``ECOO:`` form); QrPayloadError otherwise."""
    text = (text or "").strip()
    if len(text) > MAX_PAYLOAD_TEXT:
        raise QrPayloadError("the QR payload is longer than any certificate's")
    if text.upper().startswith(("ECOO:", "QR-CODE:")) or "://" in text:
        return payload_from_qr_text(text)  # a whole scanned QR text
    if not text or not _BASE64URL.match(text) or len(text) % 4 == 1:
        raise QrPayloadError("the QR address is damaged: what follows /v/ is not base64url")
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise QrPayloadError("the QR address is damaged: what follows /v/ is not "
                             "base64url") from None
    # one text per payload: the unused low bits of the last character must be zero
    if base64.urlsafe_b64encode(payload).rstrip(b"=") != text.encode("ascii"):
        raise QrPayloadError("the QR address is damaged: what follows /v/ is not base64url")
    return payload


def check_seal(central: SqlCentral, payload: bytes) -> SealCheck:
    """Whether ``payload`` verifies against the trust list in the store: an agency seal
    (``app.services.seals.verify_sealed_payload``), or, for certificates signed before
    their agency had a seal, the registered DSC of an issuing officer."""
    from app.services.seals import TrustList, list_seals, verify_sealed_payload

    try:
        content = parse_qr_payload(payload)
    except QrPayloadError as exc:
        return SealCheck(False, str(exc))
    if content.draft or content.key_id is None:
        return SealCheck(False, "this is a draft's QR code, not an issued certificate's")
    with acting_for(None), central.sessions() as session:
        trust = TrustList(tuple(list_seals(session)))
        seal = trust.by_key_id(content.key_id)
        dsc = None if seal is not None else _officer_dsc(session, content.key_id)
    if seal is not None:
        result = verify_sealed_payload(payload, trust)
        signer, agency = "agency seal", seal.agency
    elif dsc is not None:
        result = verify_qr_payload(payload, key_directory={content.key_id: dsc})
        signer, agency = "officer's DSC", ""
    else:
        return SealCheck(False, "it is sealed with a key that is in no agency's trust list")
    if not result.valid:
        return SealCheck(False, result.reason)
    return SealCheck(True, "", signer=signer, agency_code=agency, content=content)


def _officer_dsc(session: Session, key_id: bytes) -> x509.Certificate | None:
    from app.models import DscRegistration

    der = session.scalar(select(DscRegistration.certificate_der)
                         .where(DscRegistration.key_id == key_id.hex()))
    try:
        return x509.load_der_x509_certificate(der) if der is not None else None
    except ValueError:
        return None


def look_up_payload(central: SqlCentral, payload: bytes) -> Answer:
    """The answer for a QR payload: its seal, then (when it verifies) the status of the
    certificate it names, which must belong to the sealing agency."""
    seal = check_seal(central, payload)
    if not seal.valid or seal.content is None:
        return Answer(NOT_VERIFIED, "", "", seal=seal, checked_at=_now())
    number = seal.content.reference_number
    with acting_for(None):
        info = central.certificate_status(number=number)
    agency = seal.agency_code or (info.agency_code if info is not None else "")
    return _from_status(info, number, agency, seal)
