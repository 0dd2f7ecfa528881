"""Wrap, shrink, overflow: what is drawn plus what overflows is exactly the text."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.documents.field_text import Para
from app.documents.fonts import certificate_fonts
from app.documents.line_break import CUT_MARK
from app.documents.text_fit import fit, remainder, text_width, wrap_paragraphs

from .strategies import LETTERS


def _fonts():
    f = certificate_fonts()
    return f.regular, f.bold


def _ink(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=80, deadline=None)
@given(
    # "↵" in the input too: a mark the officer typed is text, not a cut
    paras=st.lists(st.builds(Para, st.text(alphabet=LETTERS + "  ↵", max_size=300),
                             st.booleans()),
                   min_size=1, max_size=6),
    width=st.floats(30, 300),
    height=st.floats(5, 200),
)
@example(paras=[Para("000000000000000", False)], width=30.0, height=16.0)
@example(paras=[Para("0000000000↵00000000000000", False)], width=30.0, height=60.0)
def test_nothing_is_lost(paras, width, height):
    regular, bold = _fonts()
    result = fit(paras, regular=regular, bold=bold, width=width, height=height,
                 max_size=9, min_size=6.5, leading=1.18)
    assert 6.5 <= result.size <= 9
    for line in result.lines:
        font = bold if line.bold else regular
        assert text_width(line.text, font, result.size) <= width + 0.01 or len(line.content) == 1
        # a cut line shows the cut mark after its characters; every line is where it says
        assert not line.cut or line.text.endswith(CUT_MARK)
        source = paras[line.para].text
        assert source[line.start:line.start + len(line.content)] == line.content
    drawn = wrap_paragraphs(paras, regular, bold, result.size, width)
    if result.overflow:  # the overflow starts exactly where the drawn lines stop
        assert result.overflow == remainder(paras, drawn[len(result.lines)])
    else:
        assert [ln.text for ln in drawn] == [ln.text for ln in result.lines]
    # nothing is lost: the drawn lines less their cut marks, then the overflow, are the
    # paragraphs' text in order (white space between lines aside)
    seen = "".join([ln.content for ln in result.lines] + [p.text for p in result.overflow])
    assert _ink(seen) == _ink("".join(p.text for p in paras))


def test_shrinks_before_overflowing_and_avoids_breaking_words():
    regular, bold = _fonts()
    paras = [Para("Certificate No. FIEO/MUM/2025/0012345", True)]
    width = text_width("FIEO/MUM/2025/0012345", bold, 8.0) + 1
    result = fit(paras, regular=regular, bold=bold, width=width, height=100,
                 max_size=10, min_size=6.5, leading=1.18)
    assert result.size <= 8.0 and not result.overflow
    assert [ln.text for ln in result.lines] == ["Certificate No.", "FIEO/MUM/2025/0012345"]
