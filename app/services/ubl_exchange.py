"""UBL 2.1 interchange of issued certificates: `origin-desk export-ubl` and `import-ubl`.

Export reads each certificate the way verification does (``CentralLink.certificate_record``:
the embedded demo, the central PostgreSQL store through the user's own login, or the
central service), writes nothing until every number was found, then writes one
``CertificateOfOrigin`` document per certificate. Import checks a document and reads the
certificate back (``app/documents/ubl.py``); when the configured store holds a certificate
of that number, it also says whether the document matches it.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from app.documents.certificate_data import CertificateData
from app.documents.ubl import MAX_BYTES, UblError, certificate_from_ubl, certificate_to_ubl
from app.errors import UserFacingError

MAX_NUMBERS = 1000  # certificates per export
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]{0,31}")


@dataclass(frozen=True)
class ExportedCertificate:
    number: str
    path: Path
    status: str


def file_name(number: str) -> str:
    """The document's file name: the number with '/' as '-' (FIEO/2026/0000001 ->
    FIEO-2026-0000001.xml)."""
    return number.replace("/", "-") + ".xml"


def checked_numbers(numbers: list[str]) -> list[str]:
    """The certificate numbers, stripped and unique; a malformed one refused by name."""
    if not numbers:
        raise UserFacingError("name at least one certificate number to export")
    if len(numbers) > MAX_NUMBERS:
        raise UserFacingError(f"at most {MAX_NUMBERS} certificates per export "
                              f"({len(numbers)} named)")
    seen: list[str] = []
    for raw in numbers:
        number = raw.strip()
        if not _NUMBER.fullmatch(number):
            raise UserFacingError(f"{raw[:60]!r} is not a certificate number "
                                  "(letters, digits and / _ . -, at most 32)")
        if number not in seen:
            seen.append(number)
    return seen


def export_certificates(link: Any, numbers: list[str], out_dir: Path) -> list[ExportedCertificate]:
    """Write each certificate's UBL document into ``out_dir``; nothing is written unless
    every number is an issued certificate the store holds."""
    wanted = checked_numbers(numbers)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserFacingError(f"{out_dir} is not a directory")
    documents: list[tuple[str, bytes, str]] = []
    for number in wanted:
        data, status = link.certificate_record(number)
        if data is None:
            raise UserFacingError(f"Certificate {number} is not in the store ({status}); "
                                  "nothing was written.")
        documents.append((number, certificate_to_ubl(data, status=status), status))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for number, document, status in documents:
        path = out_dir / file_name(number)
        _write_atomically(path, document)
        written.append(ExportedCertificate(number, path, status))
    return written


def read_document(path: Path) -> CertificateData:
    """The certificate a UBL document carries (UblError names the element that is wrong)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UblError(f"{path}: {size:,} bytes; a CertificateOfOrigin is at most "
                           f"{MAX_BYTES:,}.")
        document = path.read_bytes()
    except FileNotFoundError:
        raise UserFacingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserFacingError(f"{path} is a directory, not a UBL document") from None
    except OSError as exc:
        raise UserFacingError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return certificate_from_ubl(document)
    except UblError as exc:
        raise UblError(f"{path}: {exc}") from None


def differences(document: CertificateData, stored: CertificateData) -> list[str]:
    """The fields in which a document differs from the store's certificate (images aside)."""
    plain_doc = replace(document, stamp_png=None, signature_png=None)
    plain_stored = replace(stored, stamp_png=None, signature_png=None)
    return [f.name for f in fields(CertificateData)
            if getattr(plain_doc, f.name) != getattr(plain_stored, f.name)]


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
