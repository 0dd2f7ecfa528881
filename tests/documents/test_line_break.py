"""Lines break between tokens: marks, numbers with units and HS codes stay whole."""

from __future__ import annotations

import pytest

from app.documents.field_text import Para
from app.documents.fonts import certificate_fonts
from app.documents.line_break import CUT_MARK, tokens
from app.documents.text_fit import fit, text_width, wrap_paragraphs


def _fonts():
    f = certificate_fonts()
    return f.regular, f.bold


def _pieces(text: str) -> list[str]:
    return [text[t.start:t.end] for t in tokens(text)]


@pytest.mark.parametrize(("text", "whole"), [
    ("MARKS BOSPHORUS/4388/1 ISTANBUL", "BOSPHORUS/4388/1"),
    ("Quantity 1234567890123 45 KGS net", "45 KGS"),
    ("Cotton yarn HS 5205.11 combed", "HS 5205.11"),
    ("FOB USD 2450.00", "USD 2450.00"),
    ("Certificate No. FIEO/MUM/2025/0012345", "FIEO/MUM/2025/0012345"),
])
def test_tokens_keep_codes_and_units_whole(text, whole):
    assert whole in _pieces(text)


def test_words_of_letters_break_after_hyphens_and_slashes():
    assert _pieces("Dar-es-Salaam and/or") == ["Dar-", "es-", "Salaam", "and/", "or"]


def test_chinese_breaks_between_characters_not_before_closing_punctuation():
    pieces = _pieces("北京市朝阳区（总部）、上海")
    assert "北" in pieces and not any(p.startswith(("）", "、")) for p in pieces)


@pytest.mark.parametrize(("text", "word"), [
    ("BOSPHORUS/4388/1", "BOSPHORUS/4388/1"),
    ("1234567890123 45 KGS", "45 KGS"),
    ("Item number", "number"),
])
def test_the_examples_of_issue_11_stay_unbroken(text, word):
    """Narrow cells that used to print "BOSPHORUS/4388" / "/1", "1234567890123" /
    "45 KGS" and "Item numbe" / "r": the fit shrinks before it cuts a token."""
    regular, bold = _fonts()
    widest = max(text_width(text[t.start:t.end], regular, 7.0) for t in tokens(text))
    width = widest + 0.5  # each token fits at 7 pt, not at 9 pt
    result = fit([Para(text)], regular=regular, bold=bold, width=width, height=100,
                 max_size=9, min_size=6, leading=1.18)
    assert not result.overflow
    assert any(word in ln.text for ln in result.lines)
    assert not any(CUT_MARK in ln.text for ln in result.lines)


def test_a_token_wider_than_its_cell_is_cut_visibly():
    regular, bold = _fonts()
    quantity = "123456789012345.00 KGS"
    width = text_width("1234567890", regular, 7.0)
    lines = wrap_paragraphs([Para(quantity)], regular, bold, 7.0, width)
    assert len(lines) > 1
    assert all(ln.text.endswith(CUT_MARK) for ln in lines[:-1])
    assert "".join(ln.text.removesuffix(CUT_MARK) for ln in lines) == quantity
    for ln in lines:
        assert text_width(ln.text, regular, 7.0) <= width + 0.01


def test_a_cut_never_separates_a_mark_from_its_letter():
    regular, bold = _fonts()
    word = "शर्मा" * 12  # Devanagari: viramas and vowel signs
    width = text_width(word, regular, 8.0) / 5
    lines = wrap_paragraphs([Para(word)], regular, bold, 8.0, width)
    for ln in lines[1:]:
        first = ln.text[0]
        assert first not in "\u094d\u093e\u0930" or ln.text.startswith("र")
        assert first not in "\u094d\u093e"
