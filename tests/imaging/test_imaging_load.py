"""Awkward files are converted correctly; bad files are refused with a clear message."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.errors import UserFacingError
from app.imaging import MAX_FILE_BYTES, ImageRejected, load_image


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def scene() -> Image.Image:
    """White paper, a dark blue block top-left, a red dot bottom-right (200 x 100)."""
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    image.paste((20, 40, 160), (10, 10, 60, 40))
    image.paste((200, 20, 30), (170, 80, 180, 90))
    return image


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 12) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP", "BMP"])
def test_common_formats(fmt: str) -> None:
    params = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    image = load_image(encoded(scene(), fmt, **params))
    assert image.mode == "RGB" and image.size == (200, 100)
    assert close(image.getpixel((30, 25)), (20, 40, 160), 20)
    assert close(image.getpixel((100, 50)), (255, 255, 255), 6)


def test_cmyk_jpeg_and_tiff() -> None:
    for fmt in ("JPEG", "TIFF"):
        image = load_image(encoded(scene().convert("CMYK"), fmt))
        assert image.mode == "RGB"
        assert close(image.getpixel((30, 25)), (20, 40, 160), 20)
        assert close(image.getpixel((100, 50)), (255, 255, 255), 8)


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    row = struct.pack("<32H", *[65535] * 32) + struct.pack("<32H", *[32768] * 32)
    grey16 = Image.frombytes("I;16", (64, 32), row * 32)
    image = load_image(encoded(grey16, "PNG"))
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (255, 255, 255)
    assert close(image.getpixel((40, 5)), (128, 128, 128), 2)
    as_i = Image.new("I", (64, 32), 4095)  # 12-bit data in a 32-bit TIFF
    as_i.paste(0, (0, 0, 32, 32))
    image = load_image(encoded(as_i, "TIFF"))
    assert image.getpixel((40, 5)) == (255, 255, 255)
    assert image.getpixel((5, 5)) == (0, 0, 0)


def test_greyscale_l_la_and_1_bit() -> None:
    image = load_image(encoded(scene().convert("L"), "PNG"))
    assert image.mode == "RGB" and image.getpixel((100, 50)) == (255, 255, 255)
    la = Image.new("LA", (40, 20), (0, 0))  # fully transparent black
    la.paste((30, 255), (0, 0, 20, 20))  # opaque dark grey on the left
    image = load_image(encoded(la, "PNG"))
    assert image.getpixel((5, 5)) == (30, 30, 30)
    assert image.getpixel((30, 5)) == (255, 255, 255)  # transparency becomes paper
    bilevel = scene().convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    image = load_image(encoded(bilevel, "PNG"))
    assert image.getpixel((30, 25)) == (0, 0, 0) and image.getpixel((100, 50)) == (255,) * 3


def test_palette_with_transparency() -> None:
    palette = Image.new("P", (40, 20), 0)
    palette.putpalette([0, 0, 0, 200, 20, 30] + [0] * 762)
    palette.paste(1, (20, 0, 40, 20))
    palette.info["transparency"] = 0
    for fmt in ("PNG", "GIF"):
        image = load_image(encoded(palette, fmt, transparency=0))
        assert image.getpixel((5, 5)) == (255, 255, 255), fmt
        assert close(image.getpixel((30, 5)), (200, 20, 30), 2), fmt


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animations_give_their_first_frame(fmt: str) -> None:
    red = Image.new("RGB", (40, 30), (200, 20, 30))
    blue = Image.new("RGB", (40, 30), (20, 40, 160))
    params: dict[str, object] = {"save_all": True, "append_images": [blue], "duration": 100}
    if fmt == "WEBP":
        params["lossless"] = True
    data = encoded(red, fmt, **params)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert close(load_image(data).getpixel((20, 15)), (200, 20, 30), 6)


def test_exif_rotated_photo_is_turned_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    data = encoded(scene(), "JPEG", quality=95, exif=exif.tobytes())
    image = load_image(data)
    assert image.size == (100, 200)
    # the blue block, top-left when stored, is top-right once upright
    assert close(image.getpixel((75, 35)), (20, 40, 160), 25)
    assert close(image.getpixel((25, 35)), (255, 255, 255), 10)


def test_path_and_bytes_give_the_same_image(tmp_path: Path) -> None:
    data = encoded(scene(), "PNG")
    path = tmp_path / "stamp.png"
    path.write_bytes(data)
    assert load_image(path).tobytes() == load_image(data).tobytes()
    assert load_image(str(path)).tobytes() == load_image(data).tobytes()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header announces width x height, with a tiny (invalid) body."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "text": (b"Certificate of origin\nnot a picture\n" * 20, "not an image"),
    "svg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
            b'height="10"><circle r="4"/></svg>', "SVG"),
    "pdf": (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "PDF"),
    "empty": (b"", "empty"),
    "truncated-jpeg": (encoded(scene(), "JPEG", quality=90)[:600], "truncated"),
    "truncated-png": (encoded(Image.effect_noise((200, 200), 40), "PNG")[:3000], "truncated"),
    "header-bomb": (png_header_only(20_000, 20_000), "megapixels"),
    "pillow-bomb": (png_header_only(40_000, 40_000), "too many pixels"),
    "tiny": (encoded(Image.new("RGB", (8, 8), "white"), "PNG"), "too small"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_are_refused_with_a_message_naming_the_problem(name: str,
                                                                tmp_path: Path) -> None:
    data, expected = BAD_FILES[name]
    with pytest.raises(ImageRejected, match=expected):
        load_image(data)
    path = tmp_path / f"{name}.bin"
    path.write_bytes(data)
    with pytest.raises(ImageRejected, match=path.name):
        load_image(path)


def test_rejection_is_a_user_facing_error() -> None:
    assert issubclass(ImageRejected, UserFacingError)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no need to write 20 MB
    with pytest.raises(ImageRejected, match="the limit is 21 MB"):
        load_image(path)
    with pytest.raises(ImageRejected, match="limit"):
        load_image(encoded(scene(), "PNG"), max_bytes=100)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageRejected, match="not a file"):
        load_image(tmp_path)
