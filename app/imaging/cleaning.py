"""Turning a stamp or signature scan into ink on a transparent background.

How it works (whole-image Pillow operations in C; no per-pixel Python):

1. **Paper** (:mod:`app.imaging.paper`): the local paper colour on a ~256 px grid, which
   follows lighting gradients, shadows and yellowed paper but not the ink.
2. **Darkness**: each channel divided by the local paper (flat-fielding);
   ``D = max_c (1 - I_c / paper_c)`` sees coloured inks as well as black.
3. **Finding the ink** on a ~1000 px copy: paper noise and the ink's full darkness ``k``
   come from the histogram of ``D``; the crop comes from the ink mask's row and column
   profiles (:mod:`app.imaging.inkbox`).
4. **The ink itself**, on the crop's source pixels (reduced so that the output's long
   side stays within ``max_side``): alpha is a soft ramp of ``D`` relative to the darkest
   ink within a few pixels (uneven inking and thin strokes keep their true outline),
   with hysteresis (weak ink survives only next to strong ink). The colour is un-mixed
   from the paper: with coverage ``a = D / k``, ``colour_c = 1 - D_c / a``, so the
   anti-aliased edge pixels carry the ink's colour, not a paper halo; colours near the
   main ink are then pulled onto it (JPEG's half-resolution colour washes thin strokes).

:func:`analyse_ink` does all that does not depend on ``strength`` once; the returned
:class:`InkAnalysis` renders any ``strength`` in a few tens of milliseconds, for a
dialog's slider. :func:`clean_ink` is both in one call.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image, ImageChops, ImageFilter, ImageMath, ImageStat

from app.imaging.inkbox import ink_box
from app.imaging.loading import to_rgb
from app.imaging.morphology import at_least, dilate_mask, max_filter, min_filter
from app.imaging.paper import MIN_CONTRAST, darkness, estimate_paper, paper_reciprocal

log = logging.getLogger(__name__)

Kind = Literal["stamp", "signature"]
KINDS: tuple[str, ...] = ("stamp", "signature")

MAX_OUTPUT_SIDE = 1200
"""The cleaned image's longest side is at most this many pixels (by default)."""

PREVIEW_SIDE = 800
"""A good ``max_side`` for a quick preview while a slider moves."""

MIN_OUTPUT_SIDE = 64
"""The smallest ``max_side`` a caller may ask for."""

DETECT_SIDE = 800  # long side of the copy on which the ink is found
BACKGROUND_SIDE = 256  # long side of the grid on which the paper is estimated
LOCAL_INK_RADIUS = 5  # output pixels: how far to look for the local ink's darkness
FAINT_CONTRAST = 70  # full ink darkness (of 255) below which the ink is called faint
MIN_INK_SIDE = 80  # source pixels: an ink mark smaller than this is poorly resolved
SNAP_DISTANCE = 70  # colours this close (largest channel difference) to the ink become it


@dataclass(frozen=True)
class InkWarning:
    """Something the administrator should know about the result (shown, not raised)."""

    code: str  # "no_ink" | "faint_ink" | "not_ink_like" | "small_ink" | "ink_at_edge"
    message: str


@dataclass(frozen=True)
class CleanResult:
    """The ink on a transparent background, and where it came from."""

    image: Image.Image  # RGBA, longest side <= max_side; 1x1 transparent when no ink
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the source image
    scale: float  # output pixels per source pixel (1.0, or less when reduced)
    ink_rgb: tuple[int, int, int]  # the main ink's colour, as on white paper
    warnings: tuple[InkWarning, ...] = ()
    dpi: tuple[float, float] | None = None  # of the output, when the source said

    @property
    def has_ink(self) -> bool:
        return not any(w.code == "no_ink" for w in self.warnings)

    @property
    def warning_codes(self) -> tuple[str, ...]:
        return tuple(w.code for w in self.warnings)


@dataclass
class InkAnalysis:
    """Everything about a scan that does not depend on ``strength``.

    ``render(strength)`` only applies a lookup table and a few image operations to
    images of at most ``max_side`` pixels, so a dialog can re-render on each slider move
    (from a worker thread: an analysis is not changed by rendering).
    """

    kind: str
    source_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]  # source coordinates of the analysed region
    scale: float
    darkness_max: Image.Image | None  # D (L, 0 = paper), None when there is no ink
    relative: Image.Image | None  # D over the local ink's darkness (L, 255 = 1.0)
    colour: Image.Image | None  # the un-mixed ink colour (RGB)
    noise: float  # darkness of paper that is still paper (of 255)
    ink_darkness: float  # the ink's full darkness k (of 255)
    ink_rgb: tuple[int, int, int]  # the main ink's colour, from stroke interiors
    ink_fraction: float  # share of the page that is clearly ink
    colour_spread: float  # standard deviation of the ink's colour (one ink: ~10-25)
    dpi: tuple[float, float] | None
    warnings: list[InkWarning] = field(default_factory=list)

    def render(self, strength: float = 0.5) -> CleanResult:
        return _render(self, _check_strength(strength))


def clean_ink(image: Image.Image, *, strength: float = 0.5, kind: Kind | str = "stamp",
              max_side: int = MAX_OUTPUT_SIDE) -> CleanResult:
    """Clean one stamp or signature scan: the ink on a transparent background.

    ``strength`` 0..1: 0 keeps the faintest ink (bolder strokes), 1 removes the most
    (thinner strokes, faint marks dropped); 0.5 renders the ink at its true outline.
    ``max_side`` bounds the output's longest side (default 1200; 800 for a preview).
    Problems with the picture come back as ``warnings``, never as exceptions; a bad
    argument raises ValueError.
    """
    strength = _check_strength(strength)
    return analyse_ink(image, kind=kind, max_side=max_side).render(strength)


def analyse_ink(image: Image.Image, *, kind: Kind | str = "stamp",
                max_side: int = MAX_OUTPUT_SIDE) -> InkAnalysis:
    """The strength-independent part of :func:`clean_ink`; ``.render(strength)`` ends it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not isinstance(max_side, int) or max_side < MIN_OUTPUT_SIDE:
        raise ValueError(f"max_side must be a whole number of at least {MIN_OUTPUT_SIDE}")
    rgb = image if image.mode == "RGB" else to_rgb(image)
    width, height = rgb.size
    dpi = _dpi(image)
    name = "stamp" if kind == "stamp" else "signature"

    # 1-2: the paper on a small grid; the darkness on a ~1000 px working copy.
    f_work = max(1, math.ceil(max(width, height) / DETECT_SIDE))
    work = rgb.reduce(f_work) if f_work > 1 else rgb
    f_small = max(1, round(max(work.size) / BACKGROUND_SIDE))
    paper_small = estimate_paper(work, f_small)
    reciprocal = paper_reciprocal(paper_small)
    d_work = darkness(work, reciprocal)

    # 3: paper noise, the ink's darkness, the ink's box.
    noise = d_work.histogram.noise_floor()
    k_rough = d_work.histogram.percentile(max(noise, MIN_CONTRAST), 0.9)
    strong_level = max(noise + 4, MIN_CONTRAST, 0.5 * k_rough)
    strong = at_least(d_work.max, strong_level)
    n_pixels = work.size[0] * work.size[1]
    n_strong = strong.histogram()[255]
    if k_rough < max(MIN_CONTRAST, 2.5 * noise) or n_strong < max(12, n_pixels * 2e-5):
        return _no_ink(kind, rgb.size, dpi, noise, k_rough)
    weak_level = max(noise + 2, 0.25 * k_rough)
    weak = at_least(d_work.max, weak_level)
    box_work = ink_box(ImageChops.multiply(weak, dilate_mask(strong, 2)))
    if box_work is None:
        return _no_ink(kind, rgb.size, dpi, noise, k_rough)

    # The crop in source pixels, with a margin, and the scale that bounds the output.
    bx0, by0, bx1, by1 = (v * f_work for v in box_work)
    bx1, by1 = min(width, bx1), min(height, by1)
    margin = max(6, round(0.04 * max(bx1 - bx0, by1 - by0)))
    crop_box = (max(0, bx0 - margin), max(0, by0 - margin),
                min(width, bx1 + margin), min(height, by1 + margin))
    cw, ch = crop_box[2] - crop_box[0], crop_box[3] - crop_box[1]
    scale = min(1.0, max_side / max(cw, ch))
    out_size = (max(1, math.floor(cw * scale)), max(1, math.floor(ch * scale)))
    if scale < 1.0:
        crop = rgb.resize(out_size, Image.Resampling.HAMMING, box=crop_box)
    else:
        crop = rgb.crop(crop_box)
    f_paper = f_work * f_small
    paper_box = (crop_box[0] / f_paper, crop_box[1] / f_paper,
                 crop_box[2] / f_paper, crop_box[3] / f_paper)
    d = darkness(crop, reciprocal, paper_box)

    # 4 (the strength-independent part): noise, full darkness, relative darkness, colour.
    noise_crop = d.histogram.noise_floor()
    k = max(MIN_CONTRAST, d.histogram.percentile(max(noise_crop, 0.3 * k_rough), 0.9))
    if k < 2 * noise_crop:  # what looked like ink is as faint as the paper's own grain
        return _no_ink(kind, rgb.size, dpi, noise_crop, k)
    relative = _relative_darkness(d.max, k, noise_crop)
    colour = _unmixed_colour(d.bands, d.max, k, max(4.0, 0.05 * k))
    core = at_least(d.max, 0.8 * k)
    ink_rgb = _main_ink(colour, core)
    colour = _snap_to_ink(colour, ink_rgb)
    spread = sum(ImageStat.Stat(colour, core).stddev) / 3 if core.getbbox() else 0.0

    warnings: list[InkWarning] = []
    ink_fraction = n_strong / n_pixels
    if ink_fraction > 0.4 or (spread > 55 and ink_fraction > 0.12):
        warnings.append(InkWarning(
            "not_ink_like",
            f"This does not look like a {name} on paper (it may be a photo, a coloured "
            "picture or a dark background): check the result, or scan the paper itself."))
    if k < FAINT_CONTRAST or k < 4 * noise_crop:
        warnings.append(InkWarning(
            "faint_ink",
            f"The ink is too faint (contrast {k / 2.55:.0f}%): the {name} may come out "
            "patchy. Use a fresh, darker impression or scan with more contrast."))
    ink_side = max(bx1 - bx0, by1 - by0)
    if ink_side < MIN_INK_SIDE:
        warnings.append(InkWarning(
            "small_ink",
            f"The {name} is only {ink_side} pixels across: it will look blurred on the "
            "certificate. Scan at 300 dpi or more."))
    if bx0 <= 0 or by0 <= 0 or bx1 >= width or by1 >= height:
        warnings.append(InkWarning(
            "ink_at_edge",
            f"The ink touches the edge of the image: the {name} may be cut off. Scan it "
            "with some paper around it."))
    return InkAnalysis(kind=kind, source_size=(width, height), crop_box=crop_box, scale=scale,
                       darkness_max=d.max, relative=relative, colour=colour,
                       noise=noise_crop, ink_darkness=k, ink_rgb=ink_rgb,
                       ink_fraction=ink_fraction, colour_spread=spread, dpi=dpi,
                       warnings=warnings)


# --- rendering -------------------------------------------------------------------------


def _render(analysis: InkAnalysis, strength: float) -> CleanResult:
    d_max, relative, colour = analysis.darkness_max, analysis.relative, analysis.colour
    if d_max is None or relative is None or colour is None:
        return _empty_result(analysis, [])
    # Alpha ramps over the darkness relative to the local ink, between lo and hi (of 255);
    # at strength 0.5 its middle (alpha 128) falls where ink covers half a pixel.
    lo = 255 * (0.02 + 0.3 * strength)
    hi = 255 * (0.58 + 0.3 * strength)
    mid = (lo + hi) / 2
    ramp = [0 if v <= lo else 255 if v >= hi else round(255 * (v - lo) / (hi - lo))
            for v in range(256)]
    alpha = relative.point(ramp)
    # Paper stays paper, however it compares with nearby ink.
    noise = analysis.noise
    alpha = ImageChops.multiply(alpha, at_least(d_max, math.floor(noise) + 1))
    # Hysteresis: weak ink only where strong ink is near (drops paper specks).
    strong = at_least(relative, mid)
    alpha = ImageChops.multiply(alpha, dilate_mask(strong, 3))

    bbox = alpha.point(lambda v: 255 if v > 16 else 0).getbbox()
    if bbox is None:
        return _empty_result(analysis, [_no_ink_warning(analysis.kind)])
    # Transparent pixels take the ink colour: viewers that resample colour and alpha
    # apart (PDF soft masks) then show no dark or light fringe.
    solid = Image.new("RGB", colour.size, analysis.ink_rgb)
    result = Image.composite(colour, solid, alpha.point(lambda v: 255 if v else 0))
    result.putalpha(alpha)

    # The final crop: the ink plus a small margin.
    x0, y0, x1, y1 = bbox
    m = max(4, round(0.03 * max(x1 - x0, y1 - y0)))
    x0, y0 = max(0, x0 - m), max(0, y0 - m)
    x1, y1 = min(result.width, x1 + m), min(result.height, y1 + m)
    result = result.crop((x0, y0, x1, y1))
    s = analysis.scale
    cx, cy = analysis.crop_box[0], analysis.crop_box[1]
    if s == 1.0:
        box = (cx + x0, cy + y0, cx + x1, cy + y1)
    else:
        box = (cx + round(x0 / s), cy + round(y0 / s),
               min(analysis.crop_box[2], cx + round(x1 / s)),
               min(analysis.crop_box[3], cy + round(y1 / s)))
    dpi = None if analysis.dpi is None else (analysis.dpi[0] * s, analysis.dpi[1] * s)
    return CleanResult(image=result, box=box, scale=s, ink_rgb=analysis.ink_rgb,
                       warnings=tuple(analysis.warnings), dpi=dpi)


def _empty_result(analysis: InkAnalysis, extra: list[InkWarning]) -> CleanResult:
    return CleanResult(image=Image.new("RGBA", (1, 1), (0, 0, 0, 0)),
                       box=(0, 0, *analysis.source_size), scale=1.0, ink_rgb=(0, 0, 0),
                       warnings=(*analysis.warnings, *extra), dpi=analysis.dpi)


# --- the ink's outline and colour ------------------------------------------------------


def _relative_darkness(d_max: Image.Image, k: float, noise: float) -> Image.Image:
    """Darkness over the local ink's darkness (L, 255 = as dark as the ink nearby).

    The local ink darkness is the darkest (lightly smoothed) ink within a few pixels, and
    at least 45% of the ink's overall darkness ``k``: an unevenly inked stamp or a thin
    stroke then keeps its true outline instead of thinning where the ink is lighter.
    """
    floor = round(max(0.45 * k, noise + 1.0))
    local = max_filter(d_max.filter(ImageFilter.BoxBlur(1)), LOCAL_INK_RADIUS)
    local = local.point(lambda v: max(v, floor))
    ratio = ImageMath.lambda_eval(lambda a: a["d"] / a["l"], d=d_max.convert("F"),
                                  l=local.convert("F"))
    return ratio.point(lambda v: v * 255.0).convert("L")


def _unmixed_colour(bands: tuple[Image.Image, Image.Image, Image.Image], d_max: Image.Image,
                    k: float, floor: float) -> Image.Image:
    """``colour_c = 255 - D_c * k / clamp(D, floor, k)``: the ink with the paper taken out."""
    floor = max(1.0, min(floor, k))
    g_max = k / floor
    gain_lut = [round(255 * (k / min(max(v, floor), k)) / g_max) for v in range(256)]
    gain = d_max.point(gain_lut).convert("F").point(lambda v: v * (g_max / 255.0))
    out = []
    for band in bands:
        product = ImageMath.lambda_eval(lambda a: a["b"] * a["g"], b=band.convert("F"), g=gain)
        out.append(product.point(lambda v: 255.0 - v).convert("L"))
    return Image.merge("RGB", out)


def _main_ink(colour: Image.Image, core: Image.Image) -> tuple[int, int, int]:
    """The mean colour inside the strokes (away from their edges, where JPEG's
    half-resolution colour washes it out)."""
    inner = core
    for erosion in (2, 1):
        eroded = min_filter(core, erosion)
        if eroded.histogram()[255] >= 50:
            inner = eroded
            break
    if inner.getbbox() is None:
        return (0, 0, 0)
    r, g, b = (max(0, min(255, round(m))) for m in ImageStat.Stat(colour, inner).mean)
    return r, g, b


def _snap_to_ink(colour: Image.Image, ink: tuple[int, int, int]) -> Image.Image:
    """Pull colours near the main ink onto it; leave other inks (a second colour) alone."""
    solid = Image.new("RGB", colour.size, ink)
    diff = ImageChops.difference(colour, solid).split()
    distance = ImageChops.lighter(ImageChops.lighter(diff[0], diff[1]), diff[2])
    half = SNAP_DISTANCE / 2
    weight = distance.point(
        lambda v: 255 if v <= half else max(0, round(255 * (SNAP_DISTANCE - v) / half)))
    return Image.composite(solid, colour, weight)


# --- small things ----------------------------------------------------------------------


def _no_ink_warning(kind: str) -> InkWarning:
    name = "stamp" if kind == "stamp" else "signature"
    return InkWarning(
        "no_ink",
        f"No ink found: this looks like blank paper. Check that the {name} is in the "
        "picture and that the scan is not too light.")


def _no_ink(kind: str, size: tuple[int, int], dpi: tuple[float, float] | None, noise: float,
            k: float) -> InkAnalysis:
    log.info("no ink found (paper noise %.1f, ink darkness %.1f)", noise, k)
    return InkAnalysis(kind=kind, source_size=size, crop_box=(0, 0, *size), scale=1.0,
                       darkness_max=None, relative=None, colour=None, noise=noise,
                       ink_darkness=k, ink_rgb=(0, 0, 0), ink_fraction=0.0,
                       colour_spread=0.0, dpi=dpi, warnings=[_no_ink_warning(kind)])


def _check_strength(strength: float) -> float:
    if (isinstance(strength, bool) or not isinstance(strength, int | float)
            or not 0.0 <= float(strength) <= 1.0):
        raise ValueError(f"strength must be between 0 and 1, not {strength!r}")
    return float(strength)


def _dpi(image: Image.Image) -> tuple[float, float] | None:
    dpi = image.info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    return (x, y) if x > 0 and y > 0 else None
