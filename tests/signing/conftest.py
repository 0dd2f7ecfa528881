"""Fixtures: a test CA per session, a SoftHSM2 configuration (own token dir) per test.

Every test gets its own ``SOFTHSM2_CONF`` (monkeypatched); ``app.signing.discovery``
re-initialises the module on each discovery, which makes SoftHSM2 re-read the variable and
rescan the token directory (see tests/support/pki.py).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:  # pytest puts this folder, not the project root, on sys.path
    sys.path.insert(0, ROOT)

from app.signing.token_session import TokenSession, open_token_session  # noqa: E402
from tests.support.pki import KeySpec, SoftHsm, TestCA, TokenHandle, make_test_ca  # noqa: E402

PIN = "739451"  # distinctive, so that a leak into logs or output is easy to grep


@pytest.fixture(scope="session")
def ca() -> TestCA:
    return make_test_ca("Signing Tests")


@pytest.fixture(autouse=True)
def desk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "desk"
    home.mkdir()
    monkeypatch.setenv("ORIGIN_DESK_HOME", str(home))
    return home


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    softhsm = SoftHsm(tmp_path / "hsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm.conf))
    monkeypatch.setenv("ORIGIN_DESK_PKCS11_MODULES", softhsm.module)
    return softhsm


@pytest.fixture
def make_token(hsm: SoftHsm, ca: TestCA) -> Callable[..., TokenHandle]:
    def make(label: str = "DSC-TEST", keys: tuple[KeySpec, ...] = (KeySpec(),),
             **kwargs: object) -> TokenHandle:
        return hsm.make_token(label, ca, keys, pin=PIN, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def open_session(
    hsm: SoftHsm, ca: TestCA
) -> Iterator[Callable[..., TokenSession]]:
    opened: list[TokenSession] = []

    def open_(token: TokenHandle, cert_label: str = "sign", *, pin: str = PIN,
              **kwargs: object) -> TokenSession:
        kwargs.setdefault("registered_fingerprints", {token.certs[cert_label].fingerprint})
        kwargs.setdefault("trust_roots", [ca.root_cert])
        kwargs.setdefault("ask_pin", lambda info, warnings: pin)
        session = open_token_session(module_paths=[hsm.module], token_label=token.label,
                                     **kwargs)  # type: ignore[arg-type]
        opened.append(session)
        return session

    yield open_
    for session in opened:
        session.close()


def make_pdf(text: str = "Certificate of Origin", pages: int = 1) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for number in range(pages):
        pdf.setFont("Helvetica", 14)
        pdf.drawString(72, 760, f"{text} - page {number + 1}")
        pdf.drawString(72, 740, "Exporter: AAACR5055K  Consignee: Test Importer LLC")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def stamp_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (200, 100), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 190, 90), outline=(20, 40, 160, 255), width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def pdf() -> bytes:
    return make_pdf()


@pytest.fixture
def stamp() -> bytes:
    return stamp_png()


@pytest.fixture
def pin() -> str:
    """The PIN of every token made by ``make_token``."""
    return PIN
