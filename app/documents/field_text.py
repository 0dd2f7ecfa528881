"""What each field key of a form specification prints: paragraphs for boxes, cells for goods.

The vocabulary is closed: a specification names keys from ``FIELD_KEYS`` (box content)
and ``GOODS_CELLS`` (goods columns); ``FormSpec`` loading rejects any other key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.documents.certificate_data import CertificateData, GoodsLine, IssuingOffice
from app.documents.countries import country_name

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False


def format_date(value: date | None) -> str:
    """``12 Mar 2025``: unambiguous in every country, independent of the locale."""
    if value is None:
        return ""
    return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}"


def format_decimal(value: Decimal) -> str:
    return format(value, "f")


def country(code: str) -> str:
    return country_name(code).upper()


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def _lines(text: str, bold: bool = False) -> list[Para]:
    return [Para(line, bold) for line in split_lines(text)]


def _address(lines: tuple[str, ...], code: str) -> list[Para]:
    """Address lines, then the country in capitals, once: a last line that already names
    the country ("Mumbai 400093, India" split as "India") is not printed twice."""
    name = country(code)
    if lines and lines[-1].strip().upper() in (name, code.upper()):
        lines = lines[:-1]
    return [*(Para(a) for a in lines), Para(name)]


def _exporter(d: CertificateData) -> list[Para]:
    e = d.exporter
    out = [*_lines(e.name, True), *_address(e.address_lines, e.country)]
    out.append(Para(f"IEC: {e.iec}" + (f"   GSTIN: {e.gstin}" if e.gstin else "")))
    return out


def _consignee(d: CertificateData) -> list[Para]:
    c = d.consignee
    return [*_lines(c.name, True), *_address(c.address_lines, c.country)]


def _producer(d: CertificateData) -> list[Para]:
    p = d.producer
    if p is None:
        return [Para("Same as exporter (box 1)")]
    return [*_lines(p.name, True), *_address(p.address_lines, p.country)]


def _origin(d: CertificateData) -> list[Para]:
    out = [Para(country(d.origin_country), True)]
    if d.back_to_back is not None:
        out.append(Para("Goods of foreign origin, re-exported from India (back-to-back)"))
    return out


def _transport(d: CertificateData) -> list[Para]:
    t = d.transport
    rows = (
        ("Mode of transport", t.mode),
        ("Vessel / flight / vehicle", t.vessel_or_flight),
        ("Port of loading", t.port_of_loading),
        ("Port of discharge", t.port_of_discharge),
        ("Departure date", format_date(t.departure_date)),
        ("Country of destination", country(d.destination_country)),
    )
    return [Para(f"{label}: {value}") for label, value in rows if value]


def _remarks(d: CertificateData) -> list[Para]:
    return _lines(d.remarks) if d.remarks.strip() else []


def _kind_statement(d: CertificateData) -> list[Para]:
    if d.in_lieu is not None:
        i = d.in_lieu
        return [
            Para(
                f"Issued in lieu of certificate No. {i.original_certificate_number} "
                f"dated {format_date(i.original_date)}, which it replaces.",
                True,
            ),
            *_lines(f"Reason: {i.reason}"),
        ]
    if d.back_to_back is not None:
        b = d.back_to_back
        return [
            Para("Back-to-back certificate.", True),
            Para(
                f"Country of origin of the goods: {country(b.country_of_origin)}, as certified "
                f"by certificate No. {b.certificate_number} issued by {b.issuer}, "
                f"{country(b.issuing_country)}, on {format_date(b.issue_date)}."
            ),
        ]
    return []


def _invoice(d: CertificateData) -> list[Para]:
    if not d.invoice_number:
        return []
    when = f" dated {format_date(d.invoice_date)}" if d.invoice_date else ""
    return [Para(f"Invoice No. {d.invoice_number}{when}")]


def _reference(d: CertificateData) -> list[Para]:
    if d.certificate_number is None:
        return [Para(f"Application No. {d.application_number}", True), Para("DRAFT", True)]
    return [Para(f"Certificate No. {d.certificate_number}", True)]


def _issued_in(d: CertificateData) -> list[Para]:
    return [Para("Issued in", False), Para(country("IN"), True), Para("(country)")]


def _declaration_details(d: CertificateData) -> list[Para]:
    dec = d.declaration
    on_behalf = f"for {d.exporter.name}"
    # the store's designation of an applicant is "for <exporter>": said once, not twice
    designation = "" if dec.signatory_designation.strip() == on_behalf else \
        dec.signatory_designation
    who = dec.signatory_name + (f", {designation}" if designation else "")
    return [
        Para(f"Place and date: {dec.place}, {format_date(dec.date)}"),
        Para(who, True),
        Para(f"{on_behalf} (declared electronically)"),
    ]


_NAME_SEPARATORS = " ,;:-\u2013\u2014\u00b7/"
_WORD = re.compile(r"\w+")


def office_beyond_agency(office: IssuingOffice) -> str:
    """What the office's name adds to its agency's name and place ("" when nothing):
    "Federation of Indian Export Organisations, Mumbai Regional Office" under that
    agency is "Mumbai Regional Office"; "..., Mumbai" in Mumbai adds nothing."""
    name, agency = office.name.strip(), office.agency_name.strip()
    if agency and name.casefold().endswith(agency.casefold()):  # "Mumbai Office, <agency>"
        name = name[:-len(agency)].rstrip(_NAME_SEPARATORS)
    elif agency:
        # the words the two names start with ("Federation of Indian Export Organisations
        # (FIEO)" and "Federation of Indian Export Organisations, Mumbai" share five)
        agency_words = [w.casefold() for w in _WORD.findall(agency)]
        shared, end = 0, 0
        for match in _WORD.finditer(name):
            if shared == len(agency_words) or match.group().casefold() != agency_words[shared]:
                break
            shared += 1
            end = match.end()
        if agency_words and (shared == len(agency_words) or shared >= 3):
            name = name[end:].lstrip(_NAME_SEPARATORS + ")")
    if name.casefold() in {"", agency.casefold(), office.place.strip().casefold()}:
        return ""
    return name


def _issuer(d: CertificateData) -> list[Para]:
    """The agency, what its office's name adds (not the agency again) and the office's
    address."""
    o = d.issuing_office
    beyond = office_beyond_agency(o)
    out = [Para(o.agency_name or o.name, True)]
    if o.agency_name and beyond:
        out.append(Para(beyond))
    address = [a for a in o.address_lines if a]
    if address:
        out.append(Para(", ".join(address)))
    elif o.place:
        out.append(Para(o.place))
    return out


def _certification_details(d: CertificateData) -> list[Para]:
    o = d.issuing_office
    out = [Para(d.officer_name, True)]
    if d.officer_designation:
        out.append(Para(d.officer_designation))
    out.extend(_issuer(d))
    out.append(Para(f"{o.place}, {format_date(d.issue_date) or 'not issued'} · office {o.code}"))
    if d.certificate_number:
        out.append(Para(f"Certificate No. {d.certificate_number}", True))
    if d.issued_retrospectively:
        out.append(Para("Issued retrospectively", True))
    return out


FIELD_KEYS: dict[str, Callable[[CertificateData], list[Para]]] = {
    "exporter": _exporter,
    "consignee": _consignee,
    "producer": _producer,
    "origin_country": _origin,
    "transport": _transport,
    "remarks": _remarks,
    "kind_statement": _kind_statement,
    "invoice": _invoice,
    "reference": _reference,
    "issued_in": _issued_in,
    "form_title": lambda d: [],  # the form's title lines: placed by the title box
    "issuing_body": _issuer,
    "declaration_details": _declaration_details,
    "certification_details": _certification_details,
}


def box_paragraphs(keys: tuple[str, ...], data: CertificateData) -> list[Para]:
    out: list[Para] = []
    for key in keys:
        for para in FIELD_KEYS[key](data):
            if "\n" in para.text or "\r" in para.text:
                out.extend(Para(line, para.bold) for line in split_lines(para.text))
            else:
                out.append(para)
    return out


def statement_values(data: CertificateData, agreement: str) -> dict[str, str]:
    """Values for ``{placeholders}`` in declaration and certification statements."""
    return {
        "agreement": agreement,
        "origin": country(data.origin_country),
        "destination": country(data.destination_country),
        "issuing_country": country("IN"),
    }


# --- goods cells ----------------------------------------------------------------------

def _packages(g: GoodsLine) -> str:
    return f"{g.package_count} {g.package_kind}".strip()


GOODS_CELLS: dict[str, Callable[[GoodsLine, CertificateData], str]] = {
    "item_no": lambda g, d: str(g.item_no),
    "marks": lambda g, d: g.marks_and_numbers,
    "packages": lambda g, d: _packages(g),
    "description": lambda g, d: g.description,
    "description_hs": lambda g, d: f"{g.description}\nHS code {g.hs_code}",
    "packages_description": lambda g, d: f"{_packages(g)}; {g.description}",
    "packages_description_hs": lambda g, d: f"{_packages(g)}; {g.description}\nHS {g.hs_code}",
    "hs_code": lambda g, d: g.hs_code,
    "origin_criterion": lambda g, d: g.origin_criterion,
    "quantity": lambda g, d: f"{format_decimal(g.quantity)} {g.unit}".strip(),
    "gross_weight": lambda g, d: f"{format_decimal(g.gross_weight_kg)} kg",
    "quantity_weight": lambda g, d: (
        f"{format_decimal(g.quantity)} {g.unit}".strip()
        + f"\n{format_decimal(g.gross_weight_kg)} kg gross"
    ),
    "weight_value": lambda g, d: (
        f"{format_decimal(g.gross_weight_kg)} kg gross\n"
        f"{format_decimal(g.quantity)} {g.unit}".strip()
        + f"\nFOB {g.currency} {format_decimal(g.fob_value)}"
    ),
    "fob_value": lambda g, d: f"{g.currency} {format_decimal(g.fob_value)}",
    "invoice": lambda g, d: (
        f"{d.invoice_number}\n{format_date(d.invoice_date)}" if d.invoice_number else ""
    ),
}
