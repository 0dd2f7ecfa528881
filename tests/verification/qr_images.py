"""Certificates to verify: numbers by status, QR images made from an issued certificate's
QR code (a clean PNG, a photo-like JPEG, a page raster), a tampered code."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
import qrcode
from PIL import Image, ImageFilter
from sqlalchemy import Engine, text, update

from app.models import Certificate, CertificateStatus
from app.store.central import session_factory


def numbers_by_status(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return {status: connection.scalar(text(
            "SELECT number FROM certificates WHERE status = :s ORDER BY id LIMIT 1"),
            {"s": status}) for status in ("valid", "superseded", "cancelled")}


def set_status(engine: Engine, number: str, status: str, by: str | None = None) -> None:
    with session_factory(engine)() as session, session.begin():
        session.execute(update(Certificate).where(Certificate.number == number).values(
            status=CertificateStatus(status), superseded_by_number=by))


# --- QR images -----------------------------------------------------------------------------

def qr_text_of(pdf: bytes) -> str:
    from app.services.verification import qr_texts_in_pdf

    [qr_text] = set(qr_texts_in_pdf(pdf))
    return qr_text


def clean_png(qr_text: str, path: Path) -> Path:
    qrcode.make(qr_text, box_size=6, border=4).save(path)
    return path


def photo_like(clean: Path, path: Path) -> Path:
    """As a phone would take it: on a grey desk, turned 17°, smaller, soft, a JPEG."""
    code = Image.open(clean).convert("RGB")
    desk = Image.new("RGB", (code.width + 300, code.height + 200), (168, 160, 150))
    desk.paste(code, (170, 90))
    turned = desk.rotate(17, resample=Image.Resampling.BICUBIC, expand=True,
                         fillcolor=(168, 160, 150))
    smaller = turned.resize((int(turned.width * 0.8), int(turned.height * 0.8)),
                            Image.Resampling.BILINEAR)
    smaller.filter(ImageFilter.GaussianBlur(0.8)).save(path, "JPEG", quality=70)
    return path


def page_raster(pdf_path: Path, out: Path) -> Path:
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-f", "1", "-l", "1", str(pdf_path),
                    str(out)], check=True, timeout=120)
    [page] = sorted(out.parent.glob(out.name + "*.png"))
    return page


def tampered_text(qr_text: str) -> str:
    """The same QR address with one byte of the sealed payload changed."""
    from app.documents.qr_payload import encode_qr_text
    from app.hub.verify_lookup import decode_payload_text

    payload = bytearray(decode_payload_text(qr_text))
    payload[len(payload) // 3] ^= 0x01
    head, _, _ = qr_text.rpartition("/v/")
    if not head:  # the ECOO: form
        return encode_qr_text(bytes(payload))
    encoded = base64.urlsafe_b64encode(bytes(payload)).rstrip(b"=").decode()
    return f"{head}/v/{encoded}"


@pytest.fixture
def issued(rsa_token, issuer, approved, open_session, tmp_path):  # type: ignore[no-untyped-def]
    """Two certificates issued with a SoftHSM token on the demo store: their numbers, the
    first one's PDF (a file) and QR text."""
    ids = approved("non_preferential", 2)
    session = open_session()
    numbers = [issuer.issue_one(i, session).certificate_number for i in ids]
    pdf = issuer.certificate_pdf(numbers[0])
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return numbers, path, qr_text_of(pdf)
