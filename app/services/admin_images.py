"""Preparing a stamp or signature upload for the administrator's dialog (no Qt here).

The dialog calls these from worker threads:

1. :func:`prepare_upload` reads and checks the file (ImageRejected names the problem),
   analyses the ink once, and keeps a small copy of the original for "before".
2. :meth:`PreparedUpload.render` turns a strength into the cleaned ink (~30 ms), as raw
   RGBA bytes for the screen and, on demand, as the PNG to store.
3. :func:`certification_preview` renders a sample certificate whose certification box
   carries the new stamp or signature (with the office's or officer's other image), so
   the administrator sees it where it will be printed.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.imaging import (
    MAX_OUTPUT_SIDE,
    CleanResult,
    ImageRejected,
    InkAnalysis,
    InkWarning,
    analyse_ink,
    load_image,
    png_bytes,
)

log = logging.getLogger(__name__)

BEFORE_SIDE = 900  # long side of the "before" copy kept for the screen
CERTIFICATE_INK_SIDE = 420  # long side of the ink drawn into the certificate preview


@dataclass(frozen=True)
class CleanedInk:
    """One rendering of the ink at a strength, for the screen (raw RGBA) and for storing."""

    strength: float
    width: int
    height: int
    rgba: bytes  # raw RGBA, row-major, width*height*4 bytes
    warnings: tuple[InkWarning, ...]
    has_ink: bool
    result: CleanResult

    def png(self) -> bytes:
        """The PNG to store (full compression: call it from a worker)."""
        if not self.has_ink:
            raise ImageRejected(next((w.message for w in self.warnings if w.code == "no_ink"),
                                     "No ink was found in the picture; nothing was stored."))
        return png_bytes(self.result.image, self.result.dpi)

    def preview_png(self, side: int = CERTIFICATE_INK_SIDE) -> bytes:
        """A quick, smaller PNG for the certificate preview."""
        image = self.result.image
        if max(image.size) > side:
            image = image.copy()
            image.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()


@dataclass
class PreparedUpload:
    """A checked, analysed upload; ``render`` may be called from any thread."""

    name: str
    kind: str  # "stamp" | "signature"
    source_size: tuple[int, int]
    before_rgb: bytes  # raw RGB of the original, reduced to BEFORE_SIDE
    before_size: tuple[int, int]
    analysis: InkAnalysis

    def render(self, strength: float) -> CleanedInk:
        result = self.analysis.render(strength)
        image = result.image
        return CleanedInk(strength=strength, width=image.width, height=image.height,
                          rgba=image.tobytes("raw", "RGBA"), warnings=result.warnings,
                          has_ink=result.has_ink, result=result)


def prepare_upload(source: str | os.PathLike[str] | bytes, kind: str, *,
                   max_bytes: int | None = None,
                   progress: Callable[[str], None] | None = None) -> PreparedUpload:
    """Read, check and analyse a scan or photo; ImageRejected says what is wrong."""
    say = progress or (lambda _message: None)
    if kind not in ("stamp", "signature"):
        raise ValueError(f"kind must be stamp or signature, not {kind!r}")
    name = "the image" if isinstance(source, bytes) else Path(source).name
    kwargs = {"max_bytes": max_bytes} if max_bytes is not None else {}
    say(f"Reading {name}…")
    image = load_image(source, **kwargs)
    before = image.copy()
    before.thumbnail((BEFORE_SIDE, BEFORE_SIDE), Image.Resampling.BILINEAR)
    say(f"Finding the ink in {image.width}×{image.height} pixels…")
    analysis = analyse_ink(image, kind=kind, max_side=MAX_OUTPUT_SIDE)
    log.info("prepared %s upload %s (%dx%d)", kind, name, image.width, image.height)
    return PreparedUpload(name=name, kind=kind, source_size=image.size,
                          before_rgb=before.tobytes("raw", "RGB"), before_size=before.size,
                          analysis=analysis)


@dataclass(frozen=True)
class CertificatePreview:
    """A sample certificate carrying the images, and where its certification box is."""

    pdf: bytes
    page: int  # 0-based
    box: tuple[float, float, float, float]  # certification box, PDF points x1, y1, x2, y2


def certification_preview(*, stamp_png: bytes | None, signature_png: bytes | None,
                          office_code: str = "MUM", office_name: str = "", place: str = "",
                          officer_name: str = "") -> CertificatePreview:
    """A draft non-preferential certificate with these images in its certification box."""
    from app.documents.certificate_data import IssuingOffice
    from app.documents.renderer import render_certificate
    from app.documents.samples import sample_certificate

    data = sample_certificate("NONPREF", issued=False, goods=2, images=False)
    office = IssuingOffice(code=office_code or data.issuing_office.code,
                           name=office_name or data.issuing_office.name,
                           place=place or data.issuing_office.place)
    data = dataclasses.replace(
        data, issuing_office=office, officer_name=officer_name or data.officer_name,
        stamp_png=stamp_png, signature_png=signature_png,
    )
    rendered = render_certificate(data, draft=True)
    return CertificatePreview(pdf=rendered.pdf, page=rendered.certification_page,
                              box=rendered.certification_box)


@dataclass(frozen=True)
class UploadTarget:
    """Whose stamp or signature is being uploaded, and what to show beside it."""

    kind: str  # "stamp" | "signature"
    target_id: int  # office id (stamp) or user id (signature)
    title: str  # "Stamp of office MUM — Mumbai Regional Office"
    office_code: str
    office_name: str
    place: str
    officer_name: str
    companion_png: bytes | None  # the other image of the certification box, if stored
    current_png: bytes | None  # the image stored now
