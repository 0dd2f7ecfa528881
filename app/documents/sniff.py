"""What a supporting document is, decided from its bytes, never from its name or the media
type its uploader declared.

A file called ``invoice_925.pdf`` may hold a ZIP archive, a Windows program or a web page;
the desk shows such a file as what it is and never hands it to another program.
:func:`sniff` reads the first bytes (magic numbers); :func:`judge` compares that with the
name and the declared media type and says which viewer, if any, may show the file.
Images are checked further with Pillow (:func:`check_image`): a truncated or damaged scan
or a decompression bomb is refused with one line before any viewer sees it.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

log = logging.getLogger(__name__)

# what a desk shows at most (the intake API keeps documents up to 10 MB)
MAX_VIEW_BYTES = 25 * 1024 * 1024
MAX_IMAGE_PIXELS = 60_000_000  # a 600 dpi A3 scan is ~70 MP in colour: refuse beyond this

PDF, PNG, JPEG, TIFF, GIF, WEBP, BMP = "pdf", "png", "jpeg", "tiff", "gif", "webp", "bmp"
IMAGES = frozenset({PNG, JPEG, TIFF, GIF, WEBP, BMP})

# kind -> how an officer reads it ("its content is ...")
DESCRIPTIONS = {
    PDF: "a PDF document",
    PNG: "a PNG image",
    JPEG: "a JPEG image",
    TIFF: "a TIFF image",
    GIF: "a GIF image",
    WEBP: "a WebP image",
    BMP: "a BMP image",
    "zip": "a ZIP archive",
    "gzip": "a gzip archive",
    "rar": "a RAR archive",
    "7z": "a 7-Zip archive",
    "exe": "a Windows program (EXE)",
    "elf": "a Linux program (ELF)",
    "macho": "a macOS program (Mach-O)",
    "script": "a script",
    "ole": "a Microsoft Office document (old format)",
    "rtf": "an RTF document",
    "html": "an HTML page",
    "xml": "an XML document",
    "svg": "an SVG drawing",
    "text": "plain text",
    "empty": "nothing (the file is empty)",
    "unknown": "of an unknown kind",
}

# file name endings -> the kind the name promises
EXTENSIONS = {
    ".pdf": PDF, ".png": PNG, ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".tif": TIFF,
    ".tiff": TIFF, ".gif": GIF, ".webp": WEBP, ".bmp": BMP,
}
# declared media types -> the kind they promise
MEDIA_TYPES = {
    "application/pdf": PDF, "image/png": PNG, "image/jpeg": JPEG, "image/jpg": JPEG,
    "image/tiff": TIFF, "image/gif": GIF, "image/webp": WEBP, "image/bmp": BMP,
}
NAMES = {PDF: "PDF", PNG: "PNG image", JPEG: "JPEG image", TIFF: "TIFF image",
         GIF: "GIF image", WEBP: "WebP image", BMP: "BMP image"}


def sniff(data: bytes) -> str:
    """The kind of ``data`` from its first bytes: one of :data:`DESCRIPTIONS`' keys."""
    if not data:
        return "empty"
    head = data[:1024]
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:2] == b"BM" and len(head) >= 26:
        return BMP
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head[:2] == b"MZ":
        return "exe"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "macho"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"#!"):
        return "script"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if b"%PDF-" in head:  # PDF readers accept a little junk before the header
        return PDF
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "html"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg"
    if text.startswith(b"<?xml"):
        return "xml"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "text"


def promised_kind(file_name: str, media_type: str = "") -> str | None:
    """The kind the file's name (else its declared media type) promises, if a viewable one."""
    lowered = file_name.lower()
    for ending, kind in EXTENSIONS.items():
        if lowered.endswith(ending):
            return kind
    return MEDIA_TYPES.get(media_type.split(";")[0].strip().lower())


@dataclass(frozen=True)
class Judgement:
    """Which viewer may show a document, and what to tell the officer about it."""

    kind: str  # what the bytes are (sniffed)
    viewer: str | None  # "pdf", "image" or None: shown by no viewer
    problem: str = ""  # one line when it is not shown (or not what its name says)

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.kind, DESCRIPTIONS["unknown"])


def judge(file_name: str, media_type: str, data: bytes) -> Judgement:
    """Sniff ``data`` and compare it with what the name (or media type) promises.

    A PDF or an image whose bytes are what its name says is shown by its viewer; anything
    else (a ZIP named ``.pdf``, a PDF named ``.jpg``, a program) is described, with size
    and digest, and shown by no viewer at all."""
    kind = sniff(data)
    promised = promised_kind(file_name, media_type)
    if len(data) > MAX_VIEW_BYTES:
        return Judgement(kind, None, f"{file_name} is {len(data):,} bytes; the desk shows "
                                     f"documents of at most {MAX_VIEW_BYTES:,} bytes.")
    if promised is not None and kind != promised:
        return Judgement(kind, None, f"{file_name} is not a {NAMES[promised]}: its content is "
                                     f"{DESCRIPTIONS.get(kind, DESCRIPTIONS['unknown'])}.")
    if kind == PDF:
        return Judgement(kind, "pdf")
    if kind in IMAGES:
        return Judgement(kind, "image")
    return Judgement(kind, None, f"{file_name} cannot be shown in the desk: its content is "
                                 f"{DESCRIPTIONS.get(kind, DESCRIPTIONS['unknown'])}.")


def check_image(file_name: str, data: bytes) -> str:
    """One line on what is wrong with an image's bytes (damaged, truncated, too many
    pixels), or "" when Pillow decodes it whole."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return (f"{file_name} is an image of {width:,} × {height:,} pixels; the "
                            f"desk shows images of at most {MAX_IMAGE_PIXELS:,} pixels.")
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # verify() does not decode: a truncated scan fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"{file_name} is an image with too many pixels to show safely."
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        log.warning("image %s did not decode: %s", file_name, exc)
        return f"{file_name} could not be shown: the image is damaged or incomplete."
    return ""
