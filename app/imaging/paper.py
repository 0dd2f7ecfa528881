"""The paper under the ink: its local colour, and how much darker than it each pixel is.

``darkness`` is ``255 * (1 - I / paper)`` per channel (flat-fielding): paper is 0 under
any light or tint, and ink is dark in at least one channel whatever its colour (blue ink
darkens red light). Everything here is whole-image Pillow arithmetic; the paper itself is
kept on a small grid (~256 px) and interpolated as needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageMath

from app.imaging.morphology import (
    at_least,
    closing_of_light,
    dilate_mask,
    max_filter,
    min_filter,
)

DARKNESS_OFFSET = 16  # lets the histogram see paper a little lighter than its estimate
MIN_CONTRAST = 20  # darkness (of 255) below which nothing counts as ink
MIN_EDGE = 36  # darkness range over 5 px that only ink's edges reach (soft shadows: ~30)
PAPER_PASSES = 2  # re-estimates of the paper around the ink


@dataclass(frozen=True)
class Histogram:
    """Histogram of darkness + DARKNESS_OFFSET; answers in darkness units (of 255)."""

    counts: list[int]

    def noise_floor(self) -> float:
        """Darkness below which a pixel is paper: the paper peak plus ~3.5 of its widths."""
        hist = self.counts
        peak = max(range(0, 128), key=hist.__getitem__)
        level = hist[peak] * 0.6065  # one standard deviation from the top of a bell
        x = peak
        while x < 254 and hist[x + 1] > level:
            x += 1
        above, below = hist[x], hist[x + 1]
        frac = 0.0 if above == below else (above - level) / (above - below)
        sigma = max(1.0, x + frac - peak)
        return max(1.0, peak - DARKNESS_OFFSET + 3.5 * sigma + 1)

    def percentile(self, start: float, q: float) -> float:
        """The q-quantile of the darkness values at or above start (0 if none)."""
        hist = self.counts
        first = min(255, max(0, math.ceil(start) + DARKNESS_OFFSET))
        total = sum(hist[first:])
        if total == 0:
            return 0.0
        target = q * total
        run = 0
        for v in range(first, 256):
            run += hist[v]
            if run >= target:
                return float(v - DARKNESS_OFFSET)
        return float(255 - DARKNESS_OFFSET)


@dataclass(frozen=True)
class Darkness:
    bands: tuple[Image.Image, Image.Image, Image.Image]  # per channel, L, 0 = paper
    max: Image.Image  # the darkest channel, L
    histogram: Histogram


def paper_reciprocal(paper: Image.Image) -> tuple[Image.Image, ...]:
    """``255 / paper`` per channel, as F images (on the paper's small grid)."""
    out = []
    for band in paper.split():
        p = band.point(lambda v: max(v, 1)).convert("F")
        out.append(ImageMath.lambda_eval(lambda a: 255.0 / a["p"], p=p))
    return tuple(out)


def darkness(rgb: Image.Image, reciprocal: tuple[Image.Image, ...],
             box: tuple[float, float, float, float] | None = None) -> Darkness:
    """The darkness of ``rgb`` against the paper whose reciprocal is given on a small grid;
    ``box`` is the part of that grid that ``rgb`` covers (all of it by default)."""
    top = 255.0 + DARKNESS_OFFSET
    shifted = []
    for channel, recip in zip(rgb.split(), reciprocal, strict=True):
        r = recip.resize(rgb.size, Image.Resampling.BILINEAR, box=box)
        normal = ImageMath.lambda_eval(lambda a: a["c"] * a["r"], c=channel.convert("F"), r=r)
        shifted.append(normal.point(lambda v: top - v).convert("L"))
    d_max_shifted = ImageChops.lighter(ImageChops.lighter(shifted[0], shifted[1]), shifted[2])
    unshift = [max(0, v - DARKNESS_OFFSET) for v in range(256)]
    b0, b1, b2 = (b.point(unshift) for b in shifted)
    return Darkness((b0, b1, b2), d_max_shifted.point(unshift),
                    Histogram(d_max_shifted.histogram()))


def estimate_paper(work: Image.Image, f_small: int) -> Image.Image:
    """The local paper colour (RGB) on a copy of ``work`` reduced by ``f_small``.

    A first guess closes the small copy: ink strokes narrower than ~1/12 of the page
    vanish. That also flattens shadows narrower than that (a finger's), so the ink is
    then told apart by its sharp edges, and the paper is re-estimated from the pixels
    that are not ink (normalised convolution: a blur of the paper-only pixels over a blur
    of the paper mask); the first guess stays only under large solid ink.
    """
    small = work.reduce(f_small) if f_small > 1 else work
    radius = max(2, round(max(small.size) / 24))
    first = closing_of_light(small, radius).filter(ImageFilter.BoxBlur(max(1, radius // 3)))
    paper = first
    for _ in range(PAPER_PASSES):
        d = darkness(work, paper_reciprocal(paper))
        noise = d.histogram.noise_floor()
        k = d.histogram.percentile(max(noise, MIN_CONTRAST), 0.9)
        if k < MIN_CONTRAST:
            break
        # Ink: clearly dark, and near a sharp edge (a local darkness range of a third of
        # the ink's, and more than a soft shadow's edge gives).
        edge_range = ImageChops.subtract(max_filter(d.max, 2), min_filter(d.max, 2))
        edges = at_least(edge_range, max(0.33 * k, noise + 8, MIN_EDGE))
        dark = at_least(d.max, max(noise, 0.4 * k))
        ink = dilate_mask(ImageChops.multiply(dark, dilate_mask(edges, 2)), 2)
        paper = _paper_outside(work, ImageChops.invert(ink), f_small, first)
    return paper


def _paper_outside(work: Image.Image, paper_mask: Image.Image, f_small: int,
                   fallback: Image.Image) -> Image.Image:
    """The colour of the pixels in ``paper_mask``, interpolated across the holes, on the
    small grid; ``fallback`` where paper is too sparse to tell."""
    masked = ImageChops.multiply(work, Image.merge("RGB", (paper_mask,) * 3))
    if f_small > 1:
        masked, paper_mask = masked.reduce(f_small), paper_mask.reduce(f_small)
    blur = ImageFilter.GaussianBlur(2.5)
    masked, weight = masked.filter(blur), paper_mask.filter(blur)
    w = weight.point(lambda v: max(v, 1)).convert("F")
    bands = []
    for band in masked.split():
        ratio = ImageMath.lambda_eval(lambda a: a["m"] / a["w"], m=band.convert("F"), w=w)
        bands.append(ratio.point(lambda v: v * 255.0).convert("L"))
    trust = weight.point(lambda v: max(0, min(255, round((v - 12) * 255 / 50))))
    return Image.composite(Image.merge("RGB", bands), fallback, trust)
