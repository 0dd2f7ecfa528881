"""Checks of the identifiers and values that exporters type and other systems send.

Each ``check_*`` function returns the normalised value or raises :class:`InvalidValue`
whose message names the field, what was given and what is expected. Nothing here is
lenient in silence: a value is either accepted as it is (after a documented
normalisation such as upper-casing an IEC) or refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from decimal import Decimal, InvalidOperation
from importlib import resources as importlib_resources
from pathlib import Path

from app.errors import UserFacingError

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PAN = re.compile(r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]")
_LEGACY_IEC = re.compile(r"[0-9]{10}")
_GSTIN = re.compile(r"[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]")
# GST state codes: 01-38, 97 (other territory), 99 (centre jurisdiction)
_GST_STATES = {f"{n:02d}" for n in range(1, 39)} | {"97", "99"}
# Unit Quantity Codes accepted by Indian customs (subset in common use on CoOs)
UNITS: frozenset[str] = frozenset(
    ["BAG", "BAL", "BDL", "BKL", "BOU", "BOX", "BTL", "BUN", "CAN", "CBM", "CCM", "CMS", "CTN", "DOZ", "DRM", "GGK", "GMS", "GRS", "GYD", "KGS", "KLR", "KME", "LTR", "MLT", "MTR", "MTS", "NOS", "PAC", "PCS", "PRS", "QTL", "ROL", "SET", "SQF", "SQM", "SQY", "TBS", "TGM", "THD", "TON", "TUB", "UGS", "UNT", "YDS", "OTH"]
)


class InvalidValue(UserFacingError, ValueError):
    """A value that does not meet its rule; the message says which and why."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field}: {value!r} is not valid; expected {expected}")


def gstin_check_character(first14: str) -> str:
    """The 15th character of a GSTIN, computed from the first 14 (base-36 Luhn mod N)."""
    total = 0
    for position, char in enumerate(first14):
        value = _BASE36.index(char)
        product = value * (2 if position % 2 else 1)
        total += product // 36 + product % 36
    return _BASE36[(36 - total % 36) % 36]


def check_iec(value: str, field: str = "IEC") -> str:
    """IEC: 10 characters, the firm's PAN (AAAAA9999A) or a legacy 10-digit code."""
    text = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(text, str) or not (_PAN.fullmatch(text) or _LEGACY_IEC.fullmatch(text)):
        raise InvalidValue(
            field, value, "10 characters: a PAN like AAACR5055K (5 letters, 4 digits, 1 letter) "
            "or a legacy 10-digit IEC"
        )
    return text


def check_gstin(value: str, field: str = "GSTIN") -> str:
    """GSTIN: state code, PAN, entity number, 'Z', check character (verified)."""
    text = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(text, str) or not _GSTIN.fullmatch(text):
        raise InvalidValue(
            field, value, "15 characters: 2-digit state code, PAN, entity number, 'Z', "
            "check character (e.g. 27AAACR5055K1Z7)"
        )
    if text[:2] not in _GST_STATES:
        raise InvalidValue(field, value, "a state code from 01 to 38, 97 or 99 in front")
    if not _PAN.fullmatch(text[2:12]):
        raise InvalidValue(field, value, "a valid PAN in characters 3 to 12")
    expected = gstin_check_character(text[:14])
    if text[14] != expected:
        raise InvalidValue(field, value, f"check character {expected!r} in position 15")
    return text


def check_hs_code(value: str, field: str = "HS code") -> str:
    """HS code: 6 digits (HS sub-heading) or 8 digits (ITC-HS tariff line).

    Dots and spaces between digit groups (``8471.30.10``) are accepted and removed;
    chapters run from 01 to 97, and chapter 77 is reserved.
    """
    if not isinstance(value, str):
        raise InvalidValue(field, value, "6 or 8 digits")
    digits = re.sub(r"(?<=\d)[. ](?=\d)", "", value.strip())
    if not re.fullmatch(r"[0-9]{6}|[0-9]{8}", digits):
        raise InvalidValue(field, value, "6 or 8 digits, e.g. 847130 or 8471.30.10")
    chapter = int(digits[:2])
    if not 1 <= chapter <= 97 or chapter == 77:
        raise InvalidValue(field, value, "a chapter (first two digits) from 01 to 97, not 77")
    return digits


@functools.cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → English short name (resources/countries.json)."""
    path = RESOURCES / "countries.json"
    if not path.exists():  # installed as a package without the source tree
        path = Path(str(importlib_resources.files("app"))).parent / "resources" / "countries.json"
    with path.open(encoding="utf-8") as handle:
        table = json.load(handle)
    return {str(code): str(name) for code, name in table.items()}


def check_country(value: str, field: str = "country") -> str:
    """ISO 3166-1 alpha-2 country code, upper case."""
    text = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(text, str) or text not in countries():
        raise InvalidValue(field, value, "an ISO 3166-1 alpha-2 country code such as AE or JP")
    return text


def _decimal(value: object, field: str, expected: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidValue(field, value, expected + " given as text or Decimal, not a float")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidValue(field, value, expected) from None
    if not number.is_finite():
        raise InvalidValue(field, value, expected)
    return number


def check_quantity(value: object, field: str = "quantity") -> Decimal:
    """A quantity: more than zero, at most 3 decimals, below one thousand million."""
    expected = "a number above 0 with at most 3 decimals"
    number = _decimal(value, field, expected)
    if number <= 0 or number >= Decimal("1e9") or -number.as_tuple().exponent > 3:  # type: ignore[operator]
        raise InvalidValue(field, value, expected)
    return number


def check_unit(value: str, field: str = "unit") -> str:
    text = value.strip().upper() if isinstance(value, str) else value
    if text not in UNITS:
        raise InvalidValue(field, value, "a customs unit quantity code such as KGS, NOS, PCS, MTR")
    return text


def check_money(value: object, field: str = "value", *, allow_zero: bool = False) -> Decimal:
    """A money amount: at most 2 decimals, above zero (or zero when allowed)."""
    expected = "an amount " + ("of 0 or more" if allow_zero else "above 0") + " with at most 2 decimals"
    number = _decimal(value, field, expected)
    too_small = number < 0 if allow_zero else number <= 0
    if too_small or number >= Decimal("1e13") or -number.as_tuple().exponent > 2:  # type: ignore[operator]
        raise InvalidValue(field, value, expected)
    return number


def check_date(
    value: object,
    field: str = "date",
    *,
    not_before: dt.date = dt.date(2000, 1, 1),
    not_after: dt.date | None = None,
) -> dt.date:
    """A calendar date (date or ISO text) within [not_before, not_after (default today)]."""
    if isinstance(value, dt.datetime):
        raise InvalidValue(field, value, "a date without a time")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidValue(field, value, "a date as YYYY-MM-DD") from None
    else:
        raise InvalidValue(field, value, "a date as YYYY-MM-DD")
    upper = not_after or dt.date.today()
    if not not_before <= day <= upper:
        raise InvalidValue(field, value, f"a date from {not_before} to {upper}")
    return day


def check_official_email(value: str, agency_domains: list[str], field: str = "e-mail") -> str:
    """An official e-mail address in one of the agency's domains (no personal mailbox)."""
    text = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(text, str) or not re.fullmatch(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}", text):
        raise InvalidValue(field, value, "an e-mail address such as name@agency.org.in")
    domain = text.rsplit("@", 1)[1]
    allowed = [d.lower() for d in agency_domains]
    if domain not in allowed:
        raise InvalidValue(field, value, "an official address at " + (" or ".join(allowed) or "the agency's domain"))
    return text
