"""Stamp and signature images, encoded once per process and reused in every PDF.

reportlab's ``drawImage`` decodes and deflates an image for every document (~3 ms per
RGBA image). Here a PNG is decoded once: its colour and its alpha channel are deflated
into the streams of a PDF image XObject and a soft mask (transparency kept), cached by the
PNG's SHA-256, and each document only registers those ready-made streams.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from app.errors import UserFacingError

MAX_SOURCE_PIXELS = 25_000_000
MAX_SIDE = 900  # pixels kept on the long side: ~450 dpi at the 50 mm a stamp prints at
_CACHE_SIZE = 32


class ImageUnusableError(UserFacingError):
    pass


@dataclass(frozen=True)
class EncodedImage:
    name: str  # unique per content
    width: int
    height: int
    rgb_stream: bytes  # deflated 8-bit RGB
    alpha_stream: bytes | None  # deflated 8-bit alpha, None when fully opaque

    @property
    def aspect(self) -> float:
        return self.width / self.height


_cache: OrderedDict[bytes, EncodedImage] = OrderedDict()
_lock = threading.Lock()


def encoded_image(png: bytes, what: str = "image") -> EncodedImage:
    """The encoded form of a PNG, from the cache when it was seen before."""
    key = hashlib.sha256(png).digest()
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    image = _encode(png, key, what)
    with _lock:
        _cache[key] = image
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return image


def _encode(png: bytes, key: bytes, what: str) -> EncodedImage:
    try:
        with Image.open(io.BytesIO(png)) as source:
            if source.width * source.height > MAX_SOURCE_PIXELS:
                raise ImageUnusableError(
                    f"the {what} is {source.width}×{source.height} pixels; upload a smaller scan"
                )
            rgba = source.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageUnusableError(f"the {what} cannot be read ({exc}); upload it again") from None
    if max(rgba.size) > MAX_SIDE:
        rgba.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    alpha = rgba.getchannel("A")
    lo, _hi = alpha.getextrema()
    rgb = rgba.convert("RGB")
    return EncodedImage(
        name="odimg" + key[:12].hex(),
        width=rgba.width,
        height=rgba.height,
        rgb_stream=zlib.compress(rgb.tobytes(), 6),
        alpha_stream=None if lo == 255 else zlib.compress(alpha.tobytes(), 6),
    )


def _xobject(name: str, image: EncodedImage, stream: bytes, colour_space: str):
    xobj = pdfdoc.PDFImageXObject(name)
    xobj.width, xobj.height = image.width, image.height
    xobj.bitsPerComponent = 8
    xobj.colorSpace = colour_space
    xobj._filters = ("FlateDecode",)
    xobj.streamContent = stream
    xobj.mask = None
    return xobj


def draw_encoded_image(
    canvas: Canvas, image: EncodedImage, x: float, y: float, width: float, height: float
) -> None:
    """Draw ``image`` scaled into the box (x, y, width, height), aspect ratio kept, centred.

    Mirrors what ``Canvas.drawImage`` does with a new image, minus the encoding.
    """
    doc = canvas._doc
    reg_name = doc.getXObjectName(image.name)
    if reg_name not in doc.idToObject:
        xobj = _xobject(image.name, image, image.rgb_stream, "DeviceRGB")
        canvas._setXObjects(xobj)
        doc.Reference(xobj, reg_name)
        doc.addForm(image.name, xobj)
        if image.alpha_stream is not None:
            mask_name = image.name + "a"
            smask = _xobject(mask_name, image, image.alpha_stream, "DeviceGray")
            smask._decode = [0, 1]
            canvas._setXObjects(smask)
            xobj.smask = doc.Reference(smask, doc.getXObjectName(mask_name))
    scale = min(width / image.width, height / image.height)
    w, h = image.width * scale, image.height * scale
    canvas.saveState()
    canvas.translate(x + (width - w) / 2, y + (height - h) / 2)
    canvas.scale(w, h)
    canvas._code.append(f"/{reg_name} Do")
    canvas.restoreState()
    canvas._formsinuse.append(image.name)
    canvas._currentPageHasImages = 1
