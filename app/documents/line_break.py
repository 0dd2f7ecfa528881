"""Where a line may break: between tokens, never inside one.

A *token* is what must stay on one line: a word, a mark or reference such as
"BOSPHORUS/4388/1" or "FIEO/MUM/2025/0012345" (any word with a digit in it), an HS code
"5205.11", a number with its unit ("45 KGS", "12 cartons"), a currency or label with its
amount ("USD 2450.00", "No. 118"). Lines break at spaces between tokens; inside a word of
letters only, after a hyphen or slash ("Dar-es-/Salaam", "and/or"); between Chinese and
Japanese characters (not before closing punctuation or small kana, not after opening
punctuation). Thai breaks only at its spaces (between the parts of a name or address):
breaking inside a Thai word needs a dictionary, which is not attempted.

A token wider than the whole line is cut between characters (never before a combining
mark or after a virama or joiner) and the cut is shown with :data:`CUT_MARK`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

CUT_MARK = "↵"
_WORD = re.compile(r"\S+")
_NUMBER = re.compile(r"[+-]?[0-9][0-9.,]*%?")
_UNIT = re.compile(r"[^\W\d_]{1,10}\.?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LABELS = frozenset({"No.", "no.", "NO.", "HS", "Nr.", "#"})
_SOFT = re.compile(r"(?<=[^\W\d_]{2}[-/])(?=[^\W\d_])")
_NO_BREAK_BEFORE = frozenset("、。，．・：；？！）」』】〕〉》ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々")
_NO_BREAK_AFTER = frozenset("（「『【〔〈《")
_JOINERS = frozenset("\u200c\u200d\u094d\u09cd\u0bcd\u0e3a")  # ZWNJ, ZWJ, viramas


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    space_before: bool  # separated from the previous token by white space


def _is_ideographic(ch: str) -> bool:
    c = ord(ch)
    return (0x2E80 <= c <= 0x9FFF or 0xF900 <= c <= 0xFAFF or 0x3400 <= c <= 0x4DBF
            or 0xFF00 <= c <= 0xFFEF or 0x20000 <= c <= 0x3FFFF)


def _inner_breaks(word: str) -> list[int]:
    """Offsets inside ``word`` where a line may break."""
    if word.isascii():
        if any(c.isdigit() for c in word) or ("-" not in word and "/" not in word):
            return []
        return [m.start() for m in _SOFT.finditer(word)]
    out: list[int] = []
    if not any(c.isdigit() for c in word):
        out.extend(m.start() for m in _SOFT.finditer(word))
    for i in range(1, len(word)):
        a, b = word[i - 1], word[i]
        if unicodedata.category(b).startswith("M") or a in _JOINERS:
            continue
        if (_is_ideographic(a) or _is_ideographic(b)) and \
                b not in _NO_BREAK_BEFORE and a not in _NO_BREAK_AFTER:
            out.append(i)
    return sorted(set(out))


def tokens(text: str) -> list[Token]:
    """The unbreakable pieces of ``text`` in order."""
    words = [m.span() for m in _WORD.finditer(text)]
    # glue numbers to their units and amounts to their currency or label
    glued: list[tuple[int, int]] = []
    for s, e in words:
        if glued:
            ps, pe = glued[-1]
            prev, cur = text[ps:pe], text[s:e]
            last_prev = prev
            if text[pe:s] == " " and " " not in prev and (
                (_NUMBER.fullmatch(last_prev) and _UNIT.fullmatch(cur))
                or ((_CURRENCY.fullmatch(last_prev) or last_prev in _LABELS)
                    and _NUMBER.fullmatch(cur))
            ):
                glued[-1] = (ps, e)
                continue
        glued.append((s, e))
    out: list[Token] = []
    prev_end = 0
    for s, e in glued:
        space = bool(out) and s > prev_end
        starts = [s, *(s + i for i in _inner_breaks(text[s:e]) if " " not in text[s:s + i])]
        if " " in text[s:e]:
            starts = [s]
        for i, a in enumerate(starts):
            b = starts[i + 1] if i + 1 < len(starts) else e
            out.append(Token(a, b, space if i == 0 else False))
        prev_end = e
    return out


def cut_point(word: str, fits: Callable[[str], bool]) -> int:
    """How many leading characters of ``word`` go on a line (with :data:`CUT_MARK`
    after them) when ``fits(piece + CUT_MARK)`` says what fits; at least one cluster."""
    lo, hi = 1, len(word) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(word[:mid] + CUT_MARK):
            lo = mid
        else:
            hi = mid - 1
    n = max(lo, 1)
    # never before a combining mark, never after a virama or joiner
    while n > 1 and (unicodedata.category(word[n]).startswith("M") or word[n - 1] in _JOINERS):
        n -= 1
    if n == 1:
        while n < len(word) - 1 and (unicodedata.category(word[n]).startswith("M")
                                     or word[n - 1] in _JOINERS):
            n += 1
    return n
