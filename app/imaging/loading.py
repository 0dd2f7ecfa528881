"""Opening an uploaded stamp or signature file safely, and turning it into plain RGB.

Every check happens before the pixels are decoded where it can: the file's size on disk,
what kind of file it is, and the pixel count its header announces (decompression bombs).
Anything unusable raises :class:`ImageRejected` with a message naming the problem.

Truncated files are refused, never filled in: Pillow's ``LOAD_TRUNCATED_IMAGES`` is kept
off while decoding, and a JPEG whose data stops short but still ends with an end-of-image
marker (libjpeg then paints the missing part grey, with only a warning) is caught by
decoding it a second time with padding in front of that marker: a complete JPEG decodes
to the same pixels, a truncated one does not (see :func:`_refuse_short_jpeg`).
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

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
    _quiet_libtiff()
    truncated_allowed = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is refused, never filled in
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open(name, data, max_pixels)
            try:
                image.load()
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageRejected(f"{name}: {exc}. Use a smaller scan.") from exc
            except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, ...
                raise ImageRejected(_damaged(name, exc)) from exc
            _refuse_short_jpeg(name, data, image)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_allowed
    image = _upright(image, name)
    return to_rgb(image, name)


_libtiff_quiet = False


def _quiet_libtiff() -> None:
    """libtiff prints its decoding errors on standard error itself (Pillow gets them as
    an error code as well, and refuses the file): send them nowhere, so that a damaged
    TIFF is told in one line. Linux only (the loaded library is found in /proc/self/maps);
    elsewhere, or when it cannot be done, nothing changes."""
    global _libtiff_quiet
    if _libtiff_quiet:
        return
    _libtiff_quiet = True
    try:
        import ctypes

        from PIL import features

        maps = Path("/proc/self/maps")
        if not features.check_codec("libtiff") or not maps.exists():
            return
        paths = {line.split()[-1] for line in maps.read_text().splitlines()
                 if "/libtiff" in line and line.split()[-1].startswith("/")}
        for path in paths:
            library = ctypes.CDLL(path)  # the instance already loaded by Pillow
            for setter in ("TIFFSetErrorHandler", "TIFFSetWarningHandler"):
                function = getattr(library, setter)
                function.restype = ctypes.c_void_p
                function.argtypes = [ctypes.c_void_p]
                function(None)
    except Exception as exc:  # noqa: BLE001 - only the noise on standard error is at stake
        log.debug("libtiff's messages stay on standard error: %s", exc)


def _damaged(name: str, exc: BaseException | str) -> str:
    return (f"{name} is damaged or truncated ({exc}). Scan the document again or re-save "
            "it from the scanning program.")


# bytes a decoder skips after complete data, but decodes as varied (non-zero) values when
# the data stopped short; no FF in them, so they hold no marker
_JPEG_PADDING = bytes((i * 73 + 41) % 255 for i in range(512))


def _refuse_short_jpeg(name: str, data: bytes, image: Image.Image) -> None:
    """Refuse a JPEG whose compressed data ends before the picture does.

    libjpeg meets the end-of-image marker early, warns (Pillow keeps quiet) and paints
    the rest grey. Bytes put in front of that marker are skipped by the decoder when the
    picture's data is complete, but decoded as picture data when it is not: the two
    decodes differ when the file is short. Sequential JPEGs are compared decoded at 1/4
    scale (quick; every block after the cut changes); progressive ones, and ones with
    restart markers (where the padding reaches only the interval that was cut), at full
    size. With restart markers, a cut exactly between two intervals changes no pixel:
    there the count of restart markers tells (an interval of MCUs each).
    """
    if not data.startswith(b"\xff\xd8"):
        return
    layout = _jpeg_layout(data)
    if layout is None:  # a structure we cannot walk: Pillow's own checks stand
        return
    short = layout.expected_restarts is not None and layout.restarts < layout.expected_restarts
    if not short:
        padded = data[:layout.end] + _JPEG_PADDING + data[layout.end:]
        try:
            if layout.progressive or layout.restart_interval:
                short = not _same_pixels(image, _decode_jpeg(padded, scale=1))
            else:
                short = not _same_pixels(_decode_jpeg(data, scale=4),
                                         _decode_jpeg(padded, scale=4))
        except Exception as exc:  # noqa: BLE001 - the padded copy does not decode: unsound data
            log.info("%s: the JPEG check could not decode (%s)", name, exc)
            short = True
    if short:
        raise ImageRejected(_damaged(name, "its data ends before the picture does"))


def _decode_jpeg(data: bytes, *, scale: int) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=("JPEG",))
    if scale > 1:
        image.draft(image.mode, (max(1, image.width // scale), max(1, image.height // scale)))
    image.load()
    return image


def _same_pixels(a: Image.Image, b: Image.Image, rows: int = 256) -> bool:
    """Equal size, mode and pixels (compared a strip at a time, to keep memory low)."""
    if a.size != b.size or a.mode != b.mode:
        return False
    width, height = a.size
    for top in range(0, height, rows):
        box = (0, top, width, min(height, top + rows))
        if a.crop(box).tobytes() != b.crop(box).tobytes():
            return False
    return True


@dataclass
class _JpegLayout:
    end: int  # where the end-of-image marker (FF D9) of the first picture starts
    progressive: bool = False
    restart_interval: int = 0  # MCUs between restart markers (DRI); 0: none
    restarts: int = 0  # restart markers met in the scans
    expected_restarts: int | None = None  # known for one sequential scan of every component


_SOF_MARKERS = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7,
                          0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_SOF_PROGRESSIVE = frozenset((0xC2, 0xC6, 0xCA, 0xCE))


def _jpeg_layout(data: bytes) -> _JpegLayout | None:
    """Follow the JPEG's markers to the end-of-image marker of its first picture; None
    when they cannot be followed (no such marker after the last scan: such a file is
    refused by Pillow as truncated)."""
    size, i = len(data), 2
    progressive, interval, restarts, scans = False, 0, 0, 0
    frame: tuple[int, int, list[tuple[int, int]]] | None = None  # width, height, sampling
    scan_components = 0
    while i < size:
        if data[i] != 0xFF:
            return None
        while i < size and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= size:
            return None
        marker = data[i]
        i += 1
        if marker == 0xD9:
            layout = _JpegLayout(i - 2, progressive, interval, restarts)
            if interval and scans == 1 and not progressive and frame is not None \
                    and scan_components == len(frame[2]):
                mcus = _mcu_count(*frame)
                layout.expected_restarts = max(0, -(-mcus // interval) - 1)
            return layout
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        if i + 2 > size:
            return None
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2 or i + length > size:
            return None
        segment = data[i + 2:i + length]
        if marker in _SOF_MARKERS:
            progressive = progressive or marker in _SOF_PROGRESSIVE
            frame = _frame(segment)
        elif marker == 0xDD and len(segment) >= 2:  # define restart interval
            interval = int.from_bytes(segment[:2], "big")
        i += length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next marker
            scans += 1
            scan_components = segment[0] if segment else 0
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= size:
                    return None
                following = data[i + 1]
                if 0xD0 <= following <= 0xD7:
                    restarts += 1
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    i += 1  # a stuffed FF, a restart marker, or fill before a marker
                    continue
                break
    return None


def _frame(segment: bytes) -> tuple[int, int, list[tuple[int, int]]] | None:
    if len(segment) < 6:
        return None
    height = int.from_bytes(segment[1:3], "big")
    width = int.from_bytes(segment[3:5], "big")
    count = segment[5]
    if len(segment) < 6 + 3 * count or not count:
        return None
    sampling = [(segment[7 + 3 * k] >> 4, segment[7 + 3 * k] & 0x0F) for k in range(count)]
    if any(h < 1 or v < 1 for h, v in sampling):
        return None
    return width, height, sampling


def _mcu_count(width: int, height: int, sampling: list[tuple[int, int]]) -> int:
    if len(sampling) == 1:  # one component: an MCU is one 8 x 8 block
        return -(-width // 8) * -(-height // 8)
    h_max = max(h for h, _ in sampling)
    v_max = max(v for _, v in sampling)
    return -(-width // (8 * h_max)) * -(-height // (8 * v_max))


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
