"""Certificates issued at PAdES B-LTA against a certomancer PKI on 127.0.0.1 (OCSP, CRLs,
TSA), then checked the way an archive would: offline, with the OCSP responder down, and
at a moment after the officer's certificate expired."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

import pytest

from tests.lta.conftest import PIN


def issue(issuer, ids: list[int]) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """Issue ``ids`` in one batch; the (number, signed PDF) of each."""
    outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    assert not outcome.failed and not outcome.left, outcome.summary()
    return [(issued.certificate_number, issuer.certificate_pdf(issued.certificate_number))
            for _id, issued in outcome.done]


def officer_signature(pdf: bytes):  # type: ignore[no-untyped-def]
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    (sig,) = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    return reader, sig


def dss_context(pdf: bytes, pki, moment: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    """A validation context with only what the file carries (its DSS), no fetching, and
    revocation information required (hard-fail)."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    reader, _sig = officer_signature(pdf)
    settings = {"trust_roots": [asn1_x509.Certificate.load(pki.cert_der("root"))],
                "allow_fetching": False, "revocation_mode": "hard-fail"}
    if moment is not None:
        settings["moment"] = moment
    return DocumentSecurityStore.read_dss(reader).as_validation_context(settings)


@pytest.fixture
def lta_certificate(with_timestamps, make_issuer, approved):  # type: ignore[no-untyped-def]
    issuer = make_issuer()
    ((number, pdf),) = issue(issuer, approved(1))
    return number, pdf


def test_a_certificate_issued_with_a_timestamp_server_is_b_lta(lta_certificate, pki):
    from app.signing.validation import signature_level, validate_pdf

    _number, pdf = lta_certificate
    assert signature_level(pdf) == "B-LTA"
    report = validate_pdf(pdf, trust_roots=[pki.root_cert])
    assert report.valid, report.to_json()
    assert report.level == "B-LTA"
    assert len(report.document_timestamps) == 1
    assert report.signatures[0].timestamp is not None


def test_it_validates_offline_with_the_ocsp_responder_stopped(lta_certificate, pki):
    from pyhanko.sign.validation import validate_pdf_signature

    _number, pdf = lta_certificate
    pki.stop_ocsp()
    _reader, sig = officer_signature(pdf)
    status = validate_pdf_signature(sig, dss_context(pdf, pki))
    assert status.bottom_line, status.summary()
    assert status.trusted and status.timestamp_validity.trusted


def test_it_still_validates_after_the_officers_certificate_expired(lta_certificate, pki):
    """An archive's check, months later: the newest document timestamp is valid then (its
    TSA certificate still is), and proves that the signature and the validation data
    existed at its time, when the officer's certificate was valid and not revoked."""
    from cryptography import x509
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    _number, pdf = lta_certificate
    pki.stop()  # nothing to fetch: the services are gone, as they may be in ten years
    try:
        reader, sig = officer_signature(pdf)
        officer = x509.load_der_x509_certificate(sig.signer_cert.dump())
        later = officer.not_valid_after_utc + dt.timedelta(days=60)
        # at that moment the signature alone no longer validates: the certificate expired
        assert not validate_pdf_signature(sig, dss_context(pdf, pki, later)).bottom_line
        (doc_ts,) = [s for s in reader.embedded_signatures
                     if s.sig_object_type == "/DocTimeStamp"]
        from asn1crypto import x509 as asn1_x509

        ts_status = validate_pdf_timestamp(doc_ts, ValidationContext(
            trust_roots=[asn1_x509.Certificate.load(pki.cert_der("root"))], moment=later,
            allow_fetching=False, revocation_mode="soft-fail"))
        assert ts_status.intact and ts_status.valid and ts_status.trusted, ts_status.summary()
        proven_at = ts_status.timestamp
        assert proven_at < officer.not_valid_after_utc < later
        status = validate_pdf_signature(sig, dss_context(pdf, pki, proven_at))
        assert status.bottom_line, status.summary()
    finally:
        pki.start()


def test_the_signature_certifies_the_document_and_embeds_only_the_signers_chain(
    lta_certificate, pki
):
    from pyhanko.sign.fields import MDPPerm

    _number, pdf = lta_certificate
    _reader, sig = officer_signature(pdf)
    assert sig.docmdp_level == MDPPerm.NO_CHANGES  # a certification signature, P=1
    embedded = [c.chosen.dump() for c in sig.signed_data["certificates"]]
    assert sorted(embedded) == sorted([sig.signer_cert.dump(), pki.sub_der])


def test_pdfsig_finds_the_signature_valid(lta_certificate, tmp_path: Path):
    _number, pdf = lta_certificate
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    text = result.stdout + result.stderr
    assert "Signature is Valid" in text, text
    first = text.split("Signature #2")[0]  # #2 is the document timestamp
    assert "Signature is Valid" in first and "ETSI.CAdES.detached" in first, text


def test_without_a_timestamp_server_the_certificate_is_b_b(make_issuer, approved, pki):
    from pyhanko.sign.fields import MDPPerm

    from app.signing.validation import signature_level, validate_pdf

    issuer = make_issuer()
    ((_number, pdf),) = issue(issuer, approved(1))
    assert signature_level(pdf) == "B-B"
    _reader, sig = officer_signature(pdf)
    assert sig.docmdp_level == MDPPerm.NO_CHANGES
    assert len(list(sig.signed_data["certificates"])) == 2
    report = validate_pdf(pdf, trust_roots=[pki.root_cert])
    assert report.valid and report.level == "B-B", report.to_json()


def test_a_dead_timestamp_server_stops_the_batch_and_releases_the_number(
    make_issuer, approved, pki, monkeypatch
):
    monkeypatch.setenv("ORIGIN_DESK_TIMESTAMP_URL", "http://127.0.0.1:9/tsa")
    issuer = make_issuer()
    ids = approved(2)
    outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    assert not outcome.done and outcome.left == ids
    assert "timestamp server at http://127.0.0.1:9/tsa did not answer" in outcome.message


def test_a_dead_ocsp_responder_stops_the_batch_with_a_clear_message(
    with_timestamps, make_issuer, approved, pki
):
    pki.stop_ocsp()
    pki.stop_service("crls")  # the CRLs would do instead of OCSP
    issuer = make_issuer()
    ids = approved(1)
    outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    assert not outcome.done and outcome.left == ids
    assert "certificate status server" in outcome.message, outcome.message
