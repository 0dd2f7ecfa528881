"""A phone photo of a printed certificate, simulated: the page at 200 dpi (pdftoppm),
rotated 3° (white fill), Gaussian blur of 2 px, JPEG quality 40; then the QR codes found
in it by zxing-cpp and by zbarimg. Used by the tests and by ``bench.documents``."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageFilter

DPI = 200
ROTATION_DEGREES = 3.0
BLUR_PX = 2.0
JPEG_QUALITY = 40


def page_image(pdf: bytes, page: int = 1, dpi: int = DPI) -> Image.Image:
    """Page ``page`` (1-based) of ``pdf`` rendered by poppler's pdftoppm, greyscale."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(page), "-l", str(page),
             "-singlefile", str(source), str(Path(tmp) / "page")],
            check=True, capture_output=True, timeout=60,
        )
        with Image.open(Path(tmp) / "page.png") as image:
            return image.convert("L")


def phone_photo(image: Image.Image) -> bytes:
    """``image`` as a phone would see it: rotated, blurred and JPEG-compressed (bytes)."""
    rotated = image.rotate(ROTATION_DEGREES, resample=Image.Resampling.BICUBIC, expand=True,
                           fillcolor=255)
    blurred = rotated.filter(ImageFilter.GaussianBlur(BLUR_PX))
    out = io.BytesIO()
    blurred.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def decode_zxing(jpeg: bytes) -> list[str]:
    import zxingcpp

    with Image.open(io.BytesIO(jpeg)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"),
                                         formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in results if r.valid]


def decode_zbar(jpeg: bytes) -> list[str]:
    """The QR texts zbarimg reads; [] when zbarimg is not installed."""
    if shutil.which("zbarimg") is None:
        return []
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(jpeg)
        tmp.flush()
        run = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable",
                              tmp.name], capture_output=True, text=True, timeout=60)
    return [line for line in run.stdout.splitlines() if line]


QR_CORNER = (0.7, 0.0, 1.0, 0.2)  # the top right of the page, where every form has its QR


def phone_decodes(pdf: bytes, expected: str, page: int = 1,
                  framed: tuple[float, float, float, float] | None = None) -> dict[str, bool]:
    """Whether each decoder reads ``expected`` from a phone photo of the page, or of the
    part ``framed`` (fractions of the page: left, top, right, bottom), as a phone pointed
    at the code frames it. zbar does not find the code in a photo of the whole page (its
    finder gives up among the blurred text); zxing-cpp does."""
    image = page_image(pdf, page)
    if framed is not None:
        w, h = image.size
        image = image.crop((round(framed[0] * w), round(framed[1] * h),
                            round(framed[2] * w), round(framed[3] * h)))
    jpeg = phone_photo(image)
    return {"zxing": expected in decode_zxing(jpeg), "zbar": expected in decode_zbar(jpeg)}
