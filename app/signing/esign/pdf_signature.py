"""Where a recorded PDF carries an eSign CMS: the signature whose ``/Contents`` holds that
CMS and whose ``/ByteRange [0 b c d]`` covers the whole file, and the SHA-256 of those
ranges (the digest that was sent to the ESP). The same reading as the PostgreSQL store's
``od_esign_signature`` (revision 0014), byte for byte."""

from __future__ import annotations

import hashlib
import re

_BYTE_RANGE = re.compile(rb"\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]")


def signed_range_digest(pdf: bytes, cms: bytes) -> str | None:
    """The SHA-256 (hex) of the byte ranges of the signature holding ``cms``, or None when
    no signature over the whole file holds it."""
    wanted = cms.hex()
    at = 0
    while True:
        at = pdf.find(b"/ByteRange", at)
        if at < 0:
            return None
        at += len(b"/ByteRange")
        match = _BYTE_RANGE.match(pdf[at:at + 80])
        if match is None:
            continue
        a, b, c, d = (int(g) for g in match.groups())
        if a != 0 or c + d != len(pdf) or c < b + 2:
            continue
        if pdf[b:b + 1] != b"<" or pdf[c - 1:c] != b">":
            continue
        contents = pdf[b + 1:c - 1].decode("latin-1").lower()
        if not contents.startswith(wanted) or contents[len(wanted):].strip("0"):
            continue
        return hashlib.sha256(pdf[:b] + pdf[c:c + d]).hexdigest()
