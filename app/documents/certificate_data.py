"""The data a certificate is rendered from: plain frozen dataclasses, no ORM, no Qt.

The store maps its models into :class:`CertificateData`; the renderer and the QR payload
read nothing else. Every value is checked when the object is made, and a wrong value
raises :class:`CertificateDataError` naming the field (e.g. ``goods[3].hs_code``).

Form codes (``FORM_CODES``): ``NONPREF`` for the non-preferential (ICC model) certificate
and one code per trade agreement's form (``AIFTA`` = Form AI, ``SAFTA``, ``APTA``,
``IJCEPA``, ``IKCEPA``, ``ISCECA``, ``IMCECA``, ``IUCEPA``, ``IAECTA``, ``IMCECPA``,
``ISLFTA``). These are the agreement codes of ``resources/agreements.json`` and the file
names of the specifications in ``resources/forms``. An in-lieu certificate carries the
form code of the certificate it replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from app.documents.countries import is_country_code
from app.errors import UserFacingError

Kind = Literal["non_preferential", "preferential", "in_lieu", "back_to_back"]
KINDS: tuple[str, ...] = ("non_preferential", "preferential", "in_lieu", "back_to_back")

NON_PREFERENTIAL_FORM = "NONPREF"
PREFERENTIAL_FORMS: tuple[str, ...] = (
    "AIFTA", "SAFTA", "APTA", "IJCEPA", "IKCEPA", "ISCECA",
    "IMCECA", "IUCEPA", "IAECTA", "IMCECPA", "ISLFTA",
)
FORM_CODES: tuple[str, ...] = (NON_PREFERENTIAL_FORM, *PREFERENTIAL_FORMS)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HS_CODE = re.compile(r"[0-9]{6,8}")
_IEC = re.compile(r"[0-9A-Z]{10}")
_GSTIN = re.compile(r"[0-9]{2}[0-9A-Z]{13}")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_TEXT = 20_000  # characters in any one text field: far beyond any real box


class CertificateDataError(UserFacingError):
    """A certificate's data has a value that cannot be printed or signed."""


def _fail(path: str, problem: str) -> None:
    raise CertificateDataError(f"certificate data: {path} {problem}")


def _text(path: str, value: object, *, required: bool = True, limit: int = MAX_TEXT) -> None:
    if not isinstance(value, str):
        _fail(path, f"must be text, not {type(value).__name__}")
    assert isinstance(value, str)
    if required and not value.strip():
        _fail(path, "is empty; fill it in")
    if len(value) > limit:
        _fail(path, f"is {len(value)} characters long; at most {limit} fit a certificate")
    if any((ord(c) < 32 or 0x7F <= ord(c) < 0xA0) and c not in "\n\r\t" for c in value):
        _fail(path, "contains control characters; remove them")


def _country(path: str, value: object) -> None:
    if not isinstance(value, str) or not is_country_code(value):
        _fail(path, f"is {value!r}; expected an ISO 3166-1 alpha-2 code such as IN or AE")


def _decimal(path: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        _fail(path, f"is {value!r}; expected a finite decimal number")
    assert isinstance(value, Decimal)
    if value < 0:
        _fail(path, f"is {value}; it cannot be negative")


def _date(path: str, value: object, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, date):
        _fail(path, f"is {value!r}; expected a date")


def _lines(path: str, value: object) -> None:
    if not isinstance(value, tuple):
        _fail(path, "must be a tuple of text lines")
    assert isinstance(value, tuple)
    for i, line in enumerate(value):
        _text(f"{path}[{i}]", line, required=False)


def _png(path: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, bytes) or not value.startswith(PNG_SIGNATURE):
        _fail(path, "is not a PNG image; upload the image again as PNG")


@dataclass(frozen=True)
class Exporter:
    name: str
    address_lines: tuple[str, ...]
    iec: str
    gstin: str = ""
    country: str = "IN"

    def check(self, path: str) -> None:
        _text(f"{path}.name", self.name)
        _lines(f"{path}.address_lines", self.address_lines)
        if not isinstance(self.iec, str) or not _IEC.fullmatch(self.iec):
            _fail(f"{path}.iec", f"is {self.iec!r}; an IEC is 10 capital letters or digits")
        if self.gstin and not _GSTIN.fullmatch(self.gstin):
            _fail(f"{path}.gstin", f"is {self.gstin!r}; a GSTIN is 15 capital letters or digits")
        _country(f"{path}.country", self.country)


@dataclass(frozen=True)
class Party:
    """A consignee (importer) or a producer: name, address and country."""

    name: str
    address_lines: tuple[str, ...]
    country: str

    def check(self, path: str) -> None:
        _text(f"{path}.name", self.name)
        _lines(f"{path}.address_lines", self.address_lines)
        _country(f"{path}.country", self.country)


@dataclass(frozen=True)
class Transport:
    mode: str  # e.g. "Sea", "Air", "Road", "Rail", "Multimodal"
    vessel_or_flight: str = ""
    port_of_loading: str = ""
    port_of_discharge: str = ""
    departure_date: date | None = None

    def check(self, path: str) -> None:
        _text(f"{path}.mode", self.mode)
        for name in ("vessel_or_flight", "port_of_loading", "port_of_discharge"):
            _text(f"{path}.{name}", getattr(self, name), required=False)
        _date(f"{path}.departure_date", self.departure_date, required=False)


@dataclass(frozen=True)
class GoodsLine:
    item_no: int
    marks_and_numbers: str
    package_count: int
    package_kind: str
    description: str
    hs_code: str
    quantity: Decimal
    unit: str
    gross_weight_kg: Decimal
    fob_value: Decimal
    currency: str
    origin_criterion: str = ""  # e.g. "WO", "RVC 42%", "CTSH", "PE"; empty on NONPREF

    def check(self, path: str) -> None:
        if not isinstance(self.item_no, int) or isinstance(self.item_no, bool) or self.item_no < 1:
            _fail(f"{path}.item_no", f"is {self.item_no!r}; expected a whole number from 1")
        _text(f"{path}.marks_and_numbers", self.marks_and_numbers, required=False)
        if not isinstance(self.package_count, int) or self.package_count < 0:
            _fail(f"{path}.package_count", f"is {self.package_count!r}; expected a count >= 0")
        _text(f"{path}.package_kind", self.package_kind, required=False, limit=200)
        _text(f"{path}.description", self.description)
        if not isinstance(self.hs_code, str) or not _HS_CODE.fullmatch(self.hs_code):
            _fail(f"{path}.hs_code", f"is {self.hs_code!r}; an HS code is 6 to 8 digits")
        _decimal(f"{path}.quantity", self.quantity)
        _text(f"{path}.unit", self.unit, required=False, limit=40)
        _decimal(f"{path}.gross_weight_kg", self.gross_weight_kg)
        _decimal(f"{path}.fob_value", self.fob_value)
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            _fail(f"{path}.currency", f"is {self.currency!r}; expected an ISO 4217 code like USD")
        _text(f"{path}.origin_criterion", self.origin_criterion, required=False, limit=200)


@dataclass(frozen=True)
class ExporterDeclaration:
    place: str
    date: date
    signatory_name: str
    signatory_designation: str = ""

    def check(self, path: str) -> None:
        _text(f"{path}.place", self.place)
        _date(f"{path}.date", self.date)
        _text(f"{path}.signatory_name", self.signatory_name)
        _text(f"{path}.signatory_designation", self.signatory_designation, required=False)


@dataclass(frozen=True)
class InLieuOf:
    """The certificate that an in-lieu certificate replaces, and why."""

    original_certificate_number: str
    original_date: date
    reason: str

    def check(self, path: str) -> None:
        _text(f"{path}.original_certificate_number", self.original_certificate_number, limit=60)
        _date(f"{path}.original_date", self.original_date)
        _text(f"{path}.reason", self.reason)


@dataclass(frozen=True)
class ForeignCertificate:
    """The foreign certificate a back-to-back certificate rests on."""

    country_of_origin: str  # ISO-2: the goods' (foreign) origin
    certificate_number: str
    issuing_country: str  # ISO-2
    issuer: str
    issue_date: date

    def check(self, path: str) -> None:
        _country(f"{path}.country_of_origin", self.country_of_origin)
        _text(f"{path}.certificate_number", self.certificate_number, limit=60)
        _country(f"{path}.issuing_country", self.issuing_country)
        _text(f"{path}.issuer", self.issuer)
        _date(f"{path}.issue_date", self.issue_date)


@dataclass(frozen=True)
class IssuingOffice:
    """The issuing office and the agency it belongs to, as printed on the certificate.

    ``agency_name`` and ``address_lines`` came later than the other fields: empty on data
    made before them (old JSON still loads; the canonical form leaves them out when empty).
    """

    code: str  # the agency office's code, e.g. "FIEOMUM01"
    name: str
    place: str
    agency_name: str = ""  # e.g. "Indo-Gulf Chamber of Commerce"
    address_lines: tuple[str, ...] = ()  # the office's postal address

    def check(self, path: str) -> None:
        _text(f"{path}.code", self.code, limit=40)
        if not self.code.isascii() or " " in self.code:
            _fail(f"{path}.code", f"is {self.code!r}; an office code is ASCII without spaces")
        _text(f"{path}.name", self.name)
        _text(f"{path}.place", self.place)
        _text(f"{path}.agency_name", self.agency_name, required=False, limit=300)
        _lines(f"{path}.address_lines", self.address_lines)


@dataclass(frozen=True)
class CertificateData:
    kind: Kind
    form_code: str
    application_number: str
    certificate_number: str | None  # None on a draft
    issue_date: date | None
    exporter: Exporter
    consignee: Party
    destination_country: str  # importing country, ISO-2
    origin_country: str  # ISO-2, usually "IN"; on back-to-back the foreign origin
    transport: Transport
    goods: tuple[GoodsLine, ...]
    declaration: ExporterDeclaration
    issuing_office: IssuingOffice
    officer_name: str
    remarks: str = ""
    invoice_number: str = ""
    invoice_date: date | None = None
    producer: Party | None = None  # printed where a form has a producer box
    in_lieu: InLieuOf | None = None  # required when kind == "in_lieu"
    back_to_back: ForeignCertificate | None = None  # required when kind == "back_to_back"
    stamp_png: bytes | None = field(default=None, repr=False)  # office stamp, RGBA PNG
    signature_png: bytes | None = field(default=None, repr=False)  # officer's signature
    officer_designation: str = ""  # e.g. "Issuing Officer"; empty on older data

    def __post_init__(self) -> None:
        self.check()

    @property
    def is_draft(self) -> bool:
        return self.certificate_number is None

    @property
    def issued_retrospectively(self) -> bool:
        """Issued after the goods left: the issue date is later than the departure date."""
        departure = self.transport.departure_date
        return self.issue_date is not None and departure is not None and \
            self.issue_date > departure

    @property
    def reference_number(self) -> str:
        """The certificate number, or the application number on a draft."""
        return self.certificate_number or self.application_number

    def check(self) -> None:
        if self.kind not in KINDS:
            _fail("kind", f"is {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.form_code not in FORM_CODES:
            _fail("form_code", f"is {self.form_code!r}; expected one of {', '.join(FORM_CODES)}")
        if self.kind == "non_preferential" and self.form_code != NON_PREFERENTIAL_FORM:
            _fail("form_code", f"is {self.form_code}; a non-preferential certificate uses NONPREF")
        if self.kind == "preferential" and self.form_code == NON_PREFERENTIAL_FORM:
            _fail("form_code", "is NONPREF; a preferential certificate uses its agreement's form")
        _text("application_number", self.application_number, limit=60)
        if self.certificate_number is not None:
            _text("certificate_number", self.certificate_number, limit=60)
            if not self.certificate_number.isascii():
                _fail("certificate_number", "must be ASCII (letters, digits, '/', '-')")
            _date("issue_date", self.issue_date)
        _date("issue_date", self.issue_date, required=False)
        if not isinstance(self.exporter, Exporter):
            _fail("exporter", "must be an Exporter")
        self.exporter.check("exporter")
        if not isinstance(self.consignee, Party):
            _fail("consignee", "must be a Party")
        self.consignee.check("consignee")
        _country("destination_country", self.destination_country)
        _country("origin_country", self.origin_country)
        self.transport.check("transport")
        if not isinstance(self.goods, tuple):
            _fail("goods", "must be a tuple of GoodsLine")
        for i, line in enumerate(self.goods):
            if not isinstance(line, GoodsLine):
                _fail(f"goods[{i}]", "must be a GoodsLine")
            line.check(f"goods[{i}]")
        self.declaration.check("declaration")
        self.issuing_office.check("issuing_office")
        _text("officer_name", self.officer_name)
        _text("officer_designation", self.officer_designation, required=False, limit=200)
        _text("remarks", self.remarks, required=False)
        _text("invoice_number", self.invoice_number, required=False, limit=200)
        _date("invoice_date", self.invoice_date, required=False)
        if self.producer is not None:
            self.producer.check("producer")
        if self.kind == "in_lieu":
            if self.in_lieu is None:
                _fail("in_lieu", "is missing; an in-lieu certificate names the one it replaces")
            assert self.in_lieu is not None
            self.in_lieu.check("in_lieu")
        elif self.in_lieu is not None:
            _fail("in_lieu", f"is given but the kind is {self.kind}")
        if self.kind == "back_to_back":
            if self.back_to_back is None:
                _fail("back_to_back", "is missing; name the foreign certificate it rests on")
            assert self.back_to_back is not None
            self.back_to_back.check("back_to_back")
            if self.origin_country != self.back_to_back.country_of_origin:
                _fail("origin_country", f"is {self.origin_country} but the foreign certificate "
                      f"certifies {self.back_to_back.country_of_origin}; they must agree")
        elif self.back_to_back is not None:
            _fail("back_to_back", f"is given but the kind is {self.kind}")
        _png("stamp_png", self.stamp_png)
        _png("signature_png", self.signature_png)
