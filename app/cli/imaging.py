"""``origin-desk clean-image``: clean a stamp or signature scan into a transparent PNG."""

from __future__ import annotations

import argparse
import sys

from app.imaging.cleaning import KINDS, MAX_OUTPUT_SIDE, MIN_OUTPUT_SIDE
from app.imaging.loading import MAX_FILE_BYTES, MAX_PIXELS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clean-image",
        help="clean a stamp or signature scan into a transparent PNG",
        description=(
            "Make the paper of a stamp or signature scan transparent, keep the ink's "
            "colour, crop to the ink and save it as PNG. Accepts PNG, JPEG, TIFF, WebP, "
            f"GIF and BMP up to {MAX_FILE_BYTES // (1024 * 1024)} MB and "
            f"{MAX_PIXELS // 1_000_000} megapixels; the output's longest side is at most "
            f"{MAX_OUTPUT_SIDE} pixels (see --max-side)."
        ),
    )
    parser.add_argument("input", metavar="IN", help="the scanned image file")
    parser.add_argument("output", metavar="OUT.png", help="where to write the cleaned PNG")
    parser.add_argument("--kind", choices=KINDS, default="stamp",
                        help="what the image shows (default: stamp)")
    parser.add_argument("--strength", type=_strength, default=0.5, metavar="0..1",
                        help="0 keeps faint ink, 1 removes the most (default: 0.5)")
    parser.add_argument("--max-side", type=_max_side, default=MAX_OUTPUT_SIDE, metavar="PX",
                        help=f"longest side of the output (default: {MAX_OUTPUT_SIDE})")
    parser.set_defaults(func=run_clean_image)


def run_clean_image(args: argparse.Namespace) -> int:
    from app.imaging.files import clean_image_file

    result = clean_image_file(args.input, args.output, kind=args.kind,
                              strength=args.strength, max_side=args.max_side)
    for warning in result.warnings:
        print(f"warning: {warning.message}", file=sys.stderr)
    r, g, b = result.ink_rgb
    print(f"wrote {args.output}: {result.image.width} x {result.image.height} px, "
          f"ink #{r:02x}{g:02x}{b:02x}, from box {result.box} of the scan")
    return 0


def _strength(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def _max_side(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < MIN_OUTPUT_SIDE:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_OUTPUT_SIDE}")
    return value
