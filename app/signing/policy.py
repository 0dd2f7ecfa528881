"""Who may sign: only a certificate registered to the officer, valid now, with a signing key
usage, chaining to one of the agency's trusted roots.

:func:`check_signing_certificate` raises :class:`SigningRefused` naming the first rule that
fails (``.rule`` is a stable code: ``not_registered``, ``expired``, ``not_yet_valid``,
``key_usage``, ``untrusted``, ``no_trust_roots``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app.signing.certificates import CertificateInfo, load_certificate
from app.signing.errors import InvalidInput, SigningRefused

log = logging.getLogger(__name__)

T = TypeVar("T")
CertLike = CertificateInfo | x509.Certificate | bytes

_CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


def _der(cert: CertLike) -> bytes:
    if isinstance(cert, CertificateInfo):
        return cert.der
    if isinstance(cert, x509.Certificate):
        return cert.public_bytes(Encoding.DER)
    return load_certificate(cert).public_bytes(Encoding.DER)


def load_trust_roots(path: Path | str) -> list[x509.Certificate]:
    """Every certificate (PEM, several per file allowed, or DER) in the folder ``path``.

    Files with other suffixes are ignored; a certificate file that cannot be read raises
    :class:`InvalidInput` naming it. A missing folder gives an empty list.
    """
    folder = Path(path)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise InvalidInput(f"The trust folder {folder} is not a folder.")
    roots: list[x509.Certificate] = []
    for file in sorted(folder.iterdir()):
        if file.suffix.lower() not in _CERT_SUFFIXES or not file.is_file():
            continue
        data = file.read_bytes()
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                roots.extend(x509.load_pem_x509_certificates(data))
            else:
                roots.append(x509.load_der_x509_certificate(data))
        except ValueError as exc:
            raise InvalidInput(
                f"{file} in the trust folder is not a certificate (PEM or DER): {exc}"
            ) from None
    log.debug("loaded %d trust root(s) from %s", len(roots), folder)
    return roots


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even inside a thread with a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def chain_problem(
    cert: CertLike,
    *,
    trust_roots: Iterable[CertLike],
    intermediates: Iterable[CertLike] = (),
    now: datetime | None = None,
) -> str | None:
    """Why ``cert`` does not chain to one of ``trust_roots`` at ``now`` (None when it does)."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    roots = [asn1_x509.Certificate.load(_der(r)) for r in trust_roots]
    if not roots:
        return "no trusted root certificate is installed"
    others = [asn1_x509.Certificate.load(_der(c)) for c in intermediates]
    context = ValidationContext(
        trust_roots=roots,
        other_certs=others,
        moment=now or datetime.now(UTC),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(asn1_x509.Certificate.load(_der(cert)), others, context)
    try:
        run_coroutine(validator.async_validate_path())
    except PathBuildingError:
        return "no chain of certificates leads to a trusted root"
    except PathValidationError as exc:
        return str(exc) or type(exc).__name__
    return None


def check_signing_certificate(
    cert: CertLike,
    *,
    registered_fingerprints: set[str],
    trust_roots: Iterable[CertLike],
    now: datetime | None = None,
    intermediates: Iterable[CertLike] = (),
) -> CertificateInfo:
    """Refuse (raise :class:`SigningRefused`) unless ``cert`` may sign for this officer now.

    ``registered_fingerprints``: SHA-256 hex of the DER of the certificates registered to the
    officer. ``intermediates``: CA certificates found on the token, used to build the chain.
    Returns the certificate's :class:`CertificateInfo` when every rule passes.
    """
    now = now or datetime.now(UTC)
    info = cert if isinstance(cert, CertificateInfo) else CertificateInfo.from_der(_der(cert))
    name = info.describe()
    registered = {f.lower().replace(":", "") for f in registered_fingerprints}
    if info.fingerprint not in registered:
        raise SigningRefused(
            "not_registered",
            f"The certificate {name} is not registered to this officer. Register the DSC "
            "first (administrator), or sign with the token registered to you.",
        )
    if now > info.not_after:
        raise SigningRefused(
            "expired",
            f"The certificate {name} expired on {info.not_after:%Y-%m-%d}. Renew the DSC.",
        )
    if now < info.not_before:
        raise SigningRefused(
            "not_yet_valid",
            f"The certificate {name} is not valid before {info.not_before:%Y-%m-%d %H:%M} UTC.",
        )
    if not info.can_sign():
        raise SigningRefused(
            "key_usage",
            f"The certificate {name} lacks the digitalSignature/nonRepudiation key usage "
            "(it is an encryption certificate): it cannot sign documents.",
        )
    roots = list(trust_roots)
    if not roots:
        raise SigningRefused(
            "no_trust_roots",
            "No trusted root certificate is installed: put the agency's root certificates in "
            "the trust folder (setting 'trust_dir').",
        )
    problem = chain_problem(info, trust_roots=roots, intermediates=intermediates, now=now)
    if problem:
        raise SigningRefused(
            "untrusted",
            f"The certificate {name} does not chain to a trusted root ({problem}). Add the "
            "issuing CA's root to the trust folder or use a certificate from an accepted CA.",
        )
    return info
