"""The origin check of an application's preferential goods lines, for the officer's decision.

Each goods line of a preferential application is checked with :func:`app.models.origin.check_origin`
(the one computation) on the application's cost sheet, with the line's HS code as the
product's and the line's claimed criterion (its leading code: ``RVC 45%`` -> ``RVC``; a code
that is none of the agreement's tests, e.g. SAFTA's ``A``/``B``/``C``, is judged by the
general rule). A line is *failing* when the criterion is not met, when the cost sheet is
missing, or when the criterion has no rule to test. Approving an application with a
failing line needs an override with a reason (``workflow.perform``), audited as
``application.origin_override`` with :meth:`OriginReview.figures`.

Pure: no Qt, no SQL (the application's goods and cost sheet are loaded by the caller).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.models.agreements import (
    CLASSIFICATION_LEVELS,
    OriginRule,
    TradeAgreement,
    origin_agreements,
)
from app.models.applications import Application, CostSheet, GoodsLine
from app.models.enums import ApplicationKind
from app.models.origin import (
    CLASSIFICATION_CRITERIA,
    LEVEL_NAMES,
    Material,
    OriginCase,
    OriginRuleMissing,
    OriginVerdict,
    check_origin,
    show,
)

OVERRIDE_ACTION = "application.origin_override"
# the codes check_origin tests as such; any other claimed code is judged by the general rule
TESTED_CODES = frozenset({"WO", "PE", "RVC", "PSR"} | set(CLASSIFICATION_CRITERIA))


def criterion_code(claimed: str | None) -> str:
    """The criterion check_origin tests for a claimed text (``RVC 45%`` -> ``RVC``)."""
    match = re.match(r"\s*([A-Z]+)", claimed or "")
    code = match.group(1) if match else ""
    return code if code in TESTED_CODES else "general"


@dataclass(frozen=True)
class MaterialCheck:
    """One material of the cost sheet as the line's check sees it."""

    description: str
    hs_code: str
    origin: str
    originating: bool
    value: Decimal
    changes_classification: bool | None  # None: originating (not tested)


@dataclass(frozen=True)
class LineCheck:
    """The origin check of one goods line, every figure of it."""

    item_no: int
    description: str
    hs_code: str
    claimed: str  # the criterion as written on the line
    criterion: str  # the code tested (general, RVC, CTSH, WO, PSR, ...)
    currency: str
    fob: Decimal | None
    vnm: Decimal | None
    vom: Decimal | None
    labour: Decimal | None
    overheads: Decimal | None
    profit: Decimal | None
    other_costs: Decimal | None
    materials: tuple[MaterialCheck, ...]
    level: str  # the classification level tested (chapter / heading / subheading)
    level_required: bool
    rule_text: str
    methods: tuple[tuple[str, Decimal], ...]  # (method, threshold) of the rule's value content
    de_minimis_allowed: Decimal | None
    verdict: OriginVerdict | None
    problem: str = ""  # why the line could not be checked (no cost sheet, no rule)

    @property
    def met(self) -> bool:
        return self.verdict is not None and self.verdict.met

    def figures(self) -> dict[str, Any]:
        """What the override event records about this line (percentages with 3 decimals)."""
        out: dict[str, Any] = {"item_no": self.item_no, "hs_code": self.hs_code,
                               "claimed": self.claimed, "criterion": self.criterion}
        if self.verdict is None:
            out["verdict"] = "not checked"
            out["problem"] = self.problem
            return out
        v = self.verdict
        out.update({
            "verdict": "met" if v.met else "not met",
            "fob": str(self.fob), "vnm": str(self.vnm), "vom": str(self.vom),
            "build_down_percent": show(v.build_down_percent),
            "build_up_percent": show(v.build_up_percent),
            "non_originating_percent": show(v.non_originating_percent),
            "classification_change": v.classification_change,
            "de_minimis_percent": show(v.de_minimis_percent),
            "de_minimis_allowed": None if self.de_minimis_allowed is None
            else str(self.de_minimis_allowed),
            "rule": self.rule_text,
        })
        return out

    def summary(self) -> str:
        """One line for the officer: the claimed criterion and the figures that decide it."""
        head = f"line {self.item_no} ({self.claimed or 'no criterion'})"
        if self.verdict is None:
            return f"{head}: not checked, {self.problem}"
        v = self.verdict
        thresholds = ", ".join(f"{m.replace('_', '-')} >= {t} %" for m, t in self.methods)
        return (f"{head}: {'met' if v.met else 'NOT MET'}: build-down "
                f"{show(v.build_down_percent)} %, build-up {show(v.build_up_percent)} %"
                + (f" (rule: {thresholds})" if thresholds else "")
                + f", change of {LEVEL_NAMES[self.level]} "
                f"{'yes' if v.classification_change else 'no'}")


@dataclass(frozen=True)
class OriginReview:
    application_number: str
    agreement_code: str
    lines: tuple[LineCheck, ...]

    @property
    def failing(self) -> tuple[LineCheck, ...]:
        return tuple(line for line in self.lines if not line.met)

    def figures(self) -> dict[str, Any]:
        return {"agreement": self.agreement_code,
                "lines": [line.figures() for line in self.failing]}

    def failing_text(self) -> str:
        return "; ".join(line.summary() for line in self.failing)


def review_application(application: Application) -> OriginReview | None:
    """The origin check of every goods line with a criterion of a preferential application
    (None for other kinds, or when the agreement is unknown: approval refuses those)."""
    if application.kind != ApplicationKind.PREFERENTIAL:
        return None
    agreement = origin_agreements().get(application.agreement_code or "")
    if agreement is None:
        return None
    sheet = application.cost_sheet
    lines = tuple(
        check_line(line, sheet, agreement, application.currency)
        for line in application.goods if line.origin_criterion
    )
    return OriginReview(application.number, agreement.code, lines)


def _rule(criterion: str, hs_code: str, agreement: TradeAgreement) -> OriginRule | None:
    if criterion == "PSR":
        found = agreement.product_rule(hs_code)
        return found.rule if found else None
    return agreement.general_rule


def check_line(line: GoodsLine, sheet: CostSheet | None, agreement: TradeAgreement,
               currency: str) -> LineCheck:
    criterion = criterion_code(line.origin_criterion)
    rule = _rule(criterion, line.hs_code, agreement)
    level = CLASSIFICATION_CRITERIA.get(criterion) or (rule.classification_change if rule else None)
    tested = level or "subheading"
    methods: tuple[tuple[str, Decimal], ...] = ()
    if rule is not None and criterion not in ("WO", "PE") and criterion not in CLASSIFICATION_CRITERIA:
        methods = tuple((m, t) for m in rule.methods if (t := rule.threshold(m)) is not None)
    allowed = (rule.de_minimis_percent if rule and rule.de_minimis_percent is not None
               else agreement.de_minimis_percent)
    if rule is not None and line.hs_code[:2] in rule.de_minimis_excluded_chapters:
        allowed = None
    elif rule is not None and getattr(rule, "de_minimis_by_chapter", ()):
        allowed = next((r.percent for r in rule.de_minimis_by_chapter if r.covers(line.hs_code)),
                       None)
    common: dict[str, Any] = {
        "item_no": line.item_no, "description": line.description, "hs_code": line.hs_code,
        "claimed": line.origin_criterion or "", "criterion": criterion, "currency": currency,
        "level": tested, "level_required": level is not None,
        "rule_text": rule.text if rule else "", "methods": methods,
        "de_minimis_allowed": allowed,
    }
    if sheet is None:
        return LineCheck(**common, fob=None, vnm=None, vom=None, labour=None, overheads=None,
                         profit=None, other_costs=None, materials=(), verdict=None,
                         problem="the application has no cost sheet")
    digits = CLASSIFICATION_LEVELS[tested]
    materials = tuple(
        MaterialCheck(m.description, m.hs_code, m.origin_country or "undetermined",
                      m.originating, m.value,
                      None if m.originating else m.hs_code[:digits] != line.hs_code[:digits])
        for m in sheet.materials
    )
    case = OriginCase(
        agreement=agreement.code, product_hs_code=line.hs_code,
        product_description=line.description, criterion=criterion, currency=currency,
        fob=sheet.fob,
        materials=tuple(Material(m.description, m.hs_code, m.origin_country, m.originating,
                                 m.value) for m in sheet.materials),
        labour=sheet.labour, overheads=sheet.overheads, profit=sheet.profit,
        other_costs=sheet.other_costs,
    )
    figures: dict[str, Any] = {
        "fob": sheet.fob, "vnm": sheet.non_originating_value, "vom": sheet.originating_value,
        "labour": sheet.labour, "overheads": sheet.overheads, "profit": sheet.profit,
        "other_costs": sheet.other_costs, "materials": materials,
    }
    if sheet.fob <= 0:
        return LineCheck(**common, **figures, verdict=None,
                         problem="the cost sheet's FOB value is not more than zero")
    try:
        verdict = check_origin(case, agreement)
    except OriginRuleMissing as exc:
        return LineCheck(**common, **figures, verdict=None, problem=str(exc))
    return LineCheck(**common, **figures, verdict=verdict)
