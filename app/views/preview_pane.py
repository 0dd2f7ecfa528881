"""The certificate preview: the exact PDF that would be signed, shown with QtPdf.

The PDF is rendered by the desk service on a worker; this pane only displays bytes.
Drafts carry the renderer's "DRAFT — not valid" watermark until the certificate is issued.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ZOOM_STEPS = (0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0)


class ElidedLabel(QLabel):
    """A one-line status text that never widens its pane: shown elided ("…") to the width
    it is given, whole in its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        """The whole text, not the elided one on screen."""
        return self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.fontMetrics().horizontalAdvance(self._full), super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              max(self.width(), 0))
        super().setText(shown)


class PreviewPane(QWidget):
    document_shown = Signal(int)  # page count

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self._buffer: QBuffer | None = None
        self._pdf: bytes | None = None
        self._file_name = "certificate.pdf"
        self.status = ElidedLabel("Select an application to preview its certificate.")
        self.page_label = QLabel()

        def tool(text: str, tip: str, slot) -> QToolButton:  # type: ignore[no-untyped-def]
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            return button

        self.zoom_out = tool("−", "Zoom out (Ctrl+-)", lambda: self.step_zoom(-1))
        self.zoom_in = tool("+", "Zoom in (Ctrl++)", lambda: self.step_zoom(1))
        self.fit = tool("Fit width", "Fit the page to the width of the pane", self.fit_width)
        self.previous = tool("◀", "Previous page", lambda: self.go_to_page(self.current_page() - 1))
        self.next = tool("▶", "Next page", lambda: self.go_to_page(self.current_page() + 1))
        self.save = tool("Save PDF…", "Save this PDF (the signed certificate once issued)",
                         self.ask_where_to_save)
        self.save.setEnabled(False)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for widget in (self.zoom_out, self.zoom_in, self.fit, self.previous, self.page_label,
                       self.next, self.save):
            bar.addWidget(widget)
        bar.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.view.pageNavigator().currentPageChanged.connect(lambda _p: self._update_page_label())
        self.document.statusChanged.connect(self._status_changed)

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def show_pdf(self, pdf: bytes, caption: str, file_name: str = "certificate.pdf") -> None:
        buffer = QBuffer(self)
        buffer.setData(QByteArray(pdf))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.close()
        self.document.load(buffer)
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer
        self._pdf, self._file_name = pdf, file_name
        self.save.setEnabled(True)
        self.status.setText(caption)

    def clear(self) -> None:
        self.document.close()
        self._pdf = None
        self.save.setEnabled(False)
        self.status.setText("Select an application to preview its certificate.")
        self._update_page_label()

    def ask_where_to_save(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Save certificate PDF", self._file_name, "PDF documents (*.pdf)"
        )
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Write the shown PDF to ``path`` (whole, or not at all)."""
        if self._pdf is None:
            return
        tmp = path.with_name(path.name + ".part")
        try:
            tmp.write_bytes(self._pdf)
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            self.status.setText(f"Not saved: {path} cannot be written ({exc.strerror}).")
            return
        self.status.setText(f"Saved {path.name}")

    def _status_changed(self, status: QPdfDocument.Status) -> None:
        if status == QPdfDocument.Status.Ready:
            self.go_to_page(0)
            self._update_page_label()
            self.document_shown.emit(self.document.pageCount())
        elif status == QPdfDocument.Status.Error:
            self.status.setText("The preview could not be shown: the PDF did not load.")

    def current_page(self) -> int:
        return self.view.pageNavigator().currentPage()

    def go_to_page(self, page: int) -> None:
        count = self.document.pageCount()
        if count:
            self.view.pageNavigator().jump(min(max(page, 0), count - 1), QPointF(), 0)
        self._update_page_label()

    def step_zoom(self, direction: int) -> None:
        current = self.view.zoomFactor()
        if self.view.zoomMode() != QPdfView.ZoomMode.Custom:
            current = 1.0
        steps = [z for z in ZOOM_STEPS if (z > current + 1e-6 if direction > 0 else z < current - 1e-6)]
        target = (steps[0] if direction > 0 else steps[-1]) if steps else current
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(target)

    def fit_width(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

    def _update_page_label(self) -> None:
        count = self.document.pageCount()
        self.page_label.setText(f"Page {self.current_page() + 1} of {count}" if count else "")
        self.previous.setEnabled(count > 1 and self.current_page() > 0)
        self.next.setEnabled(count > 1 and self.current_page() < count - 1)
