"""Verification by certificate number and by QR code (an image file or a PDF), for the
desk's verify window, its sign-in dialog (no sign-in needed) and ``origin-desk verify``.

Who answers (``docs/MIGRATION.md`` and ``docs/HUB.md``, "Verification in the desk"):

- a store reached through SQL (the embedded demo's SQLite file, or a PostgreSQL store
  through the signed-in officer's own login): :class:`StoreLookup`, every detail
  (``od_certificate_details`` on PostgreSQL, a SECURITY DEFINER function: certificates of
  any office and the certificates migrated from the legacy system);
- the central service (``central_url = "https://..."``): :class:`ServiceLookup`, its public
  verification API (``GET /api/v1/verify``, ``POST /api/v1/verify/qr``, no sign-in, rate
  limited per address). Without a sign-in the service tells what its public page tells:
  status, agency, office, date of issue, superseded by, migrated or not; the exporter,
  consignee and goods are the holder's business and are shown after a sign-in (or, for a
  QR code, the exporter's IEC and the destination it seals);
- a desk on a direct PostgreSQL store before its officer signs in has no login to ask
  with: :class:`OfflineLookup` checks a QR code's seal against the desk's cached seal trust
  list and says that the status needs a sign-in.

Outcomes: ``valid``, ``superseded``, ``cancelled``, ``unknown`` (no such certificate),
``seal_invalid`` (a QR code that is altered, damaged or not sealed by an issuing agency),
``not_checked`` (the status could not be asked). Only ``valid`` is valid.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.errors import UserFacingError

INDIA = ZoneInfo("Asia/Kolkata")
VALID, SUPERSEDED, CANCELLED, UNKNOWN, SEAL_INVALID, NOT_CHECKED = (
    "valid", "superseded", "cancelled", "unknown", "seal_invalid", "not_checked")
MAX_NUMBER = 32
MAX_AGENCY = 16
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
GOODS_SUMMARY_CHARS = 500
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/.\-]*$")
_AGENCY = re.compile(r"^[A-Z0-9][A-Z0-9\-]*$")


class BadVerificationInput(UserFacingError):
    """What was asked cannot be checked: a malformed number, not an image, no QR code, a
    QR code that is not a certificate's. One line; nothing was looked up."""


@dataclass(frozen=True)
class CertificateDetails:
    number: str
    status: str  # valid | superseded | cancelled
    issued_on: dt.date | None
    superseded_by: str | None
    agency_code: str
    agency_name: str
    office_code: str
    office_name: str
    exporter_iec: str = ""
    exporter_name: str = ""
    consignee_name: str = ""
    destination_country: str = ""
    goods_summary: str = ""
    legacy: bool = False  # migrated from the legacy system (eCoO 1.0)
    cancelled_on: dt.date | None = None  # India date (an issued certificate, cancelled)
    cancel_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        value = asdict(self)
        value["issued_on"] = self.issued_on.isoformat() if self.issued_on else None
        value["cancelled_on"] = self.cancelled_on.isoformat() if self.cancelled_on else None
        value["cancel_reason"] = self.cancel_reason or None
        return value


@dataclass(frozen=True)
class QrFinding:
    """What a QR code's seal says."""

    valid: bool | None  # None: not checked
    problem: str = ""
    signer: str = ""  # agency seal | officer's DSC
    number: str = ""
    exporter_iec: str = ""
    destination_country: str = ""
    issue_date: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "problem": self.problem or None,
                "signer": self.signer or None, "number": self.number or None,
                "exporter_iec": self.exporter_iec or None,
                "destination_country": self.destination_country or None,
                "issue_date": self.issue_date.isoformat() if self.issue_date else None}


@dataclass(frozen=True)
class NumberVerification:
    """The answer to "is certificate N valid?" (asked by number or by its QR code)."""

    kind: str  # number | qr
    number: str
    outcome: str
    message: str
    answered_by: str
    certificate: CertificateDetails | None = None
    qr: QrFinding | None = None
    source: str = ""  # the file the QR code was read from
    notes: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return self.outcome == VALID

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``origin-desk verify --number / --qr`` (docs/MIGRATION.md)."""
        return {"kind": self.kind, "number": self.number or None, "outcome": self.outcome,
                "valid": self.valid, "message": self.message,
                "answered_by": self.answered_by, "source": self.source or None,
                "certificate": self.certificate.to_dict() if self.certificate else None,
                "qr": self.qr.to_dict() if self.qr else None, "notes": list(self.notes)}


# --- input ----------------------------------------------------------------------------------

def check_number(number: str | None, agency: str | None = None) -> tuple[str, str]:
    """The number and the agency code asked for ("" when none was), upper case;
    BadVerificationInput (one line) when either is malformed."""
    clean = (number or "").strip().upper()
    if not clean:
        raise BadVerificationInput("Enter the certificate number.")
    if len(clean) > MAX_NUMBER:
        raise BadVerificationInput(f"A certificate number has at most {MAX_NUMBER} characters; "
                                   f"{clean[:40]!r}… is longer.")
    if not _NUMBER.match(clean):
        raise BadVerificationInput(
            f"{clean!r} is not a certificate number: it has only letters, digits and the "
            "characters / - . (for example IGCC/2026/0000123).")
    code = (agency or "").strip().upper()
    if code:
        _check_agency(code)
    return clean, code


def _check_agency(code: str) -> None:
    if len(code) > MAX_AGENCY or not _AGENCY.match(code):
        raise BadVerificationInput(f"{code!r} is not an agency code (letters, digits and -, "
                                   f"at most {MAX_AGENCY} characters, for example IGCC).")


def qr_texts_in_file(path: Path) -> list[str]:
    """The QR texts in an image file (PNG, JPEG, … a photo or a scan) or a certificate PDF;
    BadVerificationInput when the file cannot be read, is neither, or holds no QR code."""
    import zxingcpp
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        if path.is_dir():
            raise BadVerificationInput(f"{path} is a folder, not an image or a PDF.")
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise BadVerificationInput(f"{path} is {size / 1e6:.0f} MB; a QR image or PDF is "
                                       f"read up to {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
        data = path.read_bytes()
    except OSError as exc:
        raise BadVerificationInput(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not data:
        raise BadVerificationInput(f"{path} is empty (0 bytes), not an image.")
    if b"%PDF-" in data[:1024]:
        from app.services.verification import qr_texts_in_pdf

        try:
            texts = qr_texts_in_pdf(data)
        except Exception:  # noqa: BLE001 - a damaged PDF: one line, never a traceback
            raise BadVerificationInput(f"{path} is a PDF whose pages cannot be read.") from None
        if not texts:
            raise BadVerificationInput(f"No QR code found in {path}.")
        return texts
    try:
        with Image.open(io.BytesIO(data)) as opened:  # reads the header only
            width, height = opened.size
            if width * height > MAX_IMAGE_PIXELS:
                raise BadVerificationInput(
                    f"{path} is {width} × {height} pixels; a QR photo or scan is read up to "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels.")
            image = ImageOps.exif_transpose(opened).convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise BadVerificationInput(f"{path} is not an image (PNG or JPEG) or a PDF.") from None
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    if not found and max(image.size) > 2000:  # a large photo: try it smaller too
        small = image.copy()
        small.thumbnail((1600, 1600))
        found = zxingcpp.read_barcodes(small, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = [f.text for f in found if f.text]
    if not texts:
        raise BadVerificationInput(f"No QR code found in {path}.")
    return texts


def payload_of(texts: list[str], source: str) -> tuple[str, bytes]:
    """The QR text that is a certificate's and its payload bytes; BadVerificationInput for
    a QR code that is not ours (a web address elsewhere, a text, a damaged payload)."""
    from app.documents.qr_payload import QrPayloadError
    from app.hub.verify_lookup import decode_payload_text

    problem = ""
    for candidate in texts:
        try:
            return candidate, decode_payload_text(candidate)
        except QrPayloadError as exc:
            problem = str(exc)
    raise BadVerificationInput(f"The QR code in {source} is not an Origin Desk certificate's "
                               f"({problem}).")


# --- the answers ----------------------------------------------------------------------------

def message_for(outcome: str, number: str, details: CertificateDetails | None = None) -> str:
    legacy = " (migrated from the legacy eCoO 1.0 system)" if details and details.legacy else ""
    if outcome == VALID:
        office = f" by {details.office_name}, {details.agency_name}" if details else ""
        return f"Certificate {number}{legacy} was issued{office} and is valid."
    if outcome == SUPERSEDED:
        by = (details.superseded_by if details else "") or "an in-lieu certificate"
        return (f"Certificate {number}{legacy} was replaced by the in-lieu certificate {by}; "
                f"it is no longer valid. Ask for {by}.")
    if outcome == CANCELLED:
        when = (f" on {details.cancelled_on.strftime('%d %b %Y')}"
                if details and details.cancelled_on else "")
        return (f"Certificate {number}{legacy} was cancelled by the issuing agency{when}; it "
                "is not valid.")
    if outcome == UNKNOWN:
        return (f"No certificate {number} from this agency. Check the number as printed on "
                "the certificate; a certificate that cannot be found may be forged.")
    if outcome == SEAL_INVALID:
        return ("This QR code does not verify: it was altered, damaged or not made by an "
                "issuing agency. Do not rely on the certificate it came with.")
    return f"The status of certificate {number} was not checked."


def _answer(kind: str, number: str, details: CertificateDetails | None, agency: str,
            answered_by: str, qr: QrFinding | None = None, source: str = "",
            notes: tuple[str, ...] = ()) -> NumberVerification:
    if details is None or (agency and details.agency_code.upper() != agency.upper()):
        return NumberVerification(kind, number, UNKNOWN, message_for(UNKNOWN, number),
                                  answered_by, None, qr, source, notes)
    outcome = details.status if details.status in (VALID, SUPERSEDED, CANCELLED) else UNKNOWN
    return NumberVerification(kind, details.number, outcome,
                              message_for(outcome, details.number, details), answered_by,
                              details, qr, source, notes)


def _seal_refused(problem: str, source: str, answered_by: str) -> NumberVerification:
    return NumberVerification("qr", "", SEAL_INVALID, message_for(SEAL_INVALID, ""),
                              answered_by, None, QrFinding(False, problem), source)


class Lookup(Protocol):
    answered_by: str

    def by_number(self, number: str, agency: str) -> NumberVerification: ...

    def by_payload(self, qr_text: str, payload: bytes, source: str) -> NumberVerification: ...


def read_certificate_details(session: Session, number: str,
                             functions: bool) -> CertificateDetails | None:
    """A certificate of this store, issued here or migrated from the legacy system (on
    PostgreSQL ``od_certificate_details``, which any desk role, the service and verifier
    logins may call)."""
    if functions:
        row = session.execute(text(
            "SELECT number, status, issued_on, superseded_by, agency_code, agency_name, "
            "office_code, office_name, exporter_iec, exporter_name, consignee_name, "
            "destination_country, goods_summary, legacy, cancelled_on, cancel_reason "
            "FROM od_certificate_details(:n)"), {"n": number}).first()
        return None if row is None else CertificateDetails(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "",
            row[9] or "", row[10] or "", row[11] or "", row[12] or "", bool(row[13]),
            row[14], row[15] or "")
    from app.models import (
        Agency,
        Application,
        AuditEvent,
        Certificate,
        Exporter,
        GoodsLine,
        LegacyCertificate,
        Office,
    )

    found = session.execute(
        select(Certificate, Application, Exporter.iec, Exporter.name, Office.code,
               Office.name, Agency.code, Agency.name)
        .join(Application, Application.id == Certificate.application_id)
        .join(Exporter, Exporter.id == Application.exporter_id)
        .join(Office, Office.id == Certificate.office_id)
        .join(Agency, Agency.id == Office.agency_id)
        .where(Certificate.number == number)).first()
    if found is not None:
        certificate, application, iec, exporter, office_code, office, agency_code, agency = found
        goods = session.execute(select(GoodsLine.description, GoodsLine.hs_code)
                                .where(GoodsLine.application_id == application.id)
                                .order_by(GoodsLine.item_no)).all()
        lines = dict.fromkeys(f"{d} (HS {h})" for d, h in goods)  # each once, in order
        summary = "; ".join(lines)[:GOODS_SUMMARY_CHARS]
        issued = certificate.issued_at
        cancelled_on, reason = None, ""
        if certificate.status == "cancelled":
            reason = certificate.cancel_reason or ""
            at = session.scalar(select(func.max(AuditEvent.at)).where(
                AuditEvent.action == "certificate.cancelled",
                AuditEvent.entity_type == "certificate",
                AuditEvent.entity_id == certificate.id))
            cancelled_on = at.astimezone(INDIA).date() if at else None
        return CertificateDetails(
            certificate.number, str(certificate.status),
            issued.astimezone(INDIA).date() if issued else None,
            certificate.superseded_by_number, agency_code, agency, office_code, office, iec,
            exporter, application.consignee_name, application.destination_country, summary,
            False, cancelled_on, reason)
    found = session.execute(
        select(LegacyCertificate, Office.code, Office.name, Agency.code, Agency.name)
        .join(Office, Office.id == LegacyCertificate.office_id)
        .join(Agency, Agency.id == Office.agency_id)
        .where(LegacyCertificate.number == number)).first()
    if found is None:
        return None
    legacy, office_code, office, agency_code, agency = found
    return CertificateDetails(
        legacy.number, legacy.status, legacy.issued_on, legacy.superseded_by, agency_code,
        agency, office_code, office, legacy.exporter_iec, legacy.exporter_name,
        legacy.consignee_name, legacy.destination_country,
        legacy.goods_summary[:GOODS_SUMMARY_CHARS], True)


class StoreLookup:
    """Look-ups in a store reached through SQL: every detail."""

    def __init__(self, engine: Engine, config: Any, answered_by: str = "") -> None:
        from app.services.central import SqlCentral

        self.central = SqlCentral(engine, config)
        self.functions = engine.dialect.name == "postgresql"
        self.answered_by = answered_by or (
            "the embedded demo store" if engine.dialect.name == "sqlite"
            else "the central store (your login)")

    def details(self, number: str) -> CertificateDetails | None:
        from app.hub.database import acting_for

        with acting_for(None), self.central.sessions() as session:
            return read_certificate_details(session, number, self.functions)

    def by_number(self, number: str, agency: str) -> NumberVerification:
        return _answer("number", number, self.details(number), agency, self.answered_by)

    def _seal(self, payload: bytes) -> Any:
        """The seal check (hub's ``check_seal``: the seals and DSCs in the store); for a
        login that may not read the seals (an officer's or a verifier's own PostgreSQL
        login) against the desk's seal trust list and the registered DSCs instead; a str
        says why it could not be checked."""
        from sqlalchemy.exc import DBAPIError

        from app.hub.verify_lookup import check_seal

        try:
            return check_seal(self.central, payload)  # type: ignore[arg-type]
        except DBAPIError:
            return self._seal_as_login(payload)

    def _seal_as_login(self, payload: bytes) -> Any:
        from sqlalchemy.exc import DBAPIError

        from app.documents.qr_payload import QrPayloadError, parse_qr_payload, verify_qr_payload
        from app.hub.verify_lookup import SealCheck
        from app.services.seals import verify_sealed_payload
        from app.services.verification import seal_trust_list_for

        try:
            content = parse_qr_payload(payload)
        except QrPayloadError as exc:
            return SealCheck(False, str(exc))
        if content.draft or content.key_id is None:
            return SealCheck(False, "this is a draft's QR code, not an issued certificate's")
        trust = seal_trust_list_for(self.central, self.central.config)
        seal = trust.by_key_id(content.key_id) if trust else None
        if seal is not None:
            result = verify_sealed_payload(payload, trust)
            signer, agency = "agency seal", seal.agency
        else:
            try:
                directory = self.central.verification_material().key_directory
            except (DBAPIError, UserFacingError):
                directory = None  # a verifier's login reads no registration
            dsc = (directory or {}).get(content.key_id)
            if dsc is None:
                if trust is None or directory is None:
                    return ("this login cannot read the agencies' seals and this desk has no "
                            "cached seal trust list (a desk caches it from the central "
                            "service or a store that publishes it)")
                return SealCheck(False, "it is sealed with a key that is in no agency's "
                                 "trust list")
            result = verify_qr_payload(payload, key_directory={content.key_id: dsc})
            signer, agency = "officer's DSC", ""
        if not result.valid:
            return SealCheck(False, result.reason)
        return SealCheck(True, "", signer=signer, agency_code=agency, content=content)

    def by_payload(self, qr_text: str, payload: bytes, source: str) -> NumberVerification:
        seal = self._seal(payload)
        if isinstance(seal, str):
            from app.documents.qr_payload import parse_qr_payload

            number = parse_qr_payload(payload).reference_number
            return NumberVerification(
                "qr", number, NOT_CHECKED, f"The QR code names certificate {number}; its "
                f"seal was not checked: {seal}. Verify it by number instead.",
                self.answered_by, qr=QrFinding(None, seal, number=number), source=source)
        if not seal.valid or seal.content is None:
            return _seal_refused(seal.problem, source, self.answered_by)
        content = seal.content
        finding = QrFinding(True, "", seal.signer, content.reference_number,
                            content.exporter_iec, content.destination_country,
                            content.issue_date)
        return _answer("qr", content.reference_number, self.details(content.reference_number),
                       seal.agency_code, self.answered_by, finding, source)


class ServiceLookup:
    """The central service's public verification API (no sign-in)."""

    def __init__(self, link: Any) -> None:
        self.link = link  # HttpCentral: its transport, TLS trust and errors
        self.answered_by = f"the central service at {link.base_url}"

    def _public(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call of the public verification API: no credentials sent (``signed=False``)."""
        from app.services.central_wire import mapping

        return mapping(self.link._json(method, path, signed=False, **kwargs), "verdict")

    @staticmethod
    def _details(answer: dict[str, Any]) -> CertificateDetails | None:
        if not answer.get("found"):
            return None
        issued = answer.get("issue_date")
        return CertificateDetails(
            str(answer.get("number") or ""), str(answer.get("outcome") or ""),
            dt.date.fromisoformat(issued) if issued else None, answer.get("superseded_by"),
            str(answer.get("agency_code") or ""), str(answer.get("agency_name") or ""),
            str(answer.get("office_code") or ""), str(answer.get("office_name") or ""),
            legacy=bool(answer.get("legacy")))

    def by_number(self, number: str, agency: str) -> NumberVerification:
        # the public API answers for a number together with its agency: the one asked for,
        # else the number's first part (this store's numbers: IGCC/2026/0000123)
        asked = bool(agency)
        agency = agency or number.split("/", 1)[0]
        try:
            _check_agency(agency)
        except BadVerificationInput:
            raise BadVerificationInput(
                f"Name the issuing agency's code for {number} (its first part is not one); "
                "the central service answers for a number together with its agency.") from None
        answer = self._public("GET", "/api/v1/verify",
                              params={"number": number, "agency": agency})
        notes: tuple[str, ...] = ("The exporter, consignee and goods are shown after you "
                                  "sign in.",)
        if not asked and not answer.get("found"):
            notes = (f"Asked with the agency code {agency}, the number's first part; for a "
                     "number that begins otherwise (a legacy certificate's), name the "
                     "issuing agency.",)
        return _answer("number", number, self._details(answer), agency, self.answered_by,
                       notes=notes)

    def by_payload(self, qr_text: str, payload: bytes, source: str) -> NumberVerification:
        import base64

        answer = self._public("POST", "/api/v1/verify/qr", body={
            "payload": base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")})
        seal = answer.get("seal") or {}
        if not seal.get("valid"):
            return _seal_refused(str(seal.get("problem") or "the seal does not verify"),
                                 source, self.answered_by)
        sealed = seal.get("sealed") or {}
        issue = sealed.get("issue_date")
        finding = QrFinding(True, "", str(seal.get("signer") or ""),
                            str(sealed.get("number") or ""),
                            str(sealed.get("exporter_iec") or ""),
                            str(sealed.get("destination_country") or ""),
                            dt.date.fromisoformat(issue) if issue else None)
        return _answer("qr", finding.number, self._details(answer), "", self.answered_by,
                       finding, source)


class OfflineLookup:
    """No store to ask (a desk on a direct PostgreSQL store before sign-in, or offline): a
    QR code's seal is checked against the desk's cached seal trust list."""

    def __init__(self, config: Any, reason: str) -> None:
        self.config = config
        self.reason = reason
        self.answered_by = "this desk alone (its cached seal trust list)"

    def by_number(self, number: str, agency: str) -> NumberVerification:
        return NumberVerification("number", number, NOT_CHECKED,
                                  f"The status of certificate {number} was not checked: "
                                  f"{self.reason}.", self.answered_by)

    def by_payload(self, qr_text: str, payload: bytes, source: str) -> NumberVerification:
        from app.documents.qr_payload import QrPayloadError, parse_qr_payload
        from app.services.seals import (
            TrustListError,
            load_cached_trust_list,
            verify_sealed_payload,
        )

        try:
            content = parse_qr_payload(payload)
        except QrPayloadError as exc:
            return _seal_refused(str(exc), source, self.answered_by)
        try:
            trust = load_cached_trust_list(self.config)
        except TrustListError:
            trust = None
        if trust is None or content.key_id is None or trust.by_key_id(content.key_id) is None:
            return NumberVerification(
                "qr", content.reference_number, NOT_CHECKED,
                f"The QR code names certificate {content.reference_number}; its seal and "
                f"status were not checked: {self.reason}, and the seal is not in this desk's "
                "cached trust list.", self.answered_by,
                qr=QrFinding(None, "not in the cached seal trust list",
                             number=content.reference_number), source=source)
        result = verify_sealed_payload(payload, trust)
        if not result.valid:
            return _seal_refused(result.reason, source, self.answered_by)
        finding = QrFinding(True, "", "agency seal", content.reference_number,
                            content.exporter_iec, content.destination_country,
                            content.issue_date)
        return NumberVerification(
            "qr", content.reference_number, NOT_CHECKED,
            f"The QR code's seal verifies (certificate {content.reference_number}); its status "
            f"was not checked: {self.reason}.", self.answered_by, qr=finding, source=source)


def lookup_for(central: Any, config: Any, reason: str = "") -> Lookup:
    """The look-up that goes with a desk's central interface (None: offline)."""
    engine = getattr(central, "engine", None)
    if isinstance(engine, Engine):
        return StoreLookup(engine, config)
    if central is not None and hasattr(central, "base_url") and hasattr(central, "_json"):
        return ServiceLookup(central)
    return OfflineLookup(config, reason or "this desk cannot reach the central store")


def public_lookup(config: Any, engine: Engine | None = None) -> Lookup:
    """The look-up that needs no sign-in (the sign-in dialog's and the CLI's): the embedded
    demo's store, the central service's public API, or, on a direct PostgreSQL store, the
    cached seal trust list alone (the status needs an officer's login)."""
    if config.is_embedded:
        if engine is None:
            from app.store.central import central_engine

            engine = central_engine(config)
        return StoreLookup(engine, config)
    if config.central_url.lower().startswith("https://"):
        from app.services.central_http import HttpCentral

        return ServiceLookup(HttpCentral(config.central_url, ca_file=config.central_ca_file))
    return OfflineLookup(config, "this desk reaches the central database through an "
                         "officer's own login: sign in to look certificates up")


def verify_number(lookup: Lookup, number: str, agency: str | None = None) -> NumberVerification:
    clean, code = check_number(number, agency)
    return lookup.by_number(clean, code)


def verify_qr_file(lookup: Lookup, path: Path) -> NumberVerification:
    qr_text, payload = payload_of(qr_texts_in_file(path), str(path))
    return lookup.by_payload(qr_text, payload, str(path))
