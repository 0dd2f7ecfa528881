"""Names and addresses in every script print: shaped, in order, in the box, with glyphs."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont as ToolsFont

from app.documents.fonts import certificate_fonts
from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate, sample_goods
from app.documents.scripts import font_runs, shape

from .conftest import page_texts, qpdf_check, run, write_pdf

SCRIPTS = {
    "arabic": ("شركة النور للتجارة العامة", "شارع الملك فهد، الرياض ١٢٢١١"),
    "devanagari": ("शर्मा ट्रेडर्स प्राइवेट लिमिटेड", "कृष्णा नगर, नई दिल्ली"),
    "bengali": ("বাংলা ট্রেডার্স লিমিটেড", "মতিঝিল বাণিজ্যিক এলাকা, ঢাকা"),
    "tamil": ("தமிழ் ஏற்றுமதி நிறுவனம்", "அண்ணா சாலை, சென்னை"),
    "chinese": ("上海华联贸易有限公司", "上海市浦东新区世纪大道100号"),
    "japanese": ("東京商事株式会社", "東京都千代田区丸の内一丁目"),
    "korean": ("한국무역주식회사", "서울특별시 중구 세종대로 110"),
    "thai": ("บริษัท ไทยเทรด จำกัด", "ถนนสุขุมวิท กรุงเทพมหานคร"),
    "vietnamese": ("Công ty TNHH Nguyễn Văn Hưởng", "Đường Lê Lợi, Quận 1, Thành phố Hồ Chí Minh"),
}
_BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _flat(text: str) -> str:
    return "".join(_BIDI_MARKS.sub("", text).split())


def _with_consignee(name: str, address: tuple[str, ...], **changes):
    base = sample_certificate("AIFTA", goods=2)
    consignee = replace(base.consignee, name=name, address_lines=address)
    return replace(base, consignee=consignee, **changes)


def _embedded_fonts(pdf: Path, tmp_path: Path) -> list[ToolsFont]:
    """The embedded TrueType subsets, unpacked with qpdf."""
    out = tmp_path / "unpacked"
    out.mkdir(exist_ok=True)
    run(["qpdf", "--qdf", "--object-streams=disable", str(pdf), str(out / "q.pdf")])
    fonts = []
    data = (out / "q.pdf").read_bytes()
    for m in re.finditer(rb"/Length1 \d+.*?stream\n(.*?)endstream", data, re.S):
        fonts.append(ToolsFont(io.BytesIO(m.group(1))))
    return fonts


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_each_script_prints_in_a_consignee_name_and_address(script, tmp_path, ecdsa_token):
    name, address = SCRIPTS[script]
    mixed_name = f"ACME {name} Ltd"  # Latin and the script in one field
    data = _with_consignee(mixed_name, (address,))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, f"{script}.pdf", result.pdf)
    qpdf_check(pdf)
    text = _flat(page_texts(pdf, 1)[0])
    # pdftotext orders the runs of a right-to-left line left to right: compare words
    for part in (name, address):
        for word in part.replace("،", " ").replace(",", " ").split():
            assert word in text, (script, word)
    assert "ACME" in text
    # no tofu: every glyph drawn is a real glyph of an embedded subset
    regular = certificate_fonts().regular
    for part in (mixed_name, address):
        for r in font_runs(part, regular):
            glyphs = shape(r.font, part[r.start:r.end], r.level % 2 == 1)
            assert all(g.gid != 0 for g in glyphs), (script, part[r.start:r.end])
    for font in _embedded_fonts(pdf, tmp_path):
        order = font.getGlyphOrder()
        glyf = font["glyf"]
        used = [g for g in order[1:] if g in glyf.glyphs]
        assert used, "an embedded subset without glyphs"
        empty = [g for g in used if glyf[g].numberOfContours == 0 and font["hmtx"][g][0] == 0]
        assert len(empty) <= 2, empty


def test_arabic_is_joined_and_reads_in_logical_order(tmp_path, ecdsa_token):
    from app.documents.fonts import script_font

    name = "شركة النور"
    arabic = script_font("arabic")
    joined = [g.gid for g in shape(arabic, name, True)]
    isolated = [g.gid for ch in name for g in shape(arabic, ch, True) if not ch.isspace()]
    assert len(set(joined) - set(isolated)) >= 4  # initial, medial and final forms
    data = _with_consignee(name, ("الرياض",))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "arabic.pdf", result.pdf)
    text = _BIDI_MARKS.sub("", page_texts(pdf, 1)[0])
    assert "شركة النور" in text  # logical order, as typed


def _words_with_boxes(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    out = run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"]).stdout
    return [
        (w, float(a), float(b), float(c), float(d))
        for a, b, c, d, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            out)
    ]


def test_hostile_data_is_not_clipped(tmp_path, ecdsa_token):
    """500-character addresses in several scripts, 15-digit quantities, 120 goods lines."""
    address = (", ".join(SCRIPTS[s][1] for s in SCRIPTS) * 3)[:500]
    goods = tuple(
        replace(g, quantity=Decimal("123456789012345"), unit="KGS",
                marks_and_numbers=f"BOSPHORUS/4388/{g.item_no}")
        for g in sample_goods(120)
    )
    data = _with_consignee("ACME " + SCRIPTS["arabic"][0], (address,), goods=goods)
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "hostile.pdf", result.pdf)
    qpdf_check(pdf)
    texts = page_texts(pdf, result.page_count)
    everything = _flat(" ".join(texts)).replace("↵", "")
    for g in data.goods:
        assert f"BOSPHORUS/4388/{g.item_no}" in everything
    assert everything.count("123456789012345") >= 120
    # every word lies inside the frame of its page (nothing drawn past a box's edge)
    spec_frame = (0, 0, 595.3, 841.9)
    for page in range(1, result.page_count + 1):
        for word, x1, _y1, x2, _y2 in _words_with_boxes(pdf, page):
            assert spec_frame[0] <= x1 and x2 <= spec_frame[2], (page, word, x1, x2)
            assert x1 >= 10 and x2 <= 585.3, (page, word, x1, x2)
