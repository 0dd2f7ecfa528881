"""The QR text of a sealed payload is a URL of the verification page; both forms read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.documents.qr_payload import (
    QrPayloadError,
    encode_qr_text,
    payload_from_qr_text,
    qr_url,
)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=400))
def test_url_and_ecoo_forms_round_trip(payload: bytes) -> None:
    url = qr_url("https://verify.example.org/", payload)
    assert url.startswith("https://verify.example.org/v/") and "=" not in url
    assert payload_from_qr_text(url) == payload
    assert payload_from_qr_text(f"QR-Code:{url}\n".encode()) == payload  # zbarimg's line
    assert payload_from_qr_text(encode_qr_text(payload)) == payload


def test_a_base_path_is_kept() -> None:
    assert qr_url("http://127.0.0.1:8443/coo", b"\x01") == "http://127.0.0.1:8443/coo/v/AQ"


@pytest.mark.parametrize("text", [
    "", "hello", "https://verify.example.org/w/AQ", "ftp://verify.example.org/v/AQ",
    "https://verify.example.org/v/", "https://verify.example.org/v/AQ==",
    "https://verify.example.org/v/A", "https://verify.example.org/v/AR",  # not canonical
    "https://verify.example.org/v/AQ?x=1", "https://verify.example.org/v/A+Q/",
    b"https://verify.example.org/v/\xff",
])
def test_what_is_not_a_code_is_one_line(text: str | bytes) -> None:
    with pytest.raises(QrPayloadError) as caught:
        payload_from_qr_text(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("base", ["verify.example.org", "https://x.example/?q=1",
                                  "https://x.example/#f", "javascript:alert(1)"])
def test_a_bad_public_base_is_refused(base: str) -> None:
    with pytest.raises(QrPayloadError, match="public base URL"):
        qr_url(base, b"\x01")
