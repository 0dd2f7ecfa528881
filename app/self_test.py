"""`origin-desk --self-test`: does this installation work? (installers, IT departments)

Runs offscreen in a temporary data directory and touches every part an installed bundle
must carry: Qt and its platform plugin, the embedded demo store (SQLAlchemy, the schema's
migrations, the demo data), the form specifications and fonts (a certificate rendered),
the cryptography (a throwaway key signs the certificate's QR code and the PDF, pyHanko
validates the signature), QtPdf (the page drawn) and zxing-cpp (the QR code read back from
the drawn page and checked). Nothing is left outside the temporary directory but the
command's line in the product's log; no token is needed (the demo's SoftHSM2 token is an optional package).

Prints one line per step and exits 0 when all pass; otherwise the failing step in one line
and exit 1 (the traceback goes to the log).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class SelfTestFailed(Exception):
    pass


LOG_FILE = Path(tempfile.gettempdir()) / "origin-desk-self-test.log"


def run_self_test(out: Callable[[str], None] = print) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic()
    handler = logging.FileHandler(LOG_FILE, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        return _run(out, started)
    finally:
        root.removeHandler(handler)
        handler.close()


def _run(out: Callable[[str], None], started: float) -> int:
    with tempfile.TemporaryDirectory(prefix="origin-desk-self-test-") as home:
        os.environ["ORIGIN_DESK_HOME"] = home
        for name in ("ORIGIN_DESK_CENTRAL_URL", "ORIGIN_DESK_OFFLINE"):
            os.environ.pop(name, None)
        state: dict[str, Any] = {}
        steps: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
            ("Qt", _qt), ("demo store", _demo_store), ("render", _render),
            ("sign and validate", _sign_and_validate), ("QR code", _qr_read_back),
        ]
        for name, step in steps:
            try:
                out(f"  {name}: {step(state)}")
            except Exception as exc:  # noqa: BLE001 - every failure is this step's failure
                log.error("self-test step %s failed", name, exc_info=exc)
                out(f"self-test failed at '{name}': {type(exc).__name__}: {exc} "
                    f"(details in {LOG_FILE})")
                return 1
        state.clear()
    out(f"self-test passed in {time.monotonic() - started:.1f} s")
    return 0


def _qt(state: dict[str, Any]) -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform",
                                                   os.environ["QT_QPA_PLATFORM"]])
    state["app"] = app
    label = QLabel("Origin Desk")
    label.resize(200, 40)
    image = label.grab().toImage()
    if image.isNull() or image.width() < 1:
        raise SelfTestFailed("a widget could not be drawn")
    return (f"Qt {qVersion()} (PySide6 {pyside_version}), platform "
            f"{QApplication.platformName()}")


def _demo_store(state: dict[str, Any]) -> str:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.config import load_config
    from app.models import Application, Certificate
    from app.store.demo import create_demo_store

    config = load_config()
    engine = create_demo_store(config.demo_store_path)
    state["engine"] = engine
    with Session(engine) as session:
        applications = session.scalar(select(func.count()).select_from(Application))
        number = session.scalar(select(Certificate.number).order_by(Certificate.id).limit(1))
    if not applications or number is None:
        raise SelfTestFailed("the demo store holds no issued certificate")
    state["number"] = number
    return f"{applications:,} applications in {config.demo_store_path.name}"


def _render(state: dict[str, Any]) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID
    from sqlalchemy.orm import Session

    from app.documents.qr_payload import QrSigner, key_id_for_certificate
    from app.documents.renderer import render_certificate
    from app.services.central import certificate_data_for

    with Session(state["engine"]) as session:
        data, _status = certificate_data_for(session, state["number"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Origin Desk self-test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    signer = QrSigner(key_id=key_id_for_certificate(certificate),
                      algorithm="rsa-pkcs1v15-sha256",
                      sign=lambda message: key.sign(message, padding.PKCS1v15(),
                                                    hashes.SHA256()))
    rendered = render_certificate(data, qr_signer=signer)
    state.update(data=data, key=key, certificate=certificate, rendered=rendered)
    return (f"certificate {data.certificate_number} ({data.form_code}), "
            f"{rendered.page_count} page(s), {len(rendered.pdf):,} bytes")


def _sign_and_validate(state: dict[str, Any]) -> str:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key, certificate = state["key"], state["certificate"]
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs([cert]),
    )
    output = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(state["rendered"].pdf)),
        signers.PdfSignatureMetadata(field_name="SelfTest"), signer=signer)
    signed = output.getvalue()
    reader = PdfFileReader(io.BytesIO(signed))
    status = validate_pdf_signature(reader.embedded_signatures[0],
                                    ValidationContext(trust_roots=[cert]))
    if not (status.intact and status.valid and status.trusted):
        raise SelfTestFailed(f"the signature does not validate: {status.summary()}")
    state["signed"] = signed
    return "signed with a throwaway key; pyHanko: intact, valid, trusted"


def _qr_read_back(state: dict[str, Any]) -> str:
    import zxingcpp
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtPdf import QPdfDocument

    from app.documents.qr_payload import (
        key_id_for_certificate,
        payload_from_qr_text,
        verify_qr_payload,
    )

    path = Path(os.environ["ORIGIN_DESK_HOME"]) / "self-test.pdf"
    path.write_bytes(state["signed"])
    document = QPdfDocument()
    document.load(str(path))
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        raise SelfTestFailed(f"QtPdf could not open the certificate ({document.status()})")
    size = document.pagePointSize(0)
    image = document.render(0, QSize(int(size.width() * 3), int(size.height() * 3)))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    document.close()
    drawn = Image.open(io.BytesIO(bytes(data))).convert("RGBA")
    page = Image.new("RGBA", drawn.size, "white")  # QtPdf leaves the paper transparent
    page.alpha_composite(drawn)
    found = zxingcpp.read_barcodes(page.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    if not found:
        raise SelfTestFailed("no QR code found on the drawn page")
    certificate = state["certificate"]
    check = verify_qr_payload(payload_from_qr_text(found[0].text),
                              key_directory={key_id_for_certificate(certificate): certificate},
                              data=state["data"])
    if not check.valid:
        raise SelfTestFailed(f"the QR code read back does not verify: {check.reason}")
    return "drawn with QtPdf, read with zxing-cpp, signature and fields verified"
