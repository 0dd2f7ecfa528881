"""What an in-lieu application changes against the certificate it replaces.

The detail panel of an in-lieu application shows, field by field, every field the
certificate prints and every goods line (matched by item number), with what changed
(old -> new) apart from what did not. The functions here are pure: they compare two
:class:`PrintedCertificate` values, plain data read from an application by
:func:`printed_certificate` (anything with an ``Application``'s attribute names will do).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.models.agreements import trade_agreements
from app.models.validation import countries


@dataclass(frozen=True)
class Printed:
    """One printed field: its label, the value compared (exact) and the text shown."""

    label: str
    value: Any
    shown: str


@dataclass(frozen=True)
class PrintedGoodsLine:
    item_no: int
    fields: tuple[Printed, ...]


@dataclass(frozen=True)
class PrintedCertificate:
    """The fields a certificate prints for one application, in the form's box order."""

    application_number: str
    fields: tuple[Printed, ...]
    goods: tuple[PrintedGoodsLine, ...]


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class GoodsChange:
    """A goods line of the original and / or the in-lieu application."""

    item_no: int
    state: str  # "changed", "unchanged", "added" (in-lieu only), "removed" (original only)
    fields: tuple[FieldChange, ...]

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.changed)


@dataclass(frozen=True)
class InLieuDifference:
    """The in-lieu application against the original certificate's application.

    ``note`` says why no comparison could be made (``fields`` and ``goods`` then empty):
    the original is not in this desk's store, or it is a legacy certificate."""

    original_number: str
    original_application: str = ""
    note: str = ""
    fields: tuple[FieldChange, ...] = ()
    goods: tuple[GoodsChange, ...] = field(default_factory=tuple)

    @property
    def changed_fields(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.changed)

    @property
    def unchanged_fields(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if not f.changed)

    @property
    def changed_goods(self) -> tuple[GoodsChange, ...]:
        return tuple(g for g in self.goods if g.state != "unchanged")

    @property
    def unchanged_goods(self) -> tuple[GoodsChange, ...]:
        return tuple(g for g in self.goods if g.state == "unchanged")

    @property
    def summary(self) -> str:
        if self.note:
            return self.note
        parts = [f"{len(self.changed_fields)} of {len(self.fields)} printed fields changed"]
        goods = self.changed_goods
        parts.append(f"{len(goods)} of {len(self.goods)} goods lines changed" if goods
                     else f"all {len(self.goods)} goods lines unchanged")
        return "; ".join(parts)


# --- reading an application -------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d %b %Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d %b %Y")
    if isinstance(value, Decimal):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value != value.to_integral() \
            else f"{value:,.0f}"
    return str(value).strip()


def _money(value: Decimal | None, currency: str) -> str:
    return "" if value is None else f"{currency} {value:,.2f}".strip()


def _exact(value: Any) -> Any:
    """The value as compared: text trimmed (case and inner spaces kept), Decimal exact."""
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _p(label: str, value: Any, shown: str | None = None) -> Printed:
    return Printed(label, _exact(value), _text(value) if shown is None else shown)


def _country_text(code: str | None) -> str:
    if not code:
        return ""
    return f"{countries().get(code, code)} ({code})"


def printed_certificate(app: Any) -> PrintedCertificate:
    """The printed fields of ``app`` (an ``Application`` or anything with its attribute
    names: ``exporter``, ``goods`` ...)."""
    exporter = app.exporter
    agreement = trade_agreements().get(app.agreement_code or "")
    currency = app.currency or ""
    fields: list[Printed] = [
        _p("Exporter", exporter.name), _p("Exporter's address", exporter.address),
        _p("Exporter's IEC", exporter.iec),
        _p("Consignee", app.consignee_name), _p("Consignee's address", app.consignee_address),
        _p("Consignee's country", app.consignee_country, _country_text(app.consignee_country)),
        _p("Country of origin", app.origin_country, _country_text(app.origin_country)),
        _p("Destination", app.destination_country, _country_text(app.destination_country)),
        _p("Agreement", app.agreement_code, agreement.name if agreement else
           (app.agreement_code or "none (non-preferential)")),
        _p("Form", app.form_code),
        _p("Transport", app.transport_mode), _p("Vessel / flight", app.vessel_or_flight),
        _p("Port of loading", app.port_of_loading),
        _p("Port of discharge", app.port_of_discharge),
        _p("Departure", app.departure_date),
        _p("Invoice number", app.invoice_number), _p("Invoice date", app.invoice_date),
        _p("Currency", currency),
        _p("Remarks", app.remarks or ""),
        _p("Declaration place", app.declaration_place or ""),
        _p("Declaration date", app.declaration_date),
    ]
    if app.foreign_certificate_number or app.foreign_origin_country:
        fields += [
            _p("Foreign origin", app.foreign_origin_country,
               _country_text(app.foreign_origin_country)),
            _p("Foreign certificate", app.foreign_certificate_number),
            _p("Foreign certificate issuer", app.foreign_certificate_issuer),
            _p("Foreign certificate date", app.foreign_certificate_date),
        ]
    goods = tuple(
        PrintedGoodsLine(int(g.item_no), (
            _p("Marks and numbers", g.marks or ""),
            _p("Packages", (int(g.package_count), _exact(g.package_kind)),
               f"{g.package_count} {g.package_kind}"),
            _p("Description", g.description),
            _p("HS code", g.hs_code),
            _p("Quantity", (g.quantity, g.unit), f"{_text(g.quantity)} {g.unit}"),
            _p("Gross weight", g.gross_weight_kg, f"{_text(g.gross_weight_kg)} kg"),
            _p("Origin criterion", g.origin_criterion or ""),
            _p("FOB value", g.fob_value, _money(g.fob_value, currency)),
        ))
        for g in sorted(app.goods, key=lambda line: line.item_no)
    )
    return PrintedCertificate(app.number, tuple(fields), goods)


# --- comparing --------------------------------------------------------------------------------

def _compare(old: Sequence[Printed], new: Sequence[Printed]) -> tuple[FieldChange, ...]:
    before = {p.label: p for p in old}
    after = {p.label: p for p in new}
    labels = list(dict.fromkeys([p.label for p in old] + [p.label for p in new]))
    result = []
    for label in labels:
        o, n = before.get(label), after.get(label)
        same = o is not None and n is not None and o.value == n.value
        old_text = o.shown if o is not None else ""
        new_text = n.shown if n is not None else ""
        if same:
            new_text = old_text  # equal values: one text (Decimal 10.0 and 10.00 alike)
        elif old_text == new_text:
            new_text += " (changed)"  # different values that print alike: still a change
        result.append(FieldChange(label, old_text, new_text))
    return tuple(result)


def _goods(old: Iterable[PrintedGoodsLine],
           new: Iterable[PrintedGoodsLine]) -> tuple[GoodsChange, ...]:
    before = {g.item_no: g for g in old}
    after = {g.item_no: g for g in new}
    result = []
    for item in sorted(set(before) | set(after)):
        o, n = before.get(item), after.get(item)
        if o is None:
            assert n is not None
            result.append(GoodsChange(item, "added", tuple(
                FieldChange(p.label, "", p.shown) for p in n.fields)))
        elif n is None:
            result.append(GoodsChange(item, "removed", tuple(
                FieldChange(p.label, p.shown, "") for p in o.fields)))
        else:
            changes = _compare(o.fields, n.fields)
            state = "changed" if any(c.changed for c in changes) else "unchanged"
            result.append(GoodsChange(item, state, changes))
    return tuple(result)


def compare(original: PrintedCertificate, in_lieu: PrintedCertificate,
            original_number: str) -> InLieuDifference:
    """Field by field and goods line by goods line: the original against the in-lieu."""
    return InLieuDifference(
        original_number=original_number, original_application=original.application_number,
        fields=_compare(original.fields, in_lieu.fields),
        goods=_goods(original.goods, in_lieu.goods),
    )


def not_compared(original_number: str, note: str) -> InLieuDifference:
    return InLieuDifference(original_number=original_number, note=note)
