"""Origin by value content and change of classification: hand-computed cases per agreement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.models.agreements import origin_agreements, trade_agreements
from app.models.origin import Material, OriginCase, OriginRuleMissing, check_origin

FOB = Decimal("100000.00")
CENT = Decimal("0.01")


def case(agreement: str, *materials: Material, criterion: str = "general", hs: str = "610910",
         fob: Decimal = FOB, labour: str = "0", overheads: str = "0", profit: str = "0",
         other_costs: str = "0") -> OriginCase:
    return OriginCase(agreement, hs, "product", criterion, "INR", fob, tuple(materials),
                      Decimal(labour), Decimal(overheads), Decimal(profit), Decimal(other_costs))


def foreign(value: Decimal | str, hs: str = "520512") -> Material:
    """A non-originating material of another chapter than the product (610910)."""
    return Material("imported input", hs, "CN", False, Decimal(value))


def local(value: Decimal | str, hs: str = "520512") -> Material:
    return Material("Indian input", hs, "IN", True, Decimal(value))


def verdict(c: OriginCase):  # type: ignore[no-untyped-def]
    return check_origin(c, origin_agreements()[c.agreement])


GENERAL = sorted(code for code, a in origin_agreements().items() if a.general_rule is not None)


def test_every_agreement_the_desk_issues_under_has_its_rule_data() -> None:
    assert set(origin_agreements()) == {
        "AIFTA", "SAFTA", "APTA", "ISLFTA", "IJCEPA", "IKCEPA", "IMCECA", "IMCECPA", "ISCECA",
        "IAECTA", "IUCEPA", "IEFTATEPA"}
    # the forms issued are unchanged: TEPA has no form specification yet
    assert "IEFTATEPA" not in trade_agreements() and len(trade_agreements()) == 11
    assert origin_agreements()["IEFTATEPA"].partners == ("CH", "IS", "LI", "NO")
    assert origin_agreements()["IEFTATEPA"].validity_months == 12
    for agreement in origin_agreements().values():
        assert agreement.sources, agreement.code


@pytest.mark.parametrize("code", GENERAL)
def test_build_down_exactly_at_the_threshold_is_met_and_a_cent_under_is_not(code: str) -> None:
    rule = origin_agreements()[code].general_rule
    assert rule is not None
    threshold = rule.threshold("build_down")
    assert threshold is not None
    vnm = FOB * (100 - threshold) / 100  # build-down exactly at the threshold
    at = verdict(case(code, foreign(vnm)))
    assert at.met and at.build_down_percent == threshold
    under = verdict(case(code, foreign(vnm + CENT)))
    assert not under.met
    assert under.build_down_percent < threshold
    assert under.as_json()["verdict"] == "not met"


def test_aifta_hand_computed() -> None:
    v = verdict(case("AIFTA", foreign("65000.00"), local("10000.00"), labour="5000"))
    assert v.as_json() | {"steps": []} == {
        "verdict": "met", "criterion": "general", "build_down_percent": "35.000",
        "build_up_percent": "15.000", "non_originating_percent": "65.000",
        "classification_change": True, "de_minimis_percent": "0.000", "steps": []}


def test_one_cent_under_shows_35_000_but_is_not_met() -> None:
    v = verdict(case("AIFTA", foreign("65000.01")))
    assert v.as_json()["build_down_percent"] == "35.000" and not v.met


@pytest.mark.parametrize(("code", "vnm", "vom", "labour"), [
    ("IAECTA", "60000.00", "20000.00", "15000"),   # down 40 < 45, up 35 >= 35
    ("AIFTA", "70000.00", "20000.00", "15000"),    # down 30 < 35, up 35 >= 35
    ("IMCECA", "70000.00", "30000.00", "5000"),    # down 30 < 35, up 35 >= 35
    ("IMCECPA", "70000.00", "30000.00", "5000"),
])
def test_build_up_passes_where_build_down_fails(code: str, vnm: str, vom: str, labour: str) -> None:
    v = verdict(case(code, foreign(vnm), local(vom), labour=labour))
    assert v.met
    assert v.build_down_percent < origin_agreements()[code].general_rule.threshold("build_down")  # type: ignore[union-attr]


@pytest.mark.parametrize("code", ["SAFTA", "APTA", "IJCEPA", "IKCEPA", "ISCECA", "ISLFTA", "IUCEPA"])
def test_build_down_only_agreements_ignore_build_up(code: str) -> None:
    assert not verdict(case(code, foreign("70000.00"), local("30000.00"), labour="5000")).met


def test_iaecta_build_up_at_35_and_a_cent_under() -> None:
    assert verdict(case("IAECTA", foreign("60000.00"), local("20000.00"), labour="15000")).met
    assert not verdict(case("IAECTA", foreign("60000.00"), local("19999.99"), labour="15000")).met


@pytest.mark.parametrize("code", ["IKCEPA", "ISCECA"])
def test_de_minimis_at_its_limit_is_met_and_over_it_is_not(code: str) -> None:
    same = Material("computer parts", "847130", "CN", False, Decimal("10000.00"))
    at = verdict(case(code, foreign("20000.00"), same, hs="847130"))
    assert at.met and at.classification_change and at.as_json()["de_minimis_percent"] == "10.000"
    over = Material("computer parts", "847130", "CN", False, Decimal("10000.01"))
    beyond = verdict(case(code, foreign("20000.00"), over, hs="847130"))
    assert not beyond.met and not beyond.classification_change


@pytest.mark.parametrize(("hs", "limit"), [
    ("200990", "7.000"),    # juices, chapter 20: 7 % (rule 8(1)(a))
    ("847130", "10.000"),   # machines, chapter 84: 10 % (rule 8(1)(b))
    ("300490", "10.000"),   # medicaments, chapter 30: 10 %
])
def test_india_japan_de_minimis_by_chapter(hs: str, limit: str) -> None:
    """A non-originating material that does not change sub-heading is forgiven up to the
    chapter's de minimis: at the limit the line is met, one cent over it is not."""
    share = Decimal(limit) * FOB / 100
    at = verdict(case("IJCEPA", foreign("10000.00"), foreign(share, hs), hs=hs))
    assert at.met and at.as_json()["de_minimis_percent"] == limit
    over = verdict(case("IJCEPA", foreign("10000.00"), foreign(share + CENT, hs), hs=hs))
    assert not over.met and not over.classification_change


@pytest.mark.parametrize("hs", ["610910", "210690", "030617"])
def test_india_japan_has_no_de_minimis_for_textiles_listed_exceptions_or_fish(hs: str) -> None:
    v = verdict(case("IJCEPA", foreign("1.00", hs), hs=hs))
    assert not v.met and not v.classification_change
    assert any("no de minimis" in step for step in v.steps)


def test_india_malaysia_de_minimis_ten_percent_but_not_for_chapters_1_to_14() -> None:
    at = verdict(case("IMCECA", foreign("10000.00", "847130"), hs="847130"))
    assert at.met and at.as_json()["de_minimis_percent"] == "10.000"
    assert not verdict(case("IMCECA", foreign("10000.01", "847130"), hs="847130")).met
    assert not verdict(case("IMCECA", foreign("1.00", "030617"), hs="030617")).met


def test_india_korea_has_no_de_minimis_by_value_for_textiles() -> None:
    same = Material("knitted fabric", "610910", "CN", False, Decimal("1.00"))
    v = verdict(case("IKCEPA", same))
    assert not v.classification_change and not v.met
    assert verdict(case("ISCECA", same)).met


def test_no_de_minimis_any_unchanged_material_fails_the_change() -> None:
    same = Material("T-shirt blanks", "610910", "CN", False, Decimal("1.00"))
    v = verdict(case("AIFTA", same))
    assert not v.met and not v.classification_change and v.build_down_percent > 99


@pytest.mark.parametrize(("code", "material_hs", "met"), [
    ("SAFTA", "610990", False),   # same heading 6109: CTH fails
    ("SAFTA", "600610", True),    # another heading
    ("AIFTA", "610990", True),    # another sub-heading is enough for CTSH
    ("ISLFTA", "610990", False),
])
def test_classification_level(code: str, material_hs: str, met: bool) -> None:
    assert verdict(case(code, foreign("10000.00", material_hs))).met is met


def test_apta_has_no_classification_test() -> None:
    same = Material("T-shirt blanks", "610910", "CN", False, Decimal("55000.00"))
    assert verdict(case("APTA", same)).met
    assert not verdict(case("APTA", Material("x", "610910", "CN", False, Decimal("55000.01")))).met


def test_criteria_other_than_general() -> None:
    assert verdict(case("AIFTA", local("50000.00"), criterion="WO")).met
    assert not verdict(case("AIFTA", foreign("1.00"), criterion="WO")).met
    same_heading = foreign("90000.00", "610990")
    assert verdict(case("AIFTA", same_heading, criterion="CTSH")).met
    assert not verdict(case("AIFTA", same_heading, criterion="CTH")).met
    assert not verdict(case("AIFTA", same_heading, criterion="RVC")).met
    assert verdict(case("AIFTA", foreign("65000.00", "610910"), criterion="RVC")).met


@pytest.mark.parametrize(("hs", "percent"), [
    ("760110", Decimal(45)), ("711319", Decimal("3.5")), ("710239", Decimal(6))])
def test_india_uae_product_specific_rules(hs: str, percent: Decimal) -> None:
    vnm = FOB * (100 - percent) / 100
    material = foreign(vnm, "260600" if hs.startswith("76") else "710820")
    assert verdict(case("IUCEPA", material, criterion="PSR", hs=hs)).met
    material = foreign(vnm + CENT, material.hs_code)
    assert not verdict(case("IUCEPA", material, criterion="PSR", hs=hs)).met


def test_psr_without_a_recorded_rule_and_efta_general_are_refused() -> None:
    with pytest.raises(OriginRuleMissing):
        verdict(case("IUCEPA", foreign("1.00"), criterion="PSR"))
    with pytest.raises(OriginRuleMissing):
        verdict(case("IEFTATEPA", foreign("1.00")))
    assert verdict(case("IEFTATEPA", local("1.00"), criterion="WO")).met


@pytest.mark.parametrize(("raw", "message"), [
    ({"value_content_percent": 140}, "from 0 to 100"),
    ({"value_content_percent": 35, "methods": ["sideways"]}, "methods"),
    ({"value_content_percent": 35, "classification_change": "tariff line"}, "classification_change"),
    ({"value_content_percent": 35, "combination": "xor"}, "combination"),
    ({"methods": ["build_down"]}, "needs a value content"),
    ({"value_content_percent": 35, "method_percent": {"build_up": 30}}, "method_percent"),
    ({"value_content_percent": 35, "de_minimis_by_chapter": {"15-24": 7}}, "must be a list"),
    ({"value_content_percent": 35, "de_minimis_by_chapter": [{"chapters": "24-15", "percent": 7}]},
     "chapters must read"),
    ({"value_content_percent": 35, "de_minimis_by_chapter": [{"chapters": "15-24"}]},
     "needs a percent"),
    ({"value_content_percent": 35,
      "de_minimis_by_chapter": [{"chapters": "15", "percent": 7, "except": ["21A"]}]},
     "HS codes of 4 to 6"),
    ({"value_content_percent": 35,
      "de_minimis_by_chapter": [{"chapters": "15", "percent": 7, "upto": 3}]}, "each"),
])
def test_the_loader_names_what_is_wrong_with_a_rule(raw: dict, message: str) -> None:
    from app.models.agreements import AgreementDataError, _rule

    with pytest.raises(AgreementDataError, match=message):
        _rule(raw, "agreements.json: X general_rule")
