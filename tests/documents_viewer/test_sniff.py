"""What a document is, from its bytes: magic numbers, the name's promise, damaged images."""

from __future__ import annotations

import pytest

from app.documents.sniff import MAX_VIEW_BYTES, check_image, judge, sniff
from tests.documents_viewer.support import image, pdf, zip_archive


@pytest.mark.parametrize(("data", "kind"), [
    (pdf(1), "pdf"), (image("PNG"), "png"), (image("JPEG"), "jpeg"), (image("TIFF"), "tiff"),
    (image("GIF"), "gif"), (image("WEBP"), "webp"), (image("BMP"), "bmp"),
    (zip_archive(), "zip"), (b"MZ\x90\x00" + b"\0" * 60, "exe"), (b"\x7fELF\x02\x01", "elf"),
    (b"<!DOCTYPE html><html><script>alert(1)</script>", "html"),
    (b"\xef\xbb\xbf<html><body>", "html"), (b"<?xml version='1.0'?><svg>", "svg"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, "ole"), (b"#!/bin/sh\nrm -rf ~", "script"),
    (b"\x1f\x8b\x08\x00", "gzip"), (b"Rar!\x1a\x07\x00", "rar"), (b"plain words", "text"),
    (b"", "empty"), (bytes(range(256)) * 2, "unknown"),
])
def test_sniffed_from_the_bytes(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_a_zip_named_pdf_is_shown_as_what_it_is() -> None:
    verdict = judge("invoice_925.pdf", "application/pdf", zip_archive())
    assert verdict.viewer is None and verdict.kind == "zip"
    assert verdict.problem == "invoice_925.pdf is not a PDF: its content is a ZIP archive."


@pytest.mark.parametrize(("name", "media", "data", "line"), [
    ("scan.jpg", "image/jpeg", pdf(1), "scan.jpg is not a JPEG image: its content is a PDF "
                                       "document."),
    ("invoice.pdf", "application/pdf", b"MZ" + b"\0" * 40,
     "invoice.pdf is not a PDF: its content is a Windows program (EXE)."),
    ("packing.png", "image/png", b"<html><body>hi</body></html>",
     "packing.png is not a PNG image: its content is an HTML page."),
    ("notes.txt", "text/plain", b"hello", "notes.txt cannot be shown in the desk: its content "
                                          "is plain text."),
])
def test_not_what_the_name_says(name: str, media: str, data: bytes, line: str) -> None:
    verdict = judge(name, media, data)
    assert verdict.viewer is None and verdict.problem == line


def test_the_name_decides_nothing_when_the_bytes_agree() -> None:
    assert judge("invoice.pdf", "application/pdf", pdf(2)).viewer == "pdf"
    assert judge("scan.tif", "image/tiff", image("TIFF")).viewer == "image"
    # no promising name: the media type promises; neither: the bytes alone decide
    assert judge("scan", "image/png", image("PNG")).viewer == "image"
    assert judge("scan", "application/octet-stream", image("JPEG")).viewer == "image"


def test_oversized_is_refused() -> None:
    verdict = judge("big.pdf", "application/pdf", b"%PDF-1.7\n" + b"0" * MAX_VIEW_BYTES)
    assert verdict.viewer is None and "at most 26,214,400 bytes" in verdict.problem


def test_damaged_images_get_one_line() -> None:
    whole = image("PNG")
    assert check_image("scan.png", whole) == ""
    assert check_image("scan.png", whole[: len(whole) // 2]) == (
        "scan.png could not be shown: the image is damaged or incomplete.")
    jpeg = image("JPEG")
    assert "damaged" in check_image("scan.jpg", jpeg[:200])
    assert "damaged" in check_image("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50)


def test_a_decompression_bomb_is_refused() -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 MP, a few KB on disk
    line = check_image("bomb.png", out.getvalue())
    assert "pixels" in line and "bomb.png" in line
