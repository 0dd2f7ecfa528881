"""What a signed PDF's bytes say beyond the signature's own verdict.

pyHanko checks that the signed byte ranges hash to the signed digest and, with its
standard diff policy, classifies what later incremental updates changed. Two things it
lets through are tampering for a Certificate of Origin, and ``pdfsig`` says "Not total
document signed" for both:

* **padding**: pyHanko reads the CMS DER at the start of ``/Contents`` and ignores what
  follows; the rest of ``/Contents`` must be zero padding (:func:`contents_padding_untouched`);
* **later revisions**: a revision after the signed one must carry a document timestamp
  (``/DocTimeStamp``) or write validation data (a ``/DSS`` in the catalog, with objects of
  its own), and the trailer's ``/Info`` may differ from the signed revision's only in
  ``/ModDate`` and ``/Producer`` (what pyHanko writes with every update, a B-LTA
  extension's too). pyHanko's diff analysis does not look at ``/Info`` at all, and a
  revision that changes nothing it knows is "no modification" to it
  (:func:`later_revisions_problem`).

:func:`check_integrity` reads the file once and answers for every signature and document
timestamp. Nothing here verifies a signature: ``app.signing.validation`` does.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

PYHANKO_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
"""Entries of ``/Info`` that a later revision may change (pyHanko rewrites them)."""

_HEX_STRING = re.compile(rb"<[0-9A-Fa-f]*>")


@dataclass(frozen=True)
class SignatureIntegrity:
    field: str
    kind: str  # "signature" or "document timestamp"
    signed_revision: int  # 0 = the oldest
    signed_bytes: int  # where the signed revision ends: the end of the second byte range
    padding_untouched: bool
    later_changes: str  # "" when every later revision is validation data or a timestamp


@dataclass(frozen=True)
class IntegrityReport:
    signatures: tuple[SignatureIntegrity, ...]
    revisions: int
    problem: str = ""  # the file cannot be read this way (the signature check says more)

    @property
    def padding_untouched(self) -> bool | None:
        if not self.signatures:
            return None
        return all(s.padding_untouched for s in self.signatures)

    def later_changes(self) -> str:
        """What the revisions after the (first) signature change beyond validation data and
        document timestamps ("" when nothing)."""
        for sig in self.signatures:
            if sig.kind == "signature" and sig.later_changes:
                return sig.later_changes
        return ""


_EOF_MARKER = re.compile(rb"%%EOF(?:\r\n|\r|\n)?")


def revision_ends(pdf_bytes: bytes) -> list[int]:
    """Where each ``%%EOF`` marker (with its end of line) ends: the length of the file as
    it was after each revision, for an earlier file that later revisions extend. The
    candidates are only compared by digest, so a marker inside a stream does no harm."""
    return [m.end() for m in _EOF_MARKER.finditer(pdf_bytes)]


def contents_padding_untouched(pdf_bytes: bytes, byte_range: Sequence[int]) -> bool:
    """Is the gap between the two signed ranges exactly ``<hex>``, the CMS DER followed
    by nothing but zeros?"""
    if len(byte_range) != 4:
        return False
    start, end = int(byte_range[1]), int(byte_range[2])
    gap = pdf_bytes[start:end]
    if _HEX_STRING.fullmatch(gap) is None or len(gap) % 2:
        return False
    der = bytes.fromhex(gap[1:-1].decode())
    length = der_length(der)
    return length is not None and not any(der[length:])


def der_length(der: bytes) -> int | None:
    """The length of the DER SEQUENCE at the start of ``der`` (None: not one)."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    if der[1] < 0x80:
        length = 2 + der[1]
    else:
        count = der[1] & 0x7F
        if not 0 < count <= 4 or len(der) < 2 + count:
            return None
        length = 2 + count + int.from_bytes(der[2:2 + count], "big")
    return length if length <= len(der) else None


def check_integrity(pdf_bytes: bytes) -> IntegrityReport:
    """Padding and later revisions for every signature and document timestamp."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf_bytes)), strict=False)
        embedded = list(reader.embedded_signatures)
        revisions = reader.xrefs.total_revisions
    except Exception as exc:  # noqa: BLE001 - the signature check reports unreadable files
        log.info("integrity not checked: %s", exc)
        return IntegrityReport((), 0, problem=f"the file cannot be read ({type(exc).__name__})")
    stamps = {s.signed_revision for s in embedded if s.sig_object_type == "/DocTimeStamp"}
    found = []
    for sig in embedded:
        try:
            byte_range = [int(v) for v in sig.byte_range]
            padding = contents_padding_untouched(pdf_bytes, byte_range)
            signed_bytes = byte_range[2] + byte_range[3]
        except (TypeError, ValueError, IndexError):
            padding, signed_bytes = False, 0
        try:
            later = later_revisions_problem(reader, sig.signed_revision, stamps)
        except Exception as exc:  # noqa: BLE001 - unreadable later revisions are a change
            later = f"a later revision cannot be read ({type(exc).__name__})"
        kind = "document timestamp" if sig.sig_object_type == "/DocTimeStamp" else "signature"
        found.append(SignatureIntegrity(str(sig.field_name), kind, sig.signed_revision,
                                        signed_bytes, padding, later))
    return IntegrityReport(tuple(found), revisions)


def later_revisions_problem(reader: Any, signed: int, stamps: set[int]) -> str:
    """Why a revision after ``signed`` is more than validation data or a document
    timestamp ("" when every later revision is only that)."""
    info_then = _info(reader, signed)
    for revision in range(signed + 1, reader.xrefs.total_revisions):
        info_now = _info(reader, revision)
        changed = sorted(k for k in set(info_then) | set(info_now)
                         if k not in PYHANKO_INFO_KEYS and info_then.get(k) != info_now.get(k))
        if changed:
            return (f"revision {revision + 1} changes the document information "
                    f"({', '.join(k.lstrip('/') for k in changed)})")
        if revision in stamps:
            continue
        if not _writes_validation_data(reader, revision):
            return (f"revision {revision + 1} adds neither validation data nor a document "
                    "timestamp")
    return ""


def _info(reader: Any, revision: int) -> dict[str, str]:
    try:
        trailer = reader.get_historical_resolver(revision).trailer_view
        info = trailer.get("/Info")
        info = info.get_object() if info is not None else {}
        return {str(k): repr(v) for k, v in info.items()}
    except Exception:  # noqa: BLE001 - a broken /Info counts as a change
        return {"/Info": "unreadable"}


def _writes_validation_data(reader: Any, revision: int) -> bool:
    """Does ``revision`` write validation data: a ``/DSS`` in the catalog, and objects
    besides the catalog and the information dictionary?"""
    resolver = reader.get_historical_resolver(revision)
    if "/DSS" not in resolver.root:
        return False
    plain = {reader.root_ref.idnum}
    trailer = resolver.trailer_view
    if "/Info" in trailer:
        info = trailer.raw_get("/Info")
        if hasattr(info, "idnum"):
            plain.add(info.idnum)
    written = {ref.idnum for ref in reader.xrefs.explicit_refs_in_revision(revision)}
    return bool(written - plain)
