"""The embedded fonts: DejaVu Sans Condensed (Latin-extended, the rupee sign ₹, ✓).

Looked for in ``resources/fonts`` (shipped with their licence), then in the system's font
folders (Debian packages fonts-dejavu-extra / fonts-dejavu-core / fonts-noto-core).
Registered with reportlab once per process.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)

from app.documents.countries import RESOURCES_DIR
from app.errors import UserFacingError

log = logging.getLogger(__name__)

FONTS_DIR = RESOURCES_DIR / "fonts"
_SYSTEM_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/TTF"),
    Path("C:/Windows/Fonts"),
)
# (regular, bold) file-name pairs, best first.
_CANDIDATES = (
    ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf"),
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
)
REGULAR = "OriginDesk-Regular"
BOLD = "OriginDesk-Bold"
# Characters the certificates must be able to print.
REQUIRED_CHARACTERS = "₹ŁłŚśŻżĞğŞşİıČčŘřŽžĀāŌōŪū✓"


class FontMissingError(UserFacingError):
    pass


@dataclass(frozen=True)
class FontPair:
    regular: str
    bold: str
    regular_path: Path
    bold_path: Path


_lock = threading.Lock()
_registered: FontPair | None = None


def _find() -> tuple[Path, Path]:
    for folder in (FONTS_DIR, *_SYSTEM_DIRS):
        for regular, bold in _CANDIDATES:
            if (folder / regular).is_file() and (folder / bold).is_file():
                return folder / regular, folder / bold
    raise FontMissingError(
        "no font for certificates was found: put DejaVuSansCondensed.ttf and "
        f"DejaVuSansCondensed-Bold.ttf in {FONTS_DIR}, or install the Debian package "
        "fonts-dejavu-core (apt-get install fonts-dejavu-core)"
    )


def certificate_fonts() -> FontPair:
    """Register the certificate fonts (once per process) and return their names."""
    global _registered
    with _lock:
        if _registered is None:
            regular_path, bold_path = _find()
            regular = CertificateFont(REGULAR, str(regular_path))
            bold = CertificateFont(BOLD, str(bold_path))
            missing = [c for c in REQUIRED_CHARACTERS if ord(c) not in regular.face.charToGlyph]
            if missing:
                raise FontMissingError(
                    f"the font {regular_path} lacks {''.join(missing)}; install fonts-dejavu-core"
                )
            for font in (regular, bold):
                pdfmetrics.registerFont(font)
            log.debug("certificate fonts: %s, %s", regular_path, bold_path)
            _registered = FontPair(REGULAR, BOLD, regular_path, bold_path)
        return _registered



_SUBSET_CACHE_SIZE = 64


class _Raw(pdfdoc.PDFObject):
    """A PDF value formatted once and reused."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document) -> bytes:
        return self.data


@dataclass(frozen=True)
class _SubsetParts:
    widths: bytes  # the formatted /Widths array
    cmap: bytes  # deflated ToUnicode CMap
    font_length: int
    font_file: bytes  # deflated TrueType subset


class CertificateFont(TTFont):
    """A TTFont whose embedded subsets are built once per distinct character set.

    reportlab builds, for every document, each subset's TrueType program, its widths and
    its ToUnicode map, and deflates them (~3 ms per font). Certificates use the same few
    character sets over and over, so those parts are cached here; ``addObjects`` is
    reportlab's, with the cached parts put in.
    """

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self._parts_cache: OrderedDict[tuple[int, tuple[int, ...]], _SubsetParts] = OrderedDict()
        self._parts_lock = threading.Lock()

    def _parts(self, n: int, subset: list[int], base_name: str) -> _SubsetParts:
        key = (n, tuple(subset))
        with self._parts_lock:
            hit = self._parts_cache.get(key)
            if hit is not None:
                self._parts_cache.move_to_end(key)
                return hit
        face = self.face
        widths = pdfdoc.PDFArray([face.getCharWidth(c) for c in subset]).format(None)
        raw_font = face.makeSubset(subset)
        parts = _SubsetParts(
            widths=widths,
            cmap=zlib.compress(makeToUnicodeCMap(base_name, subset).encode("latin-1"), 6),
            font_length=len(raw_font),
            font_file=zlib.compress(raw_font, 6),
        )
        with self._parts_lock:
            self._parts_cache[key] = parts
            while len(self._parts_cache) > _SUBSET_CACHE_SIZE:
                self._parts_cache.popitem(last=False)
        return parts

    def addObjects(self, doc) -> None:  # noqa: N802 (reportlab's name)
        state = self._assignState(doc)
        state.frozen = 1
        face = self.face
        flate = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_name = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            parts = self._parts(n, subset, base_name)
            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.__Comment__ = f"Font {self.fontName} subset {n}"
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            pdf_font.Widths = _Raw(parts.widths)
            cmap = pdfdoc.PDFStream(content=parts.cmap)
            cmap.dictionary["Filter"] = flate
            pdf_font.ToUnicode = doc.Reference(cmap, "toUnicodeCMap:" + base_name)
            font_file = pdfdoc.PDFStream(content=parts.font_file)
            font_file.dictionary["Length1"] = parts.font_length
            font_file.dictionary["Filter"] = flate
            file_ref = doc.Reference(font_file, f"fontFile:{face.filename}({base_name})")
            descriptor = pdfdoc.PDFDictionary({
                "Type": "/FontDescriptor",
                "Ascent": face.ascent,
                "CapHeight": face.capHeight,
                "Descent": face.descent,
                "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                "FontBBox": pdfdoc.PDFArray(face.bbox),
                "FontName": pdfdoc.PDFName(base_name),
                "ItalicAngle": face.italicAngle,
                "StemV": face.stemV,
                "FontFile2": file_ref,
                "MissingWidth": face.defaultWidth,
            })
            pdf_font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_name)
            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del self.state[doc]
