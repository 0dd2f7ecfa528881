"""The origin-check file (docs/ORIGIN.md): read strictly, or refused with the reason.

Every key is required and no other key is allowed; amounts are JSON strings (or JSON
numbers, read as Decimal, never as floats); the FOB value is more than zero.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from app.errors import UserFacingError
from app.models.agreements import origin_agreements
from app.models.origin import Material, OriginCase
from app.models.validation import InvalidValue, check_hs_code

TOP_KEYS = ("agreement", "product", "criterion", "currency", "fob", "materials",
            "labour", "overheads", "profit", "other_costs")
PRODUCT_KEYS = ("hs_code", "description")
MATERIAL_KEYS = ("description", "hs_code", "origin_country", "originating", "value")


class OriginFileError(UserFacingError):
    """The file is not an origin-check file; the message says where and why."""


def read_origin_case(text: str | bytes) -> OriginCase:
    try:
        raw = json.loads(text, parse_float=Decimal, parse_int=Decimal,
                         parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise OriginFileError(f"not valid JSON: {exc}") from None
    _keys(raw, TOP_KEYS, "the file")
    code = _text(raw["agreement"], "agreement")
    agreement = origin_agreements().get(code)
    if agreement is None:
        known = ", ".join(sorted(origin_agreements()))
        raise OriginFileError(f"agreement: unknown agreement {code!r}; expected one of {known}")
    product = raw["product"]
    _keys(product, PRODUCT_KEYS, "product")
    criterion = _text(raw["criterion"], "criterion")
    if criterion != "general" and criterion not in agreement.criterion_codes:
        raise OriginFileError(
            f"criterion: {criterion!r} is not a criterion of {code}; expected general or one "
            f"of {', '.join(agreement.criterion_codes)}")
    currency = _text(raw["currency"], "currency")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise OriginFileError(f"currency: {currency!r} is not a three-letter code such as INR")
    fob = _amount(raw["fob"], "fob")
    if fob <= 0:
        raise OriginFileError(f"fob: {raw['fob']!r} must be more than zero")
    if not isinstance(raw["materials"], list):
        raise OriginFileError("materials: expected a list")
    materials = tuple(_material(m, i) for i, m in enumerate(raw["materials"], start=1))
    return OriginCase(
        agreement=code,
        product_hs_code=_hs(product["hs_code"], "product.hs_code"),
        product_description=_text(product["description"], "product.description"),
        criterion=criterion, currency=currency, fob=fob, materials=materials,
        labour=_amount(raw["labour"], "labour"),
        overheads=_amount(raw["overheads"], "overheads"),
        profit=_amount(raw["profit"], "profit"),
        other_costs=_amount(raw["other_costs"], "other_costs"),
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _keys(value: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(value, dict):
        raise OriginFileError(f"{where}: expected an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise OriginFileError(f"{where}: missing key {', '.join(missing)}")
    extra = [k for k in value if k not in keys]
    if extra:
        raise OriginFileError(f"{where}: unexpected key {', '.join(map(repr, extra))}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OriginFileError(f"{where}: expected non-empty text")
    return value.strip()


def _hs(value: Any, where: str) -> str:
    try:
        return check_hs_code(value, where)
    except InvalidValue as exc:
        raise OriginFileError(str(exc)) from None


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | Decimal):
        raise OriginFileError(f"{where}: expected an amount such as \"1250.00\"")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else value
    except InvalidOperation:
        raise OriginFileError(f"{where}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise OriginFileError(f"{where}: {value!r} must be a finite amount, zero or more")
    return amount


def _material(raw: Any, number: int) -> Material:
    where = f"materials[{number}]"
    _keys(raw, MATERIAL_KEYS, where)
    country = raw["origin_country"]
    if country is not None and (not isinstance(country, str)
                                or not re.fullmatch(r"[A-Z]{2}", country)):
        raise OriginFileError(
            f"{where}.origin_country: {country!r} is not a two-letter country code (or null)")
    if not isinstance(raw["originating"], bool):
        raise OriginFileError(f"{where}.originating: expected true or false")
    return Material(
        description=_text(raw["description"], f"{where}.description"),
        hs_code=_hs(raw["hs_code"], f"{where}.hs_code"),
        origin_country=country,
        originating=raw["originating"],
        value=_amount(raw["value"], f"{where}.value"),
    )
