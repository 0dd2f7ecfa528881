"""Wrapping and fitting text into boxes: wrap, then shrink to a floor, then overflow.

Lines break between tokens (:mod:`app.documents.line_break`); a token wider than the
whole line is cut, with a visible mark, only when no size down to the floor avoids it.
Widths are those of the drawn text in every script (:mod:`app.documents.scripts`).
Nothing is dropped: what does not fit at the smallest size is returned as overflow
paragraphs (cut at the exact character where the box ran out), for a continuation page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.pdfbase.pdfmetrics import stringWidth

from app.documents.field_text import Para
from app.documents.line_break import CUT_MARK, cut_point, tokens
from app.documents.scripts import LineBidi, is_simple, line_bidi, line_width

_width_cache: dict[tuple[str, str], float] = {}
_WIDTH_CACHE_LIMIT = 100_000


def text_width(text: str, font: str, size: float) -> float:
    """Width in points; widths at 1 pt are cached (a TrueType width scales linearly)."""
    key = (font, text)
    w = _width_cache.get(key)
    if w is None:
        if len(_width_cache) > _WIDTH_CACHE_LIMIT:
            _width_cache.clear()
        w = _width_cache[key] = (
            stringWidth(text, font, 1.0) if is_simple(text, font) else line_width(text, font)
        )
    return w * size


@dataclass(frozen=True)
class Line:
    text: str
    bold: bool
    para: int  # index of the paragraph it comes from
    start: int  # offset of the line's first character in that paragraph
    cut: bool = False  # ends inside a token: ``text`` ends with the cut mark, not in the paragraph
    # levels resolved over the whole paragraph; None: left to right, no right-to-left text
    bidi: LineBidi | None = None

    @property
    def rtl(self) -> bool:
        """Whether the line's paragraph is right to left (its first strong letter is)."""
        return self.bidi is not None and self.bidi.rtl

    @property
    def content(self) -> str:
        """The paragraph's characters on this line (the text without its cut mark)."""
        return self.text[: -len(CUT_MARK)] if self.cut else self.text


class _Wrapped(list[tuple[int, int]]):
    broke_word = False
    cuts: frozenset[int] = frozenset()  # indices of lines that end inside a token


def wrap(text: str, font: str, size: float, width: float) -> list[tuple[int, int]]:
    """Line slices ``(start, end)`` of ``text`` wrapped between tokens into ``width``;
    a token longer than a line is cut (the lines listed in ``cuts`` end inside it and are
    drawn with the cut mark). An empty text is one line."""
    lines = _Wrapped()
    if "\n" not in text and text_width(text, font, size) <= width:  # the common case
        stripped = text.strip()
        if stripped:
            first = text.index(stripped[0])
            lines.append((first, first + len(stripped)))
        else:
            lines.append((0, 0))
        return lines
    start = end = -1
    cur = 0.0
    space = text_width(" ", font, size)
    cuts: set[int] = set()
    for token in tokens(text):
        w_start, w_end = token.start, token.end
        word_w = text_width(text[w_start:w_end], font, size)
        if start >= 0:
            gap = space * (w_start - end) if token.space_before else 0.0
            if cur + gap + word_w <= width:
                end, cur = w_end, cur + gap + word_w
                continue
            if not token.space_before:  # glued to the line: measure the line as a whole
                joined = text_width(text[start:w_end], font, size)
                if joined <= width:
                    end, cur = w_end, joined
                    continue
            lines.append((start, end))
            start = -1
        while word_w > width and w_end - w_start > 1:
            piece = text[w_start:w_end]
            n = cut_point(piece, lambda p: text_width(p, font, size) <= width)
            if n >= len(piece):
                break
            lines.broke_word = True
            cuts.add(len(lines))
            lines.append((w_start, w_start + n))
            w_start += n
            word_w = text_width(text[w_start:w_end], font, size)
        start, end, cur = w_start, w_end, word_w
    if start >= 0:
        lines.append((start, end))
    if not lines:
        lines.append((0, 0))
    lines.cuts = frozenset(cuts)
    return lines


class _Lines(list[Line]):
    broke_word = False


def wrap_paragraphs(
    paras: Sequence[Para], regular: str, bold: str, size: float, width: float
) -> list[Line]:
    out = _Lines()
    for i, p in enumerate(paras):
        font = bold if p.bold else regular
        slices = wrap(p.text, font, size, width)
        out.broke_word = out.broke_word or getattr(slices, "broke_word", False)
        cuts = getattr(slices, "cuts", ())
        for n, (s, e) in enumerate(slices):
            text = p.text[s:e].replace("\t", " ")
            cut = n in cuts
            bidi = line_bidi(p.text, s, e, len(CUT_MARK) if cut else 0)
            out.append(Line(text + CUT_MARK if cut else text, p.bold, i, s, cut, bidi))
    return out


def fit_width(
    paras: Sequence[Para], *, regular: str, bold: str, width: float, max_size: float,
    min_size: float,
) -> tuple[float, list[Line]]:
    """``paras`` wrapped into ``width`` (any number of lines) at the largest size from
    ``max_size`` down to ``min_size`` (0.5 pt steps) at which no token is cut; when every
    size down to the floor cuts one, at ``max_size`` (as :func:`fit` does: the cut is then
    shown at the more legible size). Returns ``(size, lines)``."""
    size = max_size
    first: tuple[float, list[Line]] | None = None
    while True:
        lines = wrap_paragraphs(paras, regular, bold, size, width)
        if not getattr(lines, "broke_word", False):
            return size, lines
        first = first or (size, lines)
        if size - 0.5 < min_size - 1e-6:
            return first
        size -= 0.5


@dataclass(frozen=True)
class Fit:
    size: float
    lines: list[Line]  # lines to draw (the last line slot is kept free for a note on overflow)
    overflow: list[Para]  # what did not fit, for a continuation page

    @property
    def overflowed(self) -> bool:
        return bool(self.overflow)


def remainder(paras: Sequence[Para], line: Line) -> list[Para]:
    """The paragraphs from ``line`` (inclusive) on, the first one cut at the line's start."""
    first = paras[line.para]
    return [Para(first.text[line.start :], first.bold), *paras[line.para + 1 :]]


def fit(
    paras: Sequence[Para],
    *,
    regular: str,
    bold: str,
    width: float,
    height: float,
    max_size: float,
    min_size: float,
    leading: float,
) -> Fit:
    """Wrap ``paras`` at the largest size from ``max_size`` down to ``min_size`` (0.5 pt
    steps) at which they fit ``height`` (without breaking a word, if a smaller size avoids
    that); at ``min_size`` keep what fits less one line (for the "continued" note) and
    return the rest as overflow."""
    if not paras:
        return Fit(max_size, [], [])
    size = max_size
    first_fit: Fit | None = None
    while True:
        lines = wrap_paragraphs(paras, regular, bold, size, width)
        capacity = math.floor(height / (size * leading) + 1e-6)
        if len(lines) <= capacity:
            if not getattr(lines, "broke_word", False):
                return Fit(size, lines, [])
            first_fit = first_fit or Fit(size, lines, [])
        if size - 0.5 < min_size - 1e-6:
            if first_fit is not None:
                return first_fit
            break
        size -= 0.5
    size = max(size, min_size)
    lines = wrap_paragraphs(paras, regular, bold, size, width)
    capacity = math.floor(height / (size * leading) + 1e-6)
    keep = max(capacity - 1, 0)
    return Fit(size, lines[:keep], remainder(paras, lines[keep]))

