"""The eSign 2.1 messages: the ASP's request (``Esign``) and the ESP's response
(``EsignResp``), each an XML document with an enveloped XML digital signature
(RSA-SHA256, signxml on lxml).

Element and attribute names follow the CCA's "eSign API Specifications, version 2.1"
(Controller of Certifying Authorities, India; docs/ESIGN.md cites what is used)::

    <Esign ver="2.1" sc="Y" ts="2026-11-30T14:05:09" txn="..." ekycId="" ekycIdType="A"
           aspId="..." AuthMode="1" responseSigType="pkcs7" responseUrl="https://..."
           maxWaitPeriod="10">
      <Docs>
        <InputHash id="1" hashAlgorithm="SHA256" docInfo="COO-...pdf">hex digest</InputHash>
      </Docs>
      <Signature>... the ASP's ...</Signature>
    </Esign>

    <EsignResp ver="2.1" status="1" ts="..." txn="..." resCode="..." errCode="NA"
               errMsg="NA">
      <UserX509Certificate>base64 DER</UserX509Certificate>
      <Signatures>
        <DocSignature id="1" sigHashAlgorithm="SHA256" error="">base64 CMS</DocSignature>
      </Signatures>
      <Signature>... the ESP's ...</Signature>
    </EsignResp>

``ts`` is India's local time without a zone (the specification's ``YYYY-MM-DDThh:mm:ss``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from app.signing.esign.errors import EsignRefused

ESIGN_VERSION = "2.1"
AUTH_MODE_OTP = "1"
IST = ZoneInfo("Asia/Kolkata")
TS_FORMAT = "%Y-%m-%dT%H:%M:%S"
TXN_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,50}")
DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
MAX_MESSAGE_BYTES = 256 * 1024


@dataclass(frozen=True)
class XmlSigningKey:
    """An RSA key and its certificate (PEM): the key as PEM bytes, or an object that signs
    like a ``cryptography`` RSA key (``app.signing.esign.asp_key.Pkcs11AspKey``)."""

    key_pem: Any = field(repr=False)
    certificate_pem: bytes


@dataclass(frozen=True)
class EsignRequest:
    txn: str
    ts: str
    asp_id: str
    auth_mode: str
    response_sig_type: str
    response_url: str
    digest_hex: str
    hash_algorithm: str
    doc_info: str
    version: str


@dataclass(frozen=True)
class EsignResponse:
    txn: str
    ts: str
    status: str
    res_code: str
    err_code: str
    err_msg: str
    user_certificate: bytes | None  # DER
    cms: bytes | None  # DER of the CMS ContentInfo (SignedData, detached)


def format_ts(moment: dt.datetime) -> str:
    return moment.astimezone(IST).strftime(TS_FORMAT)


def parse_ts(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text.strip(), TS_FORMAT).replace(tzinfo=IST)
    except ValueError:
        raise EsignRefused(f"The eSign message's timestamp {text[:40]!r} is not "
                           "YYYY-MM-DDThh:mm:ss; it was refused.", "malformed") from None


def build_request(*, txn: str, asp_id: str, response_url: str, digest_hex: str,
                  doc_info: str, now: dt.datetime, max_wait_minutes: int) -> bytes:
    """The unsigned ``Esign`` request for one document digest (SHA-256, lowercase hex)."""
    if not TXN_PATTERN.fullmatch(txn) or not DIGEST_PATTERN.fullmatch(digest_hex):
        raise ValueError("txn or digest out of form")
    root = etree.Element("Esign", {
        "ver": ESIGN_VERSION, "sc": "Y", "ts": format_ts(now), "txn": txn, "ekycId": "",
        "ekycIdType": "A", "aspId": asp_id, "AuthMode": AUTH_MODE_OTP,
        "responseSigType": "pkcs7", "responseUrl": response_url,
        "maxWaitPeriod": str(max_wait_minutes)})
    docs = etree.SubElement(root, "Docs")
    hashed = etree.SubElement(docs, "InputHash", {"id": "1", "hashAlgorithm": "SHA256",
                                                  "docInfo": doc_info[:100]})
    hashed.text = digest_hex
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def build_response(*, txn: str, now: dt.datetime, status: str, res_code: str,
                   err_code: str = "NA", err_msg: str = "NA",
                   user_certificate: bytes | None = None, cms: bytes | None = None) -> bytes:
    """The unsigned ``EsignResp`` (what an ESP answers; the test ESP builds it here)."""
    root = etree.Element("EsignResp", {
        "ver": ESIGN_VERSION, "status": status, "ts": format_ts(now), "txn": txn,
        "resCode": res_code, "errCode": err_code, "errMsg": err_msg})
    if user_certificate is not None:
        etree.SubElement(root, "UserX509Certificate").text = \
            base64.b64encode(user_certificate).decode("ascii")
    if cms is not None:
        signatures = etree.SubElement(root, "Signatures")
        doc = etree.SubElement(signatures, "DocSignature",
                               {"id": "1", "sigHashAlgorithm": "SHA256", "error": ""})
        doc.text = base64.b64encode(cms).decode("ascii")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def sign_xml(document: bytes, key: XmlSigningKey) -> bytes:
    """``document`` with an enveloped XML signature (RSA-SHA256, SHA-256 digests, the
    certificate in ``KeyInfo``)."""
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, methods

    signer = XMLSigner(method=methods.enveloped,
                       signature_algorithm=SignatureMethod.RSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256, c14n_algorithm=C14N)
    signed = signer.sign(_parse(document), key=key.key_pem, cert=key.certificate_pem)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def verify_xml(document: bytes, certificate_pem: bytes) -> etree._Element:
    """The signed root element of ``document`` when its enveloped signature verifies with
    ``certificate_pem``'s key; raises ``signxml.exceptions.SignXMLException`` (InvalidInput,
    InvalidSignature, InvalidDigest, InvalidCertificate) otherwise."""
    from signxml import XMLVerifier

    _parse(document)  # size, DOCTYPE and well-formedness first
    result = XMLVerifier().verify(document, x509_cert=certificate_pem.decode("ascii"),
                                  ignore_ambiguous_key_info=True)
    return result.signed_xml  # type: ignore[union-attr, no-any-return]


def _parse(document: bytes) -> etree._Element:
    if len(document) > MAX_MESSAGE_BYTES:
        raise EsignRefused("The eSign message is larger than any eSign 2.1 message; it was "
                           "refused.", "malformed")
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise EsignRefused("The eSign message carries a DTD or entities, which eSign 2.1 "
                           "never uses; it was refused.", "malformed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_blank_text=False)
    try:
        return etree.fromstring(document, parser)
    except etree.XMLSyntaxError:
        raise EsignRefused("The eSign message is not well-formed XML; it was refused.",
                           "malformed") from None


def peek(document: bytes, root_name: str) -> etree._Element:
    """The root of an eSign message before its signature is checked (to find which
    transaction it names); nothing read here is trusted."""
    root = _parse(document)
    if etree.QName(root).localname != root_name:
        raise EsignRefused(f"The message is not an eSign {root_name}; it was refused.",
                           "malformed")
    return root


def read_request(root: etree._Element) -> EsignRequest:
    hashes = root.findall("Docs/InputHash")
    if len(hashes) != 1:
        raise EsignRefused("The eSign request must carry exactly one Docs/InputHash.",
                           "malformed")
    hashed = hashes[0]
    return EsignRequest(
        txn=root.get("txn", ""), ts=root.get("ts", ""), asp_id=root.get("aspId", ""),
        auth_mode=root.get("AuthMode", ""), response_sig_type=root.get("responseSigType", ""),
        response_url=root.get("responseUrl", ""), digest_hex=(hashed.text or "").strip(),
        hash_algorithm=hashed.get("hashAlgorithm", ""), doc_info=hashed.get("docInfo", ""),
        version=root.get("ver", ""))


def read_response(root: etree._Element) -> EsignResponse:
    if etree.QName(root).localname != "EsignResp":
        raise EsignRefused("The message is not an eSign response (EsignResp); it was "
                           "refused.", "malformed")
    certificate = _b64(root.findtext("UserX509Certificate"), "UserX509Certificate")
    docs = root.findall("Signatures/DocSignature")
    cms = _b64(docs[0].text, "DocSignature") if len(docs) == 1 else None
    if len(docs) > 1:
        raise EsignRefused("The eSign response carries more than one DocSignature for one "
                           "document; it was refused.", "malformed")
    return EsignResponse(
        txn=root.get("txn", ""), ts=root.get("ts", ""), status=root.get("status", ""),
        res_code=root.get("resCode", ""), err_code=root.get("errCode", ""),
        err_msg=root.get("errMsg", ""), user_certificate=certificate, cms=cms)


def _b64(text: str | None, name: str) -> bytes | None:
    if text is None or not text.strip():
        return None
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise EsignRefused(f"The eSign response's {name} is not base64; it was refused.",
                           "malformed") from None
