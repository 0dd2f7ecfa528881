"""Form specifications: data files in resources/forms, one per form, read into dataclasses.

A specification is a TOML file. ``extends = "NAME"`` starts from ``NAME.toml`` in the same
folder (recursively): tables are merged key by key, anything else (strings, numbers,
arrays such as the goods columns) is replaced; ``remove_boxes = [ids]`` drops inherited
boxes. Files whose name starts with ``_`` are shared bases, not forms. Lengths are in mm;
box rectangles are ``[x, y, width, height]`` measured from the top-left corner of the
page's content frame (inside the margins).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, LETTER

from app.documents.countries import RESOURCES_DIR
from app.errors import UserFacingError

FORMS_DIR = RESOURCES_DIR / "forms"
PAGE_SIZES_MM = {
    "A4": (A4[0] / 72 * 25.4, A4[1] / 72 * 25.4),
    "LETTER": (LETTER[0] / 72 * 25.4, LETTER[1] / 72 * 25.4),
}
BOX_STYLES = ("text", "title", "declaration", "certification", "checkboxes", "qr")


class FormSpecError(UserFacingError):
    """A form specification file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class CheckOption:
    label: str
    # what ticks it: a kind ("back_to_back", "in_lieu"), "retrospective" (a certificate
    # issued retrospectively), or "" (never ticked by the desk)
    ticked_when: str = ""


@dataclass(frozen=True)
class BoxSpec:
    id: str
    number: str
    caption: str
    rect: Rect
    style: str = "text"
    content: tuple[str, ...] = ()  # field keys, see app.documents.field_text
    static: tuple[str, ...] = ()  # literal paragraphs printed after the content
    statement: str = ""  # declaration / certification wording, with {placeholders}
    footer: str = ""  # small print at the box's bottom, e.g. "Signature of ..."
    options: tuple[CheckOption, ...] = ()
    align: str = "left"  # "left" or "center"


@dataclass(frozen=True)
class ColumnSpec:
    key: str  # goods cell key, see app.documents.field_text.GOODS_CELLS
    heading: str
    width: float
    number: str = ""
    align: str = "left"  # "left", "center", "right"
    once_per_page: bool = False  # printed once at the top of the column (e.g. invoice)


@dataclass(frozen=True)
class GoodsSpec:
    rect: Rect
    columns: tuple[ColumnSpec, ...]
    trailer: tuple[str, ...] = ()  # field keys printed after the last item
    trailer_column: str = ""  # column key the trailer is printed in
    max_items_first_page: int = 0  # 0: as many as fit


@dataclass(frozen=True)
class Fonts:
    text_size: float = 8.5
    min_text_size: float = 6.5
    caption_size: float = 6.2
    title_size: float = 10.0
    goods_size: float = 7.5
    leading: float = 1.18


@dataclass(frozen=True)
class FormSpec:
    code: str
    name: str
    agreement: str  # the agreement's full name for statements ("" on NONPREF)
    title: tuple[str, ...]
    page_size_mm: tuple[float, float]
    margins_mm: tuple[float, float, float, float]  # left, right, top, bottom
    fonts: Fonts
    boxes: tuple[BoxSpec, ...]
    goods: GoodsSpec
    qr_box: str
    qr_module_mm: float
    qr_min_module_mm: float
    continuation_header_mm: float
    source: Path
    notes_title: str = ""  # the notes overleaf: printed as a last page when there are notes
    notes: tuple[str, ...] = ()  # their paragraphs; a paragraph starting "# " is a heading

    @property
    def frame_mm(self) -> tuple[float, float]:
        left, right, top, bottom = self.margins_mm
        return (self.page_size_mm[0] - left - right, self.page_size_mm[1] - top - bottom)

    def box(self, box_id: str) -> BoxSpec:
        for box in self.boxes:
            if box.id == box_id:
                return box
        raise KeyError(box_id)


def available_forms() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in FORMS_DIR.glob("*.toml") if not p.stem.startswith("_")))


@cache
def load_form_spec(code: str) -> FormSpec:
    """The specification of form ``code`` (e.g. "AIFTA"), read once per process."""
    path = FORMS_DIR / f"{code}.toml"
    if code.startswith("_") or not path.is_file():
        raise FormSpecError(
            f"there is no form specification {code!r} in {FORMS_DIR}; known forms: "
            + ", ".join(available_forms())
        )
    return read_form_spec(path)


def read_form_spec(path: Path) -> FormSpec:
    """Read and check one specification file (with what it extends), without caching."""
    raw = _resolve(path, ())
    return _build(path.stem, raw, path)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise FormSpecError(f"{path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if path in seen:
        raise FormSpecError(f"{path} extends itself through {' → '.join(p.name for p in seen)}")
    raw = _read(path)
    parent = raw.pop("extends", None)
    if parent is None:
        base: dict[str, Any] = {}
    else:
        parent_path = path.parent / f"{parent}.toml"
        if not parent_path.is_file():
            raise FormSpecError(f"{path}: extends {parent!r} but {parent_path} does not exist")
        base = _resolve(parent_path, (*seen, path))
    removed = raw.pop("remove_boxes", [])
    merged = _merge(base, raw)
    for box_id in removed:
        merged.get("boxes", {}).pop(box_id, None)
    return merged


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> FormSpecError:
        return FormSpecError(f"form specification {self.path.name}: {where} {problem}")

    def get(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
            default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(f"{where}.{key}", "is missing")
            return default
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.fail(f"{where}.{key}", f"is {value!r}, of the wrong type")
        return value

    def rect(self, value: Any, where: str, frame: tuple[float, float]) -> Rect:
        if (
            not isinstance(value, list)
            or len(value) != 4
            or not all(isinstance(v, int | float) for v in value)
        ):
            raise self.fail(where, "must be [x, y, width, height] in mm")
        x, y, w, h = (float(v) for v in value)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > frame[0] + 0.01 or y + h > frame[1] + 0.01:
            raise self.fail(where, f"= {value} does not lie inside the {frame[0]:.0f}×"
                                   f"{frame[1]:.0f} mm frame")
        return Rect(x, y, w, h)

    def strings(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", "must be a list of strings")
        return tuple(value)


def _build(code: str, raw: dict[str, Any], path: Path) -> FormSpec:
    from app.documents.field_text import FIELD_KEYS, GOODS_CELLS  # no cycle at import time

    r = _Reader(path)
    page = r.get(raw, "page", dict, "")
    size = r.get(page, "size", (str, list), "page")
    if isinstance(size, str):
        if size not in PAGE_SIZES_MM:
            raise r.fail("page.size", f"is {size!r}; use one of {', '.join(PAGE_SIZES_MM)}")
        page_size = PAGE_SIZES_MM[size]
    else:
        page_size = (float(size[0]), float(size[1]))
    margins = r.get(page, "margins_mm", list, "page")
    if len(margins) != 4:
        raise r.fail("page.margins_mm", "must be [left, right, top, bottom]")
    margins_t = tuple(float(m) for m in margins)
    frame = (page_size[0] - margins_t[0] - margins_t[1], page_size[1] - margins_t[2] - margins_t[3])

    fonts_raw = r.get(raw, "fonts", dict, "", {})
    try:
        fonts = Fonts(**{k: float(v) for k, v in fonts_raw.items()})
    except TypeError as exc:
        raise r.fail("fonts", f"has an unknown key ({exc})") from None
    if fonts.min_text_size > fonts.text_size:
        raise r.fail("fonts.min_text_size", "is larger than text_size")

    boxes: list[BoxSpec] = []
    for box_id, b in r.get(raw, "boxes", dict, "").items():
        where = f"boxes.{box_id}"
        if not isinstance(b, dict):
            raise r.fail(where, "must be a table")
        style = r.get(b, "style", str, where, "text")
        if style not in BOX_STYLES:
            raise r.fail(f"{where}.style", f"is {style!r}; use one of {', '.join(BOX_STYLES)}")
        content = r.strings(b, "content", where)
        for key in content:
            if key not in FIELD_KEYS:
                raise r.fail(f"{where}.content", f"names an unknown field {key!r}")
        options = []
        for i, o in enumerate(r.get(b, "options", list, where, [])):
            if not isinstance(o, dict) or not isinstance(o.get("label"), str):
                raise r.fail(f"{where}.options[{i}]", "needs a label")
            options.append(CheckOption(o["label"], str(o.get("ticked_when", ""))))
        boxes.append(BoxSpec(
            id=box_id,
            number=str(r.get(b, "number", (str, int), where, "")),
            caption=r.get(b, "caption", str, where, ""),
            rect=r.rect(b.get("rect"), f"{where}.rect", frame),
            style=style,
            content=content,
            static=r.strings(b, "static", where),
            statement=r.get(b, "statement", str, where, ""),
            footer=r.get(b, "footer", str, where, ""),
            options=tuple(options),
            align=r.get(b, "align", str, where, "left"),
        ))
    ids = [b.id for b in boxes]
    for needed, style in (("certification", "certification"), ("qr", "qr")):
        if needed not in ids:
            raise r.fail("boxes", f"has no '{needed}' box")
        if next(b for b in boxes if b.id == needed).style != style:
            raise r.fail(f"boxes.{needed}.style", f"must be {style!r}")

    goods_raw = r.get(raw, "goods", dict, "")
    columns = []
    for i, c in enumerate(r.get(goods_raw, "columns", list, "goods")):
        where = f"goods.columns[{i}]"
        if not isinstance(c, dict):
            raise r.fail(where, "must be a table")
        key = r.get(c, "key", str, where)
        if key not in GOODS_CELLS:
            raise r.fail(f"{where}.key", f"is {key!r}; use one of {', '.join(GOODS_CELLS)}")
        columns.append(ColumnSpec(
            key=key,
            heading=r.get(c, "heading", str, where),
            width=float(r.get(c, "width", (int, float), where)),
            number=str(r.get(c, "number", (str, int), where, "")),
            align=r.get(c, "align", str, where, "left"),
            once_per_page=r.get(c, "once_per_page", bool, where, False),
        ))
    goods_rect = r.rect(goods_raw.get("rect"), "goods.rect", frame)
    total = sum(c.width for c in columns)
    if abs(total - goods_rect.w) > 0.05:
        raise r.fail("goods.columns", f"widths add up to {total} mm, the goods box is "
                                      f"{goods_rect.w} mm wide")
    trailer = r.strings(goods_raw, "trailer", "goods")
    trailer_column = r.get(goods_raw, "trailer_column", str, "goods", "")
    if trailer and trailer_column not in {c.key for c in columns}:
        raise r.fail("goods.trailer_column", f"is {trailer_column!r}, not one of the columns")
    goods = GoodsSpec(
        rect=goods_rect,
        columns=tuple(columns),
        trailer=trailer,
        trailer_column=trailer_column,
        max_items_first_page=int(r.get(goods_raw, "max_items_first_page", int, "goods", 0)),
    )
    notes_raw = r.get(raw, "notes", dict, "", {})
    notes = r.strings(notes_raw, "paragraphs", "notes")
    notes_title = r.get(notes_raw, "title", str, "notes", "NOTES OVERLEAF" if notes else "")
    qr = r.get(raw, "qr", dict, "", {})
    continuation = r.get(raw, "continuation", dict, "", {})
    return FormSpec(
        code=code,
        name=r.get(raw, "name", str, ""),
        agreement=r.get(raw, "agreement", str, "", ""),
        title=r.strings(raw, "title", ""),
        page_size_mm=page_size,
        margins_mm=margins_t,  # type: ignore[arg-type]
        fonts=fonts,
        boxes=tuple(boxes),
        goods=goods,
        qr_box="qr",
        qr_module_mm=float(qr.get("module_mm", 0.6)),
        qr_min_module_mm=float(qr.get("min_module_mm", 0.5)),
        continuation_header_mm=float(continuation.get("header_mm", 46)),
        source=path,
        notes_title=notes_title,
        notes=notes,
    )
