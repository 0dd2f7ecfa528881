"""Fixtures for the documents tests: stand-in DSC keys and certificates, PDF tool helpers."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from app.documents.qr_payload import QrSigner, key_id_for_certificate


@dataclass(frozen=True)
class StandInToken:
    """A key pair and certificate standing in for the officer's DSC token."""

    certificate: x509.Certificate
    signer: QrSigner

    @property
    def key_id(self) -> bytes:
        return self.signer.key_id


def _certificate(private_key, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(private_key, hashes.SHA256())
    )


def make_ecdsa_token(name: str = "Anil K. Sharma (ECDSA)") -> StandInToken:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(key, name)

    def sign(message: bytes) -> bytes:  # like CKM_ECDSA_SHA256: raw r || s
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return StandInToken(cert, QrSigner(key_id_for_certificate(cert), "ecdsa-p256-sha256", sign))


def make_rsa_token(name: str = "Anil K. Sharma (RSA)") -> StandInToken:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate(key, name)

    def sign(message: bytes) -> bytes:  # like CKM_SHA256_RSA_PKCS
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    return StandInToken(cert, QrSigner(key_id_for_certificate(cert), "rsa-pkcs1v15-sha256", sign))


@pytest.fixture(scope="session")
def ecdsa_token() -> StandInToken:
    return make_ecdsa_token()


@pytest.fixture(scope="session")
def rsa_token() -> StandInToken:
    return make_rsa_token()


@pytest.fixture(scope="session")
def key_directory(ecdsa_token: StandInToken, rsa_token: StandInToken) -> dict[bytes, object]:
    return {t.key_id: t.certificate for t in (ecdsa_token, rsa_token)}


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def qpdf_check(pdf: Path) -> None:
    result = run(["qpdf", "--check", str(pdf)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout, result.stdout


def page_text(pdf: Path, page: int) -> str:
    result = run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(pdf), "-"])
    assert result.returncode == 0, result.stderr
    return result.stdout


def page_texts(pdf: Path, pages: int) -> list[str]:
    return [page_text(pdf, n) for n in range(1, pages + 1)]


def scan_qr(pdf: Path, page: int, tmp_path: Path, dpi: int = 150) -> list[str]:
    """Render one page at ``dpi`` with pdftoppm and return what zbarimg reads on it."""
    prefix = tmp_path / f"scan-{page}"
    result = run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                  "-singlefile", str(pdf), str(prefix)])
    assert result.returncode == 0, result.stderr
    scan = run(["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable",
                str(prefix.with_suffix(".png"))])
    assert scan.returncode == 0, f"zbarimg found no QR code on page {page}: {scan.stderr}"
    return [line for line in scan.stdout.splitlines() if line]


def write_pdf(tmp_path: Path, name: str, pdf: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


Signer = Callable[[bytes], bytes]
