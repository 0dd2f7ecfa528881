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
    ink, or when ``out_path`` cannot be written: that is found out before the work, by
    making the temporary file the PNG is written through. Other warnings are in the
    returned result.
    """
    out = check_output_path(out_path, in_path)
    tmp = _reserve(out)
    try:
        image = load_image(in_path, max_bytes=max_bytes)
        result = clean_ink(image, strength=strength, kind=kind, max_side=max_side)
        if not result.has_ink:
            message = next(w.message for w in result.warnings if w.code == "no_ink")
            raise ImageRejected(f"Nothing written: {message}")
        try:
            _write_and_replace(png_bytes(result.image, result.dpi), tmp, out)
        except OSError as exc:
            raise ImageRejected(f"Cannot write {out}: {exc.strerror or exc}.") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone already when the PNG was written
    log.info("cleaned %s into %s (%dx%d, box %s)", in_path if not isinstance(
        in_path, bytes | bytearray | memoryview) else "image bytes", out,
        result.image.width, result.image.height, result.box)
    return result


def check_output_path(out_path: str | os.PathLike[str], in_path: Source | None = None) -> Path:
    """The output path, refused (ImageRejected) unless it names a new or regular *.png
    file, other than the input, in an existing folder."""
    out = Path(out_path)
    try:
        if out.suffix.lower() != ".png":
            raise ImageRejected(f"{out.name}: the cleaned image is saved as PNG; name it *.png.")
        if out.is_dir():
            raise ImageRejected(f"{out} is a folder; name the PNG file to write.")
        if not out.parent.is_dir():
            raise ImageRejected(f"The folder {out.parent} does not exist.")
        if out.exists() and not out.is_file():
            raise ImageRejected(f"{out} is not a regular file; choose another name.")
        if isinstance(in_path, str | os.PathLike) and out.exists() and Path(in_path).exists() \
                and os.path.samefile(out, in_path):
            raise ImageRejected(f"{out} is the scan itself; write the cleaned PNG elsewhere.")
    except OSError as exc:
        raise ImageRejected(f"Cannot write {out}: {exc.strerror or exc}.") from None
    except ValueError:  # a NUL character in the name
        raise ImageRejected(f"{out_path!r} is not a usable file name.") from None
    return out


def _reserve(out: Path) -> str:
    """Make the temporary file the PNG goes through (next to ``out``): proof, before any
    work, that the folder can be written to."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise ImageRejected(f"Cannot write {out}: {exc.strerror or exc}.") from None
    os.close(fd)
    return tmp


def _write_and_replace(data: bytes, tmp: str, out: Path) -> None:
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)


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
    os.close(fd)
    try:
        _write_and_replace(data, tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
