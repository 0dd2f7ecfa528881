"""The in-lieu comparison itself, over plain data: only what changed is marked, values are
compared exactly (Decimal), goods lines matched by item number."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from app.services.in_lieu import compare, printed_certificate


def _goods(item_no: int, quantity: str) -> SimpleNamespace:
    return SimpleNamespace(item_no=item_no, marks="AN/1", package_count=10, package_kind="cartons",
                           description="Cotton T-shirts", hs_code="610910",
                           quantity=Decimal(quantity), unit="PCS",
                           gross_weight_kg=Decimal("120.5"), origin_criterion=None,
                           fob_value=Decimal("5400.00"))


def _application(number: str, consignee: str, quantities: list[str]) -> SimpleNamespace:
    exporter = SimpleNamespace(name="Rao Textiles", address="Tiruppur", iec="AAACR5055K")
    return SimpleNamespace(
        number=number, exporter=exporter, agreement_code=None, form_code="NONPREF",
        currency="USD", consignee_name=consignee, consignee_address="Dubai",
        consignee_country="AE", origin_country="IN", destination_country="AE",
        transport_mode="sea", vessel_or_flight="MV Aurora", port_of_loading="Nhava Sheva",
        port_of_discharge="Jebel Ali", departure_date=dt.date(2026, 3, 1),
        invoice_number="RT/25-26/0042", invoice_date=dt.date(2026, 2, 20), remarks="",
        declaration_place="Tiruppur", declaration_date=dt.date(2026, 2, 21),
        foreign_certificate_number=None, foreign_origin_country=None,
        goods=[_goods(i + 1, q) for i, q in enumerate(quantities)])


def test_only_what_changed_is_marked() -> None:
    original = _application("APP-1", "Gulf Star LLC", ["1000", "250.5"])
    in_lieu = _application("APP-2", "Gulf Star Trading LLC", ["1000.000", "260"])
    diff = compare(printed_certificate(original), printed_certificate(in_lieu), "IGCC/2026/1")
    assert [(c.label, c.old, c.new) for c in diff.changed_fields] == [
        ("Consignee", "Gulf Star LLC", "Gulf Star Trading LLC")]
    assert len(diff.unchanged_fields) == len(diff.fields) - 1 > 15
    [line] = diff.changed_goods
    assert line.item_no == 2 and line.state == "changed"
    assert [(c.label, c.old, c.new) for c in line.changes] == [
        ("Quantity", "250.5 PCS", "260 PCS")]
    assert [g.item_no for g in diff.unchanged_goods] == [1]  # 1000 and 1000.000 are equal
    assert diff.summary == "1 of 21 printed fields changed; 1 of 2 goods lines changed"


def test_added_and_removed_lines_and_values_that_print_alike() -> None:
    original = _application("APP-1", "Gulf Star LLC", ["1", "2"])
    in_lieu = _application("APP-2", "Gulf  Star LLC ", ["1"])  # spaces are not a change
    in_lieu.goods.append(_goods(3, "7"))
    in_lieu.goods[0].fob_value = Decimal("5400.001")  # prints as 5,400.00: still a change
    diff = compare(printed_certificate(original), printed_certificate(in_lieu), "X")
    assert not diff.changed_fields
    states = {g.item_no: g.state for g in diff.goods}
    assert states == {1: "changed", 2: "removed", 3: "added"}
    [fob] = diff.goods[0].changes
    assert fob.label == "FOB value" and fob.new.endswith("(changed)")
