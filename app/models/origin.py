"""Origin by value content and change of classification, from a cost sheet.

Pure: no Qt, no SQL. Amounts are ``Decimal``; percentages are compared exactly (a
threshold is inclusive: "at least 35 %" is met at 35 %) and quantized to three decimals
only for display.

- build-down: (FOB - VNM) / FOB x 100, VNM the value of non-originating materials;
- build-up: (VOM + labour + overheads + profit + other costs) / FOB x 100;
- non-originating share: VNM / FOB x 100 (so build-down = 100 - that share);
- change of classification: every non-originating material's HS code differs from the
  product's at the rule's level (chapter 2 digits, heading 4, sub-heading 6); those that
  do not may together be worth up to the agreement's de minimis share of FOB.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.errors import UserFacingError
from app.models.agreements import CLASSIFICATION_LEVELS, OriginRule, TradeAgreement

HUNDRED = Decimal(100)
THREE_PLACES = Decimal("0.001")
# criterion code -> classification level tested alone
CLASSIFICATION_CRITERIA = {"CC": "chapter", "CTH": "heading", "CTSH": "subheading"}
LEVEL_NAMES = {"chapter": "chapter (2 digits)", "heading": "heading (4 digits)",
               "subheading": "sub-heading (6 digits)"}


class OriginRuleMissing(UserFacingError):
    """The criterion claimed has no rule to test (e.g. PSR for a product with none)."""


@dataclass(frozen=True)
class Material:
    description: str
    hs_code: str
    origin_country: str | None
    originating: bool
    value: Decimal


@dataclass(frozen=True)
class OriginCase:
    """What origin-check reads: the product, the criterion claimed and its costing."""

    agreement: str
    product_hs_code: str
    product_description: str
    criterion: str
    currency: str
    fob: Decimal
    materials: tuple[Material, ...]
    labour: Decimal = Decimal(0)
    overheads: Decimal = Decimal(0)
    profit: Decimal = Decimal(0)
    other_costs: Decimal = Decimal(0)


@dataclass(frozen=True)
class OriginVerdict:
    met: bool
    criterion: str
    build_down_percent: Decimal
    build_up_percent: Decimal
    non_originating_percent: Decimal
    classification_change: bool
    de_minimis_percent: Decimal
    steps: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": "met" if self.met else "not met",
            "criterion": self.criterion,
            "build_down_percent": show(self.build_down_percent),
            "build_up_percent": show(self.build_up_percent),
            "non_originating_percent": show(self.non_originating_percent),
            "classification_change": self.classification_change,
            "de_minimis_percent": show(self.de_minimis_percent),
            "steps": list(self.steps),
        }


def show(percent: Decimal) -> str:
    """A percentage for display: three decimals, rounded half up."""
    return str(percent.quantize(THREE_PLACES, rounding=decimal.ROUND_HALF_UP))


def _share(part: Decimal, whole: Decimal) -> Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        return part * HUNDRED / whole


def check_origin(case: OriginCase, agreement: TradeAgreement) -> OriginVerdict:
    """The verdict for ``case.criterion`` under ``agreement``, with every step."""
    if case.fob <= 0:
        raise UserFacingError("the FOB value must be more than zero")
    steps: list[str] = []
    cur = case.currency
    non_originating = [m for m in case.materials if not m.originating]
    vnm = sum((m.value for m in non_originating), Decimal(0))
    vom = sum((m.value for m in case.materials if m.originating), Decimal(0))
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        others = case.labour + case.overheads + case.profit + case.other_costs
        non_share = _share(vnm, case.fob)
        build_up = _share(vom + others, case.fob)
        ctx.prec = 200  # exact: the share has 60 significant digits
        build_down = HUNDRED - non_share  # = (FOB - VNM) / FOB x 100, rounded once
    steps.append(f"FOB {case.fob} {cur}; non-originating materials (VNM) {vnm} {cur}; "
                 f"originating materials (VOM) {vom} {cur}")
    steps.append(f"build-down: ({case.fob} - {vnm}) / {case.fob} x 100 = {show(build_down)} %")
    steps.append(f"build-up: ({vom} + {case.labour} + {case.overheads} + {case.profit} + "
                 f"{case.other_costs}) / {case.fob} x 100 = {show(build_up)} %")
    steps.append(f"non-originating share: {vnm} / {case.fob} x 100 = {show(non_share)} %")

    criterion = case.criterion
    rule = _rule_for(criterion, case, agreement, steps)
    level = CLASSIFICATION_CRITERIA.get(criterion) or (rule.classification_change if rule else None)
    tested_level = level or "subheading"
    de_minimis_limit = (rule.de_minimis_percent if rule and rule.de_minimis_percent is not None
                        else agreement.de_minimis_percent)
    if rule is not None and case.product_hs_code[:2] in rule.de_minimis_excluded_chapters:
        steps.append(f"no de minimis by value for chapter {case.product_hs_code[:2]} under "
                     f"{agreement.code}")
        de_minimis_limit = None
    elif rule is not None and rule.de_minimis_by_chapter:
        de_minimis_limit = next((r.percent for r in rule.de_minimis_by_chapter
                                 if r.covers(case.product_hs_code)), None)
        if de_minimis_limit is None:
            steps.append(f"no de minimis by value for HS {case.product_hs_code} under "
                         f"{agreement.code}")
    ctc, unchanged_share = _classification(
        case, non_originating, tested_level, de_minimis_limit, steps, required=level is not None)

    if criterion in ("WO", "PE"):
        met = not non_originating
        steps.append(f"{criterion}: no non-originating material may be used; "
                     f"{len(non_originating)} used -> {'met' if met else 'not met'}")
    elif criterion in CLASSIFICATION_CRITERIA:
        met = ctc
    elif criterion == "RVC":
        assert rule is not None
        met = _value_content(rule, build_down, build_up, steps)
    else:  # general or PSR: the rule's parts joined by its combination
        assert rule is not None
        parts: list[bool] = []
        if rule.value_content_percent is not None or rule.method_percent:
            parts.append(_value_content(rule, build_down, build_up, steps))
        if rule.classification_change is not None:
            parts.append(ctc)
        met = all(parts) if rule.combination == "and" else any(parts)
        if len(parts) > 1:
            steps.append(f"value content {rule.combination} change of classification -> "
                         f"{'met' if met else 'not met'}")
    steps.append(f"verdict for {criterion} under {agreement.code}: {'met' if met else 'not met'}")
    return OriginVerdict(met, criterion, build_down, build_up, non_share, ctc,
                         unchanged_share, tuple(steps))


def _rule_for(criterion: str, case: OriginCase, agreement: TradeAgreement,
              steps: list[str]) -> OriginRule | None:
    if criterion == "PSR":
        product_rule = agreement.product_rule(case.product_hs_code)
        if product_rule is None:
            raise OriginRuleMissing(
                f"{agreement.code} has no product-specific rule recorded for HS "
                f"{case.product_hs_code}; claim another criterion")
        steps.append(f"product-specific rule for HS {product_rule.hs_prefix}: "
                     f"{product_rule.rule.text} (source: {product_rule.source})")
        return product_rule.rule
    rule = agreement.general_rule
    if rule is None and criterion in ("general", "RVC"):
        raise OriginRuleMissing(
            f"{agreement.code} has no general rule (its origin rules are product-specific); "
            "claim PSR or WO")
    if rule is not None and criterion in ("general", "RVC"):
        steps.append(f"general rule of {agreement.code}: {rule.text}")
    if criterion == "RVC" and rule is not None and rule.value_content_percent is None:
        raise OriginRuleMissing(f"{agreement.code}'s general rule has no value content")
    return rule


def _value_content(rule: OriginRule, build_down: Decimal, build_up: Decimal,
                   steps: list[str]) -> bool:
    results = []
    for method in rule.methods:
        threshold = rule.threshold(method)
        if threshold is None:
            continue
        value = build_down if method == "build_down" else build_up
        ok = value >= threshold
        results.append(ok)
        steps.append(f"{method.replace('_', '-')} {show(value)} % against at least "
                     f"{threshold} % -> {'met' if ok else 'not met'}")
    return any(results)


def _classification(case: OriginCase, non_originating: list[Material], level: str,
                    de_minimis: Decimal | None, steps: list[str],
                    *, required: bool) -> tuple[bool, Decimal]:
    digits = CLASSIFICATION_LEVELS[level]
    product = case.product_hs_code[:digits]
    unchanged = [m for m in non_originating if m.hs_code[:digits] == product]
    for m in non_originating:
        same = m in unchanged
        steps.append(f"{m.description} (HS {m.hs_code}, non-originating): {LEVEL_NAMES[level]} "
                     f"{m.hs_code[:digits]} {'same as' if same else 'differs from'} {product}")
    unchanged_value = sum((m.value for m in unchanged), Decimal(0))
    share = _share(unchanged_value, case.fob)
    if not unchanged:
        ok = True
    elif de_minimis is not None:
        ok = share <= de_minimis
        steps.append(f"de minimis: materials without the change {unchanged_value} = "
                     f"{show(share)} % of FOB, allowed up to {de_minimis} % -> "
                     f"{'within' if ok else 'over'}")
    else:
        ok = False
        steps.append("no de minimis allowance recorded for this agreement")
    note = "" if required else " (not required by the rule; shown for information)"
    steps.append(f"change of {LEVEL_NAMES[level]}: {'met' if ok else 'not met'}{note}")
    return ok, share
