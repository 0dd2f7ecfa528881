"""Verification of an issued certificate PDF: every check an officer or a verifier wants.

Moved out of ``app/services/issuing.py`` (which re-exports these names).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from app.config import Config
from app.errors import UserFacingError

if TYPE_CHECKING:
    from app.services.central import CentralLink

log = logging.getLogger(__name__)


# --- verification of an issued certificate PDF -------------------------------------------------

QR_CHECK_NAME = "QR code matches the document"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None  # None: could not be checked
    detail: str = ""


@dataclass(frozen=True)
class CertificateVerification:
    valid: bool
    checks: tuple[Check, ...]
    certificate_number: str | None
    store_status: str  # what the store says of the number ("valid", "superseded by ...")
    signer: str
    report: Any  # the signing core's ValidationReport
    offline: str = ""  # why the central store was not asked (then some checks are None)


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

    def __init__(self, central: CentralLink | None, config: Config) -> None:
        self.central, self.config = central, config

    def verify_pdf(self, pdf: bytes) -> CertificateVerification:
        return verify_certificate_pdf(self.central, self.config, pdf)

    def status(self, number: str) -> Any:
        from app.services.central import ensure_online

        return ensure_online(self.central).certificate_status(number=number.strip().upper())


def verify_certificate_pdf(
    central: CentralLink | Engine | None, config: Config, pdf: bytes
) -> CertificateVerification:
    """Every check an officer or a verifier wants, on a signed certificate PDF.

    Signature intact, chain to a trust root, signer registered, no change after signing
    (the signing core's ``validate_pdf``), and the QR payload: sealed by an agency seal of
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

    report = validate_pdf(
        pdf,
        trust_roots=load_trust_roots(config.trust_path),
        is_registered=None if offline else (lambda der: fingerprint(der) in signers),
        check_document=check_document,
    )
    sigs = report.signatures

    def all_of(attr: str) -> bool | None:
        values = [getattr(s, attr) for s in sigs]
        if not values or any(v is None for v in values):
            return None  # not checked
        return all(values)

    intact = all(s.intact and s.valid for s in sigs) if sigs else None
    signer = _common_name(sigs[0].signer) if sigs else ""
    registered = all_of("registered")
    email = signers.get(sigs[0].signer_sha256, "") if sigs else ""
    checks = (
        Check("Signature intact", intact,
              "the signed bytes and the signature verify" if intact else
              _first(sigs, "altered", "verify") or "no signature"),
        Check("Chain to a trusted root", all_of("trusted"),
              "the signer's certificate chains to a trusted root" if all_of("trusted") else
              _first(sigs, "chain") or ("not checked: the signed content was altered"
                                        if sigs else "no signature")),
        Check("Signer registered", None, f"not checked offline ({offline})")
        if offline and sigs else
        Check("Signer registered", registered,
              f"{signer} ({email})" if registered else
              (f"{signer} is not a registered officer" if sigs else "no signature")),
        Check("No change after signing", all_of("unchanged"),
              "nothing was added after the signature" if all_of("unchanged") else
              _first(sigs, "changed") or "no signature"),
        Check(QR_CHECK_NAME, qr["passed"], qr["detail"]),
    )
    return CertificateVerification(
        valid=report.valid and all(c.passed for c in checks),
        checks=checks,
        certificate_number=qr["number"],
        store_status=qr["status"],
        signer=signer,
        report=report,
        offline=offline,
    )


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
