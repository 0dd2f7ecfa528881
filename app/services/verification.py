"""Verification of an issued certificate PDF: every check an officer or a verifier wants.

:func:`verify_certificate_pdf` answers with one :class:`Check` per question, in this order
(``key`` is the JSON name, ``name`` what the verify view shows):

==================== ================================ =====================================
key                  name                             passes when
==================== ================================ =====================================
size                 File size                        the file is at most
                                                      :data:`MAX_PDF_BYTES` (20 MB; larger
                                                      files are refused before parsing)
signature_intact     Signature intact                 the signed bytes hash to the signed
                                                      digest and the signature verifies
signature_trusted    Chain to a trusted root          the signer's certificate chains to
                                                      a root of the trust folder
signer_registered    Signer registered                the signer's DSC is registered to an
                                                      officer in the central store
coverage             No change after signing          the signature covers the whole file,
                                                      or its whole revision and every later
                                                      revision only adds validation data
                                                      (DSS, VRI) or a document timestamp
                                                      (pyHanko's standard diff policy, and
                                                      ``app.signing.integrity``: no change
                                                      to ``/Info`` but ModDate / Producer)
contents_padding     Signature padding untouched      after the CMS DER, ``/Contents`` is
                                                      nothing but zeros
document_timestamps  Document timestamps              (only when the file has some) each is
                                                      intact and its authority trusted
issued_digest        Same file as issued              the SHA-256 of the file, or of the
                                                      file up to the end of an earlier
                                                      revision (a B-LTA extension adds
                                                      revisions), is the digest the central
                                                      store recorded at issue
store_status         Status in the store              the store says "valid" (superseded
                                                      or cancelled: the certificate is
                                                      *authentic but superseded/cancelled*)
qr_code              QR code matches the document     sealed / signed, and the data matches
==================== ================================ =====================================

``passed`` is None when a check could not be made (offline: what needs the store). The
verdict: ``valid`` when every check passes; ``authentic but superseded by X`` /
``authentic but cancelled (...)`` when everything but the store's status passes;
``not valid`` when any check fails; ``not fully checked`` when none fails but some could
not be made.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from app.config import Config
from app.errors import UserFacingError

if TYPE_CHECKING:
    from app.services.central import CentralLink
    from app.signing.integrity import IntegrityReport
    from app.signing.validation import ValidationReport

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 20 * 1024 * 1024
"""Largest file verification reads: 20 MB (a signed certificate is well under 1 MB)."""

QR_CHECK_NAME = "QR code matches the document"
VALID = "valid"
NOT_VALID = "not valid"
NOT_FULLY_CHECKED = "not fully checked"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None  # None: could not be checked
    detail: str = ""
    key: str = ""  # the check's name in JSON

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.key or self.name, "title": self.name, "passed": self.passed,
                "detail": self.detail}


@dataclass(frozen=True)
class CertificateVerification:
    valid: bool
    checks: tuple[Check, ...]
    certificate_number: str | None
    store_status: str  # what the store says of the number ("valid", "superseded by ...")
    signer: str
    report: Any  # the signing core's ValidationReport
    offline: str = ""  # why the central store was not asked (then some checks are None)
    verdict: str = ""  # valid | authentic but superseded by X | ... | not valid | ...
    # "Signed with a DSC token" | "Signed with Aadhaar eSign (one-time certificate from …)"
    signed_with: str = ""

    @property
    def level(self) -> str | None:
        """The PAdES level the file carries (``signature_level``): B-B ... B-LTA."""
        return getattr(self.report, "level", None)

    @property
    def level_note(self) -> str:
        """What a verifier should know of that level ("" nothing; B-B: it cannot be
        checked once the officer's DSC, or the one-time eSign certificate, expires)."""
        note = getattr(self.report, "level_note", "") or ""
        if note and self.signed_with.startswith("Signed with Aadhaar eSign"):
            from app.signing.esign_pdf import ESIGN_B_B_NOTE

            return ESIGN_B_B_NOTE
        return note

    @property
    def authentic(self) -> bool:
        """Genuine and unchanged, whatever the store's status (superseded, cancelled)."""
        return all(c.passed for c in self.checks if c.key != "store_status")

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "valid": self.valid, "authentic": self.authentic,
                "certificate_number": self.certificate_number,
                "store_status": self.store_status, "signer": self.signer,
                "signed_with": self.signed_with or None, "level": self.level, "level_note": self.level_note or None,
                "offline": self.offline or None,
                "checks": [c.to_dict() for c in self.checks]}


def refuse_oversized(size: int, name: str = "The file") -> None:
    """One line, before anything is parsed, for a file over :data:`MAX_PDF_BYTES`."""
    if size > MAX_PDF_BYTES:
        raise UserFacingError(
            f"{name} is {size / 1e6:.0f} MB; verification reads files up to "
            f"{MAX_PDF_BYTES // (1024 * 1024)} MB (a signed certificate is well under 1 MB).")


def qr_texts_in_pdf(pdf: bytes) -> list[str]:
    """The QR text of every page of a certificate rendered by ``app.documents``.

    The renderer draws each QR symbol as one vector path of module rectangles; the path is
    read back from the page content, drawn clean at 4 pixels per module and decoded with
    zxing-cpp. Pages without such a symbol give no entry.
    """
    import re

    import zxingcpp
    from PIL import Image, ImageDraw
    from pyhanko.pdf_utils.reader import PdfFileReader

    symbol = re.compile(
        rb"q 0 g [\d.]+ 0 0 [\d.]+ [\d.\-]+ [\d.\-]+ cm\n((?:\d+ \d+ \d+ 1 re\n)+)f\nQ"
    )
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    texts = []
    for page_index in range(int(reader.root["/Pages"]["/Count"])):
        page = _page(reader, page_index)
        contents = page.get("/Contents")
        contents = contents.get_object() if hasattr(contents, "get_object") else contents
        streams = contents if isinstance(contents, list) else [contents]
        data = b"".join(s.get_object().data for s in streams if s is not None)
        match = symbol.search(data)
        if match is None:
            continue
        rects = [tuple(int(v) for v in line.split()[:3])
                 for line in match.group(1).decode().splitlines()]
        n = max(max(x + w for x, _, w in rects), max(y for _, y, _ in rects) + 1)
        scale, quiet = 4, 4
        size = (n + 2 * quiet) * scale
        image = Image.new("L", (size, size), 255)
        draw = ImageDraw.Draw(image)
        for x, y, w in rects:
            top = (n - 1 - y + quiet) * scale
            left = (x + quiet) * scale
            draw.rectangle((left, top, left + w * scale - 1, top + scale - 1), fill=0)
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        if found:
            texts.append(found[0].text)
    return texts


def _page(reader: Any, index: int) -> Any:
    def walk(node: Any) -> list[Any]:
        node = node.get_object() if hasattr(node, "get_object") else node
        if node.get("/Type") == "/Page":
            return [node]
        return [leaf for kid in node["/Kids"] for leaf in walk(kid)]

    return walk(reader.root["/Pages"])[index]


class Verifier:
    """Certificate verification bound to the desk's central interface (None: an offline
    desk, which checks the signature and a sealed QR against its cached trust list)."""

    def __init__(self, central: CentralLink | None, config: Config,
                 lookup: Any = None) -> None:
        self.central, self.config = central, config
        self._lookup = lookup  # app.services.certificate_lookup: by number and QR code

    @property
    def lookup(self) -> Any:
        """Who answers by number and QR code (``app/services/certificate_lookup.py``)."""
        if self._lookup is None:
            from app.services.certificate_lookup import lookup_for

            self._lookup = lookup_for(self.central, self.config)
        return self._lookup

    def verify_number(self, number: str, agency: str | None = None) -> Any:
        """The certificate's status and details (a NumberVerification); one line
        (BadVerificationInput) for a malformed number."""
        from app.services.certificate_lookup import verify_number

        return verify_number(self.lookup, number, agency)

    def verify_qr_file(self, path: Path) -> Any:
        """The QR code of an image (a photo or a scan) or a PDF: its seal, then the
        certificate's status; one line (BadVerificationInput) for a file that is not an
        image, holds no QR code or one that is not a certificate's."""
        from app.services.certificate_lookup import verify_qr_file

        return verify_qr_file(self.lookup, Path(path))

    def verify_pdf(self, pdf: bytes) -> CertificateVerification:
        return verify_certificate_pdf(self.central, self.config, pdf)

    def verify_file(self, path: Path) -> CertificateVerification:
        """The file at ``path``, refused (UserFacingError) when over the size limit."""
        path = Path(path)
        try:
            refuse_oversized(path.stat().st_size, str(path))
            with path.open("rb") as handle:
                data = handle.read(MAX_PDF_BYTES + 1)
        except OSError as exc:
            raise UserFacingError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        refuse_oversized(len(data), str(path))
        return self.verify_pdf(data)

    def status(self, number: str) -> Any:
        from app.services.central import ensure_online

        return ensure_online(self.central).certificate_status(number=number.strip().upper())


def public_verifier(config: Config, engine: Engine | None = None) -> Verifier:
    """Verification without a sign-in (the sign-in dialog's): the embedded demo asks its
    store; a desk of the central service asks the service's public verification API (a
    PDF is checked offline); a desk on a direct PostgreSQL store checks what it can alone
    (signatures, a QR seal against the cached trust list: the status needs a sign-in)."""
    from app.services.certificate_lookup import public_lookup

    if config.is_embedded:
        from app.services.central import SqlCentral
        from app.store.central import central_engine

        engine = engine if engine is not None else central_engine(config)
        return Verifier(SqlCentral(engine, config), config, public_lookup(config, engine))
    return Verifier(None, config, public_lookup(config))


def verifier_without_sign_in(desk: Any) -> Verifier:
    """:func:`public_verifier` for a desk before anyone signs in (the embedded demo's
    desk works on the demo store itself)."""
    return public_verifier(desk.config, desk.engine if desk.config.is_embedded else None)


def verify_certificate_pdf(
    central: CentralLink | Engine | None, config: Config, pdf: bytes
) -> CertificateVerification:
    """Every check an officer or a verifier wants, on a signed certificate PDF (the
    module's table; UserFacingError for a file over :data:`MAX_PDF_BYTES`).

    Signature intact, chain to a trust root, signer registered (the signing core's
    ``validate_pdf``), no change after signing and padding untouched (with
    ``app.signing.integrity``), the digest recorded at issue, the store's status, and the
    QR payload: sealed by an agency seal of
    the trust list (the central store's, else the desk's cached copy) or signed by a
    registered officer's key, and matching the certificate's data in this store.

    Offline (``central`` None, or the central store cannot be reached) the signature, the
    chain, the absence of later changes and a sealed QR (against the cached trust list)
    are still checked; what needs the store (registered signer, the data, the status, an
    officer-signed QR) is reported as not checked, and the result is not ``valid``.
    """
    from app.documents.qr_payload import (
        parse_qr_payload,
        payload_from_qr_text,
        verify_qr_payload,
    )
    from app.services.central import as_central
    from app.services.seals import verify_sealed_payload
    from app.signing.certificates import fingerprint
    from app.signing.integrity import check_integrity
    from app.signing.policy import load_trust_roots
    from app.signing.validation import validate_pdf
    from app.store.link import CentralUnavailable

    offline = "this desk is offline" if central is None else ""
    directory: dict[bytes, Any] = {}
    signers: dict[str, str] = {}
    if central is not None:
        central = as_central(central, config)
        try:
            material = central.verification_material()
            directory, signers = material.key_directory, material.signers
        except CentralUnavailable as exc:
            offline = str(exc) or "the central store cannot be reached"
    qr: dict[str, Any] = {"passed": None, "detail": "", "number": None, "status": ""}

    def check_document(data: bytes) -> list[str]:
        try:
            texts = qr_texts_in_pdf(data)
        except Exception as exc:  # a damaged page: say so, don't crash the report
            qr.update(passed=False, detail=f"the QR code cannot be read: {exc}")
            return [f"QR code: cannot be read ({exc})"]
        if not texts:
            qr.update(passed=False, detail="no QR code found on the certificate")
            return ["QR code: none found on the certificate."]
        if len(set(texts)) > 1:
            qr.update(passed=False, detail="the pages carry different QR codes")
            return ["QR code: the pages carry different QR codes."]
        try:
            payload = payload_from_qr_text(texts[0])
            content = parse_qr_payload(payload)
        except UserFacingError as exc:
            qr.update(passed=False, detail=str(exc))
            return [f"QR code: {exc}"]
        number = content.reference_number
        qr["number"] = number
        trust = seal_trust_list_for(None if offline else central, config)
        seal = trust.by_key_id(content.key_id) if trust and content.key_id else None
        if offline:
            return _check_offline(qr, payload, number, trust, seal)
        data_in_store, status = central.certificate_record(number)
        if seal is not None:
            result = verify_sealed_payload(payload, trust, data=data_in_store)
            signed_by = f"sealed by the seal of {seal.agency_name or seal.agency}"
        elif content.key_id is not None and content.key_id not in directory:
            result = verify_qr_payload(payload, key_directory={}, data=data_in_store)
            result = replace(result, reason=(
                f"signed by an unknown key (id {content.key_id.hex()}): neither an agency "
                "seal of the trust list nor a registered officer's DSC; refresh the trust "
                "list, or treat the certificate as not genuine"))
            signed_by = ""
        else:
            result = verify_qr_payload(payload, key_directory=directory, data=data_in_store)
            signed_by = "signed by a registered officer's key"
        qr["status"] = status
        if data_in_store is None and result.valid:
            qr.update(passed=False, detail=f"{signed_by}, but certificate {number} is not in "
                      "this store")
            return [f"QR code: certificate {number} is not in this store."]
        qr.update(passed=result.valid, detail=result.reason if not result.valid else
                  f"certificate {number}, {signed_by}")
        return [] if result.valid else [f"QR code: {result.reason}"]

    refuse_oversized(len(pdf))
    report = validate_pdf(
        pdf,
        trust_roots=load_trust_roots(config.trust_path),
        is_registered=None if offline else (lambda der: fingerprint(der) in signers),
        check_document=check_document,
    )
    integrity = check_integrity(pdf)
    checks = signature_checks(pdf, report, integrity, signers,
                              f"not checked offline ({offline})" if offline else None)
    sigs = [s for s in report.signatures if getattr(s, "kind", "signature") == "signature"]
    signer = _common_name(sigs[0].signer) if sigs else ""
    if offline:
        issued = Check("Same file as issued", None, f"not checked offline ({offline})",
                       "issued_digest")
        status = Check("Status in the store", None, f"not checked offline ({offline})",
                       "store_status")
    else:
        issued, found_number = _issued_digest_check(central, pdf, integrity, qr["number"])
        status = _status_check(central, qr["number"] or found_number, qr["status"])
    checks += [issued, status, Check(QR_CHECK_NAME, qr["passed"], qr["detail"], "qr_code")]
    verdict = verdict_of(checks, qr["status"])
    return CertificateVerification(
        valid=verdict == VALID and report.valid,
        checks=tuple(checks),
        certificate_number=qr["number"],
        store_status=qr["status"],
        signer=signer,
        report=report,
        offline=offline,
        verdict=verdict if report.valid or verdict != VALID else NOT_VALID,
        signed_with=_signed_with(pdf) if sigs else "",
    )


def _signed_with(pdf: bytes) -> str:
    """Which way the certificate was signed (a DSC token or Aadhaar eSign), as a sentence."""
    from app.signing.esign_pdf import signing_method

    return signing_method(pdf).sentence


def verdict_of(checks: Sequence[Check], store_status: str = "") -> str:
    if all(c.passed for c in checks):
        return VALID
    others = [c for c in checks if c.key != "store_status"]
    status = next((c for c in checks if c.key == "store_status"), None)
    if all(c.passed for c in others) and status is not None and status.passed is False \
            and store_status.startswith(("superseded", "cancelled")):
        return f"authentic but {store_status}"
    if any(c.passed is False for c in checks):
        return NOT_VALID
    return NOT_FULLY_CHECKED


def signature_checks(pdf: bytes, report: ValidationReport, integrity: IntegrityReport,
                     signers: dict[str, str], registered_unchecked: str | None) -> list[Check]:
    """The checks that need the file alone (and, for the signer, the registered DSCs):
    size, signature intact, chain, signer registered, coverage, padding, timestamps."""
    sigs = [s for s in report.signatures if getattr(s, "kind", "signature") == "signature"]

    def all_of(attr: str) -> bool | None:
        values = [getattr(s, attr) for s in sigs]
        if not values or any(v is None for v in values):
            return None  # not checked
        return all(values)

    none = report.problems[0] if report.problems and not sigs else "no signature"
    intact = all(s.intact and s.valid for s in sigs) if sigs else None
    if not sigs and report.problems:
        intact = False
    signer = _common_name(sigs[0].signer) if sigs else ""
    registered = all_of("registered")
    email = signers.get(sigs[0].signer_sha256, "") if sigs else ""
    trusted = all_of("trusted")
    later = integrity.later_changes()
    unchanged = all_of("unchanged")
    if unchanged and later:
        unchanged = False
    padding = integrity.padding_untouched if sigs else None
    checks = [
        Check("File size", len(pdf) <= MAX_PDF_BYTES,
              f"{len(pdf) / 1024:.0f} kB (files over {MAX_PDF_BYTES // (1024 * 1024)} MB are "
              "refused before they are read)", "size"),
        Check("Signature intact", intact,
              "the signed bytes and the signature verify" if intact else
              _first(sigs, "altered", "verify") or none, "signature_intact"),
        Check("Chain to a trusted root", trusted,
              _chain_detail(sigs) if trusted else
              _first(sigs, "chain") or ("not checked: the signed content was altered"
                                        if sigs else none), "signature_trusted"),
        Check("Signer registered", None, registered_unchecked, "signer_registered")
        if registered_unchecked and sigs else
        Check("Signer registered", registered,
              f"{signer} ({email})" if registered else
              (f"{signer} is not a registered officer" if sigs else none),
              "signer_registered"),
        Check("No change after signing", unchanged,
              ("the signature covers the whole file" if all(
                  s.coverage == "ENTIRE_FILE" for s in sigs) else
               "the signature covers its revision; later revisions add only validation data "
               "or document timestamps") if unchanged else
              (f"changed after signing: {later}" if later and sigs else
               _first(sigs, "changed") or none), "coverage"),
        Check("Signature padding untouched", padding,
              "after the signature data, /Contents holds only zero padding" if padding else
              ("the signature's /Contents was altered after signing: after the signature "
               "data it holds something other than zero padding" if padding is False else
               none), "contents_padding"),
    ]
    stamps = getattr(report, "document_timestamps", None)
    if stamps:
        problems = [p for t in stamps for p in t.problems]
        checks.append(Check(
            "Document timestamps", not problems,
            problems[0] if problems else
            f"{len(stamps)} document timestamp(s), intact, from a trusted authority"
            f" (latest {stamps[-1].timestamp})", "document_timestamps"))
    return checks


def _chain_detail(sigs: Sequence[Any]) -> str:
    judged_at = getattr(sigs[0], "judged_at", None) if sigs else None
    if judged_at:
        return (f"the signer's certificate chained to a trusted root, and was not revoked, "
                f"at {judged_at}: the time proven by the document timestamp (B-LTA, with "
                "the validation data embedded in the file)")
    return "the signer's certificate chains to a trusted root"


def _issued_digest_check(central: Any, pdf: bytes, integrity: IntegrityReport,
                         number: str | None) -> tuple[Check, str | None]:
    """Is the file (or the file up to the end of an earlier revision: a B-LTA extension
    adds document timestamps after the one recorded) the one recorded at issue?"""
    from app.signing.integrity import revision_ends
    from app.store.link import CentralUnavailable

    # the file as issued ends where a revision does: after its document timestamp pyHanko
    # may write that timestamp's validation data, and an extension comes after that
    ends = sorted({s.signed_bytes for s in integrity.signatures
                   if 0 < s.signed_bytes < len(pdf)}
                  | {e for e in revision_ends(pdf) if 0 < e < len(pdf)}, reverse=True)
    name = "Same file as issued"
    for end in [len(pdf), *ends]:
        digest = hashlib.sha256(pdf[:end]).hexdigest()
        try:
            info = central.certificate_status(pdf_sha256=digest)
        except CentralUnavailable as exc:
            return Check(name, None, f"not checked: {exc}", "issued_digest"), None
        except UserFacingError as exc:
            return Check(name, None, f"not checked: {exc}", "issued_digest"), None
        if info is None:
            continue
        if number and info.number != number:
            return Check(name, False, f"this file is the one recorded at issue of certificate "
                         f"{info.number}, but its QR code names {number}", "issued_digest"), \
                info.number
        if end == len(pdf):
            return Check(name, True, f"SHA-256 {digest[:16]}… is the digest recorded at issue "
                         f"of certificate {info.number}", "issued_digest"), info.number
        return Check(name, True, (
            f"the first {end} bytes (up to the end of a revision) are the file "
            f"recorded at issue of certificate {info.number} (SHA-256 {digest[:16]}…); the "
            f"{len(pdf) - end} bytes after them are later revisions, which may add only "
            "validation data and document timestamps (see the coverage check)"),
            "issued_digest"), info.number
    digest = hashlib.sha256(pdf).hexdigest()
    whose = f"certificate {number}" if number else "any certificate"
    return Check(name, False, f"SHA-256 {digest[:16]}… differs from the digest recorded at "
                 f"issue of {whose}, and so does every earlier revision's", "issued_digest"), \
        None


def _status_check(central: Any, number: str | None, status: str) -> Check:
    from app.store.link import CentralUnavailable

    name = "Status in the store"
    if not status and number:
        try:
            info = central.certificate_status(number=number)
        except (CentralUnavailable, UserFacingError) as exc:
            return Check(name, None, f"not checked: {exc}", "store_status")
        status = info.description if info is not None else "not in this store"
    if not status:
        return Check(name, None, "not checked: the certificate number is not known",
                     "store_status")
    if status == "valid":
        return Check(name, True, f"certificate {number} is valid", "store_status")
    return Check(name, False, f"certificate {number} is {status}", "store_status")


def _check_offline(qr: dict[str, Any], payload: bytes, number: str, trust: Any,
                   seal: Any) -> list[str]:
    """The QR check of an offline desk: a sealed payload against the cached trust list."""
    from app.services.seals import verify_sealed_payload

    qr["status"] = "not checked: offline"
    if seal is None:
        qr.update(passed=None, detail="not checked offline: "
                  + ("the code is not sealed by a seal of the cached trust list"
                     if trust else "this desk has no cached seal trust list yet"))
        return []
    result = verify_sealed_payload(payload, trust)
    if not result.valid:
        qr.update(passed=False, detail=result.reason)
        return [f"QR code: {result.reason}"]
    qr.update(passed=True, detail=f"certificate {number}, sealed by the seal of "
              f"{seal.agency_name or seal.agency} (offline: the cached trust list; the "
              "certificate's data and status were not compared)")
    return []


def seal_trust_list_for(central: Any, config: Config) -> Any:
    """The seal trust list to check QR seals against: the central store's when it can be
    read (cached for later, offline), else the desk's cached copy; None when neither."""
    from app.services.seals import (
        TrustListError,
        cache_trust_list,
        load_cached_trust_list,
        read_trust_list,
    )
    from app.store.link import CentralUnavailable

    fetch = getattr(central, "seal_trust_list", None)  # not every central interface has it
    document = None
    if fetch is not None:
        try:
            document = fetch()
        except CentralUnavailable:
            log.info("central store unreachable: the cached seal trust list is used")
    if document is not None:
        try:
            trust = read_trust_list(document)
        except TrustListError as exc:
            log.warning("the central store's %s", exc)
        else:
            try:
                cache_trust_list(config, document)
            except OSError as exc:
                log.warning("the seal trust list cannot be cached: %s", exc)
            return trust
    try:
        return load_cached_trust_list(config)
    except TrustListError as exc:
        log.warning("%s", exc)
        return None


def _common_name(human_friendly: str) -> str:
    """'Common Name: X' out of asn1crypto's human-friendly name (else the whole name)."""
    for part in human_friendly.split(", "):
        if part.startswith("Common Name: "):
            return part.removeprefix("Common Name: ")
    return human_friendly


def _first(sigs: Sequence[Any], *words: str) -> str:
    for sig in sigs:
        for problem in sig.problems:
            if any(w in problem for w in words):
                return str(problem)
    return ""
