"""Deferred signing of a certificate PDF for Aadhaar eSign: prepare now, embed the CMS later.

Under the CCA's eSign API only the document's digest leaves the desk, and the signer's
certificate does not exist yet when the digest is sent: the eSign Service Provider makes a
one-time certificate after the officer's consent and OTP, and returns a CMS (PKCS#7)
SignedData over that digest. So the signature is made in two steps with pyHanko's
interrupted signing (pinned to pyHanko 0.38's API, see docs/ESIGN.md):

1. :func:`prepare_pdf` adds the signature field (the same page, box and empty appearance
   as a DSC signature: stamp and signature image are in the page content, see
   ``app.services.issuing``), the signature dictionary with a ``/Contents`` placeholder and
   its ``/ByteRange``, writes the document out and computes the SHA-256 digest of the byte
   range, all without a signer's certificate (``PdfSigner.async_digest_doc_for_signing``
   with a certificate-less ``ExternalSigner``; ``bytes_reserved`` fixed, since pyHanko
   cannot estimate the size without a certificate). The result,
   :class:`PreparedSignature`, is plain data (bytes and two offsets): the desk keeps it in
   memory while the officer consents in the browser.
2. :func:`embed_cms` checks the CMS the ESP returned (a detached SignedData with one
   signer whose signed ``messageDigest`` is the prepared digest, whose certificate is in
   the CMS, and whose signature verifies with that certificate's key) and writes it into
   the placeholder (``PreparedByteRangeDigest.fill_with_cms``). Nothing else of the file
   changes, so the digest sent is the digest signed.

The signature is a certification signature (DocMDP, no changes), like a DSC issue, with
the ``adbe.pkcs7.detached`` sub-filter: an ESP's CMS need not carry the ESS
signing-certificate attribute that a PAdES (``ETSI.CAdES.detached``) signature requires.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.signing.errors import InvalidInput, SigningError

# the CMS is written as hex into /Contents: 2 characters per byte. A one-time RSA-2048
# certificate, its issuing CA and the SignedData are ~4-6 kB of DER; 32 kB of hex leaves
# room for an ESP that adds its chain or a timestamp token.
ESIGN_BYTES_RESERVED = 32768


class EsignSignatureRefused(SigningError):
    """The CMS returned for a deferred signature cannot be embedded (one sentence why)."""


@dataclass(frozen=True)
class PreparedSignature:
    """A certificate PDF ready for its signature: ``pdf`` with the ``/Contents``
    placeholder between ``region_start`` and ``region_end``, and ``digest`` the SHA-256 of
    everything else (the ``/ByteRange``): what the eSign request carries."""

    pdf: bytes
    digest: bytes
    region_start: int
    region_end: int
    field_name: str

    @property
    def digest_hex(self) -> str:
        return self.digest.hex()


def prepare_pdf(
    pdf_bytes: bytes,
    *,
    field_name: str,
    page: int,
    box: Sequence[float],
    stamp_text: str = "",
    reason: str | None = None,
    location: str | None = None,
    bytes_reserved: int = ESIGN_BYTES_RESERVED,
) -> PreparedSignature:
    """Add the visible signature field and the signature placeholder to ``pdf_bytes`` and
    compute the digest to be signed (see the module's doc). Pure: no network, no key."""
    from app.signing.token_session import SignatureBox

    if not isinstance(pdf_bytes, bytes | bytearray) or b"%PDF-" not in pdf_bytes[:1024]:
        raise InvalidInput("The document to sign is not a PDF.")
    if not field_name or "." in field_name:
        raise InvalidInput(f"The signature field name {field_name!r} is empty or has a dot.")
    where = SignatureBox.checked(page, box)
    return asyncio.run(_prepare(bytes(pdf_bytes), field_name, where, stamp_text, reason,
                                location, bytes_reserved))


async def _prepare(pdf: bytes, field_name: str, where: Any, stamp_text: str,
                   reason: str | None, location: str | None,
                   bytes_reserved: int) -> PreparedSignature:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",  # no certificate to pick it from: said here
            subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
            reason=reason,
            location=location,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        ),
        # no certificate yet: the ESP makes the one-time certificate after the request
        signer=signers.ExternalSigner(signing_cert=None, cert_registry=None,
                                      signature_value=bytes(256)),
        stamp_style=TextStampStyle(stamp_text=stamp_text.replace("%", "%%"), border_width=0),
        new_field_spec=fields.SigFieldSpec(field_name, on_page=where.page, box=where.box),
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise InvalidInput(f"The document to sign is not a readable PDF: {exc}") from None
    prepared, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
        writer, bytes_reserved=bytes_reserved)
    data = output.getvalue()
    start, end = prepared.reserved_region_start, prepared.reserved_region_end
    # the digest pyHanko computed is over the byte range: check it as the ESP will see it
    if hashlib.sha256(data[:start] + data[end:]).digest() != prepared.document_digest:
        raise SigningError("The prepared document's digest does not match its byte range.")
    return PreparedSignature(data, prepared.document_digest, start, end, field_name)


def embed_cms(prepared: PreparedSignature, cms_der: bytes) -> bytes:
    """The signed PDF: ``prepared.pdf`` with ``cms_der`` in its placeholder, once the CMS
    is checked (:func:`check_cms`). Raises :class:`EsignSignatureRefused`."""
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest

    check_cms(cms_der, prepared.digest)
    if 2 * len(cms_der) > prepared.region_end - prepared.region_start - 2:
        raise EsignSignatureRefused(
            f"The returned signature ({len(cms_der):,} bytes) is larger than the space "
            "reserved for it in the document.")
    output = io.BytesIO(prepared.pdf)
    PreparedByteRangeDigest(prepared.digest, prepared.region_start,
                            prepared.region_end).fill_with_cms(output, cms_der)
    return output.getvalue()


@dataclass(frozen=True)
class CmsSigner:
    """The signer of a checked CMS: its certificate (DER) and the name in it."""

    certificate_der: bytes
    common_name: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()


def check_cms(cms_der: bytes, digest: bytes) -> CmsSigner:
    """Check that ``cms_der`` is a detached CMS SignedData with one signer whose signed
    ``messageDigest`` is ``digest`` (SHA-256), whose certificate is in the CMS, and whose
    signature over the signed attributes verifies with that certificate's key.

    Whether the certificate is trusted (a one-time certificate of the configured eSign
    CA) is the gateway's check and the verifier's, not this function's."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(bytes(cms_der))
        if info["content_type"].native != "signed_data":
            raise EsignSignatureRefused("The returned signature is not a CMS SignedData.")
        signed = info["content"]
        signer_infos = list(signed["signer_infos"])
        if signed["encap_content_info"]["content"].native is not None:
            raise EsignSignatureRefused(
                "The returned signature carries content; a detached signature was expected.")
        if len(signer_infos) != 1:
            raise EsignSignatureRefused(
                f"The returned signature has {len(signer_infos)} signers; one was expected.")
        signer = signer_infos[0]
        if signer["digest_algorithm"]["algorithm"].native != "sha256":
            raise EsignSignatureRefused("The returned signature does not use SHA-256.")
        attrs = signer["signed_attrs"]
        if not attrs:
            raise EsignSignatureRefused("The returned signature has no signed attributes.")
        digests = [a["values"][0].native for a in attrs
                   if a["type"].native == "message_digest"]
        if len(digests) != 1:
            raise EsignSignatureRefused("The returned signature has no message digest.")
        if digests[0] != digest:
            raise EsignSignatureRefused(
                "The returned signature is over another document (its message digest is not "
                "the digest that was sent).")
        certificate = _signer_certificate(signed, signer["sid"])
        _verify(certificate, attrs.dump(force=False), signer)
    except EsignSignatureRefused:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise EsignSignatureRefused(
            f"The returned signature is not a readable CMS ({type(exc).__name__}).") from None
    return CmsSigner(certificate.dump(), certificate.subject.native.get("common_name", "")
                     if isinstance(certificate.subject.native, dict) else "")


def _signer_certificate(signed: Any, sid: Any) -> Any:
    for choice in signed["certificates"] or ():
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (cert.issuer == wanted["issuer"]
                    and cert.serial_number == wanted["serial_number"].native):
                return cert
        elif (sid.name == "subject_key_identifier"
              and cert.key_identifier == sid.chosen.native):
            return cert
    raise EsignSignatureRefused("The returned signature does not carry its signer's certificate.")


def _verify(certificate: Any, signed_attrs_der: bytes, signer: Any) -> None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    # the signature is over the DER SET OF the attributes (tag 0x31), not the [0] IMPLICIT
    to_verify = b"\x31" + signed_attrs_der[1:]
    key = x509.load_der_x509_certificate(certificate.dump()).public_key()
    signature = signer["signature"].native
    algorithm = signer["signature_algorithm"]["algorithm"].native
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if algorithm == "rsassa_pss":
                key.verify(signature, to_verify, padding.PSS(
                    mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
            else:
                key.verify(signature, to_verify, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, to_verify, ec.ECDSA(hashes.SHA256()))
        else:
            raise EsignSignatureRefused("The returned signature's key type is not supported.")
    except InvalidSignature:
        raise EsignSignatureRefused(
            "The returned signature does not verify with its signer's certificate.") from None


# --- which way a certificate was signed -----------------------------------------------------

ESIGN_REASON_MARK = "(Aadhaar eSign)"
"""Ends the signature's /Reason of an eSign issue (signed: covered by the signature)."""

SIGNED_WITH_DSC = "Signed with a DSC token"

ESIGN_B_B_NOTE = ("once the one-time eSign certificate expires (minutes after signing) this "
                  "signature can no longer be checked (no timestamp, no embedded validation "
                  "data)")
"""What a verifier is told of an eSign signature without a timestamp (docs/ESIGN.md)."""


@dataclass(frozen=True)
class SigningMethod:
    """``kind``: ``dsc``, ``esign`` or "" (no signature); ``issuer``: the name of the CA
    that issued the signer's certificate (for eSign: the ESP's one-time certificate CA)."""

    kind: str
    issuer: str = ""

    @property
    def sentence(self) -> str:
        if self.kind == "esign":
            return signed_with_esign(self.issuer)
        return SIGNED_WITH_DSC if self.kind == "dsc" else ""


def signed_with_esign(esp: str) -> str:
    """How the desk names an eSign signature, in the issue dialog and the verify view."""
    return "Signed with Aadhaar eSign" + (f" (one-time certificate from {esp})" if esp
                                          else " (one-time certificate)")


def signing_method(pdf: bytes) -> SigningMethod:
    """Which way the first signature of ``pdf`` was made: with Aadhaar eSign when its
    signed /Reason carries :data:`ESIGN_REASON_MARK` (what :func:`prepare_pdf` is given by
    the eSign issue), else with a DSC token. Whether the signature holds is the
    validator's question, not this one's."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 - not readable: the validator says why
        return SigningMethod("")
    signature = next((s for s in signatures if s.sig_object.get("/Type") != "/DocTimeStamp"),
                     None)
    if signature is None:
        return SigningMethod("")
    reason = str(signature.sig_object.get("/Reason", "") or "")
    issuer = ""
    try:
        name = signature.signer_cert.issuer.native
        issuer = str(name.get("common_name") or name.get("organization_name") or "")
    except Exception:  # noqa: BLE001 - no certificate: the validator says so
        issuer = ""
    return SigningMethod("esign" if reason.rstrip().endswith(ESIGN_REASON_MARK) else "dsc",
                         issuer)
