"""An issued certificate as an OASIS UBL 2.1 ``CertificateOfOrigin`` document, and back.

:func:`certificate_to_ubl` writes the document; :func:`certificate_from_ubl` checks one
against :mod:`app.documents.ubl_grammar` (elements, their order and occurrences, the data
types and mandatory attributes) and reads it back into :class:`CertificateData`. Anything
wrong is refused with one :class:`UblError` naming the element by its path, e.g.
``/CertificateOfOrigin/cac:CertificateOfOriginApplication/cac:Shipment/cac:GoodsItem[2]/
cbc:GrossWeightMeasure: the unitCode attribute is missing``.

Where each field goes is documented in ``docs/UBL.md``. Stamp and signature images are not
part of the interchange. A document is read only when it is at most ``MAX_BYTES`` and
declares no DTD (no entities: nothing is fetched or expanded).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from app.documents.certificate_data import (
    NON_PREFERENTIAL_FORM,
    CertificateData,
    CertificateDataError,
    Exporter,
    ExporterDeclaration,
    ForeignCertificate,
    GoodsLine,
    InLieuOf,
    IssuingOffice,
    Party,
    Transport,
)
from app.documents.ubl_grammar import (
    AGGREGATES,
    ALLOWED_ATTRIBUTES,
    CAC,
    CBC,
    DOC,
    REQUIRED_ATTRIBUTES,
    UNBOUNDED,
)
from app.errors import UserFacingError

MAX_BYTES = 10 * 1024 * 1024
UBL_VERSION = "2.1"
CUSTOMIZATION = "urn:origin-desk:certificate-of-origin:1"
ISSUING_COUNTRY = "IN"
INVOICE_CODE = "380"  # UN/EDIFACT 1001: commercial invoice
CERTIFICATE_CODE = "861"  # UN/EDIFACT 1001: certificate of origin
IN_LIEU_ORIGINAL = "in-lieu-original"  # cbc:DocumentType of the certificate replaced
FOREIGN_CERTIFICATE = "back-to-back-foreign"  # cbc:DocumentType of the foreign certificate
EXPORTER_ROLE, ISSUER_ROLE = "exporter", "issuer"
DECLARATION_ID = "exporter-declaration"
OFFICE_SCHEME, IEC_SCHEME, GSTIN_SCHEME, HS_LIST = "office", "IEC", "GSTIN", "HS"
WEIGHT_UNIT = "KGM"  # UN/ECE Recommendation 20: kilogram

ET.register_namespace("", DOC)
ET.register_namespace("cac", CAC)
ET.register_namespace("cbc", CBC)


class UblError(UserFacingError):
    """A UBL document that cannot be read: the message names the element."""


# --- writing -----------------------------------------------------------------------------------


def certificate_to_ubl(data: CertificateData, *, status: str = "valid") -> bytes:
    """The UBL 2.1 CertificateOfOrigin document of an issued certificate (UTF-8 XML).

    ``status`` is the certificate's status in the store ("valid", "superseded by …",
    "cancelled (…)"): the issuer's endorsement carries it as its cbc:ApprovalStatus."""
    if data.certificate_number is None or data.issue_date is None:
        raise UblError(f"{data.application_number} is a draft: only an issued certificate "
                       "is written as a UBL CertificateOfOrigin.")
    root = ET.Element(f"{{{DOC}}}CertificateOfOrigin")
    _cbc(root, "UBLVersionID", UBL_VERSION)
    _cbc(root, "CustomizationID", CUSTOMIZATION)
    _cbc(root, "ID", data.certificate_number)
    _cbc(root, "IssueDate", data.issue_date.isoformat())
    if data.remarks:
        _cbc(root, "Note", data.remarks)
    _exporter(_cac(root, "ExporterParty"), data.exporter)
    _party(_cac(root, "ImporterParty"), data.consignee)
    _application(_cac(root, "CertificateOfOriginApplication"), data)
    endorsement = _cac(root, "IssuerEndorsement")
    _cbc(endorsement, "DocumentID", data.certificate_number)
    _cbc(endorsement, "ApprovalStatus", "Issued" if status == "valid" else
         f"Issued; {status}")
    _endorser(_cac(endorsement, "EndorserParty"), ISSUER_ROLE, 2,
              lambda party: _office(party, data.issuing_office),
              data.officer_name, data.officer_designation)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _application(parent: ET.Element, data: CertificateData) -> None:
    _cbc(parent, "ReferenceID", data.application_number)
    _cbc(parent, "CertificateType", data.form_code)
    _cbc(parent, "OriginalJobID", data.application_number)
    if data.in_lieu is not None:
        _cbc(parent, "PreviousJobID", data.in_lieu.original_certificate_number)
        _cbc(parent, "Remarks", data.in_lieu.reason)
    _shipment(_cac(parent, "Shipment"), data)
    declaration = data.declaration
    _endorser(_cac(parent, "EndorserParty"), EXPORTER_ROLE, 1,
              lambda party: _exporter(party, data.exporter),
              declaration.signatory_name, declaration.signatory_designation)
    _exporter(_cac(parent, "PreparationParty"), data.exporter)
    _office(_cac(parent, "IssuerParty"), data.issuing_office)
    _country(_cac(parent, "IssuingCountry"), ISSUING_COUNTRY)
    if data.invoice_number:
        ref = _cac(parent, "SupportingDocumentReference")
        _cbc(ref, "ID", data.invoice_number)
        if data.invoice_date is not None:
            _cbc(ref, "IssueDate", data.invoice_date.isoformat())
        _cbc(ref, "DocumentTypeCode", INVOICE_CODE)
    if data.in_lieu is not None:
        ref = _cac(parent, "SupportingDocumentReference")
        _cbc(ref, "ID", data.in_lieu.original_certificate_number)
        _cbc(ref, "IssueDate", data.in_lieu.original_date.isoformat())
        _cbc(ref, "DocumentTypeCode", CERTIFICATE_CODE)
        _cbc(ref, "DocumentType", IN_LIEU_ORIGINAL)
    if data.back_to_back is not None:
        foreign = data.back_to_back
        ref = _cac(parent, "SupportingDocumentReference")
        _cbc(ref, "ID", foreign.certificate_number)
        _cbc(ref, "IssueDate", foreign.issue_date.isoformat())
        _cbc(ref, "DocumentTypeCode", CERTIFICATE_CODE)
        _cbc(ref, "DocumentType", FOREIGN_CERTIFICATE)
        _cbc(ref, "DocumentDescription", foreign.country_of_origin)
        issuer = _cac(ref, "IssuerParty")
        _cbc(_cac(issuer, "PartyName"), "Name", foreign.issuer)
        _country(_cac(_cac(issuer, "PostalAddress"), "Country"), foreign.issuing_country)
    signature = _cac(parent, "Signature")
    _cbc(signature, "ID", DECLARATION_ID)
    _cbc(signature, "Note", declaration.place)
    _cbc(signature, "ValidationDate", declaration.date.isoformat())


def _shipment(parent: ET.Element, data: CertificateData) -> None:
    _cbc(parent, "ID", data.application_number)
    _cbc(parent, "TotalGoodsItemQuantity", str(len(data.goods)))
    for line in data.goods:
        item = _cac(parent, "GoodsItem")
        _cbc(item, "ID", str(line.item_no))
        _cbc(item, "Description", line.description)
        _cbc(item, "FreeOnBoardValueAmount", _decimal(line.fob_value), currencyID=line.currency)
        _cbc(item, "GrossWeightMeasure", _decimal(line.gross_weight_kg), unitCode=WEIGHT_UNIT)
        _cbc(item, "Quantity", _decimal(line.quantity), unitCode=line.unit)
        if line.origin_criterion:
            _cbc(item, "PreferenceCriterionCode", line.origin_criterion)
        goods = _cac(item, "Item")
        _country(_cac(goods, "OriginCountry"), data.origin_country)
        _cbc(_cac(goods, "CommodityClassification"), "ItemClassificationCode", line.hs_code,
             listID=HS_LIST)
        if data.producer is not None:
            _party(_cac(goods, "ManufacturerParty"), data.producer)
        package = _cac(item, "ContainingPackage")
        _cbc(package, "ID", line.marks_and_numbers)
        _cbc(package, "Quantity", str(line.package_count))
        _cbc(package, "PackagingTypeCode", line.package_kind)
    transport = data.transport
    stage = _cac(parent, "ShipmentStage")
    _cbc(stage, "TransportModeCode", transport.mode)
    if transport.vessel_or_flight:
        _cbc(_cac(stage, "TransportMeans"), "JourneyID", transport.vessel_or_flight)
    if transport.port_of_loading:
        _cbc(_cac(stage, "LoadingPortLocation"), "Description", transport.port_of_loading)
    if transport.port_of_discharge:
        _cbc(_cac(stage, "UnloadingPortLocation"), "Description", transport.port_of_discharge)
    if transport.departure_date is not None:
        _cbc(_cac(stage, "PlannedDepartureTransportEvent"), "OccurrenceDate",
             transport.departure_date.isoformat())
    _country(_cac(_cac(_cac(parent, "Delivery"), "DeliveryAddress"), "Country"),
             data.destination_country)
    _country(_cac(_cac(parent, "OriginAddress"), "Country"), data.origin_country)
    _country(_cac(parent, "ExportCountry"), data.exporter.country)


def _exporter(parent: ET.Element, exporter: Exporter) -> None:
    _cbc(_cac(parent, "PartyIdentification"), "ID", exporter.iec, schemeID=IEC_SCHEME)
    if exporter.gstin:
        _cbc(_cac(parent, "PartyIdentification"), "ID", exporter.gstin, schemeID=GSTIN_SCHEME)
    _cbc(_cac(parent, "PartyName"), "Name", exporter.name)
    _address(_cac(parent, "PostalAddress"), exporter.address_lines, exporter.country)


def _party(parent: ET.Element, party: Party) -> None:
    _cbc(_cac(parent, "PartyName"), "Name", party.name)
    _address(_cac(parent, "PostalAddress"), party.address_lines, party.country)


def _office(parent: ET.Element, office: IssuingOffice) -> None:
    _cbc(_cac(parent, "PartyIdentification"), "ID", office.code, schemeID=OFFICE_SCHEME)
    _cbc(_cac(parent, "PartyName"), "Name", office.name)
    _address(_cac(parent, "PostalAddress"), office.address_lines, ISSUING_COUNTRY,
             city=office.place)
    if office.agency_name:
        _cbc(_cac(parent, "PartyLegalEntity"), "RegistrationName", office.agency_name)


def _address(parent: ET.Element, lines: tuple[str, ...], country: str, city: str = "") -> None:
    if city:
        _cbc(parent, "CityName", city)
    for line in lines:
        _cbc(_cac(parent, "AddressLine"), "Line", line)
    _country(_cac(parent, "Country"), country)


def _endorser(parent: ET.Element, role: str, sequence: int, fill_party, name: str,  # type: ignore[no-untyped-def]
              note: str) -> None:
    _cbc(parent, "RoleCode", role)
    _cbc(parent, "SequenceNumeric", str(sequence))
    fill_party(_cac(parent, "Party"))
    contact = _cac(parent, "SignatoryContact")
    _cbc(contact, "Name", name)
    if note:
        _cbc(contact, "Note", note)


def _country(parent: ET.Element, code: str) -> None:
    _cbc(parent, "IdentificationCode", code)


def _cac(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent: ET.Element, name: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = text
    return element


def _decimal(value: Decimal) -> str:
    return format(value, "f")  # xsd:decimal has no exponent


# --- reading -----------------------------------------------------------------------------------

_NS_PREFIX = {CAC: "cac", CBC: "cbc", DOC: ""}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def certificate_from_ubl(document: bytes) -> CertificateData:
    """Check ``document`` and read the certificate it carries; UblError names what is wrong."""
    root = parse_ubl(document)
    return _Reader(root).certificate()


def parse_ubl(document: bytes) -> ET.Element:
    """The document's root element, checked against the grammar (UblError otherwise)."""
    if len(document) > MAX_BYTES:
        raise UblError(f"The document is {len(document):,} bytes; a CertificateOfOrigin is "
                       f"at most {MAX_BYTES:,}.")
    head = document[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"<!DOCTYPE" in document[:65536].upper() or b"<!ENTITY" in document[:65536].upper():
        raise UblError("The document declares a DTD or entities; a UBL document has none.")
    if not head.startswith(b"<"):
        raise UblError("The file is not XML (it does not start with '<').")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise UblError(f"The file is not well-formed XML: {exc}.") from None
    if root.tag != f"{{{DOC}}}CertificateOfOrigin":
        raise UblError(f"/{_name(root)}: the root element is not a UBL 2.1 CertificateOfOrigin "
                       f"(expected {{{DOC}}}CertificateOfOrigin).")
    _check(root, "CertificateOfOriginType", "/CertificateOfOrigin")
    return root


def _name(element: ET.Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return "(processing instruction or comment)"
    if tag.startswith("{"):
        namespace, local = tag[1:].split("}", 1)
        prefix = _NS_PREFIX.get(namespace)
        if prefix is None:
            return f"{{{namespace}}}{local}"
        return f"{prefix}:{local}" if prefix else local
    return tag


def _check(element: ET.Element, kind: str, path: str) -> None:
    """``element``'s children against ``kind``'s sequence, recursively."""
    if element.attrib:
        raise UblError(f"{path}: attribute {next(iter(element.attrib))} is not one of "
                       "this element's.")
    if (element.text or "").strip():
        raise UblError(f"{path}: an aggregate element holds elements, not text.")
    slots = AGGREGATES[kind]
    children = [child for child in element if isinstance(child.tag, str)]
    index = 0
    seen: dict[str, int] = {}
    for child in children:
        name = _name(child)
        counts = seen.setdefault(name, 0) + 1
        seen[name] = counts
        child_path = f"{path}/{name}[{counts}]" if counts > 1 else f"{path}/{name}"
        position = index
        while position < len(slots) and slots[position].qname != child.tag:
            position += 1
        if position == len(slots):
            if any(slot.qname == child.tag for slot in slots):
                raise UblError(f"{child_path}: out of order: UBL 2.1 puts it before "
                               f"{_before(slots, child.tag, children)}.")
            raise UblError(f"{child_path}: not an element of {kind[:-4]} that Origin Desk "
                           "reads (UBL 2.1 has no such element there, or it carries data "
                           "this product would drop).")
        for missing in slots[index:position]:
            if missing.low and seen.get(missing.name, 0) < missing.low:
                if any(other.tag == missing.qname for other in children):
                    raise UblError(f"{path}/{missing.name}: out of order: UBL 2.1 puts it "
                                   f"before {name}.")
                raise UblError(f"{path}/{missing.name}: missing (required before {name}).")
        slot = slots[position]
        if slot.high != UNBOUNDED and counts > slot.high:
            raise UblError(f"{child_path}: appears {counts} times; UBL 2.1 allows "
                           f"{slot.high}.")
        index = position
        if (child.tail or "").strip():
            raise UblError(f"{path}: text between elements (after {name}).")
        if slot.name.startswith("cac:"):
            _check(child, slot.kind, child_path)
        else:
            _check_basic(child, slot.kind, child_path)
    for slot in slots[index:]:
        if slot.low and seen.get(slot.name, 0) < slot.low:
            raise UblError(f"{path}/{slot.name}: missing.")


def _before(slots: tuple, tag: str, children: list[ET.Element]) -> str:  # type: ignore[type-arg]
    names = [slot.name for slot in slots]
    at = next(i for i, slot in enumerate(slots) if slot.qname == tag)
    later = [_name(c) for c in children if _name(c) in names[at + 1:]]
    return later[0] if later else "the elements that follow it"


def _check_basic(element: ET.Element, kind: str, path: str) -> None:
    if len([c for c in element if isinstance(c.tag, str)]):
        raise UblError(f"{path}: a basic element holds text, not elements.")
    for attribute in REQUIRED_ATTRIBUTES.get(kind, ()):
        if not (element.get(attribute) or "").strip():
            raise UblError(f"{path}: the {attribute} attribute is missing.")
    for attribute in element.attrib:
        if attribute not in ALLOWED_ATTRIBUTES[kind]:
            raise UblError(f"{path}: attribute {attribute} is not one Origin Desk reads here.")
    text = (element.text or "").strip()
    if not text:
        raise UblError(f"{path}: empty.")
    if kind == "date":
        _date_of(text, path)
    elif kind in ("numeric", "amount", "measure", "quantity"):
        _decimal_of(text, path)


def _date_of(text: str, path: str) -> dt.date:
    if not _DATE.fullmatch(text):
        raise UblError(f"{path}: {text[:40]!r} is not a date (YYYY-MM-DD).")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UblError(f"{path}: {text!r} is not a day of the calendar.") from None


def _decimal_of(text: str, path: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise UblError(f"{path}: {text[:40]!r} is not a decimal number.")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise UblError(f"{path}: {text[:40]!r} is not a decimal number.") from None


class _Reader:
    """Maps a checked document back to CertificateData (docs/UBL.md's table, read back)."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root

    def certificate(self) -> CertificateData:
        root, at = self.root, "/CertificateOfOrigin"
        version = _text(root, "cbc:UBLVersionID", at, required=False)
        if version and version != UBL_VERSION:
            raise UblError(f"{at}/cbc:UBLVersionID: {version!r}; this reads UBL {UBL_VERSION}.")
        number = _text(root, "cbc:ID", at)
        issue_date = _date_of(_text(root, "cbc:IssueDate", at), f"{at}/cbc:IssueDate")
        application = _one(root, "cac:CertificateOfOriginApplication", at)
        app_at = f"{at}/cac:CertificateOfOriginApplication"
        shipment = _one(application, "cac:Shipment", app_at)
        ship_at = f"{app_at}/cac:Shipment"
        form_code = _text(application, "cbc:CertificateType", app_at)
        goods = tuple(self._goods(item, f"{ship_at}/cac:GoodsItem[{i}]")
                      for i, item in enumerate(_all(shipment, "cac:GoodsItem"), 1))
        references = list(_all(application, "cac:SupportingDocumentReference"))
        in_lieu = self._in_lieu(application, references, app_at)
        foreign = self._foreign(references, app_at)
        kind = ("in_lieu" if in_lieu else "back_to_back" if foreign else
                "non_preferential" if form_code == NON_PREFERENTIAL_FORM else "preferential")
        invoice = next((r for r in references
                        if _text(r, "cbc:DocumentTypeCode", "", required=False) == INVOICE_CODE),
                       None)
        endorser = self._exporter_endorser(application, app_at)
        signature = next((s for s in _all(application, "cac:Signature")
                          if _text(s, "cbc:ID", "") == DECLARATION_ID), None)
        if signature is None:
            raise UblError(f"{app_at}/cac:Signature: the exporter's declaration (cbc:ID "
                           f"{DECLARATION_ID!r}) is missing.")
        sig_at = f"{app_at}/cac:Signature"
        issuer_endorser = _one(_one(root, "cac:IssuerEndorsement", at), "cac:EndorserParty",
                               f"{at}/cac:IssuerEndorsement")
        officer = _one(issuer_endorser, "cac:SignatoryContact", "")
        producers = {self._party_key(p) for item in _all(shipment, "cac:GoodsItem")
                     for goods_item in _all(item, "cac:Item")
                     for p in _all(goods_item, "cac:ManufacturerParty")}
        if len(producers) > 1:
            raise UblError(f"{ship_at}/cac:GoodsItem/cac:Item/cac:ManufacturerParty: the goods "
                           "name different producers; a certificate has one.")
        producer = None
        if producers:
            first = next(p for item in _all(shipment, "cac:GoodsItem")
                         for goods_item in _all(item, "cac:Item")
                         for p in _all(goods_item, "cac:ManufacturerParty"))
            producer = self._party(first, f"{ship_at}/cac:GoodsItem/cac:Item/"
                                          "cac:ManufacturerParty")
        origin = _one(_one(shipment, "cac:OriginAddress", ship_at), "cac:Country",
                      f"{ship_at}/cac:OriginAddress")
        delivery_at = f"{ship_at}/cac:Delivery/cac:DeliveryAddress/cac:Country"
        destination = _one(_one(_one(shipment, "cac:Delivery", ship_at), "cac:DeliveryAddress",
                                f"{ship_at}/cac:Delivery"), "cac:Country",
                           f"{ship_at}/cac:Delivery/cac:DeliveryAddress")
        try:
            return CertificateData(
                kind=kind,  # type: ignore[arg-type]
                form_code=form_code,
                application_number=_text(application, "cbc:ReferenceID", app_at),
                certificate_number=number,
                issue_date=issue_date,
                exporter=self._exporter(_one(root, "cac:ExporterParty", at),
                                        f"{at}/cac:ExporterParty"),
                consignee=self._party(_one(root, "cac:ImporterParty", at),
                                      f"{at}/cac:ImporterParty"),
                destination_country=_text(destination, "cbc:IdentificationCode", delivery_at),
                origin_country=_text(origin, "cbc:IdentificationCode",
                                     f"{ship_at}/cac:OriginAddress/cac:Country"),
                transport=self._transport(shipment, ship_at),
                goods=goods,
                declaration=ExporterDeclaration(
                    place=_text(signature, "cbc:Note", sig_at),
                    date=_date_of(_text(signature, "cbc:ValidationDate", sig_at),
                                  f"{sig_at}/cbc:ValidationDate"),
                    signatory_name=_text(endorser[1], "cbc:Name", endorser[2]),
                    signatory_designation=_text(endorser[1], "cbc:Note", endorser[2],
                                                required=False),
                ),
                issuing_office=self._office(_one(application, "cac:IssuerParty", app_at),
                                            f"{app_at}/cac:IssuerParty"),
                officer_name=_text(officer, "cbc:Name",
                                   f"{at}/cac:IssuerEndorsement/cac:EndorserParty/"
                                   "cac:SignatoryContact"),
                officer_designation=_text(officer, "cbc:Note", "", required=False),
                remarks=_text(root, "cbc:Note", at, required=False),
                invoice_number=_text(invoice, "cbc:ID", "") if invoice is not None else "",
                invoice_date=(_date_of(_text(invoice, "cbc:IssueDate", ""), "")
                              if invoice is not None and _has(invoice, "cbc:IssueDate")
                              else None),
                producer=producer,
                in_lieu=in_lieu,
                back_to_back=foreign,
            )
        except CertificateDataError as exc:
            raise UblError(f"{_element_of(str(exc))}: {exc}") from None

    def _goods(self, item: ET.Element, at: str) -> GoodsLine:
        goods = _one(item, "cac:Item", at)
        package = _one(item, "cac:ContainingPackage", at)
        fob = _one(item, "cbc:FreeOnBoardValueAmount", at)
        weight = _one(item, "cbc:GrossWeightMeasure", at)
        if weight.get("unitCode") != WEIGHT_UNIT:
            raise UblError(f"{at}/cbc:GrossWeightMeasure: unitCode is "
                           f"{weight.get('unitCode')!r}; the gross weight is in {WEIGHT_UNIT}.")
        quantity = _one(item, "cbc:Quantity", at)
        if not quantity.get("unitCode"):
            raise UblError(f"{at}/cbc:Quantity: the unitCode attribute is missing.")
        classification = _one(goods, "cac:CommodityClassification", f"{at}/cac:Item")
        item_no = _text(item, "cbc:ID", at)
        if not item_no.isdigit():
            raise UblError(f"{at}/cbc:ID: {item_no!r} is not an item number.")
        count = _text(package, "cbc:Quantity", f"{at}/cac:ContainingPackage")
        if not count.isdigit():
            raise UblError(f"{at}/cac:ContainingPackage/cbc:Quantity: {count!r} is not a "
                           "number of packages.")
        try:
            return GoodsLine(
                item_no=int(item_no),
                marks_and_numbers=_text(package, "cbc:ID", f"{at}/cac:ContainingPackage"),
                package_count=int(count),
                package_kind=_text(package, "cbc:PackagingTypeCode",
                                   f"{at}/cac:ContainingPackage"),
                description=_text(item, "cbc:Description", at),
                hs_code=_text(classification, "cbc:ItemClassificationCode",
                              f"{at}/cac:Item/cac:CommodityClassification"),
                quantity=_decimal_of(quantity.text or "", f"{at}/cbc:Quantity"),
                unit=quantity.get("unitCode", ""),
                gross_weight_kg=_decimal_of(weight.text or "", f"{at}/cbc:GrossWeightMeasure"),
                fob_value=_decimal_of(fob.text or "", f"{at}/cbc:FreeOnBoardValueAmount"),
                currency=fob.get("currencyID", ""),
                origin_criterion=_text(item, "cbc:PreferenceCriterionCode", at,
                                       required=False),
            )
        except CertificateDataError as exc:
            raise UblError(f"{at}: {exc}") from None

    def _transport(self, shipment: ET.Element, at: str) -> Transport:
        stage = _one(shipment, "cac:ShipmentStage", at)
        stage_at = f"{at}/cac:ShipmentStage"

        def nested(name: str, leaf: str) -> str:
            parent = _first(stage, name)
            return _text(parent, leaf, f"{stage_at}/{name}") if parent is not None else ""

        event = _first(stage, "cac:PlannedDepartureTransportEvent")
        departure = None
        if event is not None:
            departure = _date_of(_text(event, "cbc:OccurrenceDate", ""),
                                 f"{stage_at}/cac:PlannedDepartureTransportEvent/"
                                 "cbc:OccurrenceDate")
        return Transport(
            mode=_text(stage, "cbc:TransportModeCode", stage_at),
            vessel_or_flight=nested("cac:TransportMeans", "cbc:JourneyID"),
            port_of_loading=nested("cac:LoadingPortLocation", "cbc:Description"),
            port_of_discharge=nested("cac:UnloadingPortLocation", "cbc:Description"),
            departure_date=departure,
        )

    def _exporter_endorser(self, application: ET.Element,
                           at: str) -> tuple[ET.Element, ET.Element, str]:
        for endorser in _all(application, "cac:EndorserParty"):
            if _text(endorser, "cbc:RoleCode", "") == EXPORTER_ROLE:
                path = f"{at}/cac:EndorserParty/cac:SignatoryContact"
                return endorser, _one(endorser, "cac:SignatoryContact", path), path
        raise UblError(f"{at}/cac:EndorserParty: the exporter's (cbc:RoleCode "
                       f"{EXPORTER_ROLE!r}) is missing.")

    def _in_lieu(self, application: ET.Element, references: list[ET.Element],
                 at: str) -> InLieuOf | None:
        previous = _text(application, "cbc:PreviousJobID", at, required=False)
        ref = next((r for r in references if _text(r, "cbc:DocumentType", "", required=False)
                    == IN_LIEU_ORIGINAL), None)
        if not previous and ref is None:
            return None
        if ref is None:
            raise UblError(f"{at}/cac:SupportingDocumentReference: the certificate replaced "
                           f"({previous}) is missing (cbc:DocumentType {IN_LIEU_ORIGINAL!r}).")
        number = _text(ref, "cbc:ID", "")
        if previous != number:
            raise UblError(f"{at}/cbc:PreviousJobID: {previous!r} is not the certificate the "
                           f"supporting document names ({number!r}).")
        return InLieuOf(
            original_certificate_number=number,
            original_date=_date_of(_text(ref, "cbc:IssueDate",
                                         f"{at}/cac:SupportingDocumentReference"), at),
            reason=_text(application, "cbc:Remarks", at),
        )

    def _foreign(self, references: list[ET.Element], at: str) -> ForeignCertificate | None:
        ref = next((r for r in references if _text(r, "cbc:DocumentType", "", required=False)
                    == FOREIGN_CERTIFICATE), None)
        if ref is None:
            return None
        ref_at = f"{at}/cac:SupportingDocumentReference"
        issuer = _one(ref, "cac:IssuerParty", ref_at)
        issuer_at = f"{ref_at}/cac:IssuerParty"
        country = _one(_one(issuer, "cac:PostalAddress", issuer_at), "cac:Country",
                       f"{issuer_at}/cac:PostalAddress")
        return ForeignCertificate(
            country_of_origin=_text(ref, "cbc:DocumentDescription", ref_at),
            certificate_number=_text(ref, "cbc:ID", ref_at),
            issuing_country=_text(country, "cbc:IdentificationCode",
                                  f"{issuer_at}/cac:PostalAddress/cac:Country"),
            issuer=_text(_one(issuer, "cac:PartyName", issuer_at), "cbc:Name", issuer_at),
            issue_date=_date_of(_text(ref, "cbc:IssueDate", ref_at), f"{ref_at}/cbc:IssueDate"),
        )

    def _exporter(self, party: ET.Element, at: str) -> Exporter:
        ids = {ident.get("schemeID"): _text(ident, "", at) for ident in
               (_one(p, "cbc:ID", at) for p in _all(party, "cac:PartyIdentification"))}
        if IEC_SCHEME not in ids:
            raise UblError(f"{at}/cac:PartyIdentification: the exporter's IEC (cbc:ID "
                           f"schemeID={IEC_SCHEME!r}) is missing.")
        lines, country = self._address(party, at)
        return Exporter(name=_text(_one(party, "cac:PartyName", at), "cbc:Name", at),
                        address_lines=lines, iec=ids[IEC_SCHEME],
                        gstin=ids.get(GSTIN_SCHEME, ""), country=country)

    def _party(self, party: ET.Element, at: str) -> Party:
        lines, country = self._address(party, at)
        return Party(name=_text(_one(party, "cac:PartyName", at), "cbc:Name", at),
                     address_lines=lines, country=country)

    def _office(self, party: ET.Element, at: str) -> IssuingOffice:
        ident = _one(_one(party, "cac:PartyIdentification", at), "cbc:ID", at)
        if ident.get("schemeID") != OFFICE_SCHEME:
            raise UblError(f"{at}/cac:PartyIdentification/cbc:ID: the issuing office's code "
                           f"carries schemeID={OFFICE_SCHEME!r}.")
        address = _one(party, "cac:PostalAddress", at)
        lines, _ = self._address(party, at)
        legal = _first(party, "cac:PartyLegalEntity")
        return IssuingOffice(
            code=_text(ident, "", at), name=_text(_one(party, "cac:PartyName", at), "cbc:Name", at),
            place=_text(address, "cbc:CityName", f"{at}/cac:PostalAddress"),
            agency_name=_text(legal, "cbc:RegistrationName", at, required=False)
            if legal is not None else "",
            address_lines=lines,
        )

    def _address(self, party: ET.Element, at: str) -> tuple[tuple[str, ...], str]:
        address = _one(party, "cac:PostalAddress", at)
        address_at = f"{at}/cac:PostalAddress"
        lines = tuple(_text(line, "cbc:Line", address_at)
                      for line in _all(address, "cac:AddressLine"))
        country = _one(address, "cac:Country", address_at)
        return lines, _text(country, "cbc:IdentificationCode", f"{address_at}/cac:Country")

    def _party_key(self, party: ET.Element) -> bytes:
        return ET.tostring(party)


_APP = "/CertificateOfOrigin/cac:CertificateOfOriginApplication"
_SHIP = f"{_APP}/cac:Shipment"
# CertificateData's field (as CertificateDataError names it) -> the element that carries it
_FIELD_ELEMENTS = {
    "form_code": f"{_APP}/cbc:CertificateType",
    "application_number": f"{_APP}/cbc:ReferenceID",
    "certificate_number": "/CertificateOfOrigin/cbc:ID",
    "issue_date": "/CertificateOfOrigin/cbc:IssueDate",
    "exporter": "/CertificateOfOrigin/cac:ExporterParty",
    "consignee": "/CertificateOfOrigin/cac:ImporterParty",
    "destination_country": f"{_SHIP}/cac:Delivery/cac:DeliveryAddress/cac:Country",
    "origin_country": f"{_SHIP}/cac:OriginAddress/cac:Country",
    "transport": f"{_SHIP}/cac:ShipmentStage",
    "declaration": f"{_APP}/cac:Signature",
    "issuing_office": f"{_APP}/cac:IssuerParty",
    "officer_name": "/CertificateOfOrigin/cac:IssuerEndorsement/cac:EndorserParty",
    "remarks": "/CertificateOfOrigin/cbc:Note",
    "invoice_number": f"{_APP}/cac:SupportingDocumentReference",
    "in_lieu": f"{_APP}/cac:SupportingDocumentReference",
    "back_to_back": f"{_APP}/cac:SupportingDocumentReference",
    "producer": f"{_SHIP}/cac:GoodsItem/cac:Item/cac:ManufacturerParty",
}
_GOODS_ELEMENTS = {
    "item_no": "cbc:ID", "marks_and_numbers": "cac:ContainingPackage/cbc:ID",
    "package_count": "cac:ContainingPackage/cbc:Quantity",
    "package_kind": "cac:ContainingPackage/cbc:PackagingTypeCode",
    "description": "cbc:Description",
    "hs_code": "cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode",
    "quantity": "cbc:Quantity", "unit": "cbc:Quantity/@unitCode",
    "gross_weight_kg": "cbc:GrossWeightMeasure", "fob_value": "cbc:FreeOnBoardValueAmount",
    "currency": "cbc:FreeOnBoardValueAmount/@currencyID",
    "origin_criterion": "cbc:PreferenceCriterionCode",
}
_FIELD = re.compile(r"certificate data: (goods\[([0-9]+)\]\.)?([a-z_]+)")


def _element_of(message: str) -> str:
    """The element path of the field a CertificateDataError names."""
    match = _FIELD.search(message)
    if match is None:
        return "/CertificateOfOrigin"
    if match.group(1):
        return (f"{_SHIP}/cac:GoodsItem[{int(match.group(2)) + 1}]/"
                f"{_GOODS_ELEMENTS.get(match.group(3), '')}").rstrip("/")
    return _FIELD_ELEMENTS.get(match.group(3), "/CertificateOfOrigin")


def _qname(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{CAC if prefix == 'cac' else CBC}}}{local}"


def _all(parent: ET.Element, name: str) -> Iterator[ET.Element]:
    return iter(parent.findall(_qname(name)))


def _first(parent: ET.Element, name: str) -> ET.Element | None:
    return parent.find(_qname(name))


def _has(parent: ET.Element, name: str) -> bool:
    return _first(parent, name) is not None


def _one(parent: ET.Element, name: str, at: str) -> ET.Element:
    found = _first(parent, name)
    if found is None:
        raise UblError(f"{at}/{name}: missing.")
    return found


def _text(parent: ET.Element | None, name: str, at: str, *, required: bool = True) -> str:
    """The text of ``parent``'s child ``name`` (or of ``parent`` itself when name is '')."""
    element = parent if not name or parent is None else _first(parent, name)
    if element is None:
        if required:
            raise UblError(f"{at}/{name}: missing.")
        return ""
    return (element.text or "").strip()
