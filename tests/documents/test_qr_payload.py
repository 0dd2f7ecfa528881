"""The QR payload: signed with the (stand-in) DSC key, verified offline, tamper-evident."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.documents.base45 import Base45Error, b45decode, b45encode
from app.documents.canonical import canonical_bytes, certificate_digest
from app.documents.qr_payload import (
    QrPayloadError,
    build_draft_qr_payload,
    build_qr_payload,
    decode_qr_text,
    encode_qr_text,
    parse_qr_payload,
    verify_qr_payload,
)
from app.documents.samples import sample_certificate

from .conftest import make_ecdsa_token


def _payload(token, data=None):
    data = data or sample_certificate("AIFTA", goods=3)
    s = token.signer
    return build_qr_payload(data, key_id=s.key_id, sign=s.sign, algorithm=s.algorithm)


@pytest.mark.parametrize("token_name", ["ecdsa_token", "rsa_token"])
def test_signed_payload_verifies_and_carries_the_key_fields(token_name, request, key_directory):
    token = request.getfixturevalue(token_name)
    data = sample_certificate("IUCEPA", goods=5)
    payload = _payload(token, data)
    result = verify_qr_payload(payload, key_directory=key_directory, data=data)
    assert result.valid, result.reason
    c = result.content
    assert c.reference_number == data.certificate_number
    assert c.office_code == "FIEOMUM01"
    assert c.exporter_iec == "AAACR5055K"
    assert c.destination_country == "AE"
    assert c.issue_date == date(2025, 3, 14)
    assert c.key_id == token.key_id
    assert c.digest == certificate_digest(data)
    assert len(c.signature) == (64 if token_name == "ecdsa_token" else 256)
    assert result.signer is token.certificate


@pytest.mark.parametrize("token_name", ["ecdsa_token", "rsa_token"])
def test_every_changed_byte_fails(token_name, request, key_directory):
    token = request.getfixturevalue(token_name)
    payload = _payload(token)
    assert verify_qr_payload(payload, key_directory=key_directory).valid
    for i in range(len(payload)):
        for flip in (0x01, 0x80):
            changed = bytearray(payload)
            changed[i] ^= flip
            result = verify_qr_payload(bytes(changed), key_directory=key_directory)
            assert not result.valid, f"byte {i} ^ {flip:#x} still verifies"


def test_truncated_or_extended_payload_fails(ecdsa_token, key_directory):
    payload = _payload(ecdsa_token)
    for cut in range(len(payload)):
        assert not verify_qr_payload(payload[:cut], key_directory=key_directory).valid
    assert not verify_qr_payload(payload + b"\0", key_directory=key_directory).valid


def test_unregistered_key_fails(key_directory):
    stranger = make_ecdsa_token("Not registered")
    result = verify_qr_payload(_payload(stranger), key_directory=key_directory)
    assert not result.valid
    assert "unknown key" in result.reason


def test_key_of_another_officer_under_a_registered_id_fails(ecdsa_token, key_directory):
    impostor = make_ecdsa_token("Impostor")
    s = impostor.signer
    data = sample_certificate("AIFTA")
    payload = build_qr_payload(data, key_id=ecdsa_token.key_id, sign=s.sign, algorithm=s.algorithm)
    result = verify_qr_payload(payload, key_directory=key_directory)
    assert not result.valid
    assert "signature does not match" in result.reason


def test_directory_with_public_keys_works(ecdsa_token):
    payload = _payload(ecdsa_token)
    directory = {ecdsa_token.key_id: ecdsa_token.certificate.public_key()}
    assert verify_qr_payload(payload, key_directory=directory).valid


def test_algorithm_and_key_type_must_agree(ecdsa_token, rsa_token):
    payload = _payload(ecdsa_token)
    directory = {ecdsa_token.key_id: rsa_token.certificate.public_key()}
    result = verify_qr_payload(payload, key_directory=directory)
    assert not result.valid and "not an ECDSA P-256 key" in result.reason


def test_digest_mismatch_with_changed_data(ecdsa_token, key_directory):
    data = sample_certificate("AIFTA", goods=4)
    payload = _payload(ecdsa_token, data)
    goods = list(data.goods)
    goods[2] = replace(goods[2], quantity=goods[2].quantity + 1)
    changed = replace(data, goods=tuple(goods))
    result = verify_qr_payload(payload, key_directory=key_directory, data=changed)
    assert not result.valid
    assert "differs from what was signed" in result.reason
    assert verify_qr_payload(payload, key_directory=key_directory, data=data).valid


def test_images_are_not_part_of_the_digest_but_text_normalisation_is():
    data = sample_certificate("AIFTA")
    assert certificate_digest(data) == certificate_digest(replace(data, stamp_png=None))
    decomposed = replace(data, remarks="Cafe\u0301 ₹ 10  \r\nnext line  ")
    composed = replace(data, remarks="Caf\u00e9 ₹ 10\nnext line")
    assert certificate_digest(decomposed) == certificate_digest(composed)
    assert certificate_digest(data) != certificate_digest(composed)
    assert canonical_bytes(data).startswith(b"ECOO-CANON-1\n{")


def test_decimal_spelling_does_not_change_the_digest():
    from decimal import Decimal

    data = sample_certificate("AIFTA", goods=1)
    line = data.goods[0]
    a = replace(data, goods=(replace(line, fob_value=Decimal("2450.00")),))
    b = replace(data, goods=(replace(line, fob_value=Decimal("2.45E+3")),))
    assert certificate_digest(a) == certificate_digest(b)


def test_unknown_version_fails(ecdsa_token, key_directory):
    payload = bytearray(_payload(ecdsa_token))
    payload[0] = 2
    result = verify_qr_payload(bytes(payload), key_directory=key_directory)
    assert not result.valid and "version 2 is unknown" in result.reason


def test_draft_payload_never_verifies(key_directory):
    data = sample_certificate("SAFTA", issued=False)
    payload = build_draft_qr_payload(data)
    content = parse_qr_payload(payload)
    assert content.draft and content.reference_number == data.application_number
    assert content.issue_date is None and content.key_id is None
    result = verify_qr_payload(payload, key_directory=key_directory, data=data)
    assert not result.valid and result.reason.startswith("draft")


def test_a_draft_cannot_get_a_signed_payload(ecdsa_token):
    with pytest.raises(QrPayloadError, match="no certificate number"):
        _payload(ecdsa_token, sample_certificate("AIFTA", issued=False))


def test_der_ecdsa_signature_from_a_token_is_accepted(key_directory, ecdsa_token):
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    def der_sign(message: bytes) -> bytes:
        raw = ecdsa_token.signer.sign(message)
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    data = sample_certificate("AIFTA")
    payload = build_qr_payload(data, key_id=ecdsa_token.key_id, sign=der_sign,
                               algorithm="ecdsa-p256-sha256")
    assert verify_qr_payload(payload, key_directory=key_directory).valid


def test_bad_inputs_to_build_are_refused(ecdsa_token):
    data = sample_certificate("AIFTA")
    with pytest.raises(QrPayloadError, match="not supported"):
        build_qr_payload(data, key_id=ecdsa_token.key_id, sign=ecdsa_token.signer.sign,
                         algorithm="md5")
    with pytest.raises(QrPayloadError, match="8 bytes"):
        build_qr_payload(data, key_id=b"short", sign=ecdsa_token.signer.sign,
                         algorithm="ecdsa-p256-sha256")
    with pytest.raises(QrPayloadError, match="RSA signature"):
        build_qr_payload(data, key_id=ecdsa_token.key_id, sign=lambda m: b"x" * 10,
                         algorithm="rsa-pkcs1v15-sha256")


def test_qr_text_round_trip_and_scanner_output(ecdsa_token):
    payload = _payload(ecdsa_token)
    text = encode_qr_text(payload)
    assert text.startswith("ECOO:")
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert decode_qr_text(text) == payload
    assert decode_qr_text("QR-Code:" + text + "\n") == payload  # zbarimg without --raw
    assert decode_qr_text((text + "\r\n").encode()) == payload
    with pytest.raises(QrPayloadError, match="not an Origin Desk"):
        decode_qr_text("https://example.org/")
    with pytest.raises(QrPayloadError, match="damaged"):
        decode_qr_text("ECOO:abc")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_base45_round_trip(data):
    assert b45decode(b45encode(data)) == data


def test_base45_known_vectors_and_errors():
    # RFC 9285 examples
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"ietf!") == "QED8WEX0"
    assert b45decode("QED8WEX0") == b"ietf!"
    for bad in ("GGW", "a", "ZZZZ", "abc"):
        with pytest.raises(Base45Error):
            b45decode(bad)
