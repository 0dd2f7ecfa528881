"""A tampering corpus made from a signed certificate PDF.

Each function takes the issued PDF (and for a copied signature, another issued PDF) and
returns the tampered bytes. ``corpus(pdf, other)`` gives them all by name. The byte offsets
come from the signature's ``/ByteRange`` ``[0 a b c]``: the first signed range is
``[0, a)``, the signature's ``/Contents <hex>`` is ``[a, b)``, the second range
``[b, b + c)``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    match = BYTE_RANGE.search(pdf)
    assert match is not None, "no /ByteRange in the PDF"
    start, first, second, length = (int(v) for v in match.groups())
    return start, first, second, length


def contents_hex(pdf: bytes) -> tuple[int, int]:
    """The offsets of the hex digits of the signature's /Contents (inside ``<`` ``>``)."""
    _, first, second, _ = byte_range(pdf)
    assert pdf[first:first + 1] == b"<" and pdf[second - 1:second] == b">"
    return first + 1, second - 1


def der_hex_length(pdf: bytes) -> int:
    """How many hex digits of /Contents the CMS DER takes (the rest is zero padding)."""
    start, end = contents_hex(pdf)
    der = bytes.fromhex(pdf[start:end].decode())
    assert der[0] == 0x30 and der[1] & 0x80
    count = der[1] & 0x7F
    length = int.from_bytes(der[2:2 + count], "big") + 2 + count
    return 2 * length


def _flip(pdf: bytes, index: int, mask: int = 0x01) -> bytes:
    return pdf[:index] + bytes([pdf[index] ^ mask]) + pdf[index + 1:]


def _set_hex_digit(pdf: bytes, index: int) -> bytes:
    digit = pdf[index:index + 1]
    return pdf[:index] + (b"1" if digit == b"0" else b"0") + pdf[index + 1:]


def flip_in_first_range(pdf: bytes) -> bytes:
    """A digit of the page's content stream (inside the first signed range)."""
    index = pdf.index(b"stream\n") + 40
    assert index < byte_range(pdf)[1]
    return _flip(pdf, index)


def flip_in_second_range(pdf: bytes) -> bytes:
    """A digit of the signature dictionary's signing time /M (after /Contents)."""
    _, _, second, length = byte_range(pdf)
    match = re.compile(rb"/M\s*\(D(?::|\\072)(\d{8})").search(pdf, second)
    assert match is not None and match.start() < second + length, "no /M after /Contents"
    return _flip(pdf, match.start(1) + 3)  # the year's last digit: still a date


def flip_in_signature(pdf: bytes) -> bytes:
    """A hex digit of the CMS signature value (the last bytes of the DER)."""
    start, _ = contents_hex(pdf)
    return _set_hex_digit(pdf, start + der_hex_length(pdf) - 10)


def flip_in_padding(pdf: bytes) -> bytes:
    """One zero of the /Contents padding after the CMS DER becomes 1."""
    start, end = contents_hex(pdf)
    index = start + der_hex_length(pdf) + (end - start - der_hex_length(pdf)) // 2
    assert pdf[index:index + 1] == b"0"
    return _set_hex_digit(pdf, index)


def truncated(pdf: bytes) -> bytes:
    """The last 200 bytes cut off (the cross-reference and trailer go)."""
    return pdf[:-200]


def emptied_signature(pdf: bytes) -> bytes:
    """The signature's /Contents replaced, in place, by zeros: no signature left."""
    start, end = contents_hex(pdf)
    return pdf[:start] + b"0" * (end - start) + pdf[end:]


def copied_signature(pdf: bytes, other: bytes) -> bytes:
    """The /Contents of ``other`` (another certificate, same padding size) put into ``pdf``."""
    start, end = contents_hex(pdf)
    o_start, o_end = contents_hex(other)
    assert end - start == o_end - o_start, "the two signatures reserve different sizes"
    return pdf[:start] + other[o_start:o_end] + pdf[end:]


def _update(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _name(value: str) -> generic.NameObject:
    return generic.NameObject(value)


def info_changed(pdf: bytes) -> bytes:
    """An incremental update whose /Info names another title and producer."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        writer.set_info(generic.DictionaryObject({
            _name("/Title"): generic.TextStringObject("Certificate of Origin (amended)"),
            _name("/Producer"): generic.TextStringObject("somebody else"),
        }))

    return _update(pdf, change)


def _first_page(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    return writer.root["/Pages"]["/Kids"][0].get_object()


def annotation_added(pdf: bytes) -> bytes:
    """A FreeText annotation that claims another country of origin."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        page = _first_page(writer)
        annot = writer.add_object(generic.DictionaryObject({
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/FreeText"),
            _name("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                 for v in (50, 50, 200, 80)]),
            _name("/Contents"): generic.TextStringObject("Country of origin: CHINA"),
            _name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
        }))
        annots = page.get("/Annots", generic.ArrayObject())
        annots = annots.get_object() if hasattr(annots, "get_object") else annots
        annots.append(annot)
        page[_name("/Annots")] = annots
        writer.update_container(page)

    return _update(pdf, change)


def form_field_added(pdf: bytes) -> bytes:
    """A text form field (with its widget on the first page) filled in after signing."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        page = _first_page(writer)
        page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
        field = writer.add_object(generic.DictionaryObject({
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/Widget"),
            _name("/FT"): _name("/Tx"),
            _name("/T"): generic.TextStringObject("Remarks"),
            _name("/V"): generic.TextStringObject("Goods of Chinese origin"),
            _name("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                 for v in (50, 90, 300, 110)]),
            _name("/DA"): generic.TextStringObject("/Helv 10 Tf 0 g"),
        }))
        field.get_object()[_name("/P")] = page_ref
        annots = page.get("/Annots", generic.ArrayObject())
        annots = annots.get_object() if hasattr(annots, "get_object") else annots
        annots.append(field)
        page[_name("/Annots")] = annots
        writer.update_container(page)
        form = writer.root["/AcroForm"]
        fields = form["/Fields"]
        fields.append(field)
        writer.update_container(form)

    return _update(pdf, change)


def page_content_added(pdf: bytes) -> bytes:
    """A content stream appended to the first page that writes over the certificate."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(
            stream_data=b"BT /F1 18 Tf 60 400 Td (ORIGIN: CHINA) Tj ET")))

    return _update(pdf, change)


def signature_field_removed(pdf: bytes) -> bytes:
    """An incremental update that takes the signature field out of the form and the page."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        form = writer.root["/AcroForm"]
        kept = generic.ArrayObject(
            f for f in form["/Fields"] if f.get_object().get("/FT") != "/Sig")
        form[_name("/Fields")] = kept
        writer.update_container(form)
        page = _first_page(writer)
        if "/Annots" in page:
            annots = generic.ArrayObject(
                a for a in page["/Annots"] if a.get_object().get("/FT") != "/Sig")
            page[_name("/Annots")] = annots
            writer.update_container(page)

    return _update(pdf, change)


def document_timestamp_added(pdf: bytes, timestamper: object) -> bytes:
    """What a B-LTA extension adds: a document timestamp in an incremental update."""
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

    out = io.BytesIO()
    PdfTimeStamper(timestamper).timestamp_pdf(  # type: ignore[arg-type]
        IncrementalPdfFileWriter(io.BytesIO(pdf)), md_algorithm="sha256", output=out)
    return out.getvalue()


def _add_dss(writer: IncrementalPdfFileWriter) -> None:
    """The officer's certificates (from the signature's CMS) into the DSS, as validation
    data is added to a B-LTA file."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    signature = next(s for s in writer.prev.embedded_signatures
                     if s.sig_object_type == "/Sig")
    certs = [signature.signer_cert, *signature.other_embedded_certs]
    DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=certs)


def dss_added(pdf: bytes) -> bytes:
    """An incremental update that adds only validation data: a DSS with the officer's
    certificates (what pyHanko writes after a signature or document timestamp)."""
    return _update(pdf, _add_dss)


def dss_and_page_content_added(pdf: bytes) -> bytes:
    """One incremental update that adds a DSS (validation data) and, with it, a content
    stream on the first page: the DSS must not carry a change to the certificate."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        _add_dss(writer)
        writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(
            stream_data=b"BT /F1 18 Tf 60 400 Td (ORIGIN: CHINA) Tj ET")))

    return _update(pdf, change)


TAMPERINGS: dict[str, Callable[[bytes], bytes]] = {
    "flip in the first signed range": flip_in_first_range,
    "flip in the second signed range": flip_in_second_range,
    "flip in the signature": flip_in_signature,
    "flip in the /Contents padding": flip_in_padding,
    "truncated": truncated,
    "update: /Info changed": info_changed,
    "update: annotation added": annotation_added,
    "update: form field added": form_field_added,
    "update: page content added": page_content_added,
    "update: signature field removed": signature_field_removed,
    "signature emptied": emptied_signature,
}


def corpus(pdf: bytes, other: bytes, timestamper: object) -> dict[str, bytes]:
    """Every tampered variant of ``pdf`` by name (``other``: another issued certificate;
    ``timestamper``: a pyHanko timestamper for the document timestamps)."""
    files = {name: make(pdf) for name, make in TAMPERINGS.items()}
    files["signature copied from another certificate"] = copied_signature(pdf, other)
    files["update after a document timestamp: DSS and page content added"] = \
        dss_and_page_content_added(document_timestamp_added(pdf, timestamper))
    return files
