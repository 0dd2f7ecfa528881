"""Realistic sample certificate data and stamp/signature images (demo, tests, benchmark)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from functools import cache

from PIL import Image, ImageDraw

from app.documents.certificate_data import (
    CertificateData,
    Exporter,
    ExporterDeclaration,
    ForeignCertificate,
    GoodsLine,
    InLieuOf,
    IssuingOffice,
    Party,
    Transport,
)

_DESTINATIONS = {
    "NONPREF": "DE", "AIFTA": "VN", "SAFTA": "BD", "APTA": "KR", "IJCEPA": "JP",
    "IKCEPA": "KR", "ISCECA": "SG", "IMCECA": "MY", "IUCEPA": "AE", "IAECTA": "AU",
    "IMCECPA": "MU", "ISLFTA": "LK",
}
# per destination: the consignee's name and address there, and the port of discharge
_CONSIGNEES = {
    "DE": ("Hansa Textilhandel GmbH", ("Große Elbstraße 145", "22767 Hamburg"), "Hamburg"),
    "VN": ("Nguyễn Trading Company Ltd.", ("12 Lê Lợi Street, District 1", "Ho Chi Minh City"),
           "Cat Lai"),
    "BD": ("Meghna Trading Co. Ltd.", ("House 12, Road 7, Motijheel C/A", "Dhaka 1000"),
           "Chattogram"),
    "KR": ("Hanbit Trading Co., Ltd.", ("110 Sejong-daero, Jung-gu", "Seoul 04524"), "Busan"),
    "JP": ("Sakura Shoji K.K.", ("1-1 Marunouchi 1-chome, Chiyoda-ku", "Tokyo 100-0005"),
           "Yokohama"),
    "SG": ("Lion City Imports Pte. Ltd.", ("20 Pasir Panjang Road", "Singapore 117439"),
           "Singapore"),
    "MY": ("Selangor Trading Sdn. Bhd.", ("88 Jalan Sultan Ismail", "50250 Kuala Lumpur"),
           "Port Klang"),
    "AE": ("Al Noor General Trading LLC", ("Al Maktoum Road, Deira", "Dubai"), "Jebel Ali"),
    "AU": ("Southern Cross Imports Pty Ltd", ("45 Collins Street", "Melbourne VIC 3000"),
           "Melbourne"),
    "MU": ("Île Maurice Distribution Ltée", ("12 Royal Road", "Port Louis"), "Port Louis"),
    "LK": ("Lanka Textile Traders (Pvt) Ltd.", ("No. 45, Galle Road", "Colombo 03"),
           "Colombo"),
}
# origin criteria in each form's own codes (the notes overleaf; docs/FORMS.md): SAFTA,
# APTA and ISLFTA use letters (B with the non-originating share, C with the aggregate
# content of the FOB value); the other preferential forms WO, RVC and a tariff shift
_CRITERIA = ("WO", "RVC 42%", "CTSH")
_FORM_CRITERIA = {
    "SAFTA": ("A", "B 55%", "C 60%"),
    "APTA": ("A", "B 50%", "C 60%"),
    "ISLFTA": ("A", "B 60%", "C 40%"),
}
_GOODS = (
    ("Cotton knitted T-shirts for men, 100% combed cotton, assorted colours", "610910", "PCS"),
    ("Basmati rice, parboiled, in 25 kg woven polypropylene bags", "100630", "KGS"),
    ("Stainless steel kitchen sinks, single bowl, grade 304", "732410", "PCS"),
    ("Pharmaceutical tablets: paracetamol 500 mg, blister packs of 10", "30049099", "BOX"),
    ("Hand-knotted woollen carpets, 160 × 230 cm", "570110", "PCS"),
)


def sample_goods(count: int, criteria: tuple[str, ...] = _CRITERIA) -> tuple[GoodsLine, ...]:
    """``count`` goods lines, their origin criteria taken in turn from ``criteria``."""
    lines = []
    for i in range(count):
        desc, hs, unit = _GOODS[i % len(_GOODS)]
        lines.append(GoodsLine(
            item_no=i + 1,
            marks_and_numbers=f"OD/{i + 1:03d} 1-{10 + i}",
            package_count=10 + i,
            package_kind="cartons",
            description=desc,
            hs_code=hs,
            quantity=Decimal(100 * (i + 1)),
            unit=unit,
            gross_weight_kg=Decimal("125.50") + i,
            fob_value=Decimal("2450.00") + 10 * i,
            currency="USD",
            origin_criterion=criteria[i % len(criteria)],
        ))
    return tuple(lines)


def sample_certificate(
    form_code: str = "AIFTA",
    *,
    kind: str | None = None,
    goods: int = 3,
    issued: bool = True,
    images: bool = True,
) -> CertificateData:
    """A plausible certificate of ``form_code``; ``kind`` defaults to the form's own kind."""
    if kind is None:
        kind = "non_preferential" if form_code == "NONPREF" else "preferential"
    destination = _DESTINATIONS[form_code]
    consignee_name, consignee_address, port_of_discharge = _CONSIGNEES[destination]
    special: dict[str, object] = {}
    if kind == "in_lieu":
        special["in_lieu"] = InLieuOf(
            original_certificate_number="FIEO/MUM/2025/0011876",
            original_date=date(2025, 2, 27),
            reason="Consignee's address corrected at the importer's request.",
        )
    elif kind == "back_to_back":
        special["origin_country"] = "CN"
        special["back_to_back"] = ForeignCertificate(
            country_of_origin="CN",
            certificate_number="CCPIT 250311/0042",
            issuing_country="CN",
            issuer="China Council for the Promotion of International Trade",
            issue_date=date(2025, 3, 1),
        )
    fields: dict[str, object] = dict(
        kind=kind,
        form_code=form_code,
        application_number="APP/2025/MUM/004211",
        certificate_number="FIEO/MUM/2025/0012345" if issued else None,
        issue_date=date(2025, 3, 14) if issued else None,
        exporter=Exporter(
            name="Rāmcharan Textiles & Exports Pvt. Ltd.",
            address_lines=("Plot 14, MIDC Industrial Area, Andheri (East)", "Mumbai 400093"),
            iec="AAACR5055K",
            gstin="27AAACR5055K1Z5",
        ),
        consignee=Party(name=consignee_name, address_lines=consignee_address,
                        country=destination),
        destination_country=destination,
        origin_country="IN",
        transport=Transport(
            mode="Sea",
            vessel_or_flight="MV Maersk Kolkata V.214E",
            port_of_loading="Nhava Sheva (INNSA1)",
            port_of_discharge=port_of_discharge,
            departure_date=date(2025, 3, 16),
        ),
        goods=sample_goods(goods, _FORM_CRITERIA.get(form_code, _CRITERIA)),
        declaration=ExporterDeclaration(
            place="Mumbai", date=date(2025, 3, 12), signatory_name="Priya Deshmukh",
            signatory_designation="Export Manager",
        ),
        issuing_office=IssuingOffice(
            code="FIEOMUM01", name="Federation of Indian Export Organisations, Mumbai",
            place="Mumbai", agency_name="Federation of Indian Export Organisations",
            address_lines=("Akbar House, Nagindas Master Road, Fort", "Mumbai 400001"),
        ),
        officer_name="Anil K. Sharma",
        officer_designation="Deputy Director",
        remarks="Shipment under letter of credit No. LC/4411/2025 (₹ value declared on the "
                "shipping bill).",
        invoice_number="RTE/EXP/2025/118",
        invoice_date=date(2025, 3, 10),
        stamp_png=sample_stamp_png() if images else None,
        signature_png=sample_signature_png() if images else None,
    )
    fields.update(special)
    return CertificateData(**fields)  # type: ignore[arg-type]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@cache
def sample_stamp_png(size: int = 360) -> bytes:
    """A round blue office stamp on a transparent background."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ink = (30, 60, 160, 230)
    draw.ellipse((6, 6, size - 6, size - 6), outline=ink, width=10)
    draw.ellipse((40, 40, size - 40, size - 40), outline=ink, width=4)
    draw.text((size * 0.32, size * 0.44), "FIEO MUMBAI", fill=ink)
    draw.text((size * 0.36, size * 0.52), "ISSUING OFFICE", fill=ink)
    return _png(image)


@cache
def sample_signature_png(width: int = 480, height: int = 160) -> bytes:
    """A dark-blue handwritten-looking stroke on a transparent background."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 11, height / 2 + ((i * 37) % 60) - 30) for i in range(40)]
    draw.line(points, fill=(10, 20, 90, 255), width=6, joint="curve")
    return _png(image)
