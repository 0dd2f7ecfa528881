"""Sign real PDFs on SoftHSM2 tokens; check with pdfsig and with our validator."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.signing.validation import validate_pdf
from tests.support.pki import KeySpec

BOX = (330, 40, 530, 140)


def pdfsig(path: Path) -> str:
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def sign(session, pdf: bytes, stamp: bytes | None = None) -> bytes:
    return session.sign_pdf(pdf, field_name="OfficerSignature", page=0, box=BOX,
                            stamp_png=stamp, stamp_text="Signed by the issuing officer 100%")


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_signed_pdf_is_valid_for_pdfsig_and_for_us(
    key_type, make_token, open_session, ca, pdf, stamp, tmp_path
):
    token = make_token(f"DSC-{key_type}", (KeySpec("sign", key_type),))
    with open_session(token) as session:
        assert session.key_algorithm == ("RSA-2048" if key_type == "rsa" else "ECDSA-P256")
        assert session.certificate_der == token.certs["sign"].der
        signed = sign(session, pdf, stamp)
    out = tmp_path / "signed.pdf"
    out.write_bytes(signed)
    text = pdfsig(out)
    assert "Signature is Valid" in text, text
    assert "Total document signed" in text
    assert "ETSI.CAdES.detached" in text  # PAdES
    report = validate_pdf(signed, trust_roots=[ca.root_cert],
                          is_registered=lambda der: der == token.certs["sign"].der)
    assert report.valid, report.to_json()
    (sig,) = report.signatures
    assert sig.intact and sig.trusted and sig.registered and sig.unchanged
    assert sig.signer_sha256 == token.certs["sign"].fingerprint


def test_validator_refuses_unregistered_signer_and_unknown_root(make_token, open_session, pdf):
    from tests.support.pki import make_test_ca

    token = make_token()
    with open_session(token) as session:
        signed = sign(session, pdf)
    report = validate_pdf(signed, trust_roots=[make_test_ca("Other").root_cert],
                          is_registered=lambda der: False)
    assert not report.valid
    text = " ".join(report.signatures[0].problems)
    assert "trusted root" in text and "not a registered officer" in text


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_sign_raw_verifies_with_the_certificate(key_type, make_token, open_session):
    token = make_token(f"RAW-{key_type}", (KeySpec("sign", key_type),))
    public_key = token.certs["sign"].certificate.public_key()
    payload = b"CoO/2026/000123|sha256:abcdef"
    with open_session(token) as session:
        signature = session.sign_raw(payload)
    if key_type == "ec":
        assert len(signature) == 64  # raw r || s
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        public_key.verify(encode_dss_signature(r, s), payload, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        assert len(signature) == 256
        public_key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())


def test_one_changed_byte_is_invalid_for_both(make_token, open_session, ca, pdf, tmp_path):
    token = make_token()
    with open_session(token) as session:
        signed = sign(session, pdf)
    tampered = bytearray(signed)
    # flip one bit inside the first stream: signed bytes, but no structure is broken
    tampered[_byte_inside_first_stream(signed)] ^= 0x01
    out = tmp_path / "tampered.pdf"
    out.write_bytes(bytes(tampered))
    text = pdfsig(out)
    assert "Signature is Valid" not in text
    assert "Signature is Invalid" in text or "Digest Mismatch" in text, text
    report = validate_pdf(bytes(tampered), trust_roots=[ca.root_cert])
    assert not report.valid
    assert any("altered" in p for s in report.signatures for p in s.problems), report.to_json()


def _byte_inside_first_stream(data: bytes) -> int:
    start = data.index(b"stream\n") + len(b"stream\n")
    return start + 5


def test_incremental_update_after_signing_is_invalid(make_token, open_session, ca, pdf, tmp_path):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    token = make_token()
    with open_session(token) as session:
        signed = sign(session, pdf)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    content = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 600 Td (ORIGIN: CHANGED) Tj ET")
    page["/Contents"] = generic.ArrayObject(
        [page.raw_get("/Contents"), writer.add_object(content)]
    )
    writer.update_container(page)
    changed = io.BytesIO()
    writer.write(changed)
    out = tmp_path / "updated.pdf"
    out.write_bytes(changed.getvalue())
    text = pdfsig(out)
    # pdfsig checks the signed revision only: still "valid", but not the whole document
    assert "Total document signed" not in text, text
    assert "not signed" in text.lower() or "Not total document signed" in text
    report = validate_pdf(changed.getvalue(), trust_roots=[ca.root_cert])
    assert not report.valid
    (sig,) = report.signatures
    assert sig.intact  # the signed revision itself is fine ...
    assert not sig.unchanged  # ... but something was added after it
    assert any("changed after it was signed" in p for p in sig.problems)


def test_form_field_update_after_signing_is_invalid(make_token, open_session, ca, tmp_path):
    """Filling a form field after signing (allowed by DocMDP level 2) is still refused."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    source = _pdf_with_text_field()
    token = make_token()
    with open_session(token) as session:
        signed = sign(session, source)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    acro = writer.root["/AcroForm"]
    for ref in acro["/Fields"]:
        field = ref.get_object()
        if field.get("/T") == "remarks":
            field["/V"] = generic.TextStringObject("changed after signing")
            writer.update_container(field)
    changed = io.BytesIO()
    writer.write(changed)
    report = validate_pdf(changed.getvalue(), trust_roots=[ca.root_cert])
    assert not report.valid, report.to_json()
    assert report.signatures[0].modification_level in ("FORM_FILLING", "OTHER", "ANNOTATIONS")


def _pdf_with_text_field() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 760, "Certificate with a remarks field")
    pdf.acroForm.textfield(name="remarks", x=72, y=600, width=300, height=20, value="none")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_always_authenticate_key_signs(make_token, open_session, ca, pdf, tmp_path):
    token = make_token("DSC-AA", (KeySpec("sign", "rsa", always_authenticate=True),))
    with open_session(token) as session:
        assert session.always_authenticate
        first = sign(session, pdf)
        second = sign(session, pdf)  # the PIN is needed again for each signature
        raw = session.sign_raw(b"qr payload")
    assert len(raw) == 256
    for signed in (first, second):
        assert validate_pdf(signed, trust_roots=[ca.root_cert]).valid


def test_hashing_mechanism_refused_falls_back_to_raw(make_token, open_session, ca, pdf):
    """SoftHSM2 has no CKM_ECDSA_SHA256: forced to try it, the session falls back."""
    token = make_token("DSC-EC", (KeySpec("sign", "ec"),))
    with open_session(token) as session:
        assert session.use_raw_mechanism  # chosen from the token's mechanism list
        session.use_raw_mechanism = False
        session._signer = None
        signed = sign(session, pdf)
        assert session.use_raw_mechanism
    assert validate_pdf(signed, trust_roots=[ca.root_cert]).valid


def test_many_signatures_in_one_session_all_valid(make_token, open_session, ca, pdf):
    token = make_token()
    with open_session(token) as session:
        documents = [sign(session, pdf) for _ in range(5)]
    assert all(validate_pdf(d, trust_roots=[ca.root_cert]).valid for d in documents)
    assert len(set(documents)) == 5
    # the signing-certificate-v2 attribute (cached per session) names the signer every time
    from pyhanko.pdf_utils.reader import PdfFileReader

    expected = hashlib.sha256(token.certs["sign"].der).digest()
    for document in documents:
        (embedded,) = PdfFileReader(io.BytesIO(document)).embedded_signatures
        attrs = {a["type"].native: a for a in embedded.signer_info["signed_attrs"]}
        ess = attrs["signing_certificate_v2"]["values"][0]
        assert ess["certs"][0]["cert_hash"].native == expected


def test_sign_pdf_checks_its_input(make_token, open_session, pdf):
    from app.signing.errors import InvalidInput

    token = make_token()
    with open_session(token) as session:
        with pytest.raises(InvalidInput, match="not a PDF"):
            session.sign_pdf(b"hello", field_name="S", page=0, box=BOX)
        with pytest.raises(InvalidInput, match="box"):
            session.sign_pdf(pdf, field_name="S", page=0, box=(10, 10, 5, 5))
        with pytest.raises(InvalidInput, match="field name"):
            session.sign_pdf(pdf, field_name="", page=0, box=BOX)
        with pytest.raises(InvalidInput, match="stamp image"):
            session.sign_pdf(pdf, field_name="S", page=0, box=BOX, stamp_png=b"not a png")
        # the session still works after refused input
        assert session.sign_pdf(pdf, field_name="S", page=0, box=BOX)


def test_timestamped_signature_is_pades_b_lta(make_token, open_session, ca, pdf, tmp_path):
    from app.signing.validation import signature_level
    from tests.support.pki import LocalTsa

    token = make_token()
    with LocalTsa(ca) as tsa, open_session(token, timestamp_url=tsa.url) as session:
        signed = sign(session, pdf)
        # the signature's timestamp, a sample token that sizes the document timestamp
        # (once per session), the document timestamp
        assert tsa.requests == 3
        sign(session, pdf)
        assert tsa.requests == 5
    assert signature_level(signed) == "B-LTA"
    report = validate_pdf(signed, trust_roots=[ca.root_cert])
    assert report.valid, report.to_json()
    assert report.signatures[0].timestamp is not None
    out = tmp_path / "bt.pdf"
    out.write_bytes(signed)
    assert "Signature is Valid" in pdfsig(out)


def test_unreachable_timestamp_server_stops_with_a_clear_error(make_token, open_session, pdf):
    from app.signing.errors import TimestampUnavailable

    token = make_token()
    with (
        open_session(token, timestamp_url="http://127.0.0.1:9/tsa") as session,
        pytest.raises(TimestampUnavailable, match="timestamp server"),
    ):
        sign(session, pdf)


def test_calls_from_several_threads_are_serialised_on_the_token_thread(
    make_token, open_session, ca, pdf, pin
):
    import threading

    token = make_token()
    asked_on = []
    results: list[bytes] = []
    with open_session(
        token, ask_pin=lambda info, warnings: asked_on.append(threading.get_ident()) or pin
    ) as session:
        workers = [
            threading.Thread(target=lambda: results.append(sign(session, pdf))) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert asked_on == [threading.get_ident()]  # the PIN prompt runs on the caller's thread
    assert len(results) == 4
    assert all(validate_pdf(r, trust_roots=[ca.root_cert]).valid for r in results)
