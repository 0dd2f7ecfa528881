"""Small widgets the administrator's tabs and dialogs share: an image over a checkerboard,
a field's inline error line, and conversions of raw image bytes into QImage."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFontDatabase, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QSizePolicy, QTableView, QWidget

ERROR_STYLE = "color: #b00020;"
WARNING_STYLE = ("background: #fff4d6; border: 1px solid #e0b84c; border-radius: 3px; "
                 "padding: 4px; color: #5a4300;")
CHECK_LIGHT = QColor(255, 255, 255)
CHECK_DARK = QColor(214, 214, 214)


def rgba_image(data: bytes, width: int, height: int) -> QImage:
    """A QImage that owns a copy of raw RGBA bytes."""
    return QImage(data, width, height, width * 4, QImage.Format.Format_RGBA8888).copy()


def rgb_image(data: bytes, width: int, height: int) -> QImage:
    return QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


def png_image(data: bytes | None) -> QImage:
    image = QImage()
    if data:
        image.loadFromData(data, "PNG")
    return image


def checkerboard(size: QSize, cell: int = 8) -> QPixmap:
    """The usual pattern behind transparent images."""
    pixmap = QPixmap(size)
    pixmap.fill(CHECK_LIGHT)
    painter = QPainter(pixmap)
    for y in range(0, size.height(), cell):
        for x in range((y // cell) % 2 * cell, size.width(), 2 * cell):
            painter.fillRect(x, y, cell, cell, CHECK_DARK)
    painter.end()
    return pixmap


def scaled_png(png: bytes | None, side: int) -> QImage:
    """A stored PNG decoded and scaled to fit ``side`` (QImage: safe on a worker)."""
    image = png_image(png)
    if image.isNull():
        return image
    return image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


def thumbnail(picture: bytes | QImage | None, side: int = 56) -> QPixmap:
    """A small picture of a stored stamp or signature, over a checkerboard. Pass the image
    from :func:`scaled_png` (made on a worker) to keep decoding off the GUI thread."""
    pixmap = checkerboard(QSize(side, side), 6)
    image = picture if isinstance(picture, QImage) else scaled_png(picture, side)
    if not image.isNull():
        if image.width() > side or image.height() > side:
            image = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        painter = QPainter(pixmap)
        painter.drawImage((side - image.width()) // 2, (side - image.height()) // 2, image)
        painter.end()
    return pixmap


class ImageView(QWidget):
    """Shows an image scaled to fit, over a checkerboard (transparency) or white."""

    def __init__(self, placeholder: str = "", *, checkered: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.placeholder = placeholder
        self.checkered = checkered
        self.setMinimumSize(200, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.update()

    def clear(self) -> None:
        self.set_image(QImage())

    def image_rect(self) -> QRectF:
        if self.image.isNull():
            return QRectF()
        area = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        scale = min(area.width() / self.image.width(), area.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), self.palette().window())
        if self.image.isNull():
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            painter.end()
            return
        target = self.image_rect()
        if self.checkered:
            painter.drawTiledPixmap(target, checkerboard(QSize(16, 16)))
        else:
            painter.fillRect(target, QColor("white"))
        painter.drawImage(target, self.image)
        painter.setPen(QColor(160, 160, 160))
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.end()


class FieldError(QLabel):
    """A field's error line under it: hidden while the field is right.

    Lines of the message that start with two spaces (a value and the caret line that
    points into it) are shown in a fixed-width font, so the carets stay under their
    characters; the rest wraps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(ERROR_STYLE)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setVisible(False)
        self.message = ""

    def show_error(self, message: str | None) -> None:
        self.message = message or ""
        self.setText(message_html(self.message))
        self.setVisible(bool(message))


def message_html(message: str) -> str:
    """A message as rich text: prose wraps, indented lines keep their columns."""
    family = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    parts: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            parts.append(f'<pre style="font-family: \'{family}\'; margin: 2px 0;">'
                         + "\n".join(html.escape(b) for b in block) + "</pre>")
            block.clear()

    for line in message.split("\n"):
        if line.startswith("  "):
            block.append(line)
        else:
            flush()
            parts.append(f"<div>{html.escape(line)}</div>")
    flush()
    return "".join(parts)


class RowsModel(QAbstractTableModel):
    """A read-only table of display rows, one column per (title, getter)."""

    def __init__(self, columns: Sequence[tuple[str, Callable[[Any], str]]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self.rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.columns[index.column()][1](self.rows[index.row()])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section][0]
        return None

    def row_at(self, row: int) -> Any | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None


def row_table(model: QAbstractTableModel) -> QTableView:
    """A read-only, single-row-selection table for a RowsModel."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def selected_row(table: QTableView) -> int:
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else -1
