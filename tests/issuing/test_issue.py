"""End-to-end issue from the demo store with real SoftHSM2 tokens (RSA-2048 and ECDSA P-256)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import (
    Application,
    AuditEvent,
    Certificate,
    CertificateNumber,
    CertificateStatus,
    WalletEntry,
)
from app.models.enums import ApplicationStatus
from app.store.central import session_factory


def pdfsig(path: Path) -> str:
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def zbar_qr(pdf_path: Path, tmp_path: Path) -> str:
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(pdf_path),
                    str(prefix)], check=True)
    image = next(tmp_path.glob("page*.png"))
    result = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("kind", ["non_preferential", "preferential", "in_lieu", "back_to_back"])
def test_issue_every_kind(kind, registered_token, issuer, open_session, approved, demo_engine,
                          config, tmp_path):
    from app.documents.qr_payload import decode_qr_text, verify_qr_payload
    from app.services.central import certificate_data_for as _certificate_data_for
    from app.services.dsc import key_directory
    from app.services.issuing import verify_certificate_pdf

    [app_id] = approved(kind)
    sessions = session_factory(demo_engine)
    with sessions() as s:
        app = s.get(Application, app_id)
        original_number = app.original_certificate_number
        fees_before = len(s.scalars(select(WalletEntry)).all())
    session = open_session()
    issued = issuer.issue_one(app_id, session)

    with sessions() as s:
        app = s.get(Application, app_id)
        assert app.status == ApplicationStatus.ISSUED
        cert = s.scalars(select(Certificate).where(Certificate.application_id == app_id)).one()
        assert cert.number == issued.certificate_number
        assert cert.signer_fingerprint == registered_token.certs["sign"].fingerprint
        number = s.scalars(select(CertificateNumber)
                           .where(CertificateNumber.number == cert.number)).one()
        assert number.state == "issued" and number.application_id == app_id
        assert len(s.scalars(select(WalletEntry)).all()) == fees_before + 1
        fee = s.scalars(select(WalletEntry)
                        .where(WalletEntry.certificate_number == cert.number)).one()
        assert fee.amount == (-600 if kind == "preferential" else -200)
        assert s.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "application", AuditEvent.entity_id == app_id,
            AuditEvent.action == "application.issue")).first() is not None
        if kind == "in_lieu":
            original = s.scalars(select(Certificate)
                                 .where(Certificate.number == original_number)).one()
            assert original.status == CertificateStatus.SUPERSEDED
            assert original.superseded_by_number == cert.number
            assert issued.superseded_number == original_number
        pdf = cert.pdf
        data, status = _certificate_data_for(s, cert.number)
        assert status == "valid"

    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf)
    assert "Signature is Valid" in pdfsig(path)
    report = verify_certificate_pdf(demo_engine, config, pdf)
    assert report.valid, report.checks
    assert all(c.passed for c in report.checks)
    assert report.certificate_number == issued.certificate_number

    # the printed QR (pdftoppm 150 dpi + zbarimg) verifies against the key directory
    text = zbar_qr(path, tmp_path)
    with sessions() as s:
        directory = key_directory(s)
    result = verify_qr_payload(decode_qr_text(text), key_directory=directory, data=data)
    assert result.valid, result.reason


def test_changed_byte_and_incremental_update_are_invalid(rsa_token, issuer, open_session,
                                                         approved, demo_engine, config,
                                                         tmp_path):
    from app.services.issuing import verify_certificate_pdf

    [app_id] = approved("non_preferential")
    issued = issuer.issue_one(app_id, open_session())
    with session_factory(demo_engine)() as s:
        pdf = s.scalars(select(Certificate.pdf)
                        .where(Certificate.number == issued.certificate_number)).one()

    # one changed byte inside the signed content (a digit of the page text stream)
    index = pdf.index(b"stream\n") + 40
    changed = pdf[:index] + bytes([pdf[index] ^ 0x01]) + pdf[index + 1:]
    bad = tmp_path / "changed.pdf"
    bad.write_bytes(changed)
    assert "Signature is Valid" not in pdfsig(bad)
    report = verify_certificate_pdf(demo_engine, config, changed)
    assert not report.valid
    assert not next(c for c in report.checks if c.name == "Signature intact").passed
    # the chain is not judged over altered bytes, and nothing claims the file is unchanged
    checks = {c.name: c.passed for c in report.checks}
    assert checks["Chain to a trusted root"] is None
    assert checks["No change after signing"] is False
    # the command line makes the same checks against the store, and says so in JSON

    from app.cli import main

    good = tmp_path / "good.pdf"
    good.write_bytes(pdf)
    assert main(["verify", str(good)]) == 0
    assert main(["verify", str(bad)]) == 1

    # an incremental update that changes a form field after signing
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0]
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                          for v in (50, 50, 200, 80)]),
        generic.NameObject("/Contents"): generic.TextStringObject("Country of origin: CHINA"),
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
    })
    ref = writer.add_object(annot)
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(ref)
    page[generic.NameObject("/Annots")] = annots
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    upd = tmp_path / "updated.pdf"
    upd.write_bytes(updated)
    text = pdfsig(upd)
    # pdfsig: the signature no longer covers the whole file
    assert "Total document signed" not in text
    report = verify_certificate_pdf(demo_engine, config, updated)
    assert not report.valid
    assert not next(c for c in report.checks if c.name == "No change after signing").passed
