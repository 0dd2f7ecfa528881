"""Properties of the value-content computation (hypothesis)."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.agreements import origin_agreements
from app.models.origin import Material, OriginCase, check_origin

amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("1000000.00"), places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000.00"), places=2)
hs_codes = st.sampled_from(["520512", "610910", "610990", "600610", "760110", "260600"])
materials = st.builds(Material, st.just("m"), hs_codes, st.sampled_from(["CN", "IN", None]),
                      st.booleans(), amounts)
agreements = st.sampled_from(sorted(c for c, a in origin_agreements().items() if a.general_rule))
criteria = st.sampled_from(["general", "RVC", "CTH", "CTSH", "WO"])


@st.composite
def cases(draw: st.DrawFn) -> OriginCase:
    return OriginCase(draw(agreements), draw(hs_codes), "product", draw(criteria), "INR",
                      draw(positive), tuple(draw(st.lists(materials, max_size=6))),
                      draw(amounts), draw(amounts), draw(amounts), draw(amounts))


def run(c: OriginCase):  # type: ignore[no-untyped-def]
    return check_origin(c, origin_agreements()[c.agreement])


@settings(max_examples=200, deadline=None)
@given(cases())
def test_build_down_is_100_minus_the_non_originating_share(c: OriginCase) -> None:
    v = run(c)
    with localcontext() as ctx:
        ctx.prec = 80  # exact for these operands
        assert v.build_down_percent == 100 - v.non_originating_percent
    shown = v.as_json()
    assert Decimal(shown["build_down_percent"]) + Decimal(shown["non_originating_percent"]) \
        - 100 in (Decimal("0.000"), Decimal("0.001"), Decimal("-0.001"))


@settings(max_examples=200, deadline=None)
@given(cases(), amounts, hs_codes)
def test_adding_an_originating_material_never_lowers_build_up(c: OriginCase, value: Decimal,
                                                              hs: str) -> None:
    before = run(c)
    extra = Material("local", hs, "IN", True, value)
    after = run(OriginCase(**{**c.__dict__, "materials": (*c.materials, extra)}))
    assert after.build_up_percent >= before.build_up_percent
    assert after.build_down_percent == before.build_down_percent


@settings(max_examples=200, deadline=None)
@given(cases(), st.sampled_from([Decimal("0.5"), Decimal(3), Decimal(100), Decimal("0.01")]))
def test_scaling_every_amount_changes_no_verdict(c: OriginCase, k: Decimal) -> None:
    scaled = OriginCase(**{
        **c.__dict__, "fob": c.fob * k,
        "materials": tuple(Material(m.description, m.hs_code, m.origin_country, m.originating,
                                    m.value * k) for m in c.materials),
        "labour": c.labour * k, "overheads": c.overheads * k, "profit": c.profit * k,
        "other_costs": c.other_costs * k})
    a, b = run(c), run(scaled)
    assert a.met == b.met and a.classification_change == b.classification_change
    assert a.as_json()["build_down_percent"] == b.as_json()["build_down_percent"]
