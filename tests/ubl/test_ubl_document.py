"""A certificate written as a UBL 2.1 CertificateOfOrigin and read back: every field equal;
the document's elements in UBL 2.1's order; a malformed document refused naming the element."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from app.documents.certificate_data import CertificateData, Party
from app.documents.samples import sample_certificate
from app.documents.ubl import (
    MAX_BYTES,
    UblError,
    certificate_from_ubl,
    certificate_to_ubl,
    parse_ubl,
)
from app.documents.ubl_grammar import AGGREGATES, CAC, CBC, DOC

PRODUCER = Party(name="Shree Ganesh Spinning Mills", address_lines=("Survey 41, Tiruppur",
                                                                  "Tamil Nadu 641604"),
                 country="IN")


def _plain(data: CertificateData) -> CertificateData:
    return replace(data, stamp_png=None, signature_png=None)


CASES = {
    "non-preferential": lambda: _plain(sample_certificate("NONPREF")),
    "preferential": lambda: _plain(sample_certificate("AIFTA")),
    "preferential, with producer": lambda: replace(_plain(sample_certificate("IJCEPA")),
                                                   producer=PRODUCER),
    "in lieu": lambda: _plain(sample_certificate("AIFTA", kind="in_lieu")),
    "back to back": lambda: _plain(sample_certificate("SAFTA", kind="back_to_back")),
    "one goods line, no remarks, no invoice": lambda: replace(
        _plain(sample_certificate("APTA", goods=1)), remarks="", invoice_number="",
        invoice_date=None),
    "forty goods lines": lambda: _plain(sample_certificate("AIFTA", goods=40)),
}


@pytest.mark.parametrize("case", CASES)
def test_a_certificate_comes_back_from_its_ubl_document_with_every_field_equal(case: str) -> None:
    data = CASES[case]()
    document = certificate_to_ubl(data)
    back = certificate_from_ubl(document)
    assert back == data
    assert back.kind == data.kind


def _sequence_of(element: ET.Element, kind: str) -> None:
    """The element's children follow the sequence of UBL 2.1's type (independent walk)."""
    order = {slot.qname: i for i, slot in enumerate(AGGREGATES[kind])}
    kinds = {slot.qname: slot.kind for slot in AGGREGATES[kind]}
    positions = [order[child.tag] for child in element]
    assert positions == sorted(positions), (kind, [child.tag for child in element])
    for child in element:
        if child.tag.startswith(f"{{{CAC}}}"):
            _sequence_of(child, kinds[child.tag])


@pytest.mark.parametrize("case", CASES)
def test_the_document_is_ubl_2_1_in_its_namespaces_and_order(case: str) -> None:
    root = ET.fromstring(certificate_to_ubl(CASES[case]()))
    assert root.tag == f"{{{DOC}}}CertificateOfOrigin"
    assert root.find(f"{{{CBC}}}UBLVersionID").text == "2.1"  # type: ignore[union-attr]
    _sequence_of(root, "CertificateOfOriginType")
    # the issuer and the exporter endorse; the application names the issuing country
    app = root.find(f"{{{CAC}}}CertificateOfOriginApplication")
    assert app is not None
    assert app.find(f"{{{CAC}}}IssuingCountry/{{{CBC}}}IdentificationCode").text == "IN"  # type: ignore[union-attr]
    for amount in root.iter(f"{{{CBC}}}FreeOnBoardValueAmount"):
        assert re.fullmatch(r"[A-Z]{3}", amount.get("currencyID", ""))
        assert "E" not in (amount.text or "")  # xsd:decimal, never an exponent


def test_a_draft_is_not_written() -> None:
    with pytest.raises(UblError, match="is a draft"):
        certificate_to_ubl(_plain(sample_certificate("AIFTA", issued=False)))


def test_a_cancelled_certificate_says_so_in_the_issuers_endorsement() -> None:
    document = certificate_to_ubl(_plain(sample_certificate()), status="cancelled (wrong buyer)")
    status = ET.fromstring(document).find(
        f"{{{CAC}}}IssuerEndorsement/{{{CBC}}}ApprovalStatus")
    assert status is not None and status.text == "Issued; cancelled (wrong buyer)"


GOOD = certificate_to_ubl(_plain(sample_certificate("AIFTA"))).decode()
APP = "/CertificateOfOrigin/cac:CertificateOfOriginApplication"
ITEM = f"{APP}/cac:Shipment/cac:GoodsItem"

MALFORMED = {
    "unknown element": (
        GOOD.replace("<cbc:UBLVersionID>2.1</cbc:UBLVersionID>",
                     "<cbc:UBLVersionID>2.1</cbc:UBLVersionID><cbc:Colour>red</cbc:Colour>"),
        "/CertificateOfOrigin/cbc:Colour: not an element of CertificateOfOrigin"),
    "elements out of order": (
        re.sub(r"(<cbc:ID>[^<]*</cbc:ID>)(\s*)(<cbc:IssueDate>[^<]*</cbc:IssueDate>)",
               r"\3\2\1", GOOD, count=1),
        "/CertificateOfOrigin/cbc:ID: out of order: UBL 2.1 puts it before cbc:IssueDate"),
    "a later element first": (
        re.sub(r"(<cbc:UBLVersionID>[^<]*</cbc:UBLVersionID>)(\s*)"
               r"(<cbc:CustomizationID>[^<]*</cbc:CustomizationID>)", r"\3\2\1", GOOD, count=1),
        "/CertificateOfOrigin/cbc:UBLVersionID: out of order: UBL 2.1 puts it before "
        "cbc:CustomizationID"),
    "missing required element": (
        re.sub(r"<cbc:CertificateType>[^<]*</cbc:CertificateType>", "", GOOD),
        f"{APP}/cbc:CertificateType: missing"),
    "amount without currencyID": (
        GOOD.replace(' currencyID="USD"', "", 1),
        f"{ITEM}/cbc:FreeOnBoardValueAmount: the currencyID attribute is missing"),
    "measure without unitCode": (
        GOOD.replace(' unitCode="KGM"', "", 1),
        f"{ITEM}/cbc:GrossWeightMeasure: the unitCode attribute is missing"),
    "not a date": (
        GOOD.replace("<cbc:IssueDate>2025-03-14", "<cbc:IssueDate>14/03/2025"),
        "/CertificateOfOrigin/cbc:IssueDate: '14/03/2025' is not a date"),
    "not a decimal": (
        GOOD.replace('unitCode="KGM">125.50<', 'unitCode="KGM">12,550<'),
        f"{ITEM}/cbc:GrossWeightMeasure: '12,550' is not a decimal number"),
    "a bad HS code": (
        GOOD.replace(">610910<", ">61A910<"),
        f"{ITEM}[1]/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode: "
        "certificate data: goods[0].hs_code"),
    "a second IssueDate": (
        GOOD.replace("<cbc:IssueDate>2025-03-14</cbc:IssueDate>",
                     "<cbc:IssueDate>2025-03-14</cbc:IssueDate>"
                     "<cbc:IssueDate>2025-03-15</cbc:IssueDate>", 1),
        "/CertificateOfOrigin/cbc:IssueDate[2]: appears 2 times; UBL 2.1 allows 1"),
    "text in an aggregate": (
        GOOD.replace("<cac:ExporterParty>", "<cac:ExporterParty>loose text", 1),
        "/CertificateOfOrigin/cac:ExporterParty: an aggregate element holds elements"),
    "another document type": (
        GOOD.replace("CertificateOfOrigin-2", "Invoice-2"),
        "the root element is not a UBL 2.1 CertificateOfOrigin"),
    "a DTD with entities": (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "ha">]>' + GOOD.split("?>", 1)[1],
        "declares a DTD or entities"),
    "not well-formed": (GOOD[:-40], "not well-formed XML"),
    "not XML": ("%PDF-1.7\n...", "not XML"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_document_is_refused_naming_the_element(case: str) -> None:
    document, expected = MALFORMED[case]
    with pytest.raises(UblError) as refused:
        certificate_from_ubl(document.encode())
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_oversized_document_is_refused_before_parsing() -> None:
    with pytest.raises(UblError, match="a CertificateOfOrigin is at most"):
        parse_ubl(b"<" + b" " * MAX_BYTES)
