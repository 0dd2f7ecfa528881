"""Stamp and signature image clean-up: Pillow only.

The public API (for the administrator's dialog, the CLI and the document renderer):

- :func:`load_image` reads and checks an uploaded file into an upright RGB image, or
  raises :class:`ImageRejected` with a message naming the problem.
- :func:`clean_ink` gives a :class:`CleanResult`: the ink as RGBA on transparency,
  cropped (``box`` in source pixels) and bounded (``MAX_OUTPUT_SIDE``), plus warnings.
- :func:`analyse_ink` + :meth:`InkAnalysis.render` split that for a slider: analyse once
  (``max_side=PREVIEW_SIDE`` for speed), render each strength in a few tens of ms.
- :func:`clean_image_file` does file to PNG file, atomically.
"""

from app.imaging.cleaning import (
    KINDS,
    MAX_OUTPUT_SIDE,
    PREVIEW_SIDE,
    CleanResult,
    InkAnalysis,
    InkWarning,
    analyse_ink,
    clean_ink,
)
from app.imaging.errors import ImageRejected
from app.imaging.files import clean_image_file, png_bytes, write_png_atomically
from app.imaging.loading import MAX_FILE_BYTES, MAX_PIXELS, load_image, to_rgb

__all__ = [
    "KINDS",
    "MAX_FILE_BYTES",
    "MAX_OUTPUT_SIDE",
    "MAX_PIXELS",
    "PREVIEW_SIDE",
    "CleanResult",
    "ImageRejected",
    "InkAnalysis",
    "InkWarning",
    "analyse_ink",
    "clean_image_file",
    "clean_ink",
    "load_image",
    "png_bytes",
    "to_rgb",
    "write_png_atomically",
]
