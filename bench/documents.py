"""Certificate rendering: time per certificate, against bare reportlab drawing the same text.

Every render includes what an issued certificate costs: the canonical digest, the QR
payload signed with an ECDSA P-256 key (in software here; on the token in production),
the QR symbol, the stamp and signature images and the watermark-free layout.
"""

from __future__ import annotations

import gc
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from reportlab.pdfgen.canvas import Canvas

from app.documents.certificate_data import CertificateData
from app.documents.fonts import certificate_fonts
from app.documents.qr_payload import QrSigner
from app.documents.renderer import _all_texts, render_certificate
from app.documents.samples import sample_certificate, sample_goods

RUNS = 40


def _signer() -> QrSigner:
    key = ec.generate_private_key(ec.SECP256R1())

    def sign(message: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return QrSigner(b"\x01" * 8, "ecdsa-p256-sha256", sign)


def _median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm caches (fonts, templates, encoded images)
    times = []
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
    finally:
        gc.enable()
    return statistics.median(times)


def _bare_reportlab(data: CertificateData) -> bytes:
    """The same certificate text drawn with plain Canvas calls: no layout, no QR, no images."""
    fonts = certificate_fonts()
    lines = [line for text in _all_texts(data) for line in text.split("\n")]
    out = io.BytesIO()
    canvas = Canvas(out, pageCompression=1, invariant=1)
    y = 800.0
    for line in lines:
        if y < 40:
            canvas.showPage()
            y = 800.0
        canvas.setFont(fonts.regular, 7.5)
        canvas.drawString(40, y, line[:140])
        y -= 9
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def run() -> dict[str, float]:
    signer = _signer()
    base = sample_certificate("AIFTA", goods=1)
    one = base
    fifty = replace(base, goods=sample_goods(50))
    render_1 = _median_ms(lambda: render_certificate(one, qr_signer=signer))
    render_50 = _median_ms(lambda: render_certificate(fifty, qr_signer=signer))
    bare_50 = _median_ms(lambda: _bare_reportlab(fifty))
    zxing_rate, both_rate = qr_phone_decode_rates(signer)
    return {
        "render_1_line_ms": round(render_1, 2),
        "render_50_lines_ms": round(render_50, 2),
        "render_ratio_vs_bare_reportlab": round(render_50 / bare_50, 2),
        "qr_phone_decode_rate": both_rate,
        "qr_phone_decode_rate_zxing_whole_page": zxing_rate,
    }


def qr_phone_decode_rates(signer: QrSigner, per_form: int = 2) -> tuple[float, float]:
    """Share of sealed certificates (``per_form`` of every form, each with its own
    signature, so its own symbol) whose QR a simulated phone photo decodes
    (``tests/support/phone.py``: 200 dpi, 3°, blur 2 px, JPEG 40): with zxing-cpp from the
    whole page, and with both zxing-cpp and zbarimg from the code framed."""
    from app.documents.certificate_data import FORM_CODES
    from app.documents.qr_payload import qr_url
    from tests.support.phone import QR_CORNER, phone_decodes

    whole = both = total = 0
    for form in FORM_CODES:
        for i in range(per_form):
            data = replace(sample_certificate(form), certificate_number=f"FIEO/MUM/2025/00{i}")
            signed = render_certificate(data, qr_signer=signer)
            url = qr_url("https://coo.example.gov.in", signed.qr_payload)
            pdf = render_certificate(data, sealed=(signed.qr_payload, url)).pdf
            total += 1
            whole += phone_decodes(pdf, url)["zxing"]
            both += all(phone_decodes(pdf, url, framed=QR_CORNER).values())
    return round(whole / total, 3), round(both / total, 3)


if __name__ == "__main__":  # pragma: no cover
    print(run())
