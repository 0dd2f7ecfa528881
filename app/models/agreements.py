"""Trade agreements: reference data shipped in resources/agreements.json.

Each agreement carries, besides the form it is issued on, its general origin rule
(``OriginRule``), the validity of its certificate, its product-specific rules where
they were sourced, and the source of every figure (``sources``: field -> document,
article or rule, and where it was found).

``trade_agreements()`` lists the agreements the desk issues a form for (as before);
``origin_agreements()`` lists every agreement whose origin rules are known, including
those with no form specification yet (India-EFTA TEPA).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.models.validation import RESOURCES

METHODS = ("build_down", "build_up")
CLASSIFICATION_LEVELS = {"chapter": 2, "heading": 4, "subheading": 6}
COMBINATIONS = ("and", "or")


class AgreementDataError(ValueError):
    """resources/agreements.json is not shaped as the loader expects."""


@dataclass(frozen=True)
class ChapterDeMinimis:
    """A de minimis by value for products of chapters ``first``..``last`` (inclusive, two
    digits), except products whose HS code starts with one of ``except_hs``."""

    first: str
    last: str
    percent: Decimal
    except_hs: tuple[str, ...] = ()

    def covers(self, hs_code: str) -> bool:
        return (self.first <= hs_code[:2] <= self.last
                and not any(hs_code.startswith(prefix) for prefix in self.except_hs))


@dataclass(frozen=True)
class OriginRule:
    """An origin rule: a value content (by one of ``methods``) and/or a change of
    classification of every non-originating material, joined by ``combination``."""

    value_content_percent: Decimal | None = None
    methods: tuple[str, ...] = ("build_down",)
    method_percent: tuple[tuple[str, Decimal], ...] = ()  # a method's own threshold
    classification_change: str | None = None  # chapter | heading | subheading
    combination: str = "and"
    de_minimis_percent: Decimal | None = None
    de_minimis_excluded_chapters: tuple[str, ...] = ()  # no de minimis by value for these
    # when given, the de minimis depends on the product's chapter (none outside the ranges)
    de_minimis_by_chapter: tuple[ChapterDeMinimis, ...] = ()
    cumulation: str = ""
    text: str = ""

    def threshold(self, method: str) -> Decimal | None:
        for name, percent in self.method_percent:
            if name == method:
                return percent
        return self.value_content_percent


@dataclass(frozen=True)
class ProductRule:
    hs_prefix: str
    rule: OriginRule
    source: str = ""


@dataclass(frozen=True)
class TradeAgreement:
    code: str
    name: str
    form: str
    form_name: str
    partners: tuple[str, ...]
    rule: str
    min_rvc_percent: int | None
    tariff_shift: str | None
    general_rule: OriginRule | None = None
    validity_months: int | None = None
    criterion_codes: tuple[str, ...] = ()
    product_specific_rules: tuple[ProductRule, ...] = ()
    de_minimis_percent: Decimal | None = None  # the agreement's, when it has no general rule
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def covers(self, country: str) -> bool:
        return country in self.partners

    def product_rule(self, hs_code: str) -> ProductRule | None:
        """The product-specific rule with the longest prefix matching ``hs_code``."""
        found = [r for r in self.product_specific_rules if hs_code.startswith(r.hs_prefix)]
        return max(found, key=lambda r: len(r.hs_prefix)) if found else None


@functools.cache
def origin_agreements() -> dict[str, TradeAgreement]:
    """Every agreement in resources/agreements.json, by code."""
    with (RESOURCES / "agreements.json").open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return {entry["code"]: _agreement(entry) for entry in raw["agreements"]}


@functools.cache
def trade_agreements() -> dict[str, TradeAgreement]:
    """The agreements the desk issues a form for (those with a form specification)."""
    return {code: a for code, a in origin_agreements().items() if a.form}


def _agreement(entry: dict[str, Any]) -> TradeAgreement:
    code = entry.get("code", "?")
    where = f"agreements.json: {code}"
    general = entry.get("general_rule")
    psrs = entry.get("product_specific_rules", [])
    if not isinstance(psrs, list):
        raise AgreementDataError(f"{where}: product_specific_rules must be a list")
    sources = entry.get("sources", {})
    if not isinstance(sources, dict):
        raise AgreementDataError(f"{where}: sources must be an object")
    validity = entry.get("validity_months")
    if validity is not None and (not isinstance(validity, int) or validity <= 0):
        raise AgreementDataError(f"{where}: validity_months must be a positive whole number")
    rules = []
    for psr in psrs:
        prefix = psr.get("hs_prefix") if isinstance(psr, dict) else None
        if not isinstance(prefix, str) or not prefix.isdigit() or len(prefix) not in (2, 4, 6):
            raise AgreementDataError(f"{where}: a product rule needs hs_prefix of 2, 4 or 6 digits")
        rules.append(ProductRule(prefix, _rule(psr, f"{where} {prefix}"), str(psr.get("source", ""))))
    return TradeAgreement(
        code=entry["code"],
        name=entry["name"],
        form=entry["form"] or "",
        form_name=entry["form_name"],
        partners=tuple(entry["partners"]),
        rule=entry["rule"],
        min_rvc_percent=entry["min_rvc_percent"],
        tariff_shift=entry["tariff_shift"],
        general_rule=_rule(general, f"{where} general_rule") if general is not None else None,
        validity_months=validity,
        criterion_codes=tuple(entry.get("criterion_codes", ())),
        product_specific_rules=tuple(rules),
        de_minimis_percent=_percent(entry.get("de_minimis_percent"), where),
        sources={str(k): str(v) for k, v in sources.items()},
    )


def _percent(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise AgreementDataError(f"{where}: {value!r} is not a percentage") from None
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise AgreementDataError(f"{where}: {value!r} is not a percentage from 0 to 100")
    return percent


def _chapter_de_minimis(raw: Any, where: str) -> tuple[ChapterDeMinimis, ...]:
    if not isinstance(raw, list | tuple):
        raise AgreementDataError(f"{where}: de_minimis_by_chapter must be a list")
    ranges = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - {"chapters", "percent", "except"}:
            raise AgreementDataError(
                f"{where}: each de_minimis_by_chapter entry has chapters, percent, except")
        first, _, last = str(entry.get("chapters", "")).partition("-")
        last = last or first
        if not (len(first) == len(last) == 2 and first.isdigit() and last.isdigit()
                and first <= last):
            raise AgreementDataError(f"{where}: chapters must read like '15-24' or '97'")
        percent = _percent(entry.get("percent"), where)
        if percent is None:
            raise AgreementDataError(f"{where}: a de_minimis_by_chapter entry needs a percent")
        excepted = tuple(str(h) for h in entry.get("except", ()))
        if any(not h.isdigit() or not 4 <= len(h) <= 6 for h in excepted):
            raise AgreementDataError(f"{where}: except lists HS codes of 4 to 6 digits")
        ranges.append(ChapterDeMinimis(first, last, percent, excepted))
    return tuple(ranges)


def _rule(raw: Any, where: str) -> OriginRule:
    if not isinstance(raw, dict):
        raise AgreementDataError(f"{where}: must be an object")
    methods = tuple(raw.get("methods", ("build_down",)))
    if not methods or any(m not in METHODS for m in methods):
        raise AgreementDataError(f"{where}: methods must be among {', '.join(METHODS)}")
    per_method = raw.get("method_percent", {})
    if not isinstance(per_method, dict) or any(m not in methods for m in per_method):
        raise AgreementDataError(f"{where}: method_percent names a method not in methods")
    level = raw.get("classification_change")
    if level is not None and level not in CLASSIFICATION_LEVELS:
        raise AgreementDataError(
            f"{where}: classification_change must be chapter, heading, subheading or null")
    combination = raw.get("combination", "and")
    if combination not in COMBINATIONS:
        raise AgreementDataError(f"{where}: combination must be 'and' or 'or'")
    value = _percent(raw.get("value_content_percent"), where)
    if value is None and level is None:
        raise AgreementDataError(f"{where}: a rule needs a value content or a classification change")
    return OriginRule(
        value_content_percent=value,
        methods=methods,
        method_percent=tuple((m, _percent(p, where) or Decimal(0)) for m, p in per_method.items()),
        classification_change=level,
        combination=combination,
        de_minimis_percent=_percent(raw.get("de_minimis_percent"), where),
        de_minimis_excluded_chapters=tuple(str(c) for c in raw.get("de_minimis_excluded_chapters", ())),
        de_minimis_by_chapter=_chapter_de_minimis(raw.get("de_minimis_by_chapter", ()), where),
        cumulation=str(raw.get("cumulation", "")),
        text=str(raw.get("rule", "")),
    )
