"""The gateway's checks of an ESP's response, in order: the ESP's XML signature (the
configured ESP certificate), the transaction it names, the timestamp window, the status
and error code, then the CMS (``cms.check_signature``)."""

from __future__ import annotations

import datetime as dt

from app.signing.esign.cms import EsignSignature, check_signature
from app.signing.esign.errors import EsignRefused
from app.signing.esign.messages import EsignResponse, parse_ts, read_response, verify_xml

UNKNOWN_ESP_KEY = ("The eSign response is not signed with the eSign service provider's "
                   "registered key; it was refused.")


def verify_esp_signature(document: bytes, esp_certificate_pem: bytes) -> EsignResponse:
    """The response when the ESP's XML signature holds, else ``unknown_esp_key``."""
    from signxml.exceptions import SignXMLException

    try:
        root = verify_xml(document, esp_certificate_pem)
    except EsignRefused:
        raise
    except (SignXMLException, ValueError, TypeError):
        raise EsignRefused(UNKNOWN_ESP_KEY, "unknown_esp_key") from None
    return read_response(root)


def check_timestamp(ts: str, now: dt.datetime, window: dt.timedelta) -> None:
    moment = parse_ts(ts)
    if abs(now - moment) > window:
        minutes = int(window.total_seconds() // 60)
        raise EsignRefused(f"The eSign response's timestamp {ts} is more than {minutes} "
                           "minutes from the gateway's clock; an expired response is "
                           "refused.", "expired")


def check_status(response: EsignResponse) -> None:
    if response.status != "1":
        code = response.err_code.strip() or "no error code"
        text = response.err_msg.strip().rstrip(".") or "no message"
        raise EsignRefused(f"The eSign service provider did not sign: {code} {text}.",
                           "esp_error")


def verify_response(response: EsignResponse, *, txn: str, digest_hex: str,
                    ca_certificates: list, now: dt.datetime,  # type: ignore[type-arg]
                    window: dt.timedelta) -> EsignSignature:
    """The signature of a response whose ESP signature already held
    (:func:`verify_esp_signature`) for the pending transaction ``txn``."""
    if response.txn != txn:
        raise EsignRefused(f"The eSign response names transaction {response.txn[:50]!r}, not "
                           f"{txn}; it was refused.", "replayed")
    check_timestamp(response.ts, now, window)
    check_status(response)
    if response.cms is None:
        raise EsignRefused("The eSign response says signed but carries no DocSignature; it "
                           "was refused.", "bad_cms")
    return check_signature(response.cms, digest_hex, ca_certificates,
                           response.user_certificate, now)
