"""Cleaning an image file into a PNG file, written atomically (nothing on failure)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from pathlib import Path

from PIL import Image

from app.imaging.cleaning import MAX_OUTPUT_SIDE, CleanResult, Kind, clean_ink
from app.imaging.errors import ImageRejected
from app.imaging.loading import MAX_FILE_BYTES, Source, load_image

log = logging.getLogger(__name__)


def clean_image_file(in_path: Source, out_path: str | os.PathLike[str], *,
                     kind: Kind | str = "stamp", strength: float = 0.5,
                     max_side: int = MAX_OUTPUT_SIDE,
                     max_bytes: int = MAX_FILE_BYTES) -> CleanResult:
    """Load ``in_path``, clean it and write the ink as an RGBA PNG at ``out_path``.

    Raises ImageRejected (and writes nothing) when the input is unusable or holds no
    ink; other warnings are in the returned result.
    """
    out = Path(out_path)
    if out.suffix.lower() != ".png":
        raise ImageRejected(f"{out.name}: the cleaned image is saved as PNG; name it *.png.")
    if not out.parent.is_dir():
        raise ImageRejected(f"The folder {out.parent} does not exist.")
    image = load_image(in_path, max_bytes=max_bytes)
    result = clean_ink(image, strength=strength, kind=kind, max_side=max_side)
    if not result.has_ink:
        message = next(w.message for w in result.warnings if w.code == "no_ink")
        raise ImageRejected(f"Nothing written: {message}")
    write_png_atomically(result.image, out, dpi=result.dpi)
    log.info("cleaned %s into %s (%dx%d, box %s)", in_path if not isinstance(
        in_path, bytes | bytearray | memoryview) else "image bytes", out,
        result.image.width, result.image.height, result.box)
    return result


def png_bytes(image: Image.Image, dpi: tuple[float, float] | None = None) -> bytes:
    """The image as PNG bytes (for storing a stamp or signature in the database)."""
    buffer = io.BytesIO()
    extra = {"dpi": dpi} if dpi else {}
    image.save(buffer, "PNG", **extra)
    return buffer.getvalue()


def write_png_atomically(image: Image.Image, out_path: str | os.PathLike[str],
                         dpi: tuple[float, float] | None = None) -> None:
    """Write a PNG through a temporary file in the same folder and a rename, so that
    ``out_path`` is either the complete new image or untouched."""
    out = Path(out_path)
    data = png_bytes(image, dpi)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
