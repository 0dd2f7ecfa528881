"""The embedded demo's supporting documents: real files an officer can open.

Each application gets its commercial invoice, packing list and bill of lading as small
PDFs with its own figures (exporter, consignee, invoice number, goods, FOB values,
vessel, ports) and, for a preferential one, its cost sheet (other kinds: a certificate-like
PDF); back-to-back applications get a scan (PNG) of the foreign certificate, in-lieu ones a
scan (JPEG) of the original certificate returned. One invoice is deliberately not what its
name says: the first submitted application of the Mumbai office has an ``invoice_N.pdf``
that holds a ZIP archive, so an officer sees the desk's warning.

Kept fast (2,000 applications, ~7,000 documents, about half a second): reportlab draws
each kind's page once with fixed-width placeholders, uncompressed; a document is that
page's content stream with its values written over the placeholders, deflated, and the
template's other objects around it with a fresh cross-reference table (~3 KB a file).
Scans are drawn once per variant and shared.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ROWS = 8  # goods rows on a page (more lines: "and N more")


@dataclass(frozen=True)
class Field:
    name: str
    width: int


class Template:
    """A reportlab page whose placeholders are replaced by same-length values."""

    def __init__(self, title: str, draw: Any, fields: Sequence[Field]) -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        self.fields = list(fields)
        self.marks = {f.name: (f"@{i:03d}" + "#" * f.width)[:max(f.width, 4)].encode("ascii")
                      for i, f in enumerate(self.fields)}
        buffer = io.BytesIO()
        page = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
        page.setTitle(title)
        page.setAuthor("Origin Desk demo")
        draw(page, {name: mark.decode() for name, mark in self.marks.items()})
        page.showPage()
        page.save()
        self.pdf = buffer.getvalue()
        for name, mark in self.marks.items():
            if self.pdf.count(mark) != 1:
                raise AssertionError(f"placeholder {name} is not drawn exactly once")
        self._split()

    def _split(self) -> None:
        """The template's objects, its page content stream apart (filled, then deflated)."""
        pdf = self.pdf
        starts = [m for m in re.finditer(rb"(\d+) 0 obj\n", pdf)]
        self.head = pdf[:starts[0].start()]
        xref = pdf.index(b"\nxref\n") + 1
        trailer = pdf.index(b"trailer\n", xref)
        self.trailer = pdf[trailer:pdf.index(b"startxref", trailer)]
        self.objects: list[bytes] = []
        self.content_at = -1
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else xref
            body = pdf[match.start():end]
            if b"\nstream\r\n" in body or b"\nstream\n" in body:
                if self.content_at >= 0:
                    raise AssertionError("a template has one content stream")
                self.content_at = i
                marker = b"stream\r\n" if b"stream\r\n" in body else b"stream\n"
                begin = body.index(marker) + len(marker)
                finish = body.rindex(b"endstream")
                self.number = match.group(1)
                self._pieces(body[begin:finish].rstrip(b"\r\n"))
            self.objects.append(body)

    def _pieces(self, stream: bytes) -> None:
        """The content stream as literal runs and (field, width) holes, in order."""
        by_mark = {mark: name for name, mark in self.marks.items()}
        pattern = re.compile(b"|".join(re.escape(m) for m in sorted(by_mark, key=len,
                                                                     reverse=True)))
        self.pieces: list[bytes | tuple[str, int]] = []
        at = 0
        for match in pattern.finditer(stream):
            self.pieces.append(stream[at:match.start()])
            self.pieces.append((by_mark[match.group()], len(match.group())))
            at = match.end()
        self.pieces.append(stream[at:])

    def fill(self, values: dict[str, str]) -> bytes:
        """The page with ``values`` written in, its content deflated (a small file)."""
        stream = b"".join(piece if isinstance(piece, bytes)
                          else _pdf_text(values.get(piece[0], ""), piece[1])
                          for piece in self.pieces)
        packed = zlib.compress(stream, 1)
        objects = list(self.objects)
        objects[self.content_at] = (
            self.number + b" 0 obj\n<< /Filter /FlateDecode /Length "
            + str(len(packed)).encode() + b" >>\nstream\n" + packed + b"\nendstream\nendobj\n")
        out = bytearray(self.head)
        offsets = []
        for body in objects:
            offsets.append(len(out))
            out += body
        xref_at = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += self.trailer + b"startxref\n%d\n%%%%EOF\n" % xref_at
        return bytes(out)


def _pdf_text(value: str, width: int) -> bytes:
    """``value`` as PDF literal-string bytes of exactly ``width`` (ASCII, no escapes)."""
    if not value:
        return b" " * width
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    if "(" in value or ")" in value or "\\" in value:
        value = value.replace("(", "[").replace(")", "]").replace("\\", "/")
    return value[:width].ljust(width).encode("ascii")


def _goods_fields() -> list[Field]:
    fields = []
    for r in range(ROWS):
        fields += [Field(f"item{r}", 4), Field(f"desc{r}", 44), Field(f"hs{r}", 10),
                   Field(f"qty{r}", 18), Field(f"fob{r}", 16)]
    return fields


def _header(page: Any, title: str, m: dict[str, str]) -> None:
    page.setFillColorRGB(0.12, 0.23, 0.37)
    page.rect(40, 780, 515, 34, stroke=0, fill=1)
    page.setFillColorRGB(1, 1, 1)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(52, 792, title)
    page.setFillColorRGB(0, 0, 0)
    page.setFont("Helvetica-Bold", 11)
    page.drawString(40, 756, m["exporter"])
    page.setFont("Helvetica", 9)
    page.drawString(40, 743, m["exporter_address"])
    page.drawString(40, 731, m["exporter_ids"])


def _parties(page: Any, m: dict[str, str], y: float) -> None:
    page.setFont("Helvetica-Bold", 9)
    page.drawString(40, y, "Consignee")
    page.drawString(320, y, "Reference")
    page.setFont("Helvetica", 9)
    page.drawString(40, y - 13, m["consignee"])
    page.drawString(40, y - 25, m["consignee_address"])
    page.drawString(40, y - 37, m["country"])
    page.drawString(320, y - 13, m["ref1"])
    page.drawString(320, y - 25, m["ref2"])
    page.drawString(320, y - 37, m["ref3"])


def _goods_table(page: Any, m: dict[str, str], y: float, last: str) -> None:
    page.setFont("Helvetica-Bold", 9)
    for x, head in ((40, "No."), (70, "Description of goods"), (330, "HS code"),
                    (400, "Quantity"), (490, last)):
        page.drawString(x, y, head)
    page.line(40, y - 4, 555, y - 4)
    page.setFont("Helvetica", 9)
    for r in range(ROWS):
        row_y = y - 18 - r * 15
        page.drawString(40, row_y, m[f"item{r}"])
        page.drawString(70, row_y, m[f"desc{r}"])
        page.drawString(330, row_y, m[f"hs{r}"])
        page.drawString(400, row_y, m[f"qty{r}"])
        page.drawString(490, row_y, m[f"fob{r}"])
    end = y - 18 - ROWS * 15
    page.line(40, end + 8, 555, end + 8)
    page.setFont("Helvetica-Bold", 9)
    page.drawString(330, end - 6, m["total_label"])
    page.drawString(490, end - 6, m["total"])


def _signature(page: Any, m: dict[str, str], y: float) -> None:
    page.setFont("Helvetica", 9)
    page.drawString(40, y, m["footer"])
    page.drawString(360, y - 40, "Authorised signatory")
    page.line(360, y - 28, 540, y - 28)
    page.setFont("Helvetica-Oblique", 7)
    page.setFillColorRGB(0.45, 0.45, 0.45)
    page.drawString(40, 40, "Demo document generated by Origin Desk for the embedded demo store.")


COMMON = [Field("exporter", 60), Field("exporter_address", 96), Field("exporter_ids", 80),
          Field("consignee", 50), Field("consignee_address", 60), Field("country", 40),
          Field("ref1", 44), Field("ref2", 44), Field("ref3", 44), Field("footer", 96)]


def _commercial(title: str, last: str) -> Template:
    def draw(page: Any, m: dict[str, str]) -> None:
        _header(page, title, m)
        _parties(page, m, 700)
        page.setFont("Helvetica", 9)
        page.drawString(40, 640, m["transport"])
        _goods_table(page, m, 610, last)
        _signature(page, m, 420)

    return Template(title, draw, COMMON + [Field("transport", 96), Field("total_label", 24),
                                           Field("total", 16)] + _goods_fields())


def _bill_of_lading() -> Template:
    def draw(page: Any, m: dict[str, str]) -> None:
        _header(page, "BILL OF LADING", m)
        _parties(page, m, 700)
        page.setFont("Helvetica-Bold", 9)
        for i, label in enumerate(("Vessel / voyage", "Port of loading", "Port of discharge",
                                   "Shipped on board", "Marks and numbers")):
            page.drawString(40, 630 - i * 16, label)
        page.setFont("Helvetica", 9)
        for i, name in enumerate(("vessel", "loading", "discharge", "shipped", "marks")):
            page.drawString(160, 630 - i * 16, m[name])
        _goods_table(page, m, 530, "Gross kg")
        page.setFont("Helvetica-Bold", 11)
        page.drawString(40, 330, "SHIPPED ON BOARD  -  CLEAN")
        _signature(page, m, 300)

    return Template("Bill of lading", draw, COMMON + [
        Field("vessel", 60), Field("loading", 60), Field("discharge", 60), Field("shipped", 20),
        Field("marks", 60), Field("total_label", 24), Field("total", 16)] + _goods_fields())


def _cost_sheet() -> Template:
    def draw(page: Any, m: dict[str, str]) -> None:
        _header(page, "COST SHEET (for origin)", m)
        _parties(page, m, 700)
        page.setFont("Helvetica", 9)
        page.drawString(40, 640, m["agreement"])
        _goods_table(page, m, 610, "FOB")
        _signature(page, m, 420)

    return Template("Cost sheet", draw, COMMON + [Field("agreement", 96), Field("total_label", 24),
                                                  Field("total", 16)] + _goods_fields())


def _original_certificate() -> Template:
    def draw(page: Any, m: dict[str, str]) -> None:
        _header(page, "CERTIFICATE OF ORIGIN (copy of the original)", m)
        _parties(page, m, 700)
        page.setFont("Helvetica", 9)
        page.drawString(40, 640, m["agreement"])
        _goods_table(page, m, 610, "FOB")
        page.setFont("Helvetica-Bold", 22)
        page.setFillColorRGB(0.75, 0.1, 0.1)
        page.drawString(150, 380, "COPY - SUPERSEDED ON ISSUE")
        page.setFillColorRGB(0, 0, 0)
        _signature(page, m, 340)

    return Template("Original certificate", draw, COMMON + [
        Field("agreement", 96), Field("total_label", 24), Field("total", 16)] + _goods_fields())


def _scan(lines: Sequence[str], *, kind: str, seal: str) -> bytes:
    """A document 'scanned' at low resolution: greyscale paper, black type, a round seal."""
    from PIL import Image, ImageDraw, ImageFont

    mode, paper = ("L", 238) if kind == "JPEG" else ("L", 250)
    image = Image.new(mode, (640, 860), paper)
    draw = ImageDraw.Draw(image)
    big = ImageFont.load_default(size=22)
    small = ImageFont.load_default(size=14)
    draw.rectangle((24, 24, 616, 836), outline=60, width=2)
    draw.text((48, 48), lines[0], fill=20, font=big)
    for i, line in enumerate(lines[1:]):
        draw.text((48, 110 + i * 30), line, fill=35, font=small)
    draw.ellipse((420, 640, 580, 800), outline=90, width=4)
    draw.text((448, 708), seal, fill=90, font=small)
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=60)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


class DemoPapers:
    """Makes each demo document's bytes (build once per demo store)."""

    def __init__(self) -> None:
        self.invoice = _commercial("COMMERCIAL INVOICE", "FOB USD")
        self.packing = _commercial("PACKING LIST", "Gross kg")
        self.lading = _bill_of_lading()
        self.sheet = _cost_sheet()
        self.original = _original_certificate()
        self._scans: dict[tuple[str, str], bytes] = {}
        self.mislabelled: int | None = None  # the application whose invoice is a ZIP

    def _values(self, app: dict[str, Any], lines: Sequence[dict[str, Any]],
                exporter: dict[str, Any], last: str) -> dict[str, str]:
        values = {
            "exporter": exporter.get("name", ""),
            "exporter_address": exporter.get("address", ""),
            "exporter_ids": f"IEC {exporter.get('iec', '')}",
            "consignee": app.get("consignee_name", ""),
            "consignee_address": app.get("consignee_address", ""),
            "country": f"Country: {app.get('consignee_country', '')}",
            "ref1": f"Invoice {app.get('invoice_number', '')}",
            "ref2": f"Date {_day(app.get('invoice_date'))}",
            "ref3": f"Application {app.get('number', '')}",
            "transport": (f"By {app.get('transport_mode', '')}: {app.get('vessel_or_flight', '')}"
                          f" from {app.get('port_of_loading', '')} to "
                          f"{app.get('port_of_discharge', '')}"),
            "footer": (f"We declare that the goods are as described. "
                       f"{app.get('declaration_place', '')} {_day(app.get('declaration_date'))}"),
            "agreement": (f"Agreement {app.get('agreement_code') or 'non-preferential'} - form "
                          f"{app.get('form_code', '')}"),
            "vessel": str(app.get("vessel_or_flight", "")),
            "loading": str(app.get("port_of_loading", "")),
            "discharge": str(app.get("port_of_discharge", "")),
            "shipped": _day(app.get("departure_date")),
            "marks": " / ".join(str(line.get("marks", "")) for line in lines[:2]),
        }
        total = Decimal("0")
        for r, line in enumerate(lines[:ROWS]):
            figure = line.get("gross_weight_kg") if last == "Gross kg" else line.get("fob_value")
            values.update({
                f"item{r}": str(line.get("item_no", r + 1)),
                f"desc{r}": str(line.get("description", "")),
                f"hs{r}": str(line.get("hs_code", "")),
                f"qty{r}": f"{line.get('quantity', '')} {line.get('unit', '')}",
                f"fob{r}": _money(figure or 0),
            })
        for line in lines:
            figure = line.get("gross_weight_kg") if last == "Gross kg" else line.get("fob_value")
            total += Decimal(str(figure or 0))
        if len(lines) > ROWS:
            values[f"desc{ROWS - 1}"] = f"... and {len(lines) - ROWS + 1} more lines"
            for key in ("item", "hs", "qty", "fob"):
                values[f"{key}{ROWS - 1}"] = ""
        values["total_label"] = "Total gross weight (kg)" if last == "Gross kg" else "Total FOB"
        values["total"] = _money(total)
        return values

    def document(self, kind: str, app: dict[str, Any], lines: Sequence[dict[str, Any]],
                 exporter: dict[str, Any], office_code: str = "") -> tuple[str, str, bytes]:
        """(file name, media type, bytes) of one demo document of ``kind``."""
        app_id = app["id"]
        if kind == "invoice":
            if (self.mislabelled is None and office_code == "MUM"
                    and str(app.get("status")) == "submitted"):
                self.mislabelled = app_id
                return f"invoice_{app_id}.pdf", "application/pdf", _zip_archive(app)
            return (f"invoice_{app_id}.pdf", "application/pdf",
                    self.invoice.fill(self._values(app, lines, exporter, "FOB USD")))
        if kind == "packing_list":
            return (f"packing_list_{app_id}.pdf", "application/pdf",
                    self.packing.fill(self._values(app, lines, exporter, "Gross kg")))
        if kind == "bill_of_lading":
            return (f"bill_of_lading_{app_id}.pdf", "application/pdf",
                    self.lading.fill(self._values(app, lines, exporter, "Gross kg")))
        if kind == "cost_sheet":
            return (f"cost_sheet_{app_id}.pdf", "application/pdf",
                    self.sheet.fill(self._values(app, lines, exporter, "FOB USD")))
        if kind == "original_certificate":
            return (f"original_certificate_{app_id}.jpg", "image/jpeg",
                    self._scan_of("JPEG", "original", app))
        if kind == "foreign_certificate":
            return (f"foreign_certificate_{app_id}.png", "image/png",
                    self._scan_of("PNG", "foreign", app))
        return (f"{kind}_{app_id}.pdf", "application/pdf",
                self.original.fill(self._values(app, lines, exporter, "FOB USD")))

    def _scan_of(self, kind: str, what: str, app: dict[str, Any]) -> bytes:
        """A scan shared by the applications of one variant (drawn once: the demo stays
        quick to build)."""
        if what == "foreign":
            country = str(app.get("foreign_certificate_country") or "XX")
            issuer = str(app.get("foreign_certificate_issuer") or "Issuing authority")
            key = (what, country)
            lines = ["CERTIFICATE OF ORIGIN", f"Issued by {issuer[:52]}",
                     f"Country of origin: {country}", "Goods: as per attached invoice",
                     "This certificate is issued for goods exported", "to the Republic of India.",
                     "", "Scanned copy supplied by the exporter."]
            seal = f"{country} SEAL"
        else:
            key = (what, "")
            lines = ["CERTIFICATE OF ORIGIN - ORIGINAL", "Returned by the exporter for",
                     "replacement by a certificate in lieu, for the reason",
                     "stated in the application.", "",
                     "RETURNED - TO BE SUPERSEDED ON ISSUE", "", "(scanned copy)"]
            seal = "RETURNED"
        if key not in self._scans:
            self._scans[key] = _scan(lines, kind=kind, seal=seal)
        return self._scans[key]


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.strftime("%d %b %Y") if isinstance(value, dt.date) else str(value or "")


def _zip_archive(app: dict[str, Any]) -> bytes:
    """What the exporter really uploaded as 'invoice_N.pdf': a ZIP archive (with a program
    inside, as such mail attachments often hold). Never to be opened by another program."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("invoice_scan.pdf.exe", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(info, b"MZ" + b"\0" * 62 + f"not an invoice: {app['number']}".encode())
    return out.getvalue()

