"""Rendering every form, checked with the real tools: qpdf, pdftotext, pdftoppm + zbarimg."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from PIL import Image, ImageChops

from app.documents.certificate_data import FORM_CODES
from app.documents.fonts import certificate_fonts
from app.documents.form_spec import load_form_spec
from app.documents.qr_payload import QrPayloadError, decode_qr_text, verify_qr_payload
from app.documents.renderer import MM, PAD, UnprintableTextError, render_certificate
from app.documents.samples import sample_certificate, sample_goods
from app.documents.text_fit import text_width

from .conftest import page_text, page_texts, qpdf_check, run, scan_qr, write_pdf
from .strategies import certificates


def _kinds(form: str) -> list[str]:
    own = "non_preferential" if form == "NONPREF" else "preferential"
    return [own, "in_lieu", "back_to_back"]


CASES = [(form, kind) for form in FORM_CODES for kind in _kinds(form)]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("form", "kind"), CASES)
def test_every_form_and_kind_renders(form, kind, tmp_path, ecdsa_token):
    data = sample_certificate(form, kind=kind, goods=4)
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, f"{form}-{kind}.pdf", result.pdf)
    qpdf_check(pdf)
    pages = 2 if load_form_spec(form).notes else 1  # the notes overleaf on their own page
    assert result.page_count == pages and not result.draft
    text = _flat(page_text(pdf, 1))
    assert data.certificate_number in text
    assert f"Page 1 of {pages}" in text
    for line in data.goods:
        assert line.hs_code in text
        if form != "NONPREF":
            assert line.origin_criterion in text
    if form != "NONPREF":
        assert "FOB USD 2450.00" in text
        assert "RTE/EXP/2025/118" in text  # invoice number
        assert "Declaration by the exporter" in text
    if kind == "in_lieu":
        assert "Issued in lieu of certificate No. FIEO/MUM/2025/0011876 dated 27 Feb 2025" in text
        assert "Consignee's address corrected" in text
    if kind == "back_to_back":
        assert "CCPIT 250311/0042" in text
        assert "China Council for the Promotion of International Trade" in text
        assert "CHINA" in text
    assert "DRAFT" not in text
    x1, y1, x2, y2 = result.certification_box
    assert result.certification_page == 0 and 0 < x1 < x2 <= 595.3 and 0 < y1 < y2 <= 841.9
    sx1, sy1, sx2, sy2 = result.signature_box
    assert x1 <= sx1 < sx2 <= x2 and y1 <= sy1 < sy2 <= y2


def test_stamp_and_signature_keep_their_transparency(tmp_path, ecdsa_token):
    result = render_certificate(sample_certificate("AIFTA"), qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "images.pdf", result.pdf)
    listing = run(["pdfimages", "-list", str(pdf)]).stdout
    kinds = [line.split()[2] for line in listing.splitlines()[2:]]
    assert kinds.count("image") == 2 and kinds.count("smask") == 2, listing


@pytest.mark.parametrize("token_name", ["ecdsa_token", "rsa_token"])
def test_qr_on_every_page_scans_and_verifies(token_name, request, tmp_path, key_directory):
    token = request.getfixturevalue(token_name)
    data = sample_certificate("IJCEPA", goods=60)
    result = render_certificate(data, qr_signer=token.signer)
    assert result.page_count >= 2
    pdf = write_pdf(tmp_path, "qr.pdf", result.pdf)
    for page in range(1, result.page_count + 1):
        (scanned,) = scan_qr(pdf, page, tmp_path)
        assert scanned == result.qr_text
        payload = decode_qr_text(scanned)
        verdict = verify_qr_payload(payload, key_directory=key_directory, data=data)
        assert verdict.valid, verdict.reason


def test_three_hundred_goods_lines_continue_on_numbered_pages(tmp_path, ecdsa_token):
    data = replace(sample_certificate("SAFTA"), goods=sample_goods(300))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "long.pdf", result.pdf)
    qpdf_check(pdf)
    texts = [_flat(t) for t in page_texts(pdf, result.page_count)]
    assert result.page_count >= 6
    assert "goods continued on page 2" in texts[0]
    for n, text in enumerate(texts, start=1):
        assert data.certificate_number in text, f"page {n}"
        assert f"Page {n} of {result.page_count}" in text
        if 1 < n < result.page_count:  # the last page holds the notes overleaf
            assert "CONTINUATION SHEET" in text
            assert "Tariff item number" in text  # column heads repeated
    assert list(result.goods_pages) == sorted(result.goods_pages)
    for line, page in zip(data.goods, result.goods_pages, strict=True):
        text = texts[page - 1]
        assert f"OD/{line.item_no:03d}" in text, (line.item_no, page)
        assert line.hs_code in text
    assert result.goods_pages[-1] == result.page_count - 1
    assert "NOTES OVERLEAF" in texts[-1]


def test_text_longer_than_any_box_is_never_lost(tmp_path, ecdsa_token):
    words = [f"w{i:04d}x" for i in range(2400)]
    remarks = " ".join(words[:1400])
    address = tuple(" ".join(words[i : i + 25]) for i in range(1400, 1700, 25))
    description = " ".join(words[1700:2100])
    officer = " ".join(words[2100:2150])
    consignee_name = " ".join(words[2150:2400])
    base = sample_certificate("NONPREF", goods=2)
    data = replace(
        base,
        remarks=remarks,
        exporter=replace(base.exporter, address_lines=address),
        consignee=replace(base.consignee, name=consignee_name),
        goods=(replace(base.goods[0], description=description), base.goods[1]),
        officer_name=officer,
    )
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "overflow.pdf", result.pdf)
    qpdf_check(pdf)
    texts = page_texts(pdf, result.page_count)
    found = set(re.findall(r"w\d{4}x", " ".join(texts)))
    missing = [w for w in words if w not in found]
    assert not missing, f"{len(missing)} words lost, e.g. {missing[:5]}"
    first = _flat(texts[0])
    assert "→ continued on page" in first
    for n, text in enumerate(texts, start=1):
        assert data.certificate_number in text
        assert f"Page {n} of {result.page_count}" in _flat(text)
    assert "Box 5 · Remarks — continued from page 1" in _flat(" ".join(texts[1:]))


def test_a_long_unbroken_word_is_broken_not_cut(tmp_path, ecdsa_token):
    blob = "".join(f"z{i:04d}" for i in range(900))  # 4500 characters, no spaces
    data = replace(sample_certificate("AIFTA"), remarks=blob)
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    assert result.page_count >= 2
    pdf = write_pdf(tmp_path, "blob.pdf", result.pdf)
    lines = [
        line.strip() for t in page_texts(pdf, result.page_count) for line in t.splitlines()
        if re.fullmatch(r"[z0-9]*z[z0-9]*↵?", line.strip())
    ]
    assert all(line.endswith("↵") for line in lines[:-1])  # each cut is shown
    assert "".join(line.removesuffix("↵") for line in lines) == blob


def _mark_for(column_width: float, wide_at: float, fits_at: float) -> str:
    """A mark (one unbreakable token) wider than ``column_width`` at ``wide_at`` pt that
    fits it at ``fits_at`` pt."""
    regular = certificate_fonts().regular
    mark = "BSP/"
    while text_width(mark, regular, wide_at) <= column_width:
        mark += str(len(mark) % 10)
    assert text_width(mark, regular, fits_at) <= column_width
    return mark


@pytest.mark.parametrize("form", ["SAFTA", "IJCEPA"])
def test_a_goods_cell_shrinks_before_it_cuts_a_mark(form, tmp_path, ecdsa_token):
    spec = load_form_spec(form)
    column = next(c for c in spec.goods.columns if c.key == "marks")
    width = column.width * MM - 2 * PAD * 0.7
    fonts = spec.fonts
    mark = _mark_for(width, fonts.goods_size, fonts.min_text_size)
    base = sample_certificate(form, goods=2)
    data = replace(base, goods=(replace(base.goods[0], marks_and_numbers=mark), base.goods[1]))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    text = page_text(write_pdf(tmp_path, "mark.pdf", result.pdf), 1)
    assert mark in text.split()  # drawn whole, smaller
    assert "↵" not in text
    # a mark too wide even at the minimum size is still cut, visibly, and kept whole
    too_long = mark * 3
    data = replace(base, goods=(replace(base.goods[0], marks_and_numbers=too_long),
                                base.goods[1]))
    result = render_certificate(data, qr_signer=ecdsa_token.signer)
    words = page_text(write_pdf(tmp_path, "cut.pdf", result.pdf), 1).split()
    assert any(w.startswith("BSP/") and w.endswith("↵") for w in words)


def test_draft_is_watermarked_and_carries_the_application_number(tmp_path, key_directory):
    data = replace(sample_certificate("IKCEPA", issued=False), goods=sample_goods(70))
    result = render_certificate(data)
    assert result.draft and result.page_count >= 2
    pdf = write_pdf(tmp_path, "draft.pdf", result.pdf)
    qpdf_check(pdf)
    for n, text in enumerate(page_texts(pdf, result.page_count), start=1):
        assert f"Application No. {data.application_number} — DRAFT" in _flat(text)
        assert _watermark_pixels(pdf, n, tmp_path) > 1000, f"no watermark on page {n}"
    (scanned,) = scan_qr(pdf, 1, tmp_path)
    verdict = verify_qr_payload(decode_qr_text(scanned), key_directory=key_directory)
    assert not verdict.valid and verdict.content.draft


def _watermark_pixels(pdf: Path, page: int, tmp_path: Path) -> int:
    """Pixels of the pink watermark (the diagonal text pdftotext does not extract)."""
    prefix = tmp_path / f"wm-{page}"
    run(["pdftoppm", "-r", "40", "-f", str(page), "-l", str(page), "-png", "-singlefile",
         str(pdf), str(prefix)])
    with Image.open(prefix.with_suffix(".png")) as image:
        red, green, _blue = image.convert("RGB").split()
        histogram = ImageChops.subtract(red, green).histogram()
        return sum(histogram[25:])  # clearly redder than grey or black


def test_issued_certificate_rendered_as_draft_on_request(tmp_path, ecdsa_token):
    data = sample_certificate("NONPREF")
    result = render_certificate(data, draft=True)
    pdf = write_pdf(tmp_path, "forced-draft.pdf", result.pdf)
    assert "DRAFT" in _flat(page_text(pdf, 1))
    assert _watermark_pixels(pdf, 1, tmp_path) > 1000
    issued = render_certificate(data, qr_signer=ecdsa_token.signer)
    assert _watermark_pixels(write_pdf(tmp_path, "issued.pdf", issued.pdf), 1, tmp_path) == 0


def test_issued_certificate_needs_the_signer():
    with pytest.raises(QrPayloadError, match="token"):
        render_certificate(sample_certificate("NONPREF"))


def test_text_no_font_can_print_is_refused():
    base = sample_certificate("IJCEPA")
    data = replace(base, consignee=replace(base.consignee, name="Addis \u1200\u1208 Trading"))
    with pytest.raises(UnprintableTextError, match="U\\+1200"):
        render_certificate(data, draft=True)


@settings(max_examples=14, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=certificates())
def test_generated_certificates_render_completely(data, tmp_path_factory, ecdsa_token,
                                                  key_directory):
    tmp_path: Path = tmp_path_factory.mktemp("generated")
    event(f"goods {len(data.goods) // 50 * 50}+, {data.form_code}, {data.kind}")
    result = render_certificate(data, qr_signer=None if data.is_draft else ecdsa_token.signer)
    pdf = write_pdf(tmp_path, "generated.pdf", result.pdf)
    qpdf_check(pdf)
    texts = [_flat(t) for t in page_texts(pdf, result.page_count)]
    for n, text in enumerate(texts, start=1):
        assert data.reference_number in text, f"page {n}"
        assert f"Page {n} of {result.page_count}" in text
    for line, page in zip(data.goods, result.goods_pages, strict=True):
        assert line.hs_code in texts[page - 1].replace(" ", ""), (line.item_no, page)
    verdict = verify_qr_payload(result.qr_payload, key_directory=key_directory, data=data)
    assert verdict.valid is not data.is_draft, verdict.reason
