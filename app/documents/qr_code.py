"""QR symbols drawn straight into the PDF as one vector path (no PNG round trip).

Text all in the QR alphanumeric alphabet (``ECOO:`` + base45, an officer-signed payload)
is one alphanumeric segment, error correction M; any other printable ASCII text (the
sealed payload's URL, ``https://host/v/`` + base64url) is one byte segment, error
correction L: a ~217-character URL then fits version 9 (53 modules), whose modules are
0.8 mm in the forms' 50.2 mm QR box, which a phone photo decodes (blurred, rotated,
JPEG: ``tests/support/phone.py``; zbar misses a few symbols at 0.7 mm); at M it needs
version 11-12 and smaller modules, which zbar no longer reads from such a photo. The symbol version is the smallest of a few fixed
classes that holds the text, with one fixed mask pattern: any mask is valid under ISO/IEC
18004, and trying all eight (what ``qrcode`` does by default) costs ~9 ms.

Even with a fixed mask, ``qrcode`` builds a version-14 symbol in ~12 ms of pure Python
(polynomial objects, bit-by-bit placement). Here the ``qrcode`` library is used once per
version to lay out the function patterns, format and version information; each payload
then only needs its bit stream, a table-driven Reed-Solomon code and a walk over the
precomputed data-module positions (~1-2 ms). Tests compare the result with ``qrcode``'s.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cached_property

import qrcode
from qrcode.base import rs_blocks
from qrcode.constants import ERROR_CORRECT_L, ERROR_CORRECT_M
from qrcode.util import mask_func

VERSION_CLASSES: tuple[int, ...] = (6, 8, 9, 10, 12, 14, 17, 20, 25)
MASK_PATTERN = 2
QUIET_ZONE_MODULES = 4
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ALNUM_VALUE = {c: i for i, c in enumerate(ALPHANUMERIC)}

# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _generator_logs(degree: int) -> list[int]:
    """log-coefficients (leading 1 dropped) of prod_{i<degree} (x - a^i)."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coef in enumerate(poly):
            nxt[j] ^= coef
            if coef:
                nxt[j + 1] ^= _EXP[_LOG[coef] + i]
        poly = nxt
    return [_LOG[c] for c in poly[1:]]


def _product_table(degree: int) -> list[int]:
    """For each byte f, the generator polynomial times f as a big-endian integer."""
    gen_logs = _generator_logs(degree)
    table = [0]
    for f in range(1, 256):
        lf = _LOG[f]
        table.append(int.from_bytes(bytes(_EXP[lf + g] for g in gen_logs), "big"))
    return table


def _rs_remainder(data: list[int], table: list[int], degree: int) -> list[int]:
    """Reed-Solomon error-correction codewords of ``data`` (remainder of the division by
    the generator), with the polynomial held as one integer."""
    rem = 0
    shift = 8 * (degree - 1)
    keep = (1 << (8 * degree)) - 1
    for byte in data:
        factor = byte ^ (rem >> shift)
        rem = ((rem << 8) & keep) ^ table[factor]
    return list(rem.to_bytes(degree, "big"))


def error_correction(text: str) -> int:
    """The error correction level of ``text``'s symbol: L for a byte-mode text (the sealed
    URL), M for an alphanumeric one (``ECOO:`` + base45)."""
    return ERROR_CORRECT_M if _is_alphanumeric(text) else ERROR_CORRECT_L


@dataclass(frozen=True)
class _Template:
    version: int
    size: int
    base: tuple[str, ...]  # flat "0"/"1": function patterns, format and version info
    positions: tuple[int, ...]  # flat indexes of the data modules in placement order
    mask: str  # "0"/"1" mask bit per data position
    blocks: tuple[tuple[int, int], ...]  # (total codewords, data codewords) per block
    count_bits: int

    @property
    def data_codewords(self) -> int:
        return sum(d for _t, d in self.blocks)


_templates: dict[tuple[int, int], _Template] = {}
_generators: dict[int, list[int]] = {}
_lock = threading.Lock()


def _template(version: int, ec: int = ERROR_CORRECT_M) -> _Template:
    with _lock:
        hit = _templates.get((version, ec))
    if hit is not None:
        return hit
    code = qrcode.QRCode(version=version, error_correction=ec, mask_pattern=MASK_PATTERN)
    n = code.modules_count = version * 4 + 17
    code.modules = [[None] * n for _ in range(n)]
    code.setup_position_probe_pattern(0, 0)
    code.setup_position_probe_pattern(n - 7, 0)
    code.setup_position_probe_pattern(0, n - 7)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    code.setup_type_info(False, MASK_PATTERN)
    if version >= 7:
        code.setup_type_number(False)
    modules = code.modules
    positions: list[tuple[int, int]] = []
    row, inc = n - 1, -1  # the zig-zag walk of qrcode's map_data
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if modules[row][c] is None:
                    positions.append((row, c))
            row += inc
            if row < 0 or row >= n:
                row -= inc
                inc = -inc
                break
    is_masked = mask_func(MASK_PATTERN)
    template = _Template(
        version=version,
        size=n,
        base=tuple("1" if m else "0" for r in modules for m in r),
        positions=tuple(r * n + c for r, c in positions),
        mask="".join("1" if is_masked(r, c) else "0" for r, c in positions),
        blocks=tuple((b.total_count, b.data_count) for b in rs_blocks(version, ec)),
        count_bits=9 if version < 10 else (11 if version < 27 else 13),
    )
    with _lock:
        _templates[(version, ec)] = template
    return template


def _is_alphanumeric(text: str) -> bool:
    return all(ch in _ALNUM_VALUE for ch in text)


def _byte_count_bits(version: int) -> int:
    return 8 if version < 10 else 16


def _bit_length(text: str, count_bits: int, version: int = 1) -> int:
    if _is_alphanumeric(text):
        return 4 + count_bits + 11 * (len(text) // 2) + 6 * (len(text) % 2)
    return 4 + _byte_count_bits(version) + 8 * len(text)


def _segment_bits(text: str, t: _Template) -> list[str]:
    if not _is_alphanumeric(text):  # one byte segment (printable ASCII, checked before)
        return [f"{0b0100:04b}", format(len(text), f"0{_byte_count_bits(t.version)}b"),
                *map("{:08b}".format, text.encode("ascii"))]
    values = [_ALNUM_VALUE[ch] for ch in text]
    bits = [f"{0b0010:04b}", format(len(text), f"0{t.count_bits}b")]
    for i in range(0, len(values) - 1, 2):
        bits.append(format(values[i] * 45 + values[i + 1], "011b"))
    if len(values) % 2:
        bits.append(format(values[-1], "06b"))
    return bits


def _codewords(text: str, t: _Template) -> list[int]:
    stream = "".join(_segment_bits(text, t))
    limit = t.data_codewords * 8
    stream += "0" * min(4, limit - len(stream))
    stream += "0" * (-len(stream) % 8)
    data = [int(stream[i : i + 8], 2) for i in range(0, len(stream), 8)]
    pad = (0xEC, 0x11)
    data.extend(pad[i % 2] for i in range(t.data_codewords - len(data)))
    data_blocks, ecc_blocks = [], []
    offset = 0
    for total, count in t.blocks:
        block = data[offset : offset + count]
        offset += count
        degree = total - count
        table = _generators.get(degree)
        if table is None:
            table = _generators[degree] = _product_table(degree)
        data_blocks.append(block)
        ecc_blocks.append(_rs_remainder(block, table, degree))
    out: list[int] = []
    for blocks in (data_blocks, ecc_blocks):
        for i in range(max(len(b) for b in blocks)):
            out.extend(b[i] for b in blocks if i < len(b))
    return out


_RUN = re.compile("1+")


@dataclass(frozen=True)
class QrSymbol:
    version: int
    rows: tuple[str, ...]  # one string of "0"/"1" (light/dark) per row, top row first

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def modules(self) -> tuple[tuple[bool, ...], ...]:
        return tuple(tuple(ch == "1" for ch in row) for row in self.rows)

    @cached_property
    def path_operators(self) -> str:
        """The dark modules as PDF rectangles in module units (origin bottom-left), one
        run of adjacent dark modules per rectangle, filled at once."""
        n = self.size
        ops = []
        for r, row in enumerate(self.rows):
            tail = f" {n - 1 - r} "
            ops.extend(f"{a}{tail}{b - a} 1 re" for a, b in map(re.Match.span, _RUN.finditer(row)))
        ops.append("f")
        return "\n".join(ops)


def choose_version(text: str) -> int:
    ec = error_correction(text)
    for version in VERSION_CLASSES:
        t = _template(version, ec)
        if _bit_length(text, t.count_bits, version) <= t.data_codewords * 8:
            return version
    raise ValueError(f"QR text of {len(text)} characters is too long for version 25")


def make_symbol(text: str) -> QrSymbol:
    """The QR symbol (fixed mask) of ``text``: one alphanumeric segment (EC level M) when
    every character is in that mode's alphabet, else one byte segment of printable ASCII
    (EC level L)."""
    if not _is_alphanumeric(text):
        bad = {ch for ch in text if not " " <= ch <= "~"}
        if bad:
            raise ValueError(
                f"QR text has characters outside the alphanumeric mode and printable ASCII: "
                f"{bad}")
    t = _template(choose_version(text), error_correction(text))
    bits = "".join(map("{:08b}".format, _codewords(text, t)))
    bits += "0" * (len(t.positions) - len(bits))  # remainder bits
    # data bit XOR mask bit, as an integer XOR of two bit strings
    width = len(t.positions)
    masked = format(int(bits, 2) ^ int(t.mask, 2), f"0{width}b")
    flat = list(t.base)
    for index, bit in zip(t.positions, masked, strict=True):
        flat[index] = bit
    n = t.size
    joined = "".join(flat)
    return QrSymbol(t.version, tuple(joined[i * n : (i + 1) * n] for i in range(n)))


def reference_symbol(text: str, version: int) -> QrSymbol:
    """The same symbol made entirely by ``qrcode`` (slow): the tests' yardstick."""
    from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

    code = qrcode.QRCode(version=version, error_correction=error_correction(text), border=0,
                         mask_pattern=MASK_PATTERN)
    mode = MODE_ALPHA_NUM if _is_alphanumeric(text) else MODE_8BIT_BYTE
    code.add_data(QRData(text.encode("ascii"), mode=mode), optimize=0)
    code.make(fit=False)
    return QrSymbol(version, tuple("".join("1" if m else "0" for m in r) for r in code.modules))


def draw_symbol(canvas, symbol: QrSymbol, x: float, y: float, module: float) -> None:
    """Draw the symbol as one filled path; (x, y) is its lower-left corner (without quiet
    zone) and ``module`` the module size, in points."""
    canvas._code.append(
        f"q 0 g {module:.4f} 0 0 {module:.4f} {x:.3f} {y:.3f} cm\n{symbol.path_operators}\nQ"
    )
