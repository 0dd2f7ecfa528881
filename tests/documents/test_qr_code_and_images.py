"""The fast QR encoder matches qrcode's output; images are encoded once and checked."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.documents.images import ImageUnusableError, encoded_image
from app.documents.qr_code import ALPHANUMERIC, VERSION_CLASSES, make_symbol, reference_symbol
from app.documents.samples import sample_signature_png, sample_stamp_png


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=900))
def test_symbol_equals_qrcode_library(text):
    symbol = make_symbol(text)
    assert symbol.version in VERSION_CLASSES
    assert symbol.modules == reference_symbol(text, symbol.version).modules


def test_version_classes_grow_with_the_payload():
    assert make_symbol("A" * 100).version == 6
    assert make_symbol("A" * 215).version == 8   # an ECDSA payload
    assert make_symbol("A" * 505).version == 14  # an RSA-2048 payload
    with pytest.raises(ValueError, match="too long"):
        make_symbol("A" * 2000)
    with pytest.raises(ValueError, match="printable ASCII"):
        make_symbol("caf\u00e9")


@settings(max_examples=15, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1,
               max_size=400))
def test_byte_mode_symbol_equals_qrcode_library(text):
    symbol = make_symbol(text)
    assert symbol.modules == reference_symbol(text, symbol.version).modules


def test_a_sealed_url_fits_a_version_9_symbol():
    # error correction L in byte mode: 53 modules, 0.8 mm each in a 50.2 mm box (phone photo)
    url = "https://verify.chamber.example.org/v/" + "A" * 190  # ~140-byte ECDSA payload
    assert make_symbol(url).version == 9
    assert make_symbol("lower case").version == 6  # byte mode


def test_images_are_encoded_once_with_their_alpha():
    stamp = encoded_image(sample_stamp_png())
    assert encoded_image(sample_stamp_png()) is stamp
    assert stamp.alpha_stream is not None and stamp.width == stamp.height == 360
    opaque = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(opaque, format="PNG")
    assert encoded_image(opaque.getvalue()).alpha_stream is None
    assert encoded_image(sample_signature_png()).aspect == 3.0


def test_big_images_are_reduced_and_bad_ones_refused():
    big = io.BytesIO()
    Image.new("RGBA", (3000, 1000), (0, 0, 0, 0)).save(big, format="PNG")
    image = encoded_image(big.getvalue())
    assert max(image.width, image.height) == 900
    with pytest.raises(ImageUnusableError, match="cannot be read"):
        encoded_image(b"\x89PNG\r\n\x1a\n" + b"garbage", "office stamp")
