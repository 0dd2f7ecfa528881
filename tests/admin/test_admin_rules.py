"""The rules of what an administrator types: gateway credentials, e-mail domains, masks."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.admin_rules import (
    CHECKSUM_KEY_SYMBOLS,
    AdminInputError,
    check_agency_domain,
    check_checksum_key,
    check_contact_phone,
    check_domain_list,
    check_merchant_id,
    check_office_code,
    check_officer_email,
    mask_secret,
)

DOMAINS = ["igcc.org.in", "mail.igcc.org.in"]


def test_merchant_id_accepted_exactly_as_given() -> None:
    assert check_merchant_id("IGCCMUM973224") == "IGCCMUM973224"


@pytest.mark.parametrize(("value", "where"), [
    ("IGCC MUM1", "position 5: a space"),
    (" IGCCMUM1", "position 1 (the start): a space"),
    ("IGCCMUM1 ", "position 9 (the end): a space"),
    ("IGCC\tMUM1", "position 5: a tab"),
    ("IGCCMUM1\n", "position 9 (the end): a line break"),
    ("IGCC\u00a0MUM", "position 5: a non-breaking space"),
    ("IGCC\u200bMUM", "position 5: an invisible zero-width space"),
    ("IGCC-MUM", "position 5: '-' (U+002D HYPHEN-MINUS)"),
    ("IGCCMÜM", "position 6: 'Ü'"),
])
def test_merchant_id_refused_with_the_position(value: str, where: str) -> None:
    with pytest.raises(AdminInputError) as caught:
        check_merchant_id(value)
    message = str(caught.value)
    assert where in message
    assert caught.value.field == "merchant_id"
    assert "A–Z a–z 0–9" in message  # the alphabet is stated
    # the caret line points at the character
    shown, carets = message.split("\n")[-2:]
    position = int(re.match(r"position (\d+)", where).group(1)) - 1  # type: ignore[union-attr]
    assert shown.startswith("  ") and carets.index("^") == 2 + position
    assert len(shown) == 2 + len(value)


def test_every_bad_position_is_named() -> None:
    with pytest.raises(AdminInputError) as caught:
        check_merchant_id("AB CD EF")
    message = str(caught.value)
    assert "position 3: a space" in message and "position 6: a space" in message
    assert message.split("\n")[-1] == "    ^  ^"


def test_empty_values_refused() -> None:
    with pytest.raises(AdminInputError, match="Merchant ID is empty"):
        check_merchant_id("")
    with pytest.raises(AdminInputError, match="Checksum key is empty"):
        check_checksum_key("")


def test_lengths() -> None:
    with pytest.raises(AdminInputError, match="33 characters"):
        check_merchant_id("A" * 33)
    with pytest.raises(AdminInputError, match="15 characters"):
        check_checksum_key("Ab3#" * 3 + "xyz")
    assert check_checksum_key("Ab3#" * 4) == "Ab3#" * 4


def test_checksum_key_message_hides_the_key() -> None:
    key = "Kq7x#pL2vN9!aB3c d"
    with pytest.raises(AdminInputError) as caught:
        check_checksum_key(key)
    message = str(caught.value)
    assert "position 17: a space" in message
    assert "Kq7x" not in message and "aB3c" not in message
    assert "****************_*" in message
    assert message.split("\n")[-1].index("^") == message.split("\n")[-2].index("_")


def test_checksum_key_symbols_stated_and_others_refused() -> None:
    for symbol in CHECKSUM_KEY_SYMBOLS:
        assert check_checksum_key("Abcdefgh12345678" + symbol)
    with pytest.raises(AdminInputError, match="position 17 \\(the end\\): '~'"):
        check_checksum_key("Abcdefgh12345678~")


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=32),
       st.integers(min_value=0, max_value=32),
       st.sampled_from([" ", "\t", "\u00a0", "\n"]))
def test_any_whitespace_anywhere_is_found(value: str, at: int, blank: str) -> None:
    assert check_merchant_id(value) == value
    at = min(at, len(value))
    broken = value[:at] + blank + value[at:]
    with pytest.raises(AdminInputError, match=f"position {at + 1}"):
        check_merchant_id(broken)


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + CHECKSUM_KEY_SYMBOLS,
               min_size=16, max_size=64))
def test_valid_keys_pass_unchanged_and_mask(value: str) -> None:
    assert check_checksum_key(value) == value
    masked = mask_secret(value)
    assert masked[:2] == value[:2] and masked[-2:] == value[-2:]
    assert set(masked[2:-2]) == {"•"}
    assert len(masked) == len(value)


def test_officer_email_personal_and_foreign_domains_refused() -> None:
    assert check_officer_email("Tarun.Bose@igcc.org.in", DOMAINS) == "tarun.bose@igcc.org.in"
    assert check_officer_email("x.y@mail.igcc.org.in", DOMAINS) == "x.y@mail.igcc.org.in"
    for personal in ("gmail.com", "yahoo.com", "outlook.com", "rediffmail.com", "yahoo.co.in"):
        with pytest.raises(AdminInputError, match="personal mailbox"):
            check_officer_email(f"tarun.bose@{personal}", DOMAINS)
    with pytest.raises(AdminInputError, match="not at the agency's official domain"):
        check_officer_email("tarun@fieo.org", DOMAINS)
    with pytest.raises(AdminInputError, match="not an e-mail address"):
        check_officer_email("tarun bose@igcc.org.in", DOMAINS)


def test_agency_domains() -> None:
    assert check_domain_list(["igcc.org.in", "mail.igcc.org.in"]) == DOMAINS
    with pytest.raises(AdminInputError, match="public mailbox provider"):
        check_agency_domain("gmail.com")
    with pytest.raises(AdminInputError, match="not a domain name"):
        check_agency_domain("@igcc.org.in")
    with pytest.raises(AdminInputError, match="at least one"):
        check_domain_list([])
    with pytest.raises(AdminInputError, match="listed twice"):
        check_domain_list(["igcc.org.in", "igcc.org.in"])


def test_office_fields() -> None:
    assert check_office_code("PUN") == "PUN"
    for bad in ("pun", "P", "PU N", "PUNE-OFFICE1"):
        with pytest.raises(AdminInputError):
            check_office_code(bad)
    assert check_contact_phone("+91 20 2567 1234") == "+91 20 2567 1234"
    with pytest.raises(AdminInputError):
        check_contact_phone("call the office")


def test_mask_short_values() -> None:
    assert mask_secret("") == ""
    assert mask_secret("abcd") == "••••"
    assert mask_secret("Kq7x#pL2vN9!aB3cdH") == "Kq" + "•" * 14 + "dH"
