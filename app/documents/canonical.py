"""The canonical bytes of a certificate's data, and their digest (docs/QR-PAYLOAD.md).

Canonical form, version 1:

* every field of :class:`CertificateData` and of its parts and goods lines, except the
  stamp and signature images (presentation, not content: an office may re-scan its stamp
  without changing what a certificate says), nor the issuer's particulars printed beside
  the signature (``issuing_office.agency_name``, ``issuing_office.address_lines``,
  ``officer_designation``: an office moves, an officer is promoted);
* text: Unicode NFC, line ends as ``\\n``, spaces and tabs at the ends of every line and
  blank lines at the ends removed; decimals as plain strings without exponent or trailing
  zeros (``"12.5"``, ``"100"``); dates ``YYYY-MM-DD``; absent values ``null``; tuples arrays;
* serialised as JSON with sorted keys, no spaces, non-ASCII kept as UTF-8;
* prefixed with ``ECOO-CANON-1\\n``.

The digest is SHA-256 of those bytes; the QR carries its first 20 bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import unicodedata
from datetime import date
from decimal import Decimal
from functools import cache

from app.documents.certificate_data import CertificateData

CANONICAL_PREFIX = b"ECOO-CANON-1\n"
EXCLUDED_FIELDS = frozenset({"stamp_png", "signature_png"})
# the issuer's particulars printed beside the signature, added after version 1 was fixed:
# presentation too (an office moves, an officer is promoted; the verifier rebuilds the data
# from the store today), and left out so every certificate keeps its digest
ISSUER_PRESENTATION: dict[str, frozenset[str]] = {
    "IssuingOffice": frozenset({"agency_name", "address_lines"}),
    "CertificateData": frozenset({"officer_designation"}),
}
DIGEST_SIZE = 20


def normalise_text(text: str) -> str:
    if text.isascii() and text.isprintable() and text == text.strip(" \t"):
        return text  # the common case, already canonical
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.strip(" \t") for line in text.split("\n")).strip("\n")


def normalise_decimal(value: Decimal) -> str:
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    excluded = EXCLUDED_FIELDS | ISSUER_PRESENTATION.get(cls.__name__, frozenset())
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in excluded)


def _plain(value: object) -> object:
    if isinstance(value, str):
        return normalise_text(value)
    names = _field_names(type(value)) if dataclasses.is_dataclass(value) else None
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return normalise_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, int):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")


def canonical_bytes(data: CertificateData) -> bytes:
    body = json.dumps(_plain(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return CANONICAL_PREFIX + body.encode("utf-8")


def certificate_digest(data: CertificateData) -> bytes:
    """The first 20 bytes of SHA-256 over the canonical bytes."""
    return hashlib.sha256(canonical_bytes(data)).digest()[:DIGEST_SIZE]
