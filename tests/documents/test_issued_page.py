"""What an issued certificate shows and says: the stamp in the page content (QtPdf sees it),
the issuer named, 'Issued retrospectively' when due, real metadata, a QR a phone reads."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import replace

import pytest

from app.documents.certificate_data import FORM_CODES
from app.documents.qr_code import make_symbol
from app.documents.qr_payload import QrSigner, qr_url
from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate
from tests.documents.conftest import make_ecdsa_token, make_rsa_token
from tests.support.phone import QR_CORNER, phone_decodes

TOKEN = make_ecdsa_token()
# a fixed ECDSA-sized "signature": the same symbol on every run, so the phone tests are stable
FIXED = QrSigner(b"\x07" * 8, "ecdsa-p256-sha256", lambda message: b"\x5a" * 64)
ISSUED_AT = dt.datetime(2025, 3, 14, 6, 30, tzinfo=dt.UTC)


def _text(pdf: bytes) -> str:
    run = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                         check=True, timeout=60)
    return run.stdout.decode("utf-8")


def _sealed(data):
    signed = render_certificate(data, qr_signer=FIXED)
    url = qr_url("https://coo.example.gov.in", signed.qr_payload)
    return render_certificate(data, sealed=(signed.qr_payload, url), issued_at=ISSUED_AT), url


@pytest.mark.parametrize("form", FORM_CODES)
def test_the_issuer_is_named_and_retrospective_issue_said_only_when_due(form):
    data = sample_certificate(form)  # issued 14 Mar, departs 16 Mar
    text = " ".join(_text(render_certificate(data, qr_signer=TOKEN.signer).pdf).split())
    assert "Federation of Indian Export Organisations" in text
    assert "Deputy Director" in text
    assert "Akbar House" in text
    assert "Issued retrospectively" not in text
    late = replace(data, transport=replace(data.transport, departure_date=dt.date(2025, 3, 1)))
    assert late.issued_retrospectively
    late_text = " ".join(_text(render_certificate(late, qr_signer=TOKEN.signer).pdf).split())
    assert "Issued retrospectively" in late_text


def test_exporter_country_and_on_behalf_are_printed_once():
    data = sample_certificate("SAFTA")
    data = replace(
        data,
        exporter=replace(data.exporter, address_lines=(*data.exporter.address_lines, "India")),
        declaration=replace(data.declaration, signatory_designation=f"for {data.exporter.name}"),
    )
    text = _text(render_certificate(data, qr_signer=TOKEN.signer).pdf)
    assert text.count(f"for {data.exporter.name}") == 1
    exporter_box = text.split("Goods consigned to")[0]
    assert exporter_box.upper().count("INDIA") == 1


def test_qtpdf_shows_the_stamp_of_an_issued_page(qapp):
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtPdf import QPdfDocument

    rendered, _url = _sealed(sample_certificate("NONPREF"))
    buffer = QBuffer()
    buffer.setData(QByteArray(rendered.pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    assert document.status() == QPdfDocument.Status.Ready
    page_pt = document.pagePointSize(0)
    scale = 2.0
    image = document.render(0, QSize(round(page_pt.width() * scale),
                                     round(page_pt.height() * scale)))
    x1, y1, x2, y2 = rendered.signature_box
    dark = 0
    for px in range(round(x1 * scale), round(x2 * scale), 3):
        for py in range(round((page_pt.height() - y2) * scale),
                        round((page_pt.height() - y1) * scale), 3):
            colour = image.pixelColor(px, py)
            if min(colour.red(), colour.green(), colour.blue()) < 200:
                dark += 1
    assert dark > 50, "QtPdf shows no stamp or signature in the certification box"
    document.close()


def test_the_pdf_says_what_it_is_and_when_it_was_issued(tmp_path):
    rendered, _url = _sealed(sample_certificate("AIFTA"))
    path = tmp_path / "c.pdf"
    path.write_bytes(rendered.pdf)
    info = subprocess.run(["pdfinfo", "-isodates", str(path)], capture_output=True, text=True,
                          check=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Title"].strip() == "Certificate of Origin FIEO/MUM/2025/0012345"
    assert fields["Author"].strip() == "Federation of Indian Export Organisations"
    assert "Form AI" in fields["Subject"]
    assert fields["CreationDate"].strip().startswith("2025-03-14T06:30:00")
    assert fields["ModDate"].strip().startswith("2025-03-14T06:30:00")
    assert fields["Metadata Stream"].strip() == "yes"
    xmp = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert "<xmp:CreateDate>2025-03-14T06:30:00Z</xmp:CreateDate>" in xmp
    assert "<rdf:li>en-IN</rdf:li>" in xmp
    assert b"/Lang (en-IN)" in rendered.pdf


def test_a_draft_is_dated_now():
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pdf = render_certificate(sample_certificate("NONPREF", issued=False, images=False)).pdf
    info = subprocess.run(["pdfinfo", "-isodates", "-"], input=pdf, capture_output=True,
                          check=False).stdout.decode()
    created = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                   if line.startswith("CreationDate"))
    assert dt.datetime.fromisoformat(created.replace("Z", "+00:00")) >= before


@pytest.mark.parametrize("form", FORM_CODES)
def test_a_phone_photo_of_the_sealed_qr_decodes(form):
    rendered, url = _sealed(sample_certificate(form))
    assert phone_decodes(rendered.pdf, url)["zxing"]  # the whole page
    assert phone_decodes(rendered.pdf, url, framed=QR_CORNER) == {"zxing": True, "zbar": True}


def test_an_officer_signed_ecdsa_qr_decodes_from_a_phone_photo():
    rendered = render_certificate(sample_certificate("SAFTA"), qr_signer=TOKEN.signer)
    assert phone_decodes(rendered.pdf, rendered.qr_text, framed=QR_CORNER) == \
        {"zxing": True, "zbar": True}


def test_an_officer_signed_rsa_qr_is_too_dense_for_every_phone():
    # ~505 characters: version 14 at 0.6 mm in the 50.2 mm box; zxing-cpp reads the photo,
    # zbar only some symbols (documented in docs/QR-PAYLOAD.md): not relied on
    rendered = render_certificate(sample_certificate("SAFTA"), qr_signer=make_rsa_token().signer)
    assert make_symbol(rendered.qr_text).version == 14
    assert phone_decodes(rendered.pdf, rendered.qr_text, framed=QR_CORNER)["zxing"]
