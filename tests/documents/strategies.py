"""Hypothesis strategies: certificate data of every form and kind, long and non-ASCII text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from app.documents.certificate_data import (
    FORM_CODES,
    CertificateData,
    ForeignCertificate,
    GoodsLine,
    InLieuOf,
)
from app.documents.samples import sample_certificate

LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "ÀÉÎÕÜßàéîõüçñŁłŚśŻżĞğŞşİıČčŘřŽžĀāŌōŪūĘęŐőŰű₹€&/().,-'"
)
word = st.text(alphabet=LETTERS, min_size=1, max_size=14)
# A mix: usually short, sometimes a paragraph, now and then a long unbroken "word".
text = st.one_of(
    st.lists(word, min_size=1, max_size=6).map(" ".join),
    st.lists(word, min_size=20, max_size=260).map(" ".join),
    st.text(alphabet=LETTERS, min_size=60, max_size=400),
)
short_text = st.lists(word, min_size=1, max_size=4).map(" ".join)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
decimals = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
hs_codes = st.from_regex(r"[0-9]{6,8}", fullmatch=True)
cert_numbers = st.from_regex(r"[A-Z]{2,6}/[0-9]{4}/[0-9]{5,9}", fullmatch=True)


@st.composite
def goods_lines(draw, count: int) -> tuple[GoodsLine, ...]:
    long_ratio = draw(st.sampled_from([0.0, 0.05, 0.3] if count <= 50 else [0.0, 0.02]))
    lines = []
    for i in range(count):
        long = draw(st.floats(0, 1)) < long_ratio
        lines.append(GoodsLine(
            item_no=i + 1,
            marks_and_numbers=draw(text if long else short_text),
            package_count=draw(st.integers(0, 100_000)),
            package_kind=draw(st.sampled_from(["cartons", "bags", "pallets", "drums", ""])),
            description=draw(text if long else short_text),
            hs_code=draw(hs_codes),
            quantity=draw(decimals),
            unit=draw(st.sampled_from(["PCS", "KGS", "MTR", "SET", ""])),
            gross_weight_kg=draw(decimals),
            fob_value=draw(decimals),
            currency=draw(st.sampled_from(["USD", "EUR", "INR", "AED"])),
            origin_criterion=draw(st.sampled_from(["WO", "RVC 42%", "CTSH", "PE", "CTH + 40% VA"])),
        ))
    return tuple(lines)


def _repeat(templates: tuple[GoodsLine, ...], count: int) -> tuple[GoodsLine, ...]:
    """``count`` lines cycled from a few drawn ones (hypothesis cannot draw 300 full lines
    within its buffer), with their own item numbers and HS codes."""
    out = []
    for i in range(count):
        t = templates[i % len(templates)]
        hs = t.hs_code[:-2] + f"{i % 100:02d}"
        out.append(replace(t, item_no=i + 1, hs_code=hs))
    return tuple(out)


@st.composite
def certificates(draw, max_goods: int = 300) -> CertificateData:
    form = draw(st.sampled_from(FORM_CODES))
    own_kind = "non_preferential" if form == "NONPREF" else "preferential"
    kind = draw(st.sampled_from([own_kind, "in_lieu", "back_to_back"]))
    issued = draw(st.booleans())
    count = draw(st.one_of(st.sampled_from([1, 2, 14, 45, max_goods]), st.integers(1, max_goods)))
    data = sample_certificate(form, kind=kind, goods=1, issued=issued, images=draw(st.booleans()))
    exporter = replace(data.exporter, name=draw(text),
                       address_lines=tuple(draw(st.lists(short_text, max_size=4))))
    consignee = replace(data.consignee, name=draw(text),
                        address_lines=tuple(draw(st.lists(text, max_size=3))))
    changes = dict(
        exporter=exporter,
        consignee=consignee,
        remarks=draw(st.one_of(st.just(""), text)),
        goods=_repeat(draw(goods_lines(min(count, 6))), count),
        officer_name=draw(short_text),
        invoice_number=draw(short_text),
    )
    if issued:
        changes["certificate_number"] = draw(cert_numbers)
        changes["issue_date"] = draw(dates)
    if kind == "in_lieu":
        changes["in_lieu"] = InLieuOf(draw(cert_numbers), draw(dates), draw(text))
    if kind == "back_to_back":
        origin = draw(st.sampled_from(["CN", "VN", "DE", "US", "AE"]))
        changes["origin_country"] = origin
        changes["back_to_back"] = ForeignCertificate(origin, draw(short_text), origin,
                                                     draw(text), draw(dates))
    return replace(data, **changes)
