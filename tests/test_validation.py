"""Validators of identifiers and values, with property-based tests."""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.validation import (
    InvalidValue,
    check_country,
    check_date,
    check_gstin,
    check_hs_code,
    check_iec,
    check_money,
    check_official_email,
    check_quantity,
    check_unit,
    countries,
    gstin_check_character,
)

UPPER = string.ascii_uppercase
pans = st.builds(
    lambda a, t, b, d, e: a + t + b + d + e,
    st.text(UPPER, min_size=3, max_size=3),
    st.sampled_from("ABCFGHJLPT"),
    st.text(UPPER, min_size=1, max_size=1),
    st.text(string.digits, min_size=4, max_size=4),
    st.text(UPPER, min_size=1, max_size=1),
)
states = st.sampled_from([f"{n:02d}" for n in range(1, 39)] + ["97", "99"])
entity = st.sampled_from("123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def make_gstin(state: str, pan: str, ent: str) -> str:
    first14 = state + pan + ent + "Z"
    return first14 + gstin_check_character(first14)


def test_known_gstin_check_characters() -> None:
    # published examples of valid GSTINs
    assert check_gstin("27AAPFU0939F1ZV") == "27AAPFU0939F1ZV"
    assert check_gstin("29AAGCB7383J1Z4") == "29AAGCB7383J1Z4"
    with pytest.raises(InvalidValue, match="check character 'V'"):
        check_gstin("27AAPFU0939F1ZW")


@given(pans)
def test_every_pan_shaped_iec_is_accepted_and_upper_cased(pan: str) -> None:
    assert check_iec(pan.lower()) == pan


@given(st.text(min_size=0, max_size=12))
def test_iec_accepts_only_pan_or_ten_digits(text: str) -> None:
    stripped = text.strip().upper()
    try:
        value = check_iec(text)
    except InvalidValue as exc:
        assert "IEC" in str(exc)
        return
    assert value == stripped and len(value) == 10


@given(states, pans, entity)
def test_valid_gstins_are_accepted(state: str, pan: str, ent: str) -> None:
    gstin = make_gstin(state, pan, ent)
    assert check_gstin(gstin) == gstin


@given(states, pans, entity, st.integers(0, 14), st.sampled_from(string.ascii_uppercase + string.digits))
def test_one_changed_character_is_refused(state: str, pan: str, ent: str, pos: int, new: str) -> None:
    gstin = make_gstin(state, pan, ent)
    changed = gstin[:pos] + new + gstin[pos + 1:]
    if changed == gstin:
        return
    with pytest.raises(InvalidValue):
        check_gstin(changed)


def test_gstin_with_wrong_state_code_names_the_rule() -> None:
    first14 = "45AAPFU0939F1Z"
    with pytest.raises(InvalidValue, match="state code"):
        check_gstin(first14 + gstin_check_character(first14))


@given(st.integers(1, 97).filter(lambda c: c != 77), st.integers(0, 9999), st.booleans())
def test_hs_codes_of_six_and_eight_digits(chapter: int, rest: int, eight: bool) -> None:
    code = f"{chapter:02d}{rest:04d}" + ("10" if eight else "")
    assert check_hs_code(code) == code
    dotted = f"{code[:4]}.{code[4:6]}" + (f".{code[6:]}" if eight else "")
    assert check_hs_code(dotted) == code


@pytest.mark.parametrize("bad", ["", "8471", "84713", "8471301", "847130100", "770000", "990000",
                                 "000000", "84A130", "8471..30", "8471-30"])
def test_bad_hs_codes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidValue, match="HS code"):
        check_hs_code(bad)


def test_hs_code_spacing_between_digit_groups_is_normalised() -> None:
    assert check_hs_code(" 8471 30 ") == "847130"
    assert check_hs_code("8471.30.10") == "84713010"


@given(st.sampled_from(sorted(countries())))
def test_every_iso_country_code_is_accepted(code: str) -> None:
    assert check_country(code.lower()) == code


@pytest.mark.parametrize("bad", ["XX", "IND", "", "U S", "EU"])
def test_unknown_country_codes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidValue, match="ISO 3166"):
        check_country(bad)


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999999999"), places=3))
def test_quantities_with_up_to_three_decimals(value: Decimal) -> None:
    assert check_quantity(str(value)) == value


@pytest.mark.parametrize("bad", ["0", "-1", "1.2345", "abc", "NaN", "Infinity", 1.5, "1e9"])
def test_bad_quantities_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValue, match="quantity"):
        check_quantity(bad)


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999"), places=2))
def test_money_with_two_decimals(value: Decimal) -> None:
    assert check_money(value) == value


def test_money_rules() -> None:
    assert check_money("0", allow_zero=True) == 0
    for bad in ("0", "-0.01", "1.001", "x"):
        with pytest.raises(InvalidValue):
            check_money(bad)


def test_units_and_dates_and_emails() -> None:
    assert check_unit("kgs") == "KGS"
    with pytest.raises(InvalidValue, match="unit"):
        check_unit("KILO")
    assert check_date("2026-01-31") == dt.date(2026, 1, 31)
    with pytest.raises(InvalidValue, match="YYYY-MM-DD"):
        check_date("31/01/2026")
    with pytest.raises(InvalidValue, match="from 2000-01-01"):
        check_date(dt.date.today() + dt.timedelta(days=1))
    assert check_official_email("A.B@IGCC.org.in", ["igcc.org.in"]) == "a.b@igcc.org.in"
    with pytest.raises(InvalidValue, match="official address at igcc.org.in"):
        check_official_email("someone@gmail.com", ["igcc.org.in"])


@settings(max_examples=50)
@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date.today()))
def test_dates_in_range_round_trip(day: dt.date) -> None:
    assert check_date(day.isoformat()) == day
