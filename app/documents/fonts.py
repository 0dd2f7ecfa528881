"""The embedded fonts: DejaVu Sans Condensed (Latin-extended, Vietnamese, the rupee sign ₹,
✓) as the base font, and one font per other script for names and addresses written in it.

The base fonts are looked for in ``resources/fonts`` (shipped with their licence), then in
the system's font folders (Debian packages fonts-dejavu-extra / fonts-dejavu-core /
fonts-noto-core). The script fonts (:data:`SCRIPT_FONTS`) are Debian's TrueType (glyf)
fonts: Noto Sans Arabic, Devanagari, Bengali, Tamil and Thai (fonts-noto-core) and
WenQuanYi Zen Hei for Chinese, Japanese and Korean (fonts-wqy-zenhei; Debian's Noto CJK
fonts are CFF, which reportlab cannot embed). Each is registered with reportlab the first
time a text needs it; a missing one stops the render with the package to install.
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


_NOTO = Path("/usr/share/fonts/truetype/noto")
_WQY = Path("/usr/share/fonts/truetype/wqy")


@dataclass(frozen=True)
class ScriptFontFile:
    script: str  # as app.documents.scripts names it
    package: str  # the Debian package that installs it
    regular: Path
    bold: Path
    subfont: int = 0  # index in a TrueType collection


SCRIPT_FONTS: dict[str, ScriptFontFile] = {
    f.script: f
    for f in (
        ScriptFontFile("arabic", "fonts-noto-core", _NOTO / "NotoSansArabic-Regular.ttf",
                       _NOTO / "NotoSansArabic-Bold.ttf"),
        ScriptFontFile("devanagari", "fonts-noto-core", _NOTO / "NotoSansDevanagari-Regular.ttf",
                       _NOTO / "NotoSansDevanagari-Bold.ttf"),
        ScriptFontFile("bengali", "fonts-noto-core", _NOTO / "NotoSansBengali-Regular.ttf",
                       _NOTO / "NotoSansBengali-Bold.ttf"),
        ScriptFontFile("tamil", "fonts-noto-core", _NOTO / "NotoSansTamil-Regular.ttf",
                       _NOTO / "NotoSansTamil-Bold.ttf"),
        ScriptFontFile("thai", "fonts-noto-core", _NOTO / "NotoSansThai-Regular.ttf",
                       _NOTO / "NotoSansThai-Bold.ttf"),
        # no bold face: bold CJK prints in the regular one
        ScriptFontFile("cjk", "fonts-wqy-zenhei", _WQY / "wqy-zenhei.ttc", _WQY / "wqy-zenhei.ttc"),
    )
}
_script_registered: dict[tuple[str, bool], str] = {}


def _script_file(path: Path, package: str, script: str) -> Path:
    shipped = FONTS_DIR / path.name
    if shipped.is_file():
        return shipped
    if path.is_file():
        return path
    raise FontMissingError(
        f"the font for {script} text, {path}, is missing: install the Debian package "
        f"{package} (apt-get install {package})"
    )


def script_font(script: str, bold: bool = False) -> str:
    """The reportlab name of the font for ``script`` (a key of :data:`SCRIPT_FONTS`),
    registered on first use."""
    key = (script, bold)
    name = _script_registered.get(key)
    if name is not None:
        return name
    with _lock:
        name = _script_registered.get(key)
        if name is None:
            entry = SCRIPT_FONTS[script]
            path = _script_file(entry.bold if bold else entry.regular, entry.package, script)
            if bold and path == _script_file(entry.regular, entry.package, script):
                name = script_font_unlocked_regular(entry)
            else:
                name = f"OriginDesk-{script.capitalize()}{'-Bold' if bold else ''}"
                pdfmetrics.registerFont(CertificateFont(name, str(path), entry.subfont))
                log.debug("font for %s text: %s", script, path)
            _script_registered[key] = name
        return name


def script_font_unlocked_regular(entry: ScriptFontFile) -> str:
    """The regular font of ``entry``, registered (the caller holds the lock)."""
    key = (entry.script, False)
    name = _script_registered.get(key)
    if name is None:
        path = _script_file(entry.regular, entry.package, entry.script)
        name = f"OriginDesk-{entry.script.capitalize()}"
        pdfmetrics.registerFont(CertificateFont(name, str(path), entry.subfont))
        _script_registered[key] = name
    return name


class CertificateFont(TTFont):
    """A TTFont whose embedded subsets are built once per distinct character set.

    reportlab builds, for every document, each subset's TrueType program, its widths and
    its ToUnicode map, and deflates them (~3 ms per font). Certificates use the same few
    character sets over and over, so those parts are cached here; ``addObjects`` is
    reportlab's, with the cached parts put in.
    """

    def __init__(self, name: str, filename: str, subfont: int = 0) -> None:
        super().__init__(name, filename, subfontIndex=subfont)
        self.subfont = subfont
        # private-use codes given to shaped glyphs -> the text each was shaped from
        self.unicode_text: dict[int, str] = {}
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
            cmap=zlib.compress(self._to_unicode(base_name, subset).encode("latin-1"), 6),
            font_length=len(raw_font),
            font_file=zlib.compress(raw_font, 6),
        )
        with self._parts_lock:
            self._parts_cache[key] = parts
            while len(self._parts_cache) > _SUBSET_CACHE_SIZE:
                self._parts_cache.popitem(last=False)
        return parts

    def _to_unicode(self, base_name: str, subset: list[int]) -> str:
        """reportlab's ToUnicode CMap, with the text of shaped glyphs' private codes."""
        cmap = makeToUnicodeCMap(base_name, subset)
        if not self.unicode_text or not any(c in self.unicode_text for c in subset):
            return cmap
        for i, code in enumerate(subset):
            text = self.unicode_text.get(code)
            if text:
                cmap = cmap.replace(f"<{i:02X}> <{code:04X}>",
                                    f"<{i:02X}> <{text.encode('utf-16-be').hex().upper()}>")
        return cmap

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
