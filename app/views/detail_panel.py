"""The detail panel: every field of the selected application, its goods, cost sheet,
documents and history. It shows data the desk service prepared; it computes nothing."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.services.desk import ApplicationDetail
    from app.views.preview_pane import PreviewPane



class SmallTableModel(QAbstractTableModel):
    """A read-only table of a few dozen rows of strings (goods, documents, history)."""

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self.rows: list[Sequence[str]] = []

    def set_rows(self, rows: list[Sequence[str]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return str(self.rows[index.row()][index.column()])
        return None


def _table(model: SmallTableModel, stretch: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(True)
    view.verticalHeader().setVisible(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


class DetailPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select an application in the queue.")
        self.title.setObjectName("detailTitle")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600; padding: 4px 2px;")
        self.tabs = QTabWidget()
        self.fields = QTextBrowser()
        self.fields.setOpenLinks(False)
        self.goods_model = SmallTableModel(
            ["#", "Marks", "Packages", "Description", "HS code", "Quantity", "Gross weight",
             "FOB", "Origin criterion"]
        )
        self.cost_sheet = QTextBrowser()
        self.documents_model = SmallTableModel(["Kind", "File", "Size", "Uploaded"])
        self.history_model = SmallTableModel(["When", "Who", "Action", "Change", "Note"])
        self.tabs.addTab(self.fields, "&Application")
        self.tabs.addTab(_table(self.goods_model, 3), "&Goods")
        self.tabs.addTab(self.cost_sheet, "C&ost sheet")
        self.tabs.addTab(_table(self.documents_model, 1), "&Documents")
        self.tabs.addTab(_table(self.history_model, 4), "&History")
        # QtPdf loads on first use of the tab, not at start-up
        self._preview_placeholder = QWidget()
        self._preview: PreviewPane | None = None
        self.tabs.addTab(self._preview_placeholder, "Pre&view")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs)
        self.detail: ApplicationDetail | None = None

    @property
    def preview(self) -> PreviewPane:
        """The preview pane, created (and QtPdf loaded) the first time it is needed."""
        if self._preview is None:
            from app.views.preview_pane import PreviewPane

            index = self.tabs.indexOf(self._preview_placeholder)
            current = self.tabs.currentIndex()
            self._preview = PreviewPane()
            self.tabs.blockSignals(True)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, self._preview, "Pre&view")
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            self._preview_placeholder.deleteLater()
        return self._preview

    def is_preview_current(self) -> bool:
        current = self.tabs.currentWidget()
        return current is self._preview_placeholder or (
            self._preview is not None and current is self._preview
        )

    def clear(self) -> None:
        self.detail = None
        self.title.setText("Select an application in the queue.")
        self.fields.clear()
        self.cost_sheet.clear()
        if self._preview is not None:
            self._preview.clear()
        for model in (self.goods_model, self.documents_model, self.history_model):
            model.set_rows([])
        self.tabs.setTabText(1, "&Goods")
        self.tabs.setTabText(3, "&Documents")

    def show_detail(self, detail: ApplicationDetail) -> None:
        self.detail = detail
        status = detail.status.replace("_", " ")
        self.title.setText(f"{detail.number} · {status}")
        self.fields.setHtml(_sections_html(detail.sections))
        self.goods_model.set_rows([
            (str(g.item_no), g.marks, g.packages, g.description, g.hs_code, g.quantity,
             g.gross_weight, g.fob_value, g.origin_criterion)
            for g in detail.goods
        ])
        self.tabs.setTabText(1, f"&Goods ({len(detail.goods)})")
        if detail.cost_sheet:
            table = _sections_html([("Cost sheet", detail.cost_sheet)])
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in m) + "</tr>"
                for m in detail.cost_materials
            )
            table += (
                "<h3>Materials</h3><table cellpadding='3' cellspacing='0' border='1' "
                "style='border-collapse: collapse; border-color: #ccc;'>"
                "<tr><th>Material</th><th>HS</th><th>Origin</th><th>Originating</th>"
                f"<th>Value</th><th>Evidence</th></tr>{rows}</table>"
            )
            self.cost_sheet.setHtml(table)
        else:
            self.cost_sheet.setHtml("<p style='color:#666'>No cost sheet: not a preferential application.</p>")
        self.tabs.setTabEnabled(2, bool(detail.cost_sheet))
        self.documents_model.set_rows(list(detail.documents))
        self.tabs.setTabText(3, f"&Documents ({len(detail.documents)})")
        self.history_model.set_rows([
            (h.at.astimezone().strftime("%d %b %Y %H:%M"), h.actor, h.action, h.change, h.note)
            for h in detail.history
        ])


def _sections_html(sections: list[tuple[str, list[tuple[str, str]]]]) -> str:
    parts = ["<style>h3{margin:10px 0 2px 0;color:#1f3a5f;font-size:13px} "
             "td.k{color:#555;padding-right:12px;white-space:nowrap;vertical-align:top} "
             "td.v{vertical-align:top}</style>"]
    for title, pairs in sections:
        parts.append(f"<h3>{html.escape(title)}</h3><table cellspacing='0' cellpadding='1'>")
        for key, value in pairs:
            parts.append(
                f"<tr><td class='k'>{html.escape(key)}</td>"
                f"<td class='v'>{html.escape(value)}</td></tr>"
            )
        parts.append("</table>")
    return "".join(parts)
