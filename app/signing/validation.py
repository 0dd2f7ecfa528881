"""Is a signed certificate PDF genuine and unchanged?

:func:`validate_pdf` checks every signature in the file with pyHanko (offline: no fetching):

* **intact**: the signed bytes still hash to the signed digest and the signature verifies;
* **trusted**: the signer's certificate chains (with the certificates embedded in the
  signature) to one of ``trust_roots``;
* **registered**: ``is_registered(cert_der)`` says the signer is a registered officer (only
  when the callable is given);
* **unchanged**: nothing was added after the signature except LTA material (DSS, document
  timestamps). Any later incremental update that changes content, annotations or form
  fields, even one pyHanko's DocMDP rules would allow, makes the document invalid: a
  Certificate of Origin is final once signed;
* **document checks**: ``check_document(pdf_bytes) -> list[str]`` (the QR payload check,
  owned by ``app.documents``) adds its problems.

**At which moment.** Signatures and timestamps are judged now (:func:`validation_moment`),
except in a long-term file (B-LTA: a signature timestamp, validation data in the DSS and a
document timestamp after the signature). There the document timestamps are judged newest
first: the newest now, each older one at the time the next one proves (with the DSS's
validation data); the signature is
then judged at the time proven by the first document timestamp after it, with the
certificates, OCSP answers and CRLs of the DSS (no fetching), as an archive does (PAdES,
ETSI EN 319 102-1 "past signature validation"). So a B-LTA certificate stays valid after
the officer's DSC expires, as long as its newest document timestamp is (``origin-desk
extend`` adds a fresh one); a B-B one does not (:data:`B_B_NOTE`).

The report is a dataclass with ``.valid`` and ``.to_json()``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app.signing.certificates import fingerprint
from app.signing.errors import InvalidInput
from app.signing.policy import run_coroutine

log = logging.getLogger(__name__)


class InvalidPdf(InvalidInput):
    """The input is not a PDF at all (as opposed to a PDF whose signature is bad)."""


@dataclass
class SignatureReport:
    field: str
    signer: str = ""
    signer_sha256: str = ""
    signing_time: str | None = None
    timestamp: str | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool | None = False  # None: not checked (the signed content was altered)
    registered: bool | None = None
    coverage: str = ""
    modification_level: str = ""
    unchanged: bool = False
    summary: str = ""
    judged_at: str | None = None  # the moment proven by a document timestamp (else now)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class DocumentTimestampReport:
    """A document timestamp (B-LTA): when it was made and whether it holds."""

    field: str
    timestamp: str | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    valid: bool
    signatures: list[SignatureReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    level: str | None = None  # PAdES level the file carries (see signature_level)
    document_timestamps: list[DocumentTimestampReport] = field(default_factory=list)
    level_note: str = ""  # what a verifier should know of that level (B-B: B_B_NOTE)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


def _asn1_roots(trust_roots: Sequence[x509.Certificate | bytes]) -> list[Any]:
    from asn1crypto import x509 as asn1_x509

    out = []
    for root in trust_roots:
        der = root.public_bytes(Encoding.DER) if isinstance(root, x509.Certificate) else root
        out.append(asn1_x509.Certificate.load(der))
    return out


def validation_moment() -> dt.datetime:
    """The moment files are judged at when nothing proves an earlier one: now (tests
    patch this to judge a file years later)."""
    return dt.datetime.now(dt.UTC)


def validate_pdf(
    pdf_bytes: bytes,
    *,
    trust_roots: Sequence[x509.Certificate | bytes],
    is_registered: Callable[[bytes], bool] | None = None,
    check_document: Callable[[bytes], list[str]] | None = None,
) -> ValidationReport:
    """Validate every signature of ``pdf_bytes``; raise :class:`InvalidPdf` for a non-PDF."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not isinstance(pdf_bytes, bytes | bytearray) or b"%PDF-" not in bytes(pdf_bytes[:1024]):
        raise InvalidPdf("This file is not a PDF (no %PDF header).")
    pdf_bytes = bytes(pdf_bytes)
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded = list(reader.embedded_signatures)
    except RecursionError:
        raise InvalidPdf(
            "The PDF cannot be read: its objects are nested too deeply (a damaged or "
            "hostile file)."
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.info("unreadable PDF: %s", exc)
        return ValidationReport(False, problems=[f"The PDF is damaged and cannot be read: {exc}"])
    except Exception as exc:  # noqa: BLE001 - the parser meets input it did not foresee
        log.warning("unreadable PDF (%s)", type(exc).__name__, exc_info=True)
        return ValidationReport(False, problems=[
            f"The PDF is damaged and cannot be read ({type(exc).__name__}: {exc})"])
    level = _level(reader, embedded)
    report = ValidationReport(valid=False, level=level, level_note=level_note(level))
    now = validation_moment()
    signatures = [s for s in embedded if s.sig_object_type != "/DocTimeStamp"]
    stamps = sorted((s for s in embedded if s.sig_object_type == "/DocTimeStamp"),
                    key=lambda s: s.signed_revision)
    dss = _read_dss(reader) if stamps else None
    # newest first: the newest judged now (as any signature is: revocation soft-fail, the
    # DSS's answers were for an earlier time), each older one at the time the next one
    # proves, with the validation data of the DSS
    moment, judged = now, {}
    for stamp in reversed(stamps):
        stamp_report, proven = _check_document_timestamp(
            stamp, trust_roots, moment, None if moment is now else dss)
        judged[id(stamp)] = (stamp_report, proven)
        if proven is not None:
            moment = proven
    report.document_timestamps = [judged[id(s)][0] for s in stamps]
    if not signatures:
        report.problems.append("The document carries no signature.")
    for sig in signatures:
        at, context_dss = now, None
        if level == "B-LTA" and dss is not None:
            after = [s for s in stamps if s.signed_revision > sig.signed_revision]
            proven = judged[id(after[0])][1] if after else None
            if proven is not None:
                at, context_dss = proven, dss
        report.signatures.append(_check_signature(sig, trust_roots, is_registered,
                                                  moment=at, dss=context_dss))
    if check_document is not None:
        report.problems.extend(check_document(pdf_bytes))
    report.valid = bool(signatures) and not report.problems and all(
        s.ok for s in report.signatures
    ) and all(not t.problems for t in report.document_timestamps)
    return report


def _read_dss(reader: Any) -> Any:
    """The file's Document Security Store (None: it has none, or it cannot be read)."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    try:
        return DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    except Exception as exc:  # noqa: BLE001 - a broken DSS: judged now, without it
        log.info("the DSS cannot be read: %s", exc)
        return None


def _context(trust_roots: Sequence[x509.Certificate | bytes], moment: dt.datetime,
             dss: Any = None) -> Any:
    """An offline validation context at ``moment``, with the DSS's certificates, OCSP
    answers and CRLs when ``dss`` is given."""
    from pyhanko_certvalidator import ValidationContext

    settings = {"trust_roots": _asn1_roots(trust_roots), "allow_fetching": False,
                "revocation_mode": "soft-fail", "moment": moment}
    if dss is not None:
        return dss.as_validation_context(settings)
    return ValidationContext(**settings)


def _check_signature(
    sig: Any,
    trust_roots: Sequence[x509.Certificate | bytes],
    is_registered: Callable[[bytes], bool] | None,
    *,
    moment: dt.datetime,
    dss: Any = None,
) -> SignatureReport:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    report = SignatureReport(field=str(sig.field_name))
    if dss is not None:
        report.judged_at = moment.isoformat()
    context = _context(trust_roots, moment, dss)
    usage = KeyUsageConstraints(
        key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
    )
    try:
        status = run_coroutine(
            async_validate_pdf_signature(
                sig, signer_validation_context=context, key_usage_settings=usage
            )
        )
    except Exception as exc:  # pyHanko raises many kinds on broken CMS data
        log.info("signature %s could not be validated: %s", report.field, exc)
        report.problems.append(f"The signature cannot be checked: {exc}")
        return report
    cert = status.signing_cert
    if cert is not None:
        der = cert.dump()
        report.signer = cert.subject.human_friendly
        report.signer_sha256 = fingerprint(der)
    if status.signer_reported_dt is not None:
        report.signing_time = status.signer_reported_dt.isoformat()
    report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
    stamp = status.timestamp_validity
    if stamp is not None:
        report.timestamp = stamp.timestamp.isoformat()
        if not (stamp.intact and stamp.valid):
            report.problems.append("The signature's timestamp is damaged.")
        elif not stamp.trusted:
            report.problems.append("The signature's timestamp authority is not trusted.")
    report.coverage = status.coverage.name if status.coverage is not None else "UNKNOWN"
    level = status.modification_level
    report.modification_level = level.name if level is not None else "UNKNOWN"
    report.summary = status.summary()
    entire_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    report.unchanged = entire_file or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.LTA_UPDATES
    )
    if not status.intact:
        # pyHanko does not judge the chain of a signature over altered bytes, and the
        # signature cannot be valid for content it does not cover: say only what is known
        report.valid, report.trusted, report.unchanged = False, None, False
        report.problems.append("The signed content was altered after signing (digest mismatch).")
        return _registered(report, cert, is_registered)
    if not status.valid:
        report.problems.append("The signature does not verify with the signer's certificate.")
    if not status.trusted:
        report.problems.append("The signer's certificate does not chain to a trusted root.")
    if not report.unchanged:
        report.problems.append(
            "The document was changed after it was signed "
            f"(coverage {report.coverage}, modification level {report.modification_level})."
        )
    return _registered(report, cert, is_registered)


def _check_document_timestamp(
    stamp: Any, trust_roots: Sequence[x509.Certificate | bytes], moment: dt.datetime,
    dss: Any = None,
) -> tuple[DocumentTimestampReport, dt.datetime | None]:
    """The report of a document timestamp judged at ``moment``, and the time it proves
    (None when it does not hold)."""
    from pyhanko.sign.validation import async_validate_pdf_timestamp

    report = DocumentTimestampReport(field=str(stamp.field_name))
    context = _context(trust_roots, moment, dss)
    try:
        status = run_coroutine(async_validate_pdf_timestamp(stamp, validation_context=context))
    except Exception as exc:  # pyHanko raises many kinds on broken CMS data
        log.info("document timestamp %s could not be validated: %s", report.field, exc)
        report.problems.append(f"The document timestamp cannot be checked: {exc}")
        return report, None
    report.timestamp = status.timestamp.isoformat() if status.timestamp else None
    report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
    if not (status.intact and status.valid):
        report.problems.append("A document timestamp is damaged.")
    elif not status.trusted:
        report.problems.append("A document timestamp's authority is not trusted.")
    return report, (status.timestamp if not report.problems else None)


def _registered(report: SignatureReport, cert: Any, is_registered: Any) -> SignatureReport:
    if is_registered is not None and cert is not None:
        report.registered = bool(is_registered(cert.dump()))
        if not report.registered:
            report.problems.append(f"The signer {report.signer} is not a registered officer.")
    return report


SIGNATURE_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")

B_B_NOTE = ("once the officer's DSC expires this signature can no longer be checked "
            "(PAdES B-B: no timestamp, no embedded validation data)")
"""What a verifier is told of a file signed without a timestamp server."""


def level_note(level: str | None) -> str:
    """What a verifier should know of a file at ``level`` ("" when nothing)."""
    return B_B_NOTE if level == "B-B" else ""


def planned_level(timestamp_url: str) -> tuple[str, bool]:
    """What the desk says before the PIN of the level it will sign at, and whether that is
    the long-term level (False: show it as a warning)."""
    if timestamp_url:
        return f"Signature level: PAdES B-LTA (timestamp server {timestamp_url})", True
    return ("Signature level: PAdES B-B — no timestamp server is configured: once the "
            "officer's DSC expires this signature can no longer be checked"), False


def signature_level(pdf_bytes: bytes) -> str | None:
    """The PAdES baseline level of the first signature of ``pdf_bytes``, as the file
    carries it (not a judgement of validity): ``B-B``; ``B-T`` with a signature timestamp;
    ``B-LT`` with validation data (a DSS) as well; ``B-LTA`` with a document timestamp
    after that. None when the file has no signature or cannot be read."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf_bytes)), strict=False)
        return _level(reader, list(reader.embedded_signatures))
    except Exception as exc:  # noqa: BLE001 - a damaged file has no level to report
        log.info("no signature level for this file: %s", exc)
        return None


def _level(reader: Any, embedded: list[Any]) -> str | None:
    try:
        signatures = [s for s in embedded if s.sig_object_type == "/Sig"]
        if not signatures:
            return None
        first = signatures[0]
        if not _has_signature_timestamp(first):
            return "B-B"
        if "/DSS" not in reader.root:
            return "B-T"
        doc_timestamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"
                          and s.signed_revision > first.signed_revision]
        return "B-LTA" if doc_timestamps else "B-LT"
    except Exception as exc:  # noqa: BLE001 - a damaged file has no level to report
        log.info("no signature level for this file: %s", exc)
        return None


def _has_signature_timestamp(sig: Any) -> bool:
    unsigned = sig.signer_info["unsigned_attrs"]
    if not unsigned:
        return False
    return any(attr["type"].native == "signature_time_stamp_token" for attr in unsigned)
