"""Keeping B-LTA certificates checkable: fresh validation data and a new document timestamp.

A B-LTA certificate is judged at the time its document timestamps prove
(``app.signing.validation``); the newest of them is judged now, so it must be renewed
before its timestamp authority's certificate expires or its algorithms weaken, as
archives do. :func:`extend_pdf` adds, in incremental updates after everything the file
holds, the OCSP answers / CRLs of the newest document timestamp's chain to the DSS and a
new document timestamp over the whole (pyHanko's
``PdfTimeStamper.update_archival_timestamp_chain``). :func:`extension_problem` is what a
store checks before it keeps an extended file in place of the stored one.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence

from app.signing.errors import InvalidInput

log = logging.getLogger(__name__)


class NotExtendable(InvalidInput):
    """The file cannot be extended (B-B, damaged, no document timestamp to renew)."""


def document_timestamp_times(pdf: bytes) -> list[dt.datetime]:
    """The times the file's document timestamps state, oldest first (not validated)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
    times = []
    for sig in sorted(reader.embedded_signatures, key=lambda s: s.signed_revision):
        if sig.sig_object_type != "/DocTimeStamp":
            continue
        tst_info = sig.signed_data["encap_content_info"]["content"].parsed
        times.append(tst_info["gen_time"].native)
    return times


def extend_pdf(pdf: bytes, *, timestamp_url: str, trust_roots: Sequence[bytes]) -> bytes:
    """``pdf`` with fresh validation data for its newest document timestamp's chain (DSS)
    and a new document timestamp from ``timestamp_url``. NotExtendable when the file is
    not B-LTA; TimestampUnavailable / RevocationUnavailable when a server does not answer.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from app.signing.policy import run_coroutine
    from app.signing.token_session import (
        NETWORK_TIMEOUT_SECONDS,
        fetching_validation_context,
        raise_network_failure,
    )
    from app.signing.validation import signature_level

    level = signature_level(pdf)
    if level != "B-LTA":
        raise NotExtendable(
            "it is PAdES B-B, signed without a timestamp server: there is no timestamp to "
            "renew" if level == "B-B" else
            f"it is PAdES {level or 'unsigned'}, not B-LTA: there is no document timestamp "
            "to renew")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
    except Exception as exc:  # noqa: BLE001 - the stored file is damaged
        raise NotExtendable(f"the stored PDF cannot be read ({exc})") from None
    context = fetching_validation_context(trust_roots, [])
    output = io.BytesIO()
    stamper = PdfTimeStamper(HTTPTimeStamper(timestamp_url, timeout=NETWORK_TIMEOUT_SECONDS))
    try:
        run_coroutine(stamper.async_update_archival_timestamp_chain(
            reader, context, in_place=False, output=output))
    except Exception as exc:
        raise_network_failure(exc, timestamp_url)
        raise
    return output.getvalue()


def extension_problem(stored: bytes, extended: bytes) -> str:
    """Why ``extended`` may not replace ``stored`` ("" when it may): it must be an
    incremental update of the stored file (start with its bytes), add at least one
    document timestamp, and add nothing but validation data and document timestamps
    (``app.signing.integrity``, and pyHanko's diff analysis of every signature)."""
    from app.signing.integrity import check_integrity
    from app.signing.validation import InvalidPdf, validate_pdf

    if len(extended) <= len(stored) or not extended.startswith(stored):
        return ("the new file does not start with the stored one: it is not an incremental "
                "update of the certificate as issued")
    before, after = check_integrity(stored), check_integrity(extended)
    if after.problem:
        return f"the new file cannot be read: {after.problem}"
    later = after.later_changes() or next(
        (s.later_changes for s in after.signatures if s.later_changes), "")
    if later:
        return f"it changes the certificate: {later}"
    if after.padding_untouched is False:
        return "a signature's /Contents holds something other than zero padding"
    stamps = sum(1 for s in after.signatures if s.kind == "document timestamp")
    if stamps <= sum(1 for s in before.signatures if s.kind == "document timestamp"):
        return "it adds no document timestamp"
    try:
        report = validate_pdf(extended, trust_roots=[])
    except InvalidPdf as exc:
        return str(exc)
    changed = [s for s in report.signatures if not (s.intact and s.unchanged)]
    if not report.signatures or changed:
        return ("it changes what the signature covers "
                f"({changed[0].coverage}, {changed[0].modification_level})" if changed else
                "it carries no signature")
    broken = [t for t in report.document_timestamps if not (t.intact and t.valid)]
    if broken:
        return "a document timestamp is damaged"
    return ""


def extension_due(pdf: bytes, older_than: dt.timedelta | None,
                  now: dt.datetime | None = None) -> bool:
    """Is the newest document timestamp older than ``older_than`` (None: always due)?"""
    if older_than is None:
        return True
    times = document_timestamp_times(pdf)
    if not times:
        return True
    now = now or dt.datetime.now(dt.UTC)
    return max(times) <= now - older_than
