"""Synthetic stamp and signature scans with a known ink mask, for tests and the benchmark.

Test-data generation lives here, outside the application package: ``tests/imaging`` and
``bench/imaging.py`` both import it (the tests put the project root on ``sys.path``).

A scan is made the way paper meets a scanner or a phone: ink multiplied onto paper with
some texture and an uneven ink density, then lit unevenly (a desk-lamp gradient and a
hand's soft shadow), slightly blurred by the optics, noisy, and saved as JPEG quality 60.
Everything is seeded, so a case gives the same pixels on every run.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

INKS: dict[str, tuple[int, int, int]] = {
    "blue": (35, 60, 165),
    "violet": (100, 45, 150),
    "red": (195, 30, 45),
    "black": (30, 30, 35),
}
PAPERS: dict[str, tuple[int, int, int]] = {
    "white": (250, 250, 247),
    "off-white": (241, 237, 225),
    "yellowed": (236, 222, 178),
}


@dataclass(frozen=True)
class ScanSpec:
    """What to draw: the kind of ink mark, its ink, the paper and the conditions."""

    kind: str = "stamp"  # "stamp" | "signature"
    ink: str = "blue"
    paper: str = "white"
    size: tuple[int, int] = (1100, 850)
    seed: int = 0
    gradient: bool = True
    shadow: bool = True
    noise: float = 6.0  # amplitude of the added grain, in 8-bit levels
    jpeg_quality: int = 60


@dataclass
class SyntheticScan:
    spec: ScanSpec
    image: Image.Image  # RGB, as decoded from the JPEG
    truth: Image.Image  # L, 255 where ink covers at least half the pixel, else 0
    ink_rgb: tuple[int, int, int]
    jpeg: bytes = field(repr=False, default=b"")


# The standard set: every ink, every paper, both kinds, all with gradient, shadow and noise.
STANDARD_SPECS: tuple[ScanSpec, ...] = (
    ScanSpec("stamp", "blue", "white", seed=1),
    ScanSpec("stamp", "violet", "off-white", seed=2),
    ScanSpec("stamp", "red", "yellowed", seed=3),
    ScanSpec("stamp", "black", "off-white", seed=4),
    ScanSpec("signature", "blue", "yellowed", seed=5),
    ScanSpec("signature", "black", "white", seed=6),
    ScanSpec("signature", "violet", "off-white", seed=7),
    ScanSpec("signature", "red", "white", seed=8),
)


def make_scan(spec: ScanSpec) -> SyntheticScan:
    rng = random.Random(spec.seed)
    width, height = spec.size
    coverage = _ink_coverage(spec, rng)  # L, anti-aliased, 0..255
    truth = coverage.point(lambda v: 255 if v >= 128 else 0)
    ink_rgb = INKS[spec.ink]

    paper = _paper(spec, rng)
    density = _smooth_field((width, height), rng, low=205, high=255, cells=6)
    ink_alpha = ImageChops.multiply(coverage, density)
    ink_layer = Image.composite(
        Image.new("RGB", spec.size, ink_rgb), Image.new("RGB", spec.size, "white"), ink_alpha
    )
    scene = ImageChops.multiply(paper, ink_layer)

    light = _lighting(spec, rng)
    scene = ImageChops.multiply(scene, light)
    scene = scene.filter(ImageFilter.GaussianBlur(0.7))
    if spec.noise > 0:
        scene = ImageChops.add(scene, _grain(spec.size, rng, spec.noise), scale=1.0, offset=-128)

    buffer = io.BytesIO()
    scene.save(buffer, "JPEG", quality=spec.jpeg_quality)
    data = buffer.getvalue()
    image = Image.open(io.BytesIO(data))
    image.load()
    return SyntheticScan(spec=spec, image=image.convert("RGB"), truth=truth, ink_rgb=ink_rgb,
                         jpeg=data)


def standard_set(scale: float = 1.0) -> list[SyntheticScan]:
    """The standard cases, optionally at another size (scale 2.0 gives ~2200x1700 pages)."""
    scans = []
    for spec in STANDARD_SPECS:
        w, h = spec.size
        sized = ScanSpec(**{**spec.__dict__, "size": (round(w * scale), round(h * scale))})
        scans.append(make_scan(sized))
    return scans


def make_photo_like(size: tuple[int, int] = (900, 700), seed: int = 0) -> Image.Image:
    """A colourful, smoothly shaded picture (not ink on paper): blobs over a gradient."""
    rng = random.Random(seed)
    w, h = size
    base = Image.linear_gradient("L").resize(size).rotate(rng.uniform(0, 360), expand=False)
    image = Image.merge("RGB", (base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                                base.point(lambda v: 255 - v)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.05, 0.25) * min(w, h)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r * rng.uniform(0.5, 1.5), x + r, y + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(min(w, h) / 60))
    return ImageChops.add(image, _grain(size, rng, 8), offset=-128)


def make_blank_page(size: tuple[int, int] = (900, 1200), seed: int = 0) -> Image.Image:
    """Paper with lighting and a shadow but no ink."""
    spec = ScanSpec(paper="off-white", size=size, seed=seed)
    rng = random.Random(seed)
    page = ImageChops.multiply(_paper(spec, rng), _lighting(spec, rng))
    return ImageChops.add(page, _grain(size, rng, spec.noise), offset=-128)


# --- measuring -------------------------------------------------------------------------


def mask_iou(predicted: Image.Image, truth: Image.Image) -> float:
    """IoU of two same-size L masks (non-zero = ink)."""
    if predicted.size != truth.size:
        raise ValueError("masks differ in size")
    p = predicted.point(lambda v: 255 if v else 0)
    t = truth.point(lambda v: 255 if v else 0)
    inter = ImageChops.multiply(p, t).histogram()[255]
    union = ImageChops.lighter(p, t).histogram()[255]
    return 1.0 if union == 0 else inter / union


def result_mask_on_page(alpha: Image.Image, box: tuple[int, int, int, int],
                        page_size: tuple[int, int]) -> Image.Image:
    """Put a result's alpha (alpha > 128 = ink) back where it came from on the page."""
    x0, y0, x1, y1 = box
    if alpha.size != (x1 - x0, y1 - y0):
        alpha = alpha.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
    page = Image.new("L", page_size, 0)
    page.paste(alpha.point(lambda v: 255 if v > 128 else 0), (x0, y0))
    return page


def otsu_mask(image: Image.Image) -> Image.Image:
    """A global Otsu threshold on the greyscale: the classic baseline (dark = ink)."""
    grey = image.convert("L")
    hist = grey.histogram()
    total = sum(hist)
    sum_all = sum(i * n for i, n in enumerate(hist))
    best_t, best_var, w0, sum0 = 0, -1.0, 0, 0.0
    for t in range(256):
        w0 += hist[t]
        if w0 == 0:
            continue
        w1 = total - w0
        if w1 == 0:
            break
        sum0 += t * hist[t]
        m0, m1 = sum0 / w0, (sum_all - sum0) / w1
        var = w0 * w1 * (m0 - m1) ** 2
        if var > best_var:
            best_t, best_var = t, var
    return grey.point(lambda v: 255 if v <= best_t else 0)


# --- drawing ---------------------------------------------------------------------------


def _ink_coverage(spec: ScanSpec, rng: random.Random) -> Image.Image:
    """The ink drawn at twice the size and averaged down: anti-aliased coverage."""
    big = Image.new("L", (spec.size[0] * 2, spec.size[1] * 2), 0)
    if spec.kind == "stamp":
        _draw_stamp(big, rng)
    elif spec.kind == "signature":
        _draw_signature(big, rng)
    else:
        raise ValueError(f"unknown kind {spec.kind!r}")
    return big.reduce(2)


def _draw_stamp(canvas: Image.Image, rng: random.Random) -> None:
    w, h = canvas.size
    radius = 0.3 * min(w, h)
    cx = w / 2 + rng.uniform(-0.1, 0.1) * w
    cy = h / 2 + rng.uniform(-0.1, 0.1) * h
    draw = ImageDraw.Draw(canvas)
    outer_w = max(2, round(radius * 0.045))
    inner_w = max(2, round(radius * 0.028))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=255, width=outer_w)
    r_in = radius * 0.72
    draw.ellipse((cx - r_in, cy - r_in, cx + r_in, cy + r_in), outline=255, width=inner_w)

    ring_text = "CHAMBER OF COMMERCE * ISSUING OFFICE * MUMBAI * "
    font_size = round(radius * 0.15)
    font = ImageFont.truetype(FONT_PATH, font_size)
    text_r = (radius + r_in) / 2
    start = rng.uniform(0, 360)
    step = 360 / len(ring_text)
    for i, char in enumerate(ring_text):
        if char == " ":
            continue
        angle = math.radians(start + i * step)
        glyph = Image.new("L", (font_size * 2, font_size * 2), 0)
        ImageDraw.Draw(glyph).text((font_size, font_size), char, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        gx = cx + text_r * math.cos(angle) - font_size
        gy = cy + text_r * math.sin(angle) - font_size
        canvas.paste(255, (round(gx), round(gy)), glyph)

    centre_font = ImageFont.truetype(FONT_PATH, round(radius * 0.17))
    small_font = ImageFont.truetype(FONT_PATH, round(radius * 0.11))
    draw.text((cx, cy - radius * 0.22), "APPROVED", font=centre_font, fill=255, anchor="mm")
    draw.text((cx, cy + radius * 0.05), f"{rng.randint(1, 28):02d}.03.2025", font=small_font,
              fill=255, anchor="mm")
    draw.line((cx - r_in * 0.8, cy + radius * 0.2, cx + r_in * 0.8, cy + radius * 0.2),
              fill=255, width=inner_w)
    draw.text((cx, cy + radius * 0.38), "CoO DESK 7", font=small_font, fill=255, anchor="mm")


def _draw_signature(canvas: Image.Image, rng: random.Random) -> None:
    w, h = canvas.size
    draw = ImageDraw.Draw(canvas)
    x_left, x_right = w * rng.uniform(0.15, 0.25), w * rng.uniform(0.75, 0.85)
    y_mid = h * rng.uniform(0.4, 0.6)
    scale = min(w, h)
    for stroke in range(3):
        n = rng.randint(6, 10)
        xs = sorted(rng.uniform(x_left, x_right) for _ in range(n))
        if stroke == 2:  # the underline flourish
            points = [(x, y_mid + scale * 0.18 + rng.uniform(-0.03, 0.03) * scale) for x in xs]
        else:
            points = [(x, y_mid + rng.uniform(-0.15, 0.15) * scale) for x in xs]
        w_min = scale * rng.uniform(0.006, 0.008)
        w_max = scale * rng.uniform(0.011, 0.014)
        _stroke(draw, _catmull_rom(points, 24), w_min, w_max, rng.uniform(0, 6))


def _catmull_rom(points: list[tuple[float, float]], steps: int) -> list[tuple[float, float]]:
    pts = [points[0], *points, points[-1]]
    out: list[tuple[float, float]] = []
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for s in range(steps):
            t = s / steps
            t2, t3 = t * t, t * t * t
            out.append(tuple(  # type: ignore[arg-type]
                0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k]
                       - p3[k]) * t2 + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                for k in range(2)))
    out.append(points[-1])
    return out


def _stroke(draw: ImageDraw.ImageDraw, path: list[tuple[float, float]], w_min: float,
            w_max: float, phase: float) -> None:
    n = len(path)
    for i in range(n - 1):
        t = i / max(1, n - 1)
        width = w_min + (w_max - w_min) * (0.5 + 0.5 * math.sin(phase + t * 9.0))
        (x0, y0), (x1, y1) = path[i], path[i + 1]
        draw.line((x0, y0, x1, y1), fill=255, width=max(1, round(width)))
        r = width / 2
        draw.ellipse((x1 - r, y1 - r, x1 + r, y1 + r), fill=255)


def _paper(spec: ScanSpec, rng: random.Random) -> Image.Image:
    base = Image.new("RGB", spec.size, PAPERS[spec.paper])
    mottle = _smooth_field(spec.size, rng, low=238, high=255, cells=12)
    return ImageChops.multiply(base, Image.merge("RGB", (mottle, mottle, mottle)))


def _lighting(spec: ScanSpec, rng: random.Random) -> Image.Image:
    w, h = spec.size
    light = Image.new("L", spec.size, 255)
    if spec.gradient:  # a desk lamp off one corner: full light there, ~68% at the far side
        radial = Image.radial_gradient("L").resize((w * 2, h * 2), Image.Resampling.BILINEAR)
        corner_x, corner_y = rng.choice([(0, 0), (w, 0), (0, h), (w, h)])
        falloff = radial.crop((w - corner_x, h - corner_y, 2 * w - corner_x, 2 * h - corner_y))
        light = falloff.point(lambda v: round(255 - 0.45 * v))
    if spec.shadow:  # a hand: palm and fingers, soft-edged, over part of the page
        hand = Image.new("L", spec.size, 0)
        draw = ImageDraw.Draw(hand)
        px, py = w * rng.uniform(0.6, 0.95), h * rng.uniform(0.55, 0.95)
        palm = 0.22 * min(w, h)
        draw.ellipse((px - palm, py - palm * 0.8, px + palm * 1.6, py + palm * 1.6), fill=255)
        for k in range(4):
            angle = math.radians(200 + k * 18 + rng.uniform(-5, 5))
            length = palm * rng.uniform(1.4, 1.9)
            fx, fy = px + length * math.cos(angle), py + length * math.sin(angle)
            draw.line((px, py, fx, fy), fill=255, width=round(palm * 0.28))
        hand = hand.filter(ImageFilter.GaussianBlur(0.012 * max(w, h)))
        depth = rng.uniform(0.3, 0.42)
        shade = hand.point(lambda v: round(255 - depth * v))
        light = ImageChops.multiply(light, shade)
    warm = light.point(lambda v: round(v * 0.96))  # a slightly warm lamp
    return Image.merge("RGB", (light, light, warm))


def _smooth_field(size: tuple[int, int], rng: random.Random, *, low: int, high: int,
                  cells: int) -> Image.Image:
    """A low-frequency random L field between low and high."""
    w, h = size
    gw = max(2, cells)
    gh = max(2, round(cells * h / w))
    coarse = Image.frombytes("L", (gw, gh), rng.randbytes(gw * gh))
    field_ = coarse.resize(size, Image.Resampling.BICUBIC)
    span = high - low
    return field_.point(lambda v: round(low + span * v / 255))


def _grain(size: tuple[int, int], rng: random.Random, amplitude: float) -> Image.Image:
    """Zero-mean (centred on 128) triangular noise, RGB, of the given amplitude."""
    n = size[0] * size[1] * 3
    a = Image.frombytes("RGB", size, rng.randbytes(n))
    b = Image.frombytes("RGB", size, rng.randbytes(n))
    tri = ImageChops.add(a, b, scale=2.0)  # triangular around 127.5
    k = amplitude / 52.0  # the triangular sum has a standard deviation of about 52
    return tri.point(lambda v: max(0, min(255, round(128 + (v - 127.5) * k))))
