"""Invoice numbers compared trimmed and case-folded; only live applications count."""

from __future__ import annotations

from app.services.exporters import InvoiceRow, duplicate_invoices, invoice_key


def test_invoice_numbers_are_compared_trimmed_and_case_folded() -> None:
    assert invoice_key("  Inv/26-27/0042 ") == invoice_key("INV/26-27/0042")
    assert invoice_key("INV/26-27/0042") != invoice_key("INV/26-27/00420")
    rows = [InvoiceRow(1, "APP-1", "INV/1", "submitted"),
            InvoiceRow(2, "APP-2", " inv/1", "issued"),
            InvoiceRow(3, "APP-3", "INV/1 ", "rejected"),
            InvoiceRow(4, "APP-4", "INV/2", "approved"),
            InvoiceRow(5, "APP-5", "INV/2", "superseded"),
            InvoiceRow(6, "APP-6", "INV/3", "cancelled"),
            InvoiceRow(7, "APP-7", "inv/3", "cancelled")]
    clashes = duplicate_invoices(rows)
    assert set(clashes) == {1, 2}
    assert [o.number for o in clashes[1]] == ["APP-2"]
    assert [o.number for o in clashes[2]] == ["APP-1"]
