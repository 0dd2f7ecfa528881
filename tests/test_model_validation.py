"""Models refuse bad values when they are set, with the validator's message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.models import Application, Exporter, GoodsLine, GstRegistration
from app.models.validation import InvalidValue


def test_exporter_and_gst_registration_check_their_identifiers() -> None:
    exporter = Exporter(iec="aaacr5055k", name="Ramcharan Exports", address="Mumbai")
    assert exporter.iec == "AAACR5055K"
    with pytest.raises(InvalidValue, match="IEC"):
        exporter.iec = "12345"
    with pytest.raises(InvalidValue, match="check character"):
        GstRegistration(gstin="27AAPFU0939F1ZW")


def test_goods_line_checks_hs_code_quantities_unit_and_value() -> None:
    line = GoodsLine(hs_code="8471.30.10", quantity="10", unit="nos", gross_weight_kg="12.5",
                     fob_value="1500.00")
    assert (line.hs_code, line.unit, line.quantity) == ("84713010", "NOS", Decimal("10"))
    for field, value, message in (("hs_code", "12", "HS code"), ("quantity", "-1", "quantity"),
                                  ("gross_weight_kg", "0", "gross weight kg"),
                                  ("unit", "BOXES", "unit"), ("fob_value", "1.234", "FOB value")):
        with pytest.raises(InvalidValue, match=message):
            setattr(line, field, value)


def test_application_checks_country_codes() -> None:
    app = Application(destination_country="ae")
    assert app.destination_country == "AE"
    with pytest.raises(InvalidValue, match="consignee country"):
        app.consignee_country = "UAE"
    app.foreign_origin_country = None
