"""Names and addresses in every script print: shaped, in order, in the box, with glyphs."""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont as ToolsFont

from app.documents.countries import country_name
from app.documents.field_text import GOODS_CELLS, Para
from app.documents.fonts import certificate_fonts
from app.documents.form_spec import load_form_spec
from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate, sample_goods
from app.documents.scripts import font_runs, shape, visual_runs
from app.documents.text_fit import text_width, wrap_paragraphs

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
        (html.unescape(w), float(a), float(b), float(c), float(d))
        for a, b, c, d, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            out)
    ]


def _words_by_box(pdf: Path, page: int, rects: dict[str, tuple[float, float, float, float]]):
    """The page's words, each with the smallest box rectangle its centre lies in (None
    outside every box), in pdftotext's order; rectangles and words in PDF points from
    the page's top left."""
    top = {key: _top_down(rect) for key, rect in rects.items()}
    out = []
    for word, x1, y1, x2, y2 in _words_with_boxes(pdf, page):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        inside = [k for k, (a, b, c, d) in top.items() if a <= cx <= c and b <= cy <= d]
        key = min(inside, key=lambda k: (top[k][2] - top[k][0]) * (top[k][3] - top[k][1]),
                  default=None)
        out.append((word, (x1, y1, x2, y2), key, top.get(key)))
    return out


_PAGE_H = 841.89


def _top_down(rect):
    x1, y1, x2, y2 = rect
    return x1, _PAGE_H - y2, x2, _PAGE_H - y1
_TOLERANCE = 1.0  # points: pdftotext's word boxes are the fonts' ascent and descent


def _inside(word_box, rect) -> bool:
    x1, y1, x2, y2 = word_box
    a, b, c, d = rect
    t = _TOLERANCE
    return a - t <= x1 and x2 <= c + t and b - t <= y1 and y2 <= d + t


def _chars(text: str) -> Counter[str]:
    return Counter(_flat(text).replace("↵", ""))


def test_hostile_data_is_not_clipped(tmp_path, ecdsa_token):
    """500-character addresses in every script, 15-digit quantities, 120 goods lines: each
    word lies inside the box that holds its field, and the text is all there, in order."""
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
    spec = load_form_spec(data.form_code)
    quantity_column = next(
        f"goods.{c.key}" for c in spec.goods.columns
        if "123456789012345" in GOODS_CELLS[c.key](data.goods[0], data))
    heads = {f"goods.{c.key}": _flat(f"{c.number}. {c.heading}" if c.number else c.heading)
             for c in spec.goods.columns}
    marks = quantities = ""  # the two columns' text over all pages (a row may be split)
    for page in range(1, result.page_count + 1):
        words = _words_by_box(pdf, page, result.box_rects[page - 1])
        # the "→ goods continued on page N" note spans the goods table's columns
        notes = {round(b[1]) for w, b, _k, _r in words if w == "continued"}
        goods = result.box_rects[page - 1].get("goods")
        for word, box, key, rect in words:
            if key is None:  # headers and footers: inside the page frame
                assert box[0] >= 10 and box[2] <= 585.3, (page, word, box)
            elif key.startswith("goods.") and round(box[1]) in notes:
                assert _inside(box, _top_down(goods)), (page, word, box, goods)
            else:
                assert _inside(box, rect), (page, word, key, box, rect)
        column = {k: "".join(w for w, b, key, _r in words
                             if key == k and round(b[1]) not in notes).replace("↵", "")
                  .removeprefix(heads[k]) for k in ("goods.marks", quantity_column)}
        marks += column["goods.marks"]
        quantities += column[quantity_column]
        if page == 1:
            # the consignee's name and address, every character, in the consignee's box
            inside = "".join(w for w, _b, key, _r in words if key == "consignee")
            box = next(b for b in spec.boxes if b.id == "consignee")
            expected = _chars(f"{box.number}. {box.caption}" + data.consignee.name + address
                              + country_name(data.consignee.country).upper())
            assert _chars(inside) == expected, (_chars(inside) - expected,
                                                expected - _chars(inside))
    assert marks == "".join(f"BOSPHORUS/4388/{g.item_no}" for g in data.goods)  # in order
    assert quantities.count("123456789012345") == len(data.goods)


def _visual(line) -> str:
    """A wrapped line as drawn, left to right (right-to-left runs reversed)."""
    bidi = line.bidi
    runs = visual_runs(line.text, certificate_fonts().regular,
                       bidi.levels if bidi else None, bidi.para_level if bidi else None)
    pieces = [line.text[r.start:r.end] for r in runs]
    return "".join(p[::-1] if r.level % 2 else p for p, r in zip(pieces, runs, strict=True))


def test_a_paragraph_keeps_its_direction_on_every_line():
    """A line that starts with an Arabic word in a Latin paragraph stays left to right:
    the Arabic word reversed in place, the Devanagari and Latin after it on its right."""
    fonts = certificate_fonts()
    arabic, hindi = "النور", "शर्मा"
    text = f"ACME Trading Company {arabic} {hindi} Exports"
    width = text_width("ACME Trading Company", fonts.regular, 9) + 2
    lines = wrap_paragraphs([Para(text)], fonts.regular, fonts.bold, 9, width)
    assert [ln.text for ln in lines] == ["ACME Trading Company", f"{arabic} {hindi} Exports"]
    assert not any(ln.rtl for ln in lines)
    assert _visual(lines[1]) == f"{arabic[::-1]} {hindi} Exports"
    # on one line: the Latin order kept, the Arabic word reversed where it stands
    (line,) = wrap_paragraphs([Para(text)], fonts.regular, fonts.bold, 9, 1000)
    assert _visual(line) == f"ACME Trading Company {arabic[::-1]} {hindi} Exports"


def test_an_arabic_first_paragraph_is_right_to_left(tmp_path, ecdsa_token):
    fonts = certificate_fonts()
    name = "شركة النور"
    text = f"{name} ACME Trading Ltd"
    (line,) = wrap_paragraphs([Para(text)], fonts.regular, fonts.bold, 9, 1000)
    assert line.rtl
    assert _visual(line) == f"ACME Trading Ltd {name[::-1]}"  # Latin read left to right
    data = _with_consignee(text, ("12 Main Road, Riyadh",))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "rtl.pdf", result.pdf)
    words = [(w, b) for w, b, key, _r in _words_by_box(pdf, 1, result.box_rects[0])
             if key == "consignee"]
    x = {w: b for w, b in words}
    arabic = [b for w, b in words if any("\u0600" <= ch <= "\u06ff" for ch in w)]
    assert x["ACME"][2] < x["Trading"][0] and x["Trading"][2] < x["Ltd"][0]
    assert x["Ltd"][2] < min(b[0] for b in arabic)
    # right-aligned: the name's line ends at the box's right edge, less its padding
    right = result.box_rects[0]["consignee"][2]
    assert right - 6 < max(b[2] for b in arabic) <= right
    # the address (a Latin paragraph) stays on the left
    assert x["12"][0] < x["ACME"][0]


_SHOW = re.compile(rb"/(\S+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _pdf_string(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i:i + 1] == b"\\":
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            nxt = raw[i + 1:i + 2]
            out += _ESCAPES.get(nxt, nxt)
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def test_every_character_drawn_has_its_glyph_in_the_subset(tmp_path, ecdsa_token):
    """No tofu: every code shown on the page maps, through its embedded subset's cmap,
    to a real glyph (not .notdef, glyph 0) that the subset holds with an outline."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    address = ", ".join(SCRIPTS[s][1] for s in SCRIPTS)
    name = " ".join(SCRIPTS[s][0] for s in SCRIPTS)
    data = _with_consignee(f"ACME {name}", (address,))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "glyphs.pdf", result.pdf)
    with pdf.open("rb") as f:
        page = PdfFileReader(f).root["/Pages"]["/Kids"][0]
        subsets = {}
        fonts = page["/Resources"]["/Font"]
        for key in fonts:
            font = fonts[key]
            tt = ToolsFont(io.BytesIO(font["/FontDescriptor"]["/FontFile2"].data))
            subsets[key.lstrip("/")] = (str(font["/BaseFont"]), tt)
        content = page["/Contents"].data
    shown = 0
    current = None
    scripts_seen = set()
    for m in _SHOW.finditer(content):
        if m.group(1) is not None:
            current = m.group(1).decode()
            continue
        base_font, tt = subsets[current]
        cmap = tt["cmap"].getcmap(1, 0).cmap
        order = tt.getGlyphOrder()
        glyf = tt["glyf"]
        for code in _pdf_string(m.group(2)):
            glyph = cmap.get(code)
            assert glyph is not None and glyph != order[0], (base_font, code)
            assert order.index(glyph) != 0 and glyph in glyf.glyphs, (base_font, code, glyph)
            if chr(code) != " " and glyf[glyph].numberOfContours == 0:
                assert tt["hmtx"][glyph][0] > 0 or glyph in ("space", "uni00A0"), (
                    base_font, code, glyph)
            shown += 1
        scripts_seen.add(base_font.split("+")[1].split("-")[0])
    assert shown > 500
    assert {"NotoSansArabic", "NotoSansDevanagari", "NotoSansBengali", "NotoSansTamil",
            "NotoSansThai", "WenQuanYiZenHei"} <= scripts_seen
