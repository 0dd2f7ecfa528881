"""Every form's page images against committed references (72 dpi, small tolerance).

The sample certificate of each form (app.documents.samples) is rendered with a fixed QR
signature, page 1 and the notes overleaf (when the form has them) are rasterised with
pdftoppm at 72 dpi and compared, in grey, with tests/documents/reference/<FORM>-p<N>.png:
the mean absolute difference must stay under 1.5% of full scale.

A deliberate change of a form or of the renderer changes the images: regenerate them with
``ORIGIN_DESK_UPDATE_REFERENCES=1`` and look at every PNG before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from app.documents.certificate_data import FORM_CODES
from app.documents.form_spec import load_form_spec
from app.documents.qr_payload import QrSigner
from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate

from .conftest import run, write_pdf

REFERENCE_DIR = Path(__file__).parent / "reference"
TOLERANCE = 0.015  # mean absolute grey difference, as a fraction of full scale
UPDATE = os.environ.get("ORIGIN_DESK_UPDATE_REFERENCES") == "1"

# A fixed "signature" keeps the QR code, and so the page image, the same on every run.
FIXED_SIGNER = QrSigner(b"\x07" * 8, "ecdsa-p256-sha256", lambda message: b"\x5a" * 64)


def _pages(form: str) -> list[int]:
    spec = load_form_spec(form)
    return [1, 2] if spec.notes else [1]


CASES = [(form, page) for form in FORM_CODES for page in _pages(form)]


def _rasterise(pdf: Path, page: int, prefix: Path) -> Image.Image:
    result = run(["pdftoppm", "-r", "72", "-f", str(page), "-l", str(page), "-png",
                  "-singlefile", str(pdf), str(prefix)])
    assert result.returncode == 0, result.stderr
    with Image.open(prefix.with_suffix(".png")) as image:
        return image.convert("L")


def _difference(a: Image.Image, b: Image.Image) -> float:
    histogram = ImageChops.difference(a, b).histogram()
    total = sum(value * count for value, count in enumerate(histogram))
    return total / (255 * a.width * a.height)


@pytest.mark.parametrize(("form", "page"), CASES)
def test_page_matches_the_reference_image(form, page, tmp_path):
    data = sample_certificate(form, goods=3)
    result = render_certificate(data, qr_signer=FIXED_SIGNER)
    assert result.page_count == len(_pages(form))
    pdf = write_pdf(tmp_path, f"{form}.pdf", result.pdf)
    image = _rasterise(pdf, page, tmp_path / f"{form}-p{page}")
    reference = REFERENCE_DIR / f"{form}-p{page}.png"
    if UPDATE:
        REFERENCE_DIR.mkdir(exist_ok=True)
        image.save(reference, optimize=True)
        return
    assert reference.is_file(), (
        f"no reference image {reference.name}; make it with ORIGIN_DESK_UPDATE_REFERENCES=1"
    )
    with Image.open(reference) as expected:
        expected = expected.convert("L")
    assert expected.size == image.size, (expected.size, image.size)
    difference = _difference(expected, image)
    assert difference < TOLERANCE, (
        f"{form} page {page} differs from {reference.name} by {difference:.2%} "
        "(regenerate with ORIGIN_DESK_UPDATE_REFERENCES=1 after a deliberate change)"
    )
