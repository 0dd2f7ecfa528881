"""Opening an uploaded stamp or signature file safely, and turning it into plain RGB.

Every check happens before the pixels are decoded where it can: the file's size on disk,
what kind of file it is, and the pixel count its header announces (decompression bombs).
Anything unusable raises :class:`ImageRejected` with a message naming the problem.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.imaging.errors import ImageRejected

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Largest file accepted: 20 MB (an A4 colour scan at 600 dpi as JPEG is ~5-10 MB)."""

MAX_PIXELS = 40_000_000
"""Largest pixel count accepted: 40 megapixels (A4 at 600 dpi is 34.8 MP)."""

MIN_SIDE = 16
"""Smallest width or height accepted, in pixels."""

ACCEPTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "TIFF", "WEBP", "GIF", "BMP")
_FORMAT_NAMES = "PNG, JPEG, TIFF, WebP, GIF or BMP"

Source = bytes | bytearray | memoryview | str | os.PathLike[str]


def load_image(source: Source, *, max_bytes: int = MAX_FILE_BYTES,
               max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Read, check and decode an image file (or its bytes) into an upright RGB image.

    Transparent areas become white paper, greyscale, 1-bit, palette, CMYK and 16-bit
    images become 8-bit RGB, an animated GIF or WebP gives its first frame, and a photo
    with an EXIF orientation is turned upright.
    Raises ImageRejected when the file is missing, empty, too large, not an image, damaged
    or truncated, or announces more than ``max_pixels`` pixels.
    """
    name, data = _read(source, max_bytes)
    _refuse_known_non_images(name, data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(name, data, max_pixels)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(f"{name}: {exc}. Use a smaller scan.") from exc
        except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, ...
            raise ImageRejected(
                f"{name} is damaged or truncated ({exc}). Scan the document again or "
                "re-save it from the scanning program."
            ) from exc
    image = _upright(image, name)
    return to_rgb(image, name)


def to_rgb(image: Image.Image, name: str = "the image") -> Image.Image:
    """A new 8-bit RGB image from any Pillow mode; transparency is flattened onto white."""
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode == "1":
        return image.convert("L").convert("RGB")
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_l(image).convert("RGB")
    if mode in ("P", "PA", "LA", "La", "RGBA", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageRejected(
            f"{name} uses the colour mode {mode}, which Origin Desk cannot convert: save it "
            "as an RGB or greyscale PNG or JPEG."
        ) from exc


def _read(source: Source, max_bytes: int) -> tuple[str, bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = "The image"
    else:
        path = Path(source)
        name = path.name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ImageRejected(f"{path} does not exist.") from None
        except OSError as exc:
            raise ImageRejected(f"{path} cannot be read: {exc.strerror or exc}.") from exc
        if not path.is_file():
            raise ImageRejected(f"{path} is not a file.")
        _check_size(name, size, max_bytes)
        try:
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as exc:
            raise ImageRejected(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    _check_size(name, len(data), max_bytes)
    return name, data


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size == 0:
        raise ImageRejected(f"{name} is empty (0 bytes): choose the scanned image file.")
    if size > max_bytes:
        raise ImageRejected(
            f"{name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. "
            "Scan at 300 dpi, or save the scan as JPEG."
        )


def _refuse_known_non_images(name: str, data: bytes) -> None:
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf"):
        raise ImageRejected(
            f"{name} is a PDF document, not an image: export the page as PNG or JPEG."
        )
    if head.startswith(b"<") and (b"<svg" in head or b"<!doctype svg" in head):
        raise ImageRejected(
            f"{name} is an SVG drawing, not a scanned image: export it as PNG, or upload "
            "a scan of the stamped or signed paper."
        )


def _open(name: str, data: bytes, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            f"{name} is not an image Origin Desk can read: use a {_FORMAT_NAMES} file."
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            f"{name} announces too many pixels ({exc}); the limit is "
            f"{max_pixels / 1e6:.0f} megapixels. Use a smaller scan."
        ) from exc
    except Exception as exc:  # a header so broken that the format's parser gives up
        raise ImageRejected(
            f"{name} is damaged or truncated ({exc}): scan the document again."
        ) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            f"{name} is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels. Scan at 300 dpi or reduce "
            "the image."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(
            f"{name} is only {width} x {height} pixels: too small for a stamp or signature "
            "(scan at 300 dpi)."
        )
    if getattr(image, "n_frames", 1) > 1:
        log.info("%s has %d frames; using the first", name, image.n_frames)
        image.seek(0)
    return image


def _upright(image: Image.Image, name: str) -> Image.Image:
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception as exc:  # a broken EXIF block must not lose the picture
        log.warning("%s: ignoring unreadable EXIF orientation (%s)", name, exc)
        return image
    return image if upright is None else upright


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit or 32-bit greyscale to 8-bit: scaled by the bit depth the values use."""
    if image.mode != "F":
        image = image.convert("I")
    low, high = image.getextrema()
    if image.mode == "F" and low >= 0.0 and high <= 1.0:
        factor = 255.0
    elif high <= 255:
        factor = 1.0
    else:
        factor = 255.0 / (2 ** int(high).bit_length() - 1)
    return image.point(lambda v: v * factor).convert("L")
