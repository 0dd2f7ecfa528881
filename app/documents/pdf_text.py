"""Fast text output: positioned lines written as PDF text operators in one BT … ET block.

reportlab's text objects re-derive font state and format every number for each call;
a certificate page has hundreds of short lines, so this writes the operators directly.
TrueType subsets are still assigned by reportlab (``TTFont.splitString``), so font
embedding and ToUnicode maps stay reportlab's. ASCII text with the default
"ascii readable" subset 0 maps to itself and skips ``splitString``. A line with text the
base font does not draw alone (other scripts, right-to-left, shaping), or a line of a
right-to-left paragraph, is drawn by :func:`app.documents.scripts.emit_line`.
"""

from __future__ import annotations

from collections.abc import Iterable

from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.documents.scripts import LineBidi, emit_line, is_simple

# (x, y, font name, text, size), optionally with the line's bidi levels resolved over its
# paragraph (a wrapped line of right-to-left or mixed-direction text): one positioned line
TextRun = tuple[float, float, str, str, float] | tuple[float, float, str, str, float,
                                                       LineBidi | None]


def _fonts_ready(canvas: Canvas, names: Iterable[str]) -> None:
    doc = canvas._doc
    for name in names:
        font = getFont(name)
        if isinstance(font, TTFont):
            font._assignState(doc)


def emit_text(canvas: Canvas, runs: Iterable[TextRun]) -> None:
    doc = canvas._doc
    escape = canvas._escape
    out = ["BT"]
    current: tuple[str, int, float] | None = None
    fonts: dict[str, TTFont] = {}
    for run in runs:
        x, y, name, text, size = run[:5]
        bidi = run[5] if len(run) > 5 else None  # type: ignore[misc]
        if not text:
            continue
        font = fonts.get(name)
        if font is None:
            font = fonts[name] = getFont(name)
            _fonts_ready(canvas, (name,))
        if not is_simple(text, name) or bidi is not None and not bidi.is_plain():
            current = emit_line(out, canvas, x, y, name, text, size, current, bidi)
            continue
        out.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm")
        if text.isascii() and font._asciiReadable and text.isprintable():
            chunks: Iterable[tuple[int, bytes]] = ((0, text.encode("ascii")),)
        else:
            chunks = font.splitString(text, doc)
        for subset, chunk in chunks:
            key = (name, subset, size)
            if key != current:
                out.append(f"{font.getSubsetInternalName(subset, doc)} {size:.2f} Tf")
                current = key
            out.append(f"({escape(chunk)}) Tj")
    out.append("ET")
    if len(out) > 2:
        canvas._code.append("\n".join(out))
