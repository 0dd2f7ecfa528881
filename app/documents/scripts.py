"""Text in every script: font runs within a line, bidi order, shaping, measuring, drawing.

A line is split into runs of one font: Latin (and everything the base font prints) in
the base font, each other script in its own font (:data:`app.documents.fonts.SCRIPT_FONTS`);
combining marks, spaces and punctuation stay in the run they follow when its font has them.

**Direction.** Text with right-to-left letters (Arabic) is ordered with the Unicode
bidirectional algorithm (python-bidi's rules), per paragraph: the paragraph's base
direction is that of its first strong letter (UAX #9 P2–P3) and its characters' levels are
resolved once over the whole paragraph (:func:`bidi_levels`); each wrapped line is then
reordered with those levels (L1–L2, :func:`visual_runs`). So "ACME شركة النور" is a
left-to-right paragraph with an Arabic run inside it, on every line, even one that starts
with the Arabic; "شركة النور ACME" a right-to-left one: the renderer aligns each of its
lines to the right edge of a left-aligned box (the convention of Arabic forms), keeps
centred and right-aligned boxes as they are.

**Shaping.** Runs of Arabic, Devanagari, Bengali, Tamil and Thai are shaped with HarfBuzz
(uharfbuzz): joined Arabic letters, Indic conjuncts and reordered vowel signs, marks
placed by the font's GPOS. Shaped glyphs are drawn by glyph through reportlab's font
subsets (a glyph no character maps to gets a private-use code in the subset), and each
glyph's ToUnicode entry is the text it was shaped from. Left-to-right shaped runs (Indic,
Thai, whose vowel signs may be drawn before their consonant) are also wrapped in an
``/ActualText`` span with their text in logical order; right-to-left runs are drawn in
visual order with per-glyph ToUnicode, which text extractors (``pdftotext``) put back in
logical order themselves. So copying or extracting gives the text as typed. Chinese, Japanese and Korean need no
shaping and are drawn character by character.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb
from bidi import algorithm as _bidi
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth

from app.documents.fonts import BOLD, SCRIPT_FONTS, script_font
from app.errors import UserFacingError


class UnprintableTextError(UserFacingError):
    pass


# (first, last, script): code point ranges printed with a script font
_RANGES = (
    (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0x0870, 0x08FF, "arabic"),
    (0xFB50, 0xFDFF, "arabic"), (0xFE70, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"), (0xA8E0, 0xA8FF, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "cjk"), (0x2E80, 0x2FDF, "cjk"), (0x3000, 0x303F, "cjk"),
    (0x3040, 0x30FF, "cjk"), (0x3100, 0x318F, "cjk"), (0x31F0, 0x32FF, "cjk"),
    (0x3300, 0x33FF, "cjk"), (0x3400, 0x4DBF, "cjk"), (0x4E00, 0x9FFF, "cjk"),
    (0xA960, 0xA97F, "cjk"), (0xAC00, 0xD7AF, "cjk"), (0xF900, 0xFAFF, "cjk"),
    (0xFF00, 0xFFEF, "cjk"),
)
SHAPED_SCRIPTS = frozenset({"arabic", "devanagari", "bengali", "tamil", "thai"})
RTL_SCRIPTS = frozenset({"arabic"})
# Hebrew and Arabic blocks and presentation forms: strong right-to-left letters
_RTL_FIRST, _RTL_LAST = 0x0590, 0x08FF
_MIRROR = str.maketrans("()[]{}<>«»", ")(][}{><»«")
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                     "\u2066\u2067\u2068\u2069"))


@lru_cache(maxsize=4096)
def script_of(ch: str) -> str | None:
    code = ord(ch)
    for first, last, script in _RANGES:
        if first <= code <= last:
            return script
    return None


def _is_rtl_char(ch: str) -> bool:
    code = ord(ch)
    return (_RTL_FIRST <= code <= _RTL_LAST or 0xFB1D <= code <= 0xFDFF
            or 0xFE70 <= code <= 0xFEFF)


def has_rtl(text: str) -> bool:
    return not text.isascii() and any(_is_rtl_char(c) for c in text)


def is_rtl_line(text: str) -> bool:
    """Whether the first strong letter of ``text`` is right-to-left."""
    if text.isascii():
        return False
    for ch in text:
        if _is_rtl_char(ch) and unicodedata.bidirectional(ch) in ("R", "AL"):
            return True
        if unicodedata.bidirectional(ch) == "L":
            return False
    return False


# --- fonts ------------------------------------------------------------------------------

_glyph_sets: dict[str, dict[int, int]] = {}


def _glyphs(font_name: str) -> dict[int, int]:
    g = _glyph_sets.get(font_name)
    if g is None:
        g = _glyph_sets[font_name] = dict(getFont(font_name).face.charToGlyph)
    return g


def _script_font_name(script: str, base: str) -> str:
    return script_font(script, bold=(base == BOLD))


def _simple_chars(base: str) -> frozenset[int]:
    """Code points the base font prints with no other font and no shaping."""
    cached = _simple.get(base)
    if cached is None:
        cached = _simple[base] = frozenset(
            c for c in _glyphs(base)
            if script_of(chr(c)) is None and not _is_rtl_char(chr(c))
            and not unicodedata.category(chr(c)).startswith("M")
        ) | {9, 10, 13, 0xA0}
    return cached


_simple: dict[str, frozenset[int]] = {}


def is_simple(text: str, base: str) -> bool:
    """Whether ``text`` is drawn in ``base`` alone, character by character."""
    if text.isascii():
        return True
    simple = _simple_chars(base)
    return all(ord(c) in simple for c in text)


@dataclass(frozen=True)
class Run:
    start: int
    end: int
    font: str
    script: str | None  # the script whose font it is, None for the base font
    level: int = 0  # bidi embedding level: odd is right to left


def _font_for(ch: str, base: str, prev: Run | None) -> tuple[str, str | None]:
    script = script_of(ch)
    if script is not None:
        return _script_font_name(script, base), script
    code = ord(ch)
    cat = unicodedata.category(ch)
    if prev is not None and prev.script is not None and (
        cat[0] in "MZ" or cat[0] == "P" or ch in "\u200c\u200d"
    ) and code in _glyphs(prev.font):
        return prev.font, prev.script
    if code in _glyphs(base) or ch in "\t\n\r":
        return base, None
    if prev is not None and code in _glyphs(prev.font):
        return prev.font, prev.script
    cjk = _script_font_name("cjk", base)
    if code in _glyphs(cjk):
        return cjk, "cjk"
    raise UnprintableTextError(
        f"the certificate fonts cannot print the character {ch!r} (U+{code:04X}, "
        f"{unicodedata.name(ch, 'unnamed')}); write it in another way"
    )


def font_runs(text: str, base: str) -> list[Run]:
    """Runs of one font in logical order (levels all 0)."""
    runs: list[Run] = []
    prev: Run | None = None
    for i, ch in enumerate(text):
        font, script = _font_for(ch, base, prev)
        if prev is not None and prev.font == font:
            prev = runs[-1] = Run(prev.start, i + 1, font, script)
        else:
            prev = Run(i, i + 1, font, script)
            runs.append(prev)
    return runs


def check_printable(text: str, base: str) -> None:
    """Raise :class:`UnprintableTextError` naming a character no certificate font has."""
    if not is_simple(text, base):
        font_runs(unicodedata.normalize("NFC", text), base)


_ISOLATES = frozenset({"LRI", "RLI", "FSI", "PDI"})


def paragraph_level(text: str) -> int:
    """The base level of a paragraph (UAX #9 P2–P3): 1 when its first strong character,
    outside isolates, is right to left, else 0."""
    if text.isascii():
        return 0
    depth = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("LRI", "RLI", "FSI"):
            depth += 1
        elif kind == "PDI":
            depth = max(depth - 1, 0)
        elif depth:
            continue
        elif kind == "L":
            return 0
        elif kind in ("R", "AL"):
            return 1
    return 0


@lru_cache(maxsize=4096)
def bidi_levels(text: str) -> tuple[int, tuple[int, ...]]:
    """A paragraph's base level and the embedding level of each of its characters (UAX #9
    P2–P3, X1–X10, W1–W7, N1–N2, I1–I2), resolved once for the whole paragraph so that
    each line of it is reordered with the paragraph's direction (:func:`visual_runs`).
    Characters the algorithm removes (explicit controls, BN such as ZWJ) get the level
    of the character before them."""
    base = paragraph_level(text)
    if not has_rtl(text):
        return base, (base,) * len(text)
    storage = _bidi.get_empty_storage()
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    _bidi.get_embedding_levels(text, storage, False, False)
    chars = list(storage["chars"])
    for c in chars:  # isolates are not known to python-bidi's algorithm: drop them (X9)
        if c["type"] in _ISOLATES:
            c["type"] = c["orig"] = "BN"
    _bidi.explicit_embed_and_overrides(storage, False)
    _bidi.resolve_weak_types(storage, False)
    _bidi.resolve_neutral_types(storage, False)
    _bidi.resolve_implicit_levels(storage, False)
    kept = {id(c) for c in storage["chars"]}
    levels: list[int] = []
    prev = base
    for c in chars:
        if id(c) in kept:
            prev = c["level"]
        levels.append(prev)
    return base, tuple(levels)


def _line_levels(text: str, levels: Sequence[int], para_level: int) -> list[int]:
    """Rule L1 on one line: segment separators, and white space before them or at the
    line's end, go to the paragraph level."""
    out = list(levels)
    trailing = True
    for i in range(len(text) - 1, -1, -1):
        kind = unicodedata.bidirectional(text[i])
        if kind in ("S", "B"):
            out[i] = para_level
            trailing = True
        elif trailing and kind in ("WS", "BN", "LRI", "RLI", "FSI", "PDI"):
            out[i] = para_level
        else:
            trailing = False
    return out


def visual_runs(text: str, base: str, levels: Sequence[int] | None = None,
                para_level: int | None = None) -> list[Run]:
    """Font runs of one line in visual order (left to right), with their bidi levels.

    ``levels`` are the line's characters' embedding levels resolved over its whole
    paragraph, ``para_level`` the paragraph's base level (see :func:`bidi_levels`); without
    them the line is taken as a paragraph of its own."""
    runs = font_runs(text, base)
    if levels is None:
        if not has_rtl(text):
            return runs
        para_level, levels = bidi_levels(text)
    elif para_level is None:
        raise ValueError("line levels need their paragraph's level")
    if not any(levels) and para_level == 0:
        return runs
    line_levels = _line_levels(text, levels, para_level)
    split: list[Run] = []
    for r in runs:
        start = r.start
        for i in range(r.start + 1, r.end + 1):
            if i == r.end or line_levels[i] != line_levels[start]:
                split.append(Run(start, i, r.font, r.script, line_levels[start]))
                start = i
    top = max(r.level for r in split)
    lowest_odd = min((r.level for r in split if r.level % 2), default=top + 1)
    for k in range(top, lowest_odd - 1, -1):  # rule L2
        out: list[Run] = []
        i = 0
        while i < len(split):
            if split[i].level >= k:
                j = i
                while j < len(split) and split[j].level >= k:
                    j += 1
                out.extend(reversed(split[i:j]))
                i = j
            else:
                out.append(split[i])
                i += 1
        split = out
    return split


# --- shaping -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Glyph:
    gid: int
    cluster: int
    advance: float  # in 1/1000 em
    x_offset: float
    y_offset: float


_hb_fonts: dict[str, tuple[hb.Font, float]] = {}
_hb_lock = threading.Lock()


def _hb_font(name: str) -> tuple[hb.Font, float]:
    got = _hb_fonts.get(name)
    if got is None:
        with _hb_lock:
            font = getFont(name)
            with open(font.face.filename, "rb") as f:
                blob = hb.Blob(f.read())
            face = hb.Face(blob, getattr(font, "subfont", 0))
            got = _hb_fonts[name] = (hb.Font(face), 1000.0 / face.upem)
    return got


@lru_cache(maxsize=20_000)
def shape(font_name: str, text: str, rtl: bool) -> tuple[Glyph, ...]:
    """HarfBuzz glyphs of ``text`` in ``font_name``, in visual order."""
    font, scale = _hb_font(font_name)
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.direction = "rtl" if rtl else "ltr"
    hb.shape(font, buf, {"kern": True, "liga": True})
    return tuple(
        Glyph(info.codepoint, info.cluster, pos.x_advance * scale, pos.x_offset * scale,
              pos.y_offset * scale)
        for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True)
    )


def _run_width(text: str, run: Run) -> float:
    """Width at 1 pt of one run."""
    piece = text[run.start:run.end]
    if run.script in SHAPED_SCRIPTS:
        rtl = bool(run.level % 2) or run.script in RTL_SCRIPTS
        return sum(g.advance for g in shape(run.font, piece, rtl)) / 1000
    return stringWidth(piece, run.font, 1.0)


def line_width(text: str, base: str) -> float:
    """Width at 1 pt of ``text`` (one line) with base font ``base``."""
    text = text.translate(_BIDI_CONTROLS)
    return sum(_run_width(text, r) for r in font_runs(text, base))


# --- drawing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineBidi:
    """A wrapped line's bidi levels, resolved over its whole paragraph."""

    para_level: int  # the paragraph's base level: 1 is right to left
    levels: tuple[int, ...]  # per character of the line's text

    @property
    def rtl(self) -> bool:
        return bool(self.para_level % 2)

    def is_plain(self) -> bool:
        """Left to right throughout: the line needs no reordering."""
        return self.para_level == 0 and not any(self.levels)


def line_bidi(paragraph: str, start: int, end: int, extra: int = 0) -> LineBidi | None:
    """The bidi levels of ``paragraph[start:end]`` (then ``extra`` characters added to the
    line, such as the cut mark, at the level of the line's last character); None for a
    left-to-right paragraph without right-to-left text."""
    if paragraph.isascii():
        return None
    para_level, levels = bidi_levels(paragraph)
    line = levels[start:end]
    if para_level == 0 and not any(line):
        return None
    tail = (line[-1] if line else para_level,) * extra
    return LineBidi(para_level, line + tail)



def _actual_text(text: str) -> str:
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class _Codes:
    """Per font: a code for each glyph. A glyph the font's cmap gives for the very
    character it was shaped from keeps that character; any other (a joined form, a
    ligature, a conjunct) gets the next private-use code the font does not use, and the
    subset's ToUnicode map gives it the text it was shaped from (see ``CertificateFont``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: dict[tuple[str, int], int] = {}
        self.next_private: dict[str, int] = {}

    def code(self, font_name: str, gid: int, source: str) -> int:
        key = (font_name, gid)
        code = self.codes.get(key)
        if code is not None:
            return code
        with self.lock:
            code = self.codes.get(key)
            if code is None:
                font = getFont(font_name)
                face = font.face
                if len(source) == 1 and face.charToGlyph.get(ord(source)) == gid:
                    code = ord(source)
                else:
                    code = self.next_private.get(font_name, 0xE000)
                    while code in face.charToGlyph:
                        code += 1
                    if code > 0xF8FF:
                        raise UnprintableTextError(f"too many shaped glyphs in {font_name}")
                    self.next_private[font_name] = code + 1
                    face.charToGlyph[code] = gid
                    face.glyphToChar.setdefault(gid, []).append(code)
                    hb_font, scale = _hb_font(font_name)
                    face.charWidths[code] = round(hb_font.get_glyph_h_advance(gid) * scale)
                    font.unicode_text[code] = source
                self.codes[key] = code
        return code


_codes = _Codes()


def emit_line(out: list[str], canvas, x: float, y: float, base: str, text: str,
              size: float, current: tuple | None, bidi: LineBidi | None = None) -> tuple | None:
    """Append the PDF operators drawing ``text`` at (x, y) to ``out`` (inside BT … ET);
    return the font state ``(name, subset, size)`` left current. ``bidi`` gives the line's
    levels resolved over its paragraph; without it the line is a paragraph of its own."""
    doc = canvas._doc
    escape = canvas._escape
    levels: Sequence[int] | None = None
    para_level: int | None = None
    if bidi is not None:
        para_level = bidi.para_level
        if len(bidi.levels) != len(text):
            raise ValueError("a line's bidi levels must match its text")
        kept = [i for i, ch in enumerate(text) if ord(ch) not in _BIDI_CONTROLS]
        levels = [bidi.levels[i] for i in kept]
        text = "".join(text[i] for i in kept)
    else:
        text = text.translate(_BIDI_CONTROLS)
    pen = x
    for run in visual_runs(text, base, levels, para_level):
        piece = text[run.start:run.end]
        font = getFont(run.font)
        font._assignState(doc)
        rtl = bool(run.level % 2)
        if run.script in SHAPED_SCRIPTS:
            glyphs = shape(run.font, piece, rtl)
            bounds = sorted({g.cluster for g in glyphs} | {len(piece)})
            after = dict(zip(bounds, bounds[1:], strict=False))
            if not rtl:  # reordered Indic vowel signs: the text in logical order
                out.append(f"/Span <</ActualText {_actual_text(piece)}>> BDC")
            for g in glyphs:
                source = piece[g.cluster:after[g.cluster]]
                code = _codes.code(run.font, g.gid, source)
                ((subset, chunk),) = font.splitString(chr(code), doc)
                key = (run.font, subset, size)
                if key != current:
                    out.append(f"{font.getSubsetInternalName(subset, doc)} {size:.2f} Tf")
                    current = key
                gx = pen + g.x_offset * size / 1000
                gy = y + g.y_offset * size / 1000
                out.append(f"1 0 0 1 {gx:.2f} {gy:.2f} Tm ({escape(chunk)}) Tj")
                pen += g.advance * size / 1000
            if not rtl:
                out.append("EMC")
            continue
        if rtl:
            piece = piece[::-1].translate(_MIRROR)
        out.append(f"1 0 0 1 {pen:.2f} {y:.2f} Tm")
        for subset, chunk in font.splitString(piece, doc):
            key = (run.font, subset, size)
            if key != current:
                out.append(f"{font.getSubsetInternalName(subset, doc)} {size:.2f} Tf")
                current = key
            out.append(f"({escape(chunk)}) Tj")
        pen += stringWidth(piece, run.font, size)
    return current


def script_names() -> tuple[str, ...]:
    return tuple(SCRIPT_FONTS)
