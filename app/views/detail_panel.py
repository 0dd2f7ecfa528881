"""The detail panel: every field of the selected application, its goods, cost sheet,
documents and history. It shows data the desk service prepared; it computes nothing."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.services.back_to_back import ForeignBalanceView
    from app.services.desk import ApplicationDetail, OriginLineView
    from app.services.in_lieu import FieldChange, InLieuDifference
    from app.views.preview_pane import PreviewPane

ALERT = "#b91c1c"  # red: not met, an origin override
MET = "#047857"  # green


class SmallTableModel(QAbstractTableModel):
    """A read-only table of a few dozen rows of strings (goods, documents, history)."""

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self.rows: list[Sequence[str]] = []
        self.alert_rows: frozenset[int] = frozenset()  # shown in red

    def set_rows(self, rows: list[Sequence[str]], alert_rows: frozenset[int] = frozenset()) -> None:
        self.beginResetModel()
        self.rows = rows
        self.alert_rows = alert_rows
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
        if index.isValid() and role == Qt.ItemDataRole.ForegroundRole and index.row() in self.alert_rows:
            return QColor(ALERT)
        return None


WRAP_MIN_WIDTH = 100  # the wrapping column (a description, a note) is never narrower


class SmallTable(QTableView):
    """A small table whose columns are as wide as their contents, except one wrapping
    column (a goods description, a note) that takes the width left, at least
    ``WRAP_MIN_WIDTH``, and wraps its text onto more lines: rows grow instead of eliding
    ("crip…") and the columns after it stay in view."""

    def __init__(self, model: SmallTableModel, wrap: int) -> None:
        super().__init__()
        self.wrap_column = wrap
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(wrap, QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        model.modelReset.connect(self.fit_columns)
        header.sectionResized.connect(self._other_resized)

    def _other_resized(self, section: int, _old: int, _new: int) -> None:
        if section != self.wrap_column:
            self.fit_columns()

    def fit_columns(self) -> None:
        """Give the wrapping column the width the others leave (rows then fit its text)."""
        header = self.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(header.count()) if c != self.wrap_column)
        title = header.sectionSizeFromContents(self.wrap_column).width()
        width = max(self.viewport().width() - others, WRAP_MIN_WIDTH, title)
        if header.sectionSize(self.wrap_column) != width:
            header.resizeSection(self.wrap_column, width)
            self.resizeRowsToContents()  # the wrapped text's lines at this width

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_columns()


def _table(model: SmallTableModel, stretch: int) -> QTableView:
    return SmallTable(model, stretch)


class DetailPanel(QWidget):
    exporter_requested = Signal(int)  # the exporter view of this exporter id
    document_requested = Signal(int, str)  # open this supporting document (id, file name)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select an application in the queue.")
        self.title.setObjectName("detailTitle")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600; padding: 4px 2px;")
        self.tabs = QTabWidget()
        self.fields = QTextBrowser()
        self.fields.setOpenLinks(False)
        self.goods_model = SmallTableModel(
            ["#", "Marks", "Packages", "Description", "HS\ncode", "Quantity", "Gross\nweight",
             "FOB", "Origin\ncriterion"]  # two-line headers: narrower columns
        )
        self.cost_sheet = QTextBrowser()
        self.documents_model = SmallTableModel(["Kind", "File", "Size", "Uploaded"])
        self.history_model = SmallTableModel(["When", "Who", "Action", "Change", "Note"])
        self.tabs.addTab(self.fields, "A&pplication")  # Alt+A is the Actions menu
        self.tabs.addTab(_table(self.goods_model, 3), "&Goods")
        self.tabs.addTab(self.cost_sheet, "C&ost sheet")
        self.tabs.addTab(self._documents_tab(), "&Documents")
        self.tabs.addTab(_table(self.history_model, 4), "&History")
        # an in-lieu application against the original certificate's application
        self.in_lieu = QTextBrowser()
        self.in_lieu.setObjectName("inLieuDifference")
        self.tabs.addTab(self.in_lieu, "In &lieu of")
        self.tabs.setTabVisible(self.tabs.indexOf(self.in_lieu), False)
        self.fields.anchorClicked.connect(self._link)
        # QtPdf loads on first use of the tab, not at start-up
        self._preview_placeholder = QWidget()
        self._preview: PreviewPane | None = None
        self.tabs.addTab(self._preview_placeholder, "Pre&view")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs)
        self.detail: ApplicationDetail | None = None

    def _documents_tab(self) -> QWidget:
        """The documents table and its Open button (double-click or Enter opens too)."""
        self.documents_table = _table(self.documents_model, 1)
        self.documents_table.setObjectName("documentsTable")
        self.documents_table.activated.connect(lambda index: self.open_document(index.row()))
        self.open_document_button = QPushButton("Open")
        self.open_document_button.setObjectName("openDocument")
        self.open_document_button.setToolTip("Show the selected document inside the desk "
                                             "(double-click or Enter on a row)")
        self.open_document_button.setEnabled(False)
        self.open_document_button.clicked.connect(lambda: self.open_document(
            self.documents_table.currentIndex().row()))
        self.documents_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.open_document_button.setEnabled(current.isValid()))
        hint = QLabel("Enter, double-click or Open shows the document inside the desk; a "
                      "synced desk keeps what it opened for offline review.")
        hint.setStyleSheet("color: #666;")
        hint.setWordWrap(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(hint, 1)
        bar.addWidget(self.open_document_button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.documents_table, 1)
        layout.addLayout(bar)
        return tab

    def open_document(self, row: int) -> None:
        """Ask for the document of this row of the Documents tab."""
        detail = self.detail
        if detail is None or not 0 <= row < len(detail.document_ids):
            return
        self.document_requested.emit(detail.document_ids[row], detail.documents[row][1])

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

    def _link(self, url: QUrl) -> None:
        if url.scheme() == "exporter" and url.path().isdigit():
            self.exporter_requested.emit(int(url.path()))

    def clear(self) -> None:
        self.detail = None
        self.in_lieu.clear()
        self.tabs.setTabVisible(self.tabs.indexOf(self.in_lieu), False)
        self.title.setText("Select an application in the queue.")
        self.fields.clear()
        self.cost_sheet.clear()
        if self._preview is not None:
            self._preview.clear()
        for model in (self.goods_model, self.documents_model, self.history_model):
            model.set_rows([])
        self.tabs.setTabText(1, "&Goods")
        self.tabs.setTabText(3, "&Documents")
        self.open_document_button.setEnabled(False)

    def show_detail(self, detail: ApplicationDetail) -> None:
        self.detail = detail
        status = detail.status.replace("_", " ")
        self.title.setText(f"{detail.number} · {status}")
        self.fields.setHtml(_warnings_html(detail.warnings, detail.exporter_id)
                            + _foreign_balance_html(detail.foreign_balance)
                            + _sections_html(detail.sections))
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
            table = _origin_html(detail.origin_lines) + table + (
                "<h3>Materials</h3><table cellpadding='3' cellspacing='0' border='1' "
                "style='border-collapse: collapse; border-color: #ccc;'>"
                "<tr><th>Material</th><th>HS</th><th>Origin</th><th>Originating</th>"
                f"<th>Value</th><th>Evidence</th></tr>{rows}</table>"
            )
            self.cost_sheet.setHtml(table)
        elif detail.origin_lines:
            self.cost_sheet.setHtml(_origin_html(detail.origin_lines))
        else:
            self.cost_sheet.setHtml("<p style='color:#666'>No cost sheet: not a preferential application.</p>")
        self.tabs.setTabEnabled(2, bool(detail.cost_sheet or detail.origin_lines))
        self.documents_model.set_rows(list(detail.documents))
        if detail.documents:  # Enter on the table opens the first at once
            self.documents_table.setCurrentIndex(self.documents_model.index(0, 0))
        self.open_document_button.setEnabled(bool(detail.documents))
        self.tabs.setTabText(3, f"&Documents ({len(detail.documents)})")
        in_lieu_tab = self.tabs.indexOf(self.in_lieu)
        self.tabs.setTabVisible(in_lieu_tab, detail.in_lieu is not None)
        if detail.in_lieu is not None:
            self.in_lieu.setHtml(in_lieu_html(detail.in_lieu))
            changed = len(detail.in_lieu.changed_fields) + len(detail.in_lieu.changed_goods)
            self.tabs.setTabText(in_lieu_tab, f"In &lieu of ({changed} changed)"
                                 if not detail.in_lieu.note else "In &lieu of")
        else:
            self.in_lieu.clear()
        self.history_model.set_rows([
            (h.when, h.actor, h.action, h.change, h.note)
            for h in detail.history
        ], frozenset(i for i, h in enumerate(detail.history) if h.alert))


def _foreign_balance_html(view: ForeignBalanceView | None) -> str:
    """A back-to-back application's foreign certificate: each goods item, what issued
    certificates and other approved applications drew, this application's draw, the balance."""
    if view is None:
        return ""
    heads = ("Item", "Goods", "HS code", "Certified", "Drawn: issued certificates",
             "Drawn: other approved", "This application", "Balance")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    rows = "".join(
        "<tr" + (f" style='color:{ALERT}'" if n in view.over_rows else "") + ">"
        + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for n, row in enumerate(view.rows))
    note = (f"<p style='color:{ALERT}'>{html.escape(view.note)}</p>" if view.note else "")
    table = ("<table cellpadding='3' cellspacing='0' border='1' style='border-collapse: "
             f"collapse; border-color: #ccc;'><tr>{head}</tr>{rows}</table>" if view.rows else "")
    return (f"<h3>Back-to-back: balance of the foreign certificate</h3>"
            f"<p>{html.escape(view.heading)}</p>{table}{note}")


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


def _origin_html(lines: Sequence[OriginLineView]) -> str:
    """The origin check of each preferential goods line: every step, then the verdict
    (met in green, not met in red)."""
    if not lines:
        return ""
    cell = "style='border-collapse: collapse; border-color: #ccc;'"
    parts = ["<h3 style='color:#1f3a5f'>Origin check, line by line</h3>"]
    failing = [str(line.item_no) for line in lines if not line.met]
    if failing:
        parts.append(f"<p style='color:{ALERT}'><b>{len(lines) - len(failing)} of {len(lines)} "
                     f"line(s) meet their criterion; not met: line(s) {', '.join(failing)}. "
                     "Approval needs an origin override with a reason.</b></p>")
    else:
        parts.append(f"<p style='color:{MET}'><b>Every line ({len(lines)}) meets its claimed "
                     "criterion.</b></p>")
    for line in lines:
        colour = MET if line.met else ALERT
        parts.append(f"<p><b>{html.escape(line.title)}</b> — <b style='color:{colour}'>"
                     f"{html.escape(line.verdict)}</b></p>")
        parts.append(f"<table cellpadding='3' cellspacing='0' border='1' {cell}>"
                     "<tr><th>Step</th><th>Figure</th></tr>")
        for step, figure in line.steps:
            style = f" style='color:{colour}; font-weight:600'" if step == "Verdict" else ""
            parts.append(f"<tr><td>{html.escape(step)}</td><td{style}>{html.escape(figure)}"
                         "</td></tr>")
        parts.append("</table>")
        if line.materials:
            parts.append(f"<table cellpadding='3' cellspacing='0' border='1' {cell}>"
                         "<tr><th>Material</th><th>Origin</th><th>HS</th><th>Originating</th>"
                         "<th>Value</th><th>Changes classification</th></tr>")
            for material in line.materials:
                parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in material)
                             + "</tr>")
            parts.append("</table>")
    return "".join(parts)


def _warnings_html(warnings: Sequence[str], exporter_id: int) -> str:
    """Warnings above the fields (e.g. an invoice number on another live application) and
    the link to the exporter view."""
    parts = [f"<p style='color:{ALERT}; font-weight:600'>⚠ {html.escape(w)}</p>"
             for w in warnings]
    if exporter_id:
        parts.append(f"<p><a href='exporter:{exporter_id}'>Exporter, its applicant users and "
                     "applications…</a></p>")
    return "".join(parts)


def in_lieu_html(diff: InLieuDifference) -> str:
    """The in-lieu difference: what changed (old → new) first, goods line by goods line,
    then what did not change, summarised."""
    title = f"In lieu of certificate {diff.original_number or '(none named)'}"
    if diff.original_application:
        title += f" (application {diff.original_application})"
    parts = [f"<h3 style='color:#1f3a5f'>{html.escape(title)}</h3>"]
    if diff.note:
        parts.append(f"<p style='color:{ALERT}'>{html.escape(diff.note)}</p>")
        return "".join(parts)
    parts.append(f"<p>{html.escape(diff.summary)}.</p>")
    table = ("<table cellpadding='3' cellspacing='0' border='1' style='border-collapse: "
             "collapse; border-color: #ccc;'><tr><th>Field</th><th>Original</th>"
             "<th></th><th>In-lieu</th></tr>")

    def rows(changes: Sequence[FieldChange]) -> str:
        return "".join(
            f"<tr><td>{html.escape(c.label)}</td>"
            f"<td style='color:#666'>{html.escape(c.old) or '—'}</td><td>→</td>"
            f"<td style='color:{ALERT}; font-weight:600'>{html.escape(c.new) or '—'}</td></tr>"
            for c in changes)

    if diff.changed_fields:
        parts.append("<h3>Changed fields</h3>" + table + rows(diff.changed_fields) + "</table>")
    else:
        parts.append("<p>No printed field changed.</p>")
    for line in diff.changed_goods:
        what = {"changed": "changed", "added": "added by the in-lieu application",
                "removed": "left out of the in-lieu application"}[line.state]
        shown = line.changes if line.state == "changed" else line.fields
        parts.append(f"<h3>Goods item {line.item_no}: {html.escape(what)}</h3>" + table
                     + rows(shown) + "</table>")
    unchanged = diff.unchanged_fields
    if unchanged:
        parts.append(f"<h3 style='color:#555'>Unchanged ({len(unchanged)} fields)</h3>"
                     "<table cellspacing='0' cellpadding='1'>")
        for c in unchanged:
            parts.append(f"<tr><td style='color:#555; padding-right:12px'>"
                         f"{html.escape(c.label)}</td><td style='color:#555'>"
                         f"{html.escape(c.old) or '—'}</td></tr>")
        parts.append("</table>")
    same = diff.unchanged_goods
    if same:
        items = ", ".join(str(g.item_no) for g in same)
        parts.append(f"<p style='color:#555'>Goods items unchanged: {html.escape(items)}.</p>")
    return "".join(parts)
