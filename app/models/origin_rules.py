"""The agreements' partners and origin rules as rows, for the PostgreSQL store's own check.

The desk and the service judge origin with ``app/models/origin.py`` on
``resources/agreements.json``. The PostgreSQL store checks an approval itself (revision
0008: ``od_origin_verdict`` mirrors ``check_origin``), so it holds the same figures in
these tables, written by the migration from agreements.json (:func:`origin_rule_rows`).

- ``origin_agreements``: code, name, the agreement's own de minimis (used when its rule has
  none, e.g. India-EFTA TEPA, which has no general rule);
- ``origin_agreement_partners``: the countries each agreement covers;
- ``origin_rules``: the general rule (``hs_prefix`` empty) and each product-specific rule:
  the threshold per method (null: the method is not allowed), whether the rule has a value
  content part at all, the classification level, ``and``/``or``, the de minimis with the
  chapters it does not apply to and its ranges by chapter (JSON).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.agreements import OriginRule, TradeAgreement, origin_agreements
from app.models.base import Base


class OriginAgreement(Base):
    __tablename__ = "origin_agreements"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    de_minimis_percent: Mapped[Decimal | None] = mapped_column(default=None)


class OriginAgreementPartner(Base):
    __tablename__ = "origin_agreement_partners"

    agreement_code: Mapped[str] = mapped_column(
        ForeignKey("origin_agreements.code", ondelete="CASCADE"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)


class OriginRuleRow(Base):
    __tablename__ = "origin_rules"
    __table_args__ = (UniqueConstraint("agreement_code", "hs_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_code: Mapped[str] = mapped_column(
        ForeignKey("origin_agreements.code", ondelete="CASCADE"))
    hs_prefix: Mapped[str] = mapped_column(String(6), default="")  # "": the general rule
    value_content: Mapped[bool]
    value_content_percent: Mapped[Decimal | None] = mapped_column(default=None)
    build_down_percent: Mapped[Decimal | None] = mapped_column(default=None)
    build_up_percent: Mapped[Decimal | None] = mapped_column(default=None)
    classification_level: Mapped[str | None] = mapped_column(String(10), default=None)
    combination: Mapped[str] = mapped_column(String(3), default="and")
    de_minimis_percent: Mapped[Decimal | None] = mapped_column(default=None)
    de_minimis_excluded: Mapped[str] = mapped_column(String(400), default="")  # "01 02 ..."
    de_minimis_by_chapter: Mapped[str] = mapped_column(Text, default="[]")  # JSON


def _rule_row(code: str, prefix: str, rule: OriginRule) -> dict[str, Any]:
    thresholds = {m: rule.threshold(m) for m in rule.methods}
    by_chapter = [{"first": r.first, "last": r.last, "percent": str(r.percent),
                   "except": list(r.except_hs)}
                  for r in getattr(rule, "de_minimis_by_chapter", ())]
    return {
        "agreement_code": code, "hs_prefix": prefix,
        "value_content": rule.value_content_percent is not None or bool(rule.method_percent),
        "value_content_percent": rule.value_content_percent,
        "build_down_percent": thresholds.get("build_down"),
        "build_up_percent": thresholds.get("build_up"),
        "classification_level": rule.classification_change,
        "combination": rule.combination,
        "de_minimis_percent": rule.de_minimis_percent,
        "de_minimis_excluded": " ".join(rule.de_minimis_excluded_chapters),
        "de_minimis_by_chapter": json.dumps(by_chapter),
    }


def origin_rule_rows(
    agreements: dict[str, TradeAgreement] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(agreements, partners, rules) rows of every agreement in agreements.json."""
    agreements = origin_agreements() if agreements is None else agreements
    heads, partners, rules = [], [], []
    for code, agreement in sorted(agreements.items()):
        heads.append({"code": code, "name": agreement.name,
                      "de_minimis_percent": agreement.de_minimis_percent})
        partners += [{"agreement_code": code, "country": c} for c in agreement.partners]
        if agreement.general_rule is not None:
            rules.append(_rule_row(code, "", agreement.general_rule))
        rules += [_rule_row(code, p.hs_prefix, p.rule) for p in agreement.product_specific_rules]
    return heads, partners, rules


def origin_rules_digest(agreements: dict[str, TradeAgreement] | None = None) -> str:
    """SHA-256 of :func:`origin_rule_rows` in a canonical JSON form. A revision that loads
    the rule tables records the digest of the data it was written for (``RULES_SHA256``);
    tests/origin/test_rule_tables_current.py fails when agreements.json's rules change and
    no newer revision reloads the store's tables."""
    blob = json.dumps(origin_rule_rows(agreements), sort_keys=True, separators=(",", ":"),
                      default=lambda value: str(value) if isinstance(value, Decimal) else None)
    return hashlib.sha256(blob.encode()).hexdigest()
