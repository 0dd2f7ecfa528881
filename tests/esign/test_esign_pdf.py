"""Deferred signing for Aadhaar eSign (app/signing/esign_pdf.py), on its own: a rendered
certificate is prepared without any signer certificate, a CMS is made over the prepared
digest by a one-time certificate under a test eSign CA (real RSA keys, made here, as an
ESP makes it), and embedded. pyHanko's validator and poppler's pdfsig report the signature
valid and intact; a CMS over another digest, a forged one or garbage is refused and leaves
nothing signed."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509

from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate
from app.signing.esign_pdf import (
    ESIGN_BYTES_RESERVED,
    EsignSignatureRefused,
    PreparedSignature,
    check_cms,
    embed_cms,
    prepare_pdf,
)
from tests.esign.cms_maker import EsignTestCa, esp_cms, make_esign_ca

FIELD = "IssuingOfficerSignature"


@pytest.fixture(scope="module")
def esign_ca() -> EsignTestCa:
    return make_esign_ca()


@pytest.fixture(scope="module")
def prepared() -> PreparedSignature:
    rendered = render_certificate(sample_certificate("AIFTA"), draft=True)
    return prepare_pdf(rendered.pdf, field_name=FIELD, page=rendered.certification_page,
                       box=rendered.signature_box, reason="Certificate of Origin issued",
                       location="Mumbai")


def _validate(pdf: bytes, root_der: bytes):  # type: ignore[no-untyped-def]
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)],
                                allow_fetching=False)
    [signature] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return signature, validate_pdf_signature(signature, context)


def test_the_prepared_digest_is_the_sha256_of_the_byte_range(prepared: PreparedSignature) -> None:
    pdf = prepared.pdf
    assert prepared.region_end - prepared.region_start == ESIGN_BYTES_RESERVED + 2
    assert pdf[prepared.region_start:prepared.region_start + 1] == b"<"
    assert set(pdf[prepared.region_start + 1:prepared.region_end - 1]) == {ord("0")}
    covered = pdf[:prepared.region_start] + pdf[prepared.region_end:]
    assert hashlib.sha256(covered).digest() == prepared.digest
    assert len(prepared.digest_hex) == 64
    # the /ByteRange written in the file names exactly the two parts hashed
    byte_range = f"[0 {prepared.region_start} {prepared.region_end} " \
                 f"{len(pdf) - prepared.region_end}]"
    assert byte_range.encode() in pdf.replace(b"  ", b" ").replace(b"/ByteRange ", b"")


def test_an_embedded_esp_signature_validates_in_pyhanko_and_pdfsig(
    prepared: PreparedSignature, esign_ca: EsignTestCa, tmp_path: Path
) -> None:
    key, cert_der = esign_ca.one_time("Anita Deshpande")
    cms_der = esp_cms(prepared.digest, key, cert_der, chain=(esign_ca.der,))
    signer = check_cms(cms_der, prepared.digest)
    assert signer.certificate_der == cert_der and signer.common_name == "Anita Deshpande"
    signed = embed_cms(prepared, cms_der)
    assert len(signed) == len(prepared.pdf)
    # only the placeholder changed: the digest sent is the digest signed
    assert signed[:prepared.region_start] == prepared.pdf[:prepared.region_start]
    assert signed[prepared.region_end:] == prepared.pdf[prepared.region_end:]
    embedded, status = _validate(signed, esign_ca.der)
    assert status.bottom_line, status.summary()
    assert status.summary() == "INTACT:TRUSTED,UNTOUCHED"
    assert embedded.field_name == FIELD
    assert embedded.sig_object["/SubFilter"] == "/adbe.pkcs7.detached"
    assert embedded.signer_cert.dump() == cert_der
    assert embedded.sig_object.get("/Reason") == "Certificate of Origin issued"
    # a certification signature (DocMDP, no changes), like a DSC issue
    assert embedded.docmdp_level is not None and embedded.docmdp_level.value == 1
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Signature Field Name: IssuingOfficerSignature" in out
    assert "Signer Certificate Common Name: Anita Deshpande" in out
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out


def test_a_changed_byte_after_embedding_breaks_the_signature(
    prepared: PreparedSignature, esign_ca: EsignTestCa, tmp_path: Path
) -> None:
    key, cert_der = esign_ca.one_time()
    signed = bytearray(embed_cms(prepared, esp_cms(prepared.digest, key, cert_der)))
    where = bytes(signed).index(b"Certificate of Origin issued")
    signed[where] = ord("X")
    path = tmp_path / "tampered.pdf"
    path.write_bytes(bytes(signed))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" not in out
    _embedded, status = _validate(bytes(signed), esign_ca.der)
    assert not status.intact and not status.bottom_line


def test_a_signature_over_another_digest_is_refused(
    prepared: PreparedSignature, esign_ca: EsignTestCa
) -> None:
    key, cert_der = esign_ca.one_time()
    other = esp_cms(hashlib.sha256(b"another document").digest(), key, cert_der)
    with pytest.raises(EsignSignatureRefused, match="over another document"):
        embed_cms(prepared, other)


def test_a_signature_that_does_not_verify_with_its_certificate_is_refused(
    prepared: PreparedSignature, esign_ca: EsignTestCa
) -> None:
    _key, cert_der = esign_ca.one_time()
    forger, _their_cert = esign_ca.one_time("Someone Else")
    forged = esp_cms(prepared.digest, forger, cert_der)  # the certificate is not the signer's
    with pytest.raises(EsignSignatureRefused, match="does not verify"):
        embed_cms(prepared, forged)


@pytest.mark.parametrize("garbage", [b"", b"not a cms at all", b"\x30\x03\x02\x01\x01"])
def test_garbage_is_refused_in_one_sentence(prepared: PreparedSignature, garbage: bytes) -> None:
    with pytest.raises(EsignSignatureRefused) as refused:
        embed_cms(prepared, garbage)
    assert str(refused.value).count(". ") == 0 and str(refused.value).endswith(".")


def test_a_signature_larger_than_the_space_reserved_is_refused(
    esign_ca: EsignTestCa
) -> None:
    rendered = render_certificate(sample_certificate("NONPREF"), draft=True)
    small = prepare_pdf(rendered.pdf, field_name=FIELD, page=rendered.certification_page,
                        box=rendered.signature_box, bytes_reserved=1024)
    key, cert_der = esign_ca.one_time()
    with pytest.raises(EsignSignatureRefused, match="larger than the space reserved"):
        embed_cms(small, esp_cms(small.digest, key, cert_der, chain=(esign_ca.der,)))


def test_not_a_pdf_is_refused() -> None:
    from app.signing.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not a PDF"):
        prepare_pdf(b"hello", field_name=FIELD, page=0, box=(1, 1, 2, 2))


def test_which_way_a_certificate_was_signed(
    prepared: PreparedSignature, esign_ca: EsignTestCa
) -> None:
    """eSign: the signed /Reason carries the mark the eSign issue writes; a PAdES signature
    made with a key and certificate of its own (as a DSC token makes it) reads as DSC."""
    import asyncio

    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from app.signing.esign_pdf import ESIGN_REASON_MARK, signing_method

    rendered = render_certificate(sample_certificate("AIFTA"), draft=True)
    marked = prepare_pdf(rendered.pdf, field_name=FIELD, page=rendered.certification_page,
                         box=rendered.signature_box, reason="Issued " + ESIGN_REASON_MARK)
    key, cert_der = esign_ca.one_time()
    method = signing_method(embed_cms(marked, esp_cms(marked.digest, key, cert_der)))
    assert method.kind == "esign" and method.issuer == "Test eSign CA"
    assert method.sentence == "Signed with Aadhaar eSign (one-time certificate from Test " \
        "eSign CA)"
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert_der),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs([]))
    out = io.BytesIO()
    asyncio.run(signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name=FIELD, md_algorithm="sha256",
                                     subfilter=fields.SigSeedSubFilter.PADES,
                                     reason="Certificate of Origin issued"),
        signer=signer).async_sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(rendered.pdf)), output=out))
    dsc = signing_method(out.getvalue())
    assert dsc.kind == "dsc" and dsc.sentence == "Signed with a DSC token"
    assert signing_method(rendered.pdf).kind == ""  # no signature at all
