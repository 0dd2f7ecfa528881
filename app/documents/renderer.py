"""One renderer for every form: lays out a FormSpec with CertificateData, draws with reportlab.

Two passes. Layout decides, page by page, what goes where (boxes on page 1, goods rows,
continuation pages for goods and for box text that did not fit); drawing then runs with
the page count known, so every page carries the reference number, "Page X of Y", the QR
code and, on drafts, the watermark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import logging
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from app.documents.canonical import normalise_text
from app.documents.certificate_data import CertificateData
from app.documents.countries import country_name
from app.documents.field_text import (
    GOODS_CELLS,
    Para,
    box_paragraphs,
    split_lines,
    statement_values,
)
from app.documents.fonts import FontPair, certificate_fonts
from app.documents.form_spec import BoxSpec, FormSpec, FormSpecError, Rect, load_form_spec
from app.documents.images import draw_encoded_image, encoded_image
from app.documents.pdf_text import TextRun, emit_text
from app.documents.qr_code import QUIET_ZONE_MODULES, QrSymbol, draw_symbol, make_symbol
from app.documents.qr_payload import (
    QrPayloadError,
    QrSigner,
    build_draft_qr_payload,
    build_qr_payload,
    encode_qr_text,
    payload_from_qr_text,
    payload_mismatch,
)
from app.documents.scripts import UnprintableTextError as UnprintableTextError
from app.documents.scripts import check_printable
from app.documents.text_fit import Fit, Line, fit, fit_width, text_width, wrap_paragraphs

log = logging.getLogger(__name__)

# Binary streams (standard since PDF 1.0): ASCII85 only makes files 25% bigger and slower.
rl_config.useA85 = 0

MM = 72.0 / 25.4
PAD = 1.3 * MM  # inner padding of a box
ROW_GAP = 2.2  # points between goods items
LINE_WIDTH = 0.6
WATERMARK = "DRAFT — not valid"
ORIGINAL = "ORIGINAL"
LANGUAGE = "en-IN"


@dataclass(frozen=True)
class RenderedCertificate:
    pdf: bytes
    page_count: int
    certification_page: int  # 0-based index of the page with the certification box
    certification_box: tuple[float, float, float, float]  # PDF points x1, y1, x2, y2
    signature_box: tuple[float, float, float, float]  # stamp + signature area inside it
    qr_payload: bytes
    qr_text: str
    draft: bool
    goods_pages: tuple[int, ...]  # per goods line: the 1-based page its item starts on
    # per page (0-based): each box's rectangle x1, y1, x2, y2 in PDF points, by box id on
    # page 1, "goods" and "goods.<column key>" on every page with goods
    box_rects: tuple[dict[str, tuple[float, float, float, float]], ...] = ()


DrawOp = Callable[[Canvas], None]


@dataclass
class _Section:
    """Box text that continues on a continuation page."""

    title: str
    paras: list[Para]
    start_page: int = 0  # 1-based, known after layout


@dataclass
class _Page:
    ops: list[DrawOp] = field(default_factory=list)
    continuation: bool = False


@dataclass
class _Cell:
    """A goods cell's wrapped lines and the size they are drawn at (the goods size, or
    smaller down to the form's minimum where that keeps a token whole)."""

    lines: list[Line]
    size: float

    def height(self, leading: float) -> float:
        return len(self.lines) * self.size * leading


@dataclass
class _Row:
    cells: list[_Cell]  # per column
    item_no: int | None  # None on trailer rows
    index: int | None = None  # position in data.goods; None on trailer rows and tails

    def height(self, leading: float) -> float:
        return max((c.height(leading) for c in self.cells), default=0.0)


class _Layout:
    def __init__(
        self, spec: FormSpec, data: CertificateData, fonts: FontPair, symbol: QrSymbol, draft: bool
    ) -> None:
        self.spec = spec
        self.data = data
        self.fonts = fonts
        self.symbol = symbol
        self.draft = draft
        self.page_w = spec.page_size_mm[0] * MM
        self.page_h = spec.page_size_mm[1] * MM
        left, right, top, bottom = spec.margins_mm
        self.frame_x = left * MM
        self.frame_top = self.page_h - top * MM
        self.frame_w = spec.frame_mm[0] * MM
        self.frame_bottom = bottom * MM
        self.pages: list[_Page] = [_Page()]
        self.sections: list[_Section] = []
        self.certification_box = (0.0, 0.0, 0.0, 0.0)
        self.signature_box = (0.0, 0.0, 0.0, 0.0)
        self.goods_pages: dict[int, int] = {}
        self.box_rects: dict[int, dict[str, tuple[float, float, float, float]]] = {}
        self.values = statement_values(data, spec.agreement)
        f = spec.fonts
        self.leading = f.leading

    # --- geometry -------------------------------------------------------------------
    def pts(self, r: Rect) -> tuple[float, float, float, float]:
        """(x, bottom, width, height) in points of a frame rectangle given in mm."""
        x = self.frame_x + r.x * MM
        top = self.frame_top - r.y * MM
        return x, top - r.h * MM, r.w * MM, r.h * MM

    # --- primitives -----------------------------------------------------------------
    def statement(self, text: str, where: str) -> str:
        try:
            return text.format_map(self.values)
        except (KeyError, ValueError) as exc:
            raise FormSpecError(
                f"form specification {self.spec.source.name}: {where} uses an unknown "
                f"placeholder {exc}; known: {', '.join(self.values)}"
            ) from None

    def font(self, bold: bool) -> str:
        return self.fonts.bold if bold else self.fonts.regular

    def text_op(
        self, lines: Sequence[Line], x: float, top: float, width: float, size: float,
        align: str = "left",
    ) -> DrawOp:
        """Draw wrapped lines from ``top`` downwards (first baseline one ascent below)."""
        step = size * self.leading
        runs: list[TextRun] = []
        y = top - size * 0.93
        for line in lines:
            font = self.font(line.bold)
            if not line.text or align == "left" and not line.rtl:
                lx = x  # a right-to-left paragraph's lines align right in a left box
            else:
                lw = text_width(line.text, font, size)
                lx = x + (width - lw) / 2 if align == "center" else x + width - lw
                lx = max(lx, x)
            runs.append((lx, y, font, line.text, size, line.bidi))
            y -= step
        return lambda c: emit_text(c, runs)

    def fit_paras(self, paras: Sequence[Para], width: float, height: float, *,
                  max_size: float | None = None, min_size: float | None = None) -> Fit:
        f = self.spec.fonts
        return fit(
            paras,
            regular=self.fonts.regular,
            bold=self.fonts.bold,
            width=width,
            height=height,
            max_size=f.text_size if max_size is None else max_size,
            min_size=f.min_text_size if min_size is None else min_size,
            leading=self.leading,
        )

    def caption_lines(self, box: BoxSpec, width: float) -> list[Line]:
        if not box.caption and not box.number:
            return []
        label = f"{box.number}. {box.caption}" if box.number else box.caption
        return wrap_paragraphs([Para(label)], self.fonts.regular, self.fonts.bold,
                               self.spec.fonts.caption_size, width)

    def place_fitted(self, page: _Page, fitted: Fit, x: float, top: float, width: float,
                     title: str, align: str = "left") -> None:
        """Draw a fit's lines; on overflow add the note and a continuation section."""
        page.ops.append(self.text_op(fitted.lines, x, top, width, fitted.size, align))
        if not fitted.overflowed:
            return
        section = _Section(title, fitted.overflow)
        self.sections.append(section)
        note_y = top - len(fitted.lines) * fitted.size * self.leading
        size = fitted.size

        def note(c: Canvas) -> None:
            text = f"→ continued on page {section.start_page}"
            emit_text(c, [(x, note_y - size * 0.93, self.fonts.bold, text, size)])

        page.ops.append(note)

    # --- page 1 -----------------------------------------------------------------------
    def layout_first_page(self) -> None:
        page = self.pages[0]
        for box in self.spec.boxes:
            x, bottom, w, h = self.pts(box.rect)
            self.box_rects.setdefault(0, {})[box.id] = (x, bottom, x + w, bottom + h)
            page.ops.append(_border_op(x, bottom, w, h))
            handler = _BOX_HANDLERS[box.style]
            handler(self, page, box, x, bottom, w, h)

    def box_title(self, box: BoxSpec) -> str:
        label = f"Box {box.number}" if box.number else "Box"
        return f"{label} · {box.caption}" if box.caption else label

    def text_box(self, page: _Page, box: BoxSpec, x: float, bottom: float, w: float,
                 h: float) -> None:
        inner_w = w - 2 * PAD
        caption = self.caption_lines(box, inner_w)
        cap_size = self.spec.fonts.caption_size
        top = bottom + h - PAD * 0.8
        if caption:
            page.ops.append(self.text_op(caption, x + PAD, top, inner_w, cap_size))
            top -= len(caption) * cap_size * self.leading + 1.5
        footer_h = 0.0
        if box.footer:
            footer = wrap_paragraphs([Para(box.footer)], self.fonts.regular, self.fonts.bold,
                                     cap_size, inner_w)
            footer_h = len(footer) * cap_size * self.leading + 1
            page.ops.append(self.text_op(footer, x + PAD, bottom + PAD * 0.6 + footer_h,
                                         inner_w, cap_size, "center"))
        paras = box_paragraphs(box.content, self.data)
        if box.statement:
            stmt = [Para(p) for p in self.statement(box.statement, f"boxes.{box.id}").split("\n")]
            paras = [*stmt, Para(""), *paras] if paras else stmt
        paras.extend(Para(s) for s in box.static)
        fitted = self.fit_paras(paras, inner_w, top - bottom - PAD * 0.6 - footer_h)
        self.place_fitted(page, fitted, x + PAD, top, inner_w, self.box_title(box), box.align)

    def title_box(self, page: _Page, box: BoxSpec, x: float, bottom: float, w: float,
                  h: float) -> None:
        inner_w = w - 2 * PAD
        title = [Para(t, True) for t in self.spec.title]
        paras: list[Para] = []
        for key in box.content or ("form_title",):
            paras.extend(title if key == "form_title" else box_paragraphs((key,), self.data))
        if "form_title" not in box.content:
            paras = [*title, *paras] if box.content else paras
        paras.extend(Para(s) for s in box.static)
        if self.spec.agreement:  # a preferential form's heading says, first, which copy it is
            paras.insert(0, Para(ORIGINAL, True))
        f = self.spec.fonts
        fitted = self.fit_paras(paras, inner_w, h - 2 * PAD, max_size=f.title_size)
        used = len(fitted.lines) * fitted.size * self.leading
        top = bottom + h - PAD - max(0.0, (h - 2 * PAD - used) / 2)
        self.place_fitted(page, fitted, x + PAD, top, inner_w, "Certificate heading", "center")

    def checkbox_box(self, page: _Page, box: BoxSpec, x: float, bottom: float, w: float,
                     h: float) -> None:
        ticked = {self.data.kind}
        if getattr(self.data, "issued_retrospectively", False):
            ticked.add("retrospective")
        paras = [
            Para(("☒ " if o.ticked_when in ticked else "☐ ") + o.label, o.ticked_when in ticked)
            for o in box.options
        ]
        inner_w = w - 2 * PAD
        caption = self.caption_lines(box, inner_w)
        cap_size = self.spec.fonts.caption_size
        top = bottom + h - PAD * 0.8
        page.ops.append(self.text_op(caption, x + PAD, top, inner_w, cap_size))
        top -= len(caption) * cap_size * self.leading + 1.5
        # options in two columns when they fit that way
        half = (inner_w - PAD) / 2
        left, right = paras[: (len(paras) + 1) // 2], paras[(len(paras) + 1) // 2 :]
        size = self.spec.fonts.text_size
        for col, chunk in ((0, left), (1, right)):
            fitted = self.fit_paras(chunk, half, top - bottom - PAD * 0.5, max_size=size)
            self.place_fitted(page, fitted, x + PAD + col * (half + PAD), top, half,
                              self.box_title(box))

    def qr_box(self, page: _Page, box: BoxSpec, x: float, bottom: float, w: float,
               h: float) -> None:
        page.ops.append(self.qr_op(x, bottom, w, h))

    def qr_op(self, x: float, bottom: float, w: float, h: float) -> DrawOp:
        spec = self.spec
        n = self.symbol.size + 2 * QUIET_ZONE_MODULES
        side = min(w, h) - 2 * PAD * 0.5
        module = min(spec.qr_module_mm * MM, side / n)
        if module < spec.qr_min_module_mm * MM - 1e-9:
            raise FormSpecError(
                f"form specification {spec.source.name}: the QR box holds modules of only "
                f"{module / MM:.2f} mm for a version {self.symbol.version} code; make it larger"
            )
        size = n * module
        qx = x + (w - size) / 2 + QUIET_ZONE_MODULES * module
        qy = bottom + (h - size) / 2 + QUIET_ZONE_MODULES * module
        symbol = self.symbol
        return lambda c: draw_symbol(c, symbol, qx, qy, module)

    def certification_box_layout(self, page: _Page, box: BoxSpec, x: float, bottom: float,
                                 w: float, h: float) -> None:
        self.certification_box = (x, bottom, x + w, bottom + h)
        inner_w = w - 2 * PAD
        f = self.spec.fonts
        cap_size = f.caption_size
        top = bottom + h - PAD * 0.8
        caption = self.caption_lines(box, inner_w)
        page.ops.append(self.text_op(caption, x + PAD, top, inner_w, cap_size))
        top -= len(caption) * cap_size * self.leading + 1.5
        if box.statement:
            stmt = [Para(p) for p in self.statement(box.statement, f"boxes.{box.id}").split("\n")]
            fitted = self.fit_paras(stmt, inner_w, h * 0.3)
            self.place_fitted(page, fitted, x + PAD, top, inner_w, self.box_title(box))
            top -= (len(fitted.lines) + (1 if fitted.overflowed else 0)) * fitted.size * \
                self.leading + 2
        footer_h = 0.0
        if box.footer:
            footer = wrap_paragraphs([Para(box.footer)], self.fonts.regular, self.fonts.bold,
                                     cap_size, inner_w)
            footer_h = len(footer) * cap_size * self.leading + 1
            page.ops.append(self.text_op(footer, x + PAD, bottom + PAD * 0.6 + footer_h,
                                         inner_w, cap_size, "center"))
        area_bottom = bottom + PAD * 0.6 + footer_h
        area_h = top - area_bottom
        images_w = min(inner_w * 0.56, 92 * MM)
        text_x = x + PAD + images_w + PAD
        text_w = inner_w - images_w - PAD
        self.signature_box = (x + PAD, area_bottom, x + PAD + images_w, top)
        paras = box_paragraphs(box.content, self.data)
        fitted = self.fit_paras(paras, text_w, area_h)
        used = (len(fitted.lines) + (1 if fitted.overflowed else 0)) * fitted.size * self.leading
        text_top = area_bottom + max(used, min(area_h, area_h * 0.5 + used / 2))
        self.place_fitted(page, fitted, text_x, text_top, text_w, self.box_title(box))
        self.image_ops(page, x + PAD, area_bottom, images_w, area_h)

    def image_ops(self, page: _Page, x: float, bottom: float, w: float, h: float) -> None:
        stamp = encoded_image(self.data.stamp_png, "office stamp") if self.data.stamp_png else None
        sig = (
            encoded_image(self.data.signature_png, "officer's signature")
            if self.data.signature_png
            else None
        )
        side = 0.0
        if stamp is not None:
            side = min(h, w * 0.55, 34 * MM)
            sx, sy = x, bottom + (h - side) / 2
            page.ops.append(lambda c: draw_encoded_image(c, stamp, sx, sy, side, side))
        if sig is not None:
            sig_w = min(w * 0.62 if stamp is not None else w, 56 * MM)
            sig_h = min(h * 0.7, sig_w / max(sig.aspect, 0.3), 24 * MM)
            gx = x + (side * 0.75 if stamp is not None else 0)
            gy = bottom + (h - sig_h) / 2
            page.ops.append(lambda c: draw_encoded_image(c, sig, gx, gy, sig_w, sig_h))

    # --- goods ------------------------------------------------------------------------
    def goods_cell(self, paras: Sequence[Para], width: float) -> _Cell:
        """A goods cell wrapped like box text: at the goods size, smaller down to the
        form's minimum before a token (a mark, a number with its unit) is cut."""
        if not paras:
            return _Cell([], self.spec.fonts.goods_size)
        f = self.spec.fonts
        size, lines = fit_width(paras, regular=self.fonts.regular, bold=self.fonts.bold,
                                width=width, max_size=f.goods_size,
                                min_size=min(f.min_text_size, f.goods_size))
        return _Cell(lines, size)

    def goods_rows(self) -> list[_Row]:
        spec, data = self.spec, self.data
        widths = [c.width * MM - 2 * PAD * 0.7 for c in spec.goods.columns]
        empty = _Cell([], spec.fonts.goods_size)
        rows: list[_Row] = []
        for g in data.goods:
            cells = []
            for col, width in zip(spec.goods.columns, widths, strict=True):
                if col.once_per_page:
                    cells.append(empty)
                    continue
                text = GOODS_CELLS[col.key](g, data)
                cells.append(self.goods_cell([Para(t) for t in split_lines(text)], width))
            rows.append(_Row(cells, g.item_no, len(rows)))
        if spec.goods.trailer:
            paras = box_paragraphs(spec.goods.trailer, data)
            if paras:
                index = [c.key for c in spec.goods.columns].index(spec.goods.trailer_column)
                cells = [empty for _ in spec.goods.columns]
                cells[index] = self.goods_cell(paras, widths[index])
                rows.append(_Row(cells, None))
        return rows

    def once_per_page_cells(self) -> list[_Cell]:
        spec, data = self.spec, self.data
        out: list[_Cell] = []
        for col in spec.goods.columns:
            if not col.once_per_page or not data.goods:
                out.append(_Cell([], spec.fonts.goods_size))
                continue
            text = GOODS_CELLS[col.key](data.goods[0], data)
            width = col.width * MM - 2 * PAD * 0.7
            out.append(self.goods_cell([Para(t) for t in split_lines(text)], width))
        return out

    def goods_table(self, page: _Page, x: float, bottom: float, w: float, h: float,
                    rows: list[_Row], page_number: int, first_page: bool) -> list[_Row]:
        """Place as many rows as fit; return the rest (a split row's tail first)."""
        spec = self.spec
        f = spec.fonts
        cap = f.caption_size
        col_x = [x]
        for col in spec.goods.columns:
            col_x.append(col_x[-1] + col.width * MM)
        head_lines = []
        for col in spec.goods.columns:
            label = f"{col.number}. {col.heading}" if col.number else col.heading
            width = col.width * MM - 2 * PAD * 0.7
            head_lines.append(wrap_paragraphs([Para(label)], self.fonts.regular,
                                              self.fonts.bold, cap, width))
        head_h = max(len(hl) for hl in head_lines) * cap * self.leading + 2 * PAD * 0.6
        top = bottom + h
        rects = self.box_rects.setdefault(page_number - 1, {})
        rects["goods"] = (x, bottom, x + w, top)
        for col, cx1, cx2 in zip(spec.goods.columns, col_x, col_x[1:], strict=False):
            rects[f"goods.{col.key}"] = (cx1, bottom, cx2, top)
        page.ops.append(_border_op(x, bottom, w, h))
        for i, hl in enumerate(head_lines):
            cx, cw = col_x[i] + PAD * 0.7, col_x[i + 1] - col_x[i] - 2 * PAD * 0.7
            page.ops.append(self.text_op(hl, cx, top - PAD * 0.6, cw, cap, "center"))
        step = f.goods_size * self.leading
        y = top - head_h - PAD * 0.8
        floor = bottom + PAD * 0.5 + step  # one line kept for the "continued" note
        remaining = list(rows)
        placed_items = 0
        per_page = self.once_per_page_cells()
        if any(c.lines for c in per_page):
            # printed at the top of its column once per page
            for i, cell in enumerate(per_page):
                self.cell_op(page, cell, i, col_x, y, spec.goods.columns[i].align)
        limit = spec.goods.max_items_first_page if first_page else 0
        while remaining:
            row = remaining[0]
            if limit and placed_items >= limit and row.item_no is not None:
                break
            row_h = row.height(self.leading)
            room = y - floor
            if row_h <= room + 1e-6 * step:
                if row.index is not None:
                    self.goods_pages[row.index] = page_number
                for i, cell in enumerate(row.cells):
                    self.cell_op(page, cell, i, col_x, y, spec.goods.columns[i].align)
                y -= row_h + ROW_GAP
                remaining.pop(0)
                placed_items += 1
                continue
            empty_page_room = self.continuation_goods_capacity() * step
            if placed_items and row_h <= empty_page_room + 1e-6 * step:
                break  # starts on the next page in one piece
            if room < 2 * step - 1e-6 * step:
                break
            if row.index is not None:
                self.goods_pages[row.index] = page_number
            head: list[_Cell] = []
            tail: list[_Cell] = []
            for cell in row.cells:  # each cell keeps the lines of its size that fit
                k = math.floor(room / (cell.size * self.leading) + 1e-6)
                head.append(_Cell(cell.lines[:k], cell.size))
                tail.append(_Cell(cell.lines[k:], cell.size))
            for i, cell in enumerate(head):
                self.cell_op(page, cell, i, col_x, y, spec.goods.columns[i].align)
            item_col = [c.key for c in spec.goods.columns].index("item_no") \
                if any(c.key == "item_no" for c in spec.goods.columns) else None
            if item_col is not None and row.item_no is not None:
                cont = [Line(str(row.item_no), False, 0, 0), Line("(cont.)", False, 0, 0)]
                tail[item_col] = _Cell(cont + tail[item_col].lines, tail[item_col].size)
            remaining[0] = _Row(tail, row.item_no)
            placed_items += 1
            y = floor
            break
        grid_bottom = bottom + PAD * 0.5 + step + 1 if remaining else bottom
        page.ops.append(_goods_grid_op(col_x, grid_bottom, top, top - head_h))
        if remaining:
            page.ops.append(_hline_op(col_x[0], col_x[-1], grid_bottom))
            note_y = bottom + PAD * 0.5 + step
            size = f.goods_size
            goods_page = {"n": 0}
            self._goods_notes.append(goods_page)

            def note(c: Canvas) -> None:
                text = f"→ goods continued on page {goods_page['n']}"
                emit_text(c, [(x + PAD, note_y - size * 0.93, self.fonts.bold, text, size)])

            page.ops.append(note)
            goods_page["n"] = page_number + 1
        return remaining

    def cell_op(self, page: _Page, cell: _Cell, i: int, col_x: list[float], y: float,
                align: str) -> None:
        if not cell.lines:
            return
        cx = col_x[i] + PAD * 0.7
        cw = col_x[i + 1] - col_x[i] - 2 * PAD * 0.7
        page.ops.append(self.text_op(cell.lines, cx, y, cw, cell.size, align))

    def continuation_goods_capacity(self) -> int:
        f = self.spec.fonts
        h = self.frame_top - self.frame_bottom - self.spec.continuation_header_mm * MM
        step = f.goods_size * self.leading
        return max(1, math.floor((h - 30) / step) - 2)

    # --- continuation pages -----------------------------------------------------------
    def new_continuation_page(self) -> tuple[_Page, float]:
        page = _Page(continuation=True)
        self.pages.append(page)
        spec = self.spec
        qr_side = (self.symbol.size + 2 * QUIET_ZONE_MODULES) * spec.qr_module_mm * MM + PAD
        header_h = min(max(qr_side, 26 * MM), spec.continuation_header_mm * MM)
        x, top, w = self.frame_x, self.frame_top, self.frame_w
        qr_w = header_h
        page.ops.append(_border_op(x, top - header_h, w, header_h))
        page.ops.append(self.qr_op(x + w - qr_w, top - header_h, qr_w, header_h))
        page.ops.append(_vline_op(x + w - qr_w, top - header_h, top))
        paras = [
            Para("CONTINUATION SHEET", True),
            Para(self.spec.name),
            *box_paragraphs(("reference",), self.data),
            Para(f"Issued by {self.data.issuing_office.name}"),
        ]  # "Page X of Y" is in the footer
        inner = w - qr_w - 2 * PAD
        fitted = self.fit_paras(paras, inner, header_h - 2 * PAD,
                                max_size=self.spec.fonts.title_size)
        self.place_fitted(page, fitted, x + PAD, top - PAD, inner, "Continuation heading")
        return page, top - header_h - 3 * MM

    def layout_continuations(self, rows: list[_Row]) -> None:
        page_y: tuple[_Page, float] | None = None
        while rows:
            page, y = self.new_continuation_page()
            number = len(self.pages)
            rows = self.goods_table(page, self.frame_x, self.frame_bottom, self.frame_w,
                                    y - self.frame_bottom, rows, number, first_page=False)
            page_y = (page, self.frame_bottom)  # the goods table fills the page
        # box text that overflowed, in box order, after the goods
        current = page_y
        for section in list(self.sections):
            current = self.place_section(section, current)

    def place_section(self, section: _Section,
                      current: tuple[_Page, float] | None) -> tuple[_Page, float]:
        f = self.spec.fonts
        size = f.text_size
        step = size * self.leading
        width = self.frame_w - 2 * PAD
        lines = wrap_paragraphs(section.paras, self.fonts.regular, self.fonts.bold, size, width)
        heading = [Line(f"{section.title} — continued from page 1", True, 0, 0)]
        while True:
            if current is None or current[1] - self.frame_bottom < 4 * step + 2 * PAD:
                current = self.new_continuation_page()
            page, y = current
            if not section.start_page:
                section.start_page = len(self.pages)
            capacity = math.floor((y - self.frame_bottom - 2 * PAD) / step) - 1
            chunk, lines = lines[:capacity], lines[capacity:]
            block_h = (len(chunk) + 1) * step + 2 * PAD
            page.ops.append(_border_op(self.frame_x, y - block_h, self.frame_w, block_h))
            page.ops.append(self.text_op(heading, self.frame_x + PAD, y - PAD, width,
                                         f.caption_size + 1))
            page.ops.append(self.text_op(chunk, self.frame_x + PAD, y - PAD - step, width, size))
            heading = [Line(f"{section.title} — continued", True, 0, 0)]
            if not lines:
                return page, y - block_h - 3 * MM
            current = None

    # --- the whole document -----------------------------------------------------------
    def run(self) -> None:
        self._goods_notes: list[dict[str, int]] = []
        self.layout_first_page()
        g = self.spec.goods
        x, bottom, w, h = self.pts(g.rect)
        rows = self.goods_rows()
        rest = self.goods_table(self.pages[0], x, bottom, w, h, rows, 1, first_page=True)
        self.layout_continuations(rest)
        if self.spec.notes:
            self.layout_notes()

    def layout_notes(self) -> None:
        """The form's notes overleaf, on a last page of their own, with the QR code."""
        page = _Page(continuation=True)
        self.pages.append(page)
        spec = self.spec
        x, top, w = self.frame_x, self.frame_top, self.frame_w
        side = (self.symbol.size + 2 * QUIET_ZONE_MODULES) * spec.qr_module_mm * MM + PAD
        page.ops.append(self.qr_op(x + w - side, top - side, side, side))
        head = [Para(spec.notes_title, True), Para(spec.name),
                *box_paragraphs(("reference",), self.data)]
        fitted = self.fit_paras(head, w - side - 2 * PAD, side - 2 * PAD,
                                max_size=spec.fonts.title_size)
        self.place_fitted(page, fitted, x + PAD, top - PAD, w - side - 2 * PAD, "Notes")
        body_top = top - side - 2 * MM
        paras = [Para(t[2:], True) if t.startswith("# ") else Para(t) for t in spec.notes]
        fitted = self.fit_paras(paras, w - 2 * PAD, body_top - self.frame_bottom - 2 * PAD,
                                min_size=5.5)
        page.ops.append(_border_op(x, self.frame_bottom, w, body_top - self.frame_bottom))
        page.ops.append(self.text_op(fitted.lines, x + PAD, body_top - PAD, w - 2 * PAD,
                                     fitted.size))


_BOX_HANDLERS: dict[str, Callable[..., None]] = {
    "text": _Layout.text_box,
    "declaration": _Layout.text_box,
    "title": _Layout.title_box,
    "checkboxes": _Layout.checkbox_box,
    "qr": _Layout.qr_box,
    "certification": _Layout.certification_box_layout,
}


def _border_op(x: float, y: float, w: float, h: float) -> DrawOp:
    def op(c: Canvas) -> None:
        c.rect(x, y, w, h, stroke=1, fill=0)

    return op


def _hline_op(x1: float, x2: float, y: float) -> DrawOp:
    return lambda c: c.line(x1, y, x2, y)


def _vline_op(x: float, y1: float, y2: float) -> DrawOp:
    return lambda c: c.line(x, y1, x, y2)


def _goods_grid_op(col_x: list[float], bottom: float, top: float, head_bottom: float) -> DrawOp:
    def op(c: Canvas) -> None:
        path = c.beginPath()
        for cx in col_x[1:-1]:
            path.moveTo(cx, bottom)
            path.lineTo(cx, top)
        path.moveTo(col_x[0], head_bottom)
        path.lineTo(col_x[-1], head_bottom)
        c.drawPath(path, stroke=1, fill=0)

    return op


def _check_printable(data: CertificateData, fonts: FontPair) -> None:
    """Every character has a glyph in the base font or its script's font (else the error
    names it); any script is accepted."""
    for text in _all_texts(data):
        if not text.isascii():
            check_printable(text, fonts.regular)


_ASCII_PRINTABLE = frozenset(chr(c) for c in range(32, 127))


def _all_texts(value: object) -> list[str]:
    out: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, tuple):
            for item in v:
                walk(item)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in _dataclass_fields(type(v)):
                walk(getattr(v, f))

    walk(value)
    return out


@functools.cache
def _dataclass_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def render_certificate(
    data: CertificateData,
    *,
    qr_signer: QrSigner | None = None,
    sealed: tuple[bytes, str] | None = None,
    draft: bool | None = None,
    issued_at: dt.datetime | None = None,
) -> RenderedCertificate:
    """Render ``data`` with its form's specification.

    A draft (no certificate number, or ``draft=True``) carries the watermark and an
    unsigned draft QR payload. An issued certificate carries either ``sealed``, the
    ``(payload, qr_text)`` the agency's seal made when the number was reserved (checked
    here to name this very certificate), or a payload signed by ``qr_signer`` (the
    officer's token, where no seal is available).

    ``issued_at``, the issue moment, dates the PDF (creation and modification dates, XMP);
    without it the PDF is dated now.
    """
    is_draft = data.is_draft if draft is None else (draft or data.is_draft)
    spec = load_form_spec(data.form_code)
    fonts = certificate_fonts()
    _check_printable(data, fonts)
    qr_text = ""
    if is_draft:
        payload = build_draft_qr_payload(data)
    elif sealed is not None:
        payload, qr_text = sealed
        problem = payload_mismatch(payload, data)
        if not problem and payload_from_qr_text(qr_text) != payload:
            problem = "the QR text does not carry the sealed payload"
        if problem:
            raise QrPayloadError(
                f"the sealed QR code of certificate {data.certificate_number} does not fit "
                f"it: {problem}")
    else:
        if qr_signer is None:
            raise QrPayloadError(
                f"certificate {data.certificate_number} needs the officer's token to sign its "
                "QR code; render it as a draft for a preview"
            )
        payload = build_qr_payload(
            data, key_id=qr_signer.key_id, sign=qr_signer.sign, algorithm=qr_signer.algorithm
        )
    qr_text = qr_text or encode_qr_text(payload)
    symbol = make_symbol(qr_text)
    layout = _Layout(spec, data, fonts, symbol, is_draft)
    layout.run()
    pdf = _draw(layout, spec, data, fonts, is_draft, issued_at or dt.datetime.now(dt.UTC))
    return RenderedCertificate(
        pdf=pdf,
        page_count=len(layout.pages),
        certification_page=0,
        certification_box=layout.certification_box,
        signature_box=layout.signature_box,
        qr_payload=payload,
        qr_text=qr_text,
        draft=is_draft,
        goods_pages=tuple(layout.goods_pages[i] for i in range(len(data.goods))),
        box_rects=tuple(layout.box_rects.get(n, {}) for n in range(len(layout.pages))),
    )


def _draw(layout: _Layout, spec: FormSpec, data: CertificateData, fonts: FontPair,
          draft: bool, moment: dt.datetime) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(layout.page_w, layout.page_h),
        pageCompression=1,
        invariant=1,  # no time-dependent ID or comments; the dates are set below
        initialFontName=fonts.regular,
        initialFontSize=8,
        lang=LANGUAGE,
    )
    _set_metadata(canvas, _metadata(spec, data, draft), moment)
    reference = data.reference_number
    total = len(layout.pages)
    label = (
        f"Application No. {reference} — DRAFT" if data.is_draft
        else f"Certificate No. {reference}" + (" — DRAFT" if draft else "")
    )
    for number, page in enumerate(layout.pages, start=1):
        canvas.setLineWidth(LINE_WIDTH)
        canvas.setStrokeColorRGB(0, 0, 0)
        canvas.setFillColorRGB(0, 0, 0)
        for op in page.ops:
            op(canvas)
        _footer(canvas, layout, fonts, label, spec.name, number, total)
        if draft:
            _watermark(canvas, layout, fonts)
        canvas.showPage()
    _deflate_pages_fast(canvas)
    canvas.save()
    return buffer.getvalue()


class _FastFlate(pdfdoc.PDFStreamFilterZCompress):
    """FlateDecode at zlib level 1: a page's content stream (~25 KB of operators, most of
    it the QR path) deflates in ~0.4 ms instead of ~1.2 ms, and comes out ~1 KB larger."""

    def encode(self, text: str | bytes) -> bytes:
        return zlib.compress(text.encode("utf8") if isinstance(text, str) else text, 1)


_FAST_FLATE = _FastFlate()


def _deflate_pages_fast(canvas: Canvas) -> None:
    """Give each page its content stream now, deflated by :data:`_FAST_FLATE` (reportlab
    would build the same stream at save time with its default level)."""
    for page in canvas._doc.Pages.pages:
        if page.Contents is None and page.stream and page.compression and not rl_config.useA85:
            stream = pdfdoc.PDFStream(content=page.stream, filters=[_FAST_FLATE])
            stream.__Comment__ = "page stream"
            page.Contents = stream


@dataclass(frozen=True)
class _Metadata:
    title: str
    author: str
    subject: str
    keywords: str


def _metadata(spec: FormSpec, data: CertificateData, draft: bool) -> _Metadata:
    reference = data.reference_number
    if data.is_draft:
        title = f"Certificate of Origin — draft of application {reference}"
    else:
        title = f"Certificate of Origin {reference}" + (" — DRAFT" if draft else "")
    office = data.issuing_office
    subject = f"{spec.name}: {country_name(data.origin_country)} to " \
        f"{country_name(data.destination_country)}" + (" (DRAFT — not valid)" if draft else "")
    return _Metadata(
        title=normalise_text(title),
        author=normalise_text(office.agency_name or office.name),
        subject=normalise_text(subject),
        keywords=normalise_text(", ".join(
            k for k in ("Certificate of Origin", spec.code, reference, office.code) if k)),
    )


def _set_metadata(canvas: Canvas, meta: _Metadata, moment: dt.datetime) -> None:
    """Info dictionary (with real dates: reportlab's invariant mode says 1 Jan 2000) and an
    XMP metadata stream saying the same."""
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    canvas.setTitle(meta.title)
    canvas.setAuthor(meta.author)
    canvas.setSubject(meta.subject)
    canvas.setKeywords(meta.keywords)
    canvas.setCreator("Origin Desk")
    stamp = canvas._doc._timeStamp
    stamp.YMDhms = moment.timetuple()[:6]
    stamp.dhh = stamp.dmm = 0
    xmp = pdfdoc.PDFStream(
        dictionary=pdfdoc.PDFDictionary({"Type": pdfdoc.PDFName("Metadata"),
                                         "Subtype": pdfdoc.PDFName("XML")}),
        content=_xmp(meta, moment, canvas._doc._pdfVersion, canvas._doc.info.producer)
        .encode("utf-8"),
        filters=[],
    )
    canvas._doc.Catalog.Metadata = canvas._doc.Reference(xmp)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xmp(meta: _Metadata, moment: dt.datetime, pdf_version: tuple[int, int],
         producer: str) -> str:
    when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    title, author, subject = _xml(meta.title), _xml(meta.author), _xml(meta.subject)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
        '<dc:format>application/pdf</dc:format>'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>'
        f'<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>'
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt>'
        '</dc:description>'
        f'<dc:language><rdf:Bag><rdf:li>{LANGUAGE}</rdf:li></rdf:Bag></dc:language>'
        f'<xmp:CreateDate>{when}</xmp:CreateDate><xmp:ModifyDate>{when}</xmp:ModifyDate>'
        f'<xmp:MetadataDate>{when}</xmp:MetadataDate><xmp:CreatorTool>Origin Desk</xmp:CreatorTool>'
        f'<pdf:Producer>{_xml(producer)}</pdf:Producer><pdf:Keywords>{_xml(meta.keywords)}</pdf:Keywords>'
        f'<pdf:PDFVersion>{pdf_version[0]}.{pdf_version[1]}</pdf:PDFVersion>'
        '</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="r"?>'
    )


def _footer(canvas: Canvas, layout: _Layout, fonts: FontPair, label: str, form: str,
            number: int, total: int) -> None:
    y = layout.frame_bottom - 4.2 * MM
    x1, x2 = layout.frame_x, layout.frame_x + layout.frame_w
    size = 7.5
    page = f"Page {number} of {total}"
    form_x = (x1 + x2 - text_width(form, fonts.regular, size)) / 2
    page_x = x2 - text_width(page, fonts.bold, size)
    emit_text(canvas, [
        (x1, y, fonts.bold, label, size),
        (form_x, y - 9, fonts.regular, form, size),
        (page_x, y, fonts.bold, page, size),
    ])


def _watermark(canvas: Canvas, layout: _Layout, fonts: FontPair) -> None:
    canvas.saveState()
    canvas.setFillColorRGB(0.85, 0.1, 0.1)
    canvas.setFillAlpha(0.22)
    canvas.translate(layout.page_w / 2, layout.page_h / 2)
    canvas.rotate(math.degrees(math.atan2(layout.page_h, layout.page_w)))
    size = 64
    while text_width(WATERMARK, fonts.bold, size) > layout.page_h * 0.95 and size > 20:
        size -= 4
    canvas.setFont(fonts.bold, size)
    canvas.drawCentredString(0, -size / 3, WATERMARK)
    canvas.restoreState()
