"""The supporting-document viewer: a window beside the desk that shows an exporter's
invoice, packing list or scan inside Origin Desk.

The bytes come from ``Desk.documents()`` on a worker (fetched from the central store, or
from the synced desk's cache); the window shows a waiting state meanwhile. What the bytes
are was decided by the service from their content (``app.documents.sniff``): a PDF opens
in a QtPdf view (pages, zoom, fit width), an image in a zoomable, scrollable view, and
anything else (a ZIP called ``invoice.pdf``, a program, a damaged file) as one line with its
size and SHA-256. Nothing is ever handed to another program or written to a file.

Keyboard: Page Down / Page Up (pages), Home / End, Ctrl+= and Ctrl+- (zoom), Ctrl+0 (fit
width), Esc (close).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut, QTransform
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.views.tasks import Task, TaskProgress, run_task

if TYPE_CHECKING:
    from app.services.documents import OpenedDocument, SupportingDocuments

log = logging.getLogger(__name__)
ZOOM_STEPS = (0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
WARNING_STYLE = ("QLabel#documentProblem { color: #7c2d12; background: #fff7ed; "
                 "border: 1px solid #fdba74; border-radius: 4px; padding: 12px; "
                 "font-size: 14px; font-weight: 600; }")
PDF_ERRORS = {
    QPdfDocument.Error.InvalidFileFormat: "the PDF is damaged (not a readable PDF file)",
    QPdfDocument.Error.IncorrectPassword: "the PDF is protected by a password",
    QPdfDocument.Error.UnsupportedSecurityScheme: "the PDF uses an unsupported protection",
    QPdfDocument.Error.DataNotYetAvailable: "the PDF is incomplete",
    QPdfDocument.Error.FileNotFound: "the PDF could not be read",
}


def _step(current: float, direction: int) -> float:
    steps = [z for z in ZOOM_STEPS
             if (z > current + 1e-6 if direction > 0 else z < current - 1e-6)]
    return (steps[0] if direction > 0 else steps[-1]) if steps else current


def _tool(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return button


def decode_image(content: bytes) -> QImage:
    """A scan's bytes as a QImage (on a worker: large scans take a while); a null image
    when Qt cannot decode them."""
    image = QImage()
    image.loadFromData(QByteArray(content))
    if image.isNull():  # a format Qt's plugins miss: Pillow decodes, Qt gets a PNG
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(content)) as source:
                out = io.BytesIO()
                source.convert("RGBA").save(out, "PNG")
            image.loadFromData(QByteArray(out.getvalue()))
        except (OSError, ValueError, SyntaxError) as exc:
            log.warning("image did not decode: %s", exc)
    return image


class PdfPage(QWidget):
    """A PDF in a QtPdf view: pages, zoom, fit width."""

    ready = Signal(int)  # page count
    failed = Signal(str)  # what is wrong, for the officer

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setObjectName("documentPdfView")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._buffer: QBuffer | None = None
        self._name = ""
        self.previous = _tool("◀ Previous", "Previous page (Page Up)")
        self.next = _tool("Next ▶", "Next page (Page Down)")
        self.page_label = QLabel()
        self.zoom_out = _tool("−", "Zoom out (Ctrl+-)")
        self.zoom_in = _tool("+", "Zoom in (Ctrl+=)")
        self.fit = _tool("Fit width", "Fit the page to the window's width (Ctrl+0)")
        self.zoom_label = QLabel()
        self.previous.clicked.connect(lambda: self.go_to_page(self.current_page() - 1))
        self.next.clicked.connect(lambda: self.go_to_page(self.current_page() + 1))
        self.zoom_out.clicked.connect(lambda: self.step_zoom(-1))
        self.zoom_in.clicked.connect(lambda: self.step_zoom(1))
        self.fit.clicked.connect(self.fit_width)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for widget in (self.previous, self.page_label, self.next):
            bar.addWidget(widget)
        bar.addStretch(1)
        for widget in (self.zoom_out, self.zoom_label, self.zoom_in, self.fit):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.view.pageNavigator().currentPageChanged.connect(lambda _p: self._update())
        self.view.zoomFactorChanged.connect(lambda _z: self._update())
        self.document.statusChanged.connect(self._status_changed)

    def load(self, content: bytes, name: str) -> None:
        self._name = name
        buffer = QBuffer(self)
        buffer.setData(QByteArray(content))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.close()
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.document.load(buffer)

    def clear(self) -> None:
        self.document.close()
        self._update()

    def _status_changed(self, status: QPdfDocument.Status) -> None:
        if status == QPdfDocument.Status.Ready:
            if self.document.pageCount() < 1:
                self.failed.emit(f"{self._name} could not be shown: the PDF has no pages.")
                return
            self.go_to_page(0)
            self.ready.emit(self.document.pageCount())
        elif status == QPdfDocument.Status.Error:
            error = self.document.error()
            log.warning("PDF %s did not load: %s", self._name, error)
            why = PDF_ERRORS.get(error, "the PDF is damaged")
            self.failed.emit(f"{self._name} could not be shown: {why}.")

    def page_count(self) -> int:
        return self.document.pageCount()

    def current_page(self) -> int:
        return self.view.pageNavigator().currentPage()

    def go_to_page(self, page: int) -> None:
        count = self.document.pageCount()
        if count:
            self.view.pageNavigator().jump(min(max(page, 0), count - 1), QPointF(), 0)
        self._update()

    def zoom(self) -> float:
        return self.view.zoomFactor() if self.view.zoomMode() == QPdfView.ZoomMode.Custom else 1.0

    def step_zoom(self, direction: int) -> None:
        target = _step(self.zoom(), direction)
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(target)
        self._update()

    def fit_width(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self._update()

    def _update(self) -> None:
        count = self.document.pageCount()
        page = self.current_page()
        self.page_label.setText(f"Page {page + 1} of {count}" if count else "")
        self.previous.setEnabled(count > 1 and page > 0)
        self.next.setEnabled(count > 1 and page < count - 1)
        custom = self.view.zoomMode() == QPdfView.ZoomMode.Custom
        self.zoom_label.setText(f"{self.view.zoomFactor() * 100:.0f} %" if custom
                                else "fit width")


class ImagePage(QWidget):
    """A scan in a scrollable view with zoom (the image is scaled when drawn, so zooming
    a large scan costs nothing up front)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = QGraphicsScene(self)
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene.addItem(self.item)
        self.view = QGraphicsView(self.scene)
        self.view.setObjectName("documentImageView")
        self.view.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scale = 1.0
        self._fitting = True
        self.zoom_out = _tool("−", "Zoom out (Ctrl+-)")
        self.zoom_in = _tool("+", "Zoom in (Ctrl+=)")
        self.actual = _tool("100 %", "Actual size")
        self.fit = _tool("Fit width", "Fit the image to the window's width (Ctrl+0)")
        self.size_label = QLabel()
        self.zoom_label = QLabel()
        self.zoom_out.clicked.connect(lambda: self.step_zoom(-1))
        self.zoom_in.clicked.connect(lambda: self.step_zoom(1))
        self.actual.clicked.connect(lambda: self.set_scale(1.0))
        self.fit.clicked.connect(self.fit_width)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.size_label)
        bar.addStretch(1)
        for widget in (self.zoom_out, self.zoom_label, self.zoom_in, self.actual, self.fit):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def show_image(self, image: QImage) -> None:
        self.item.setPixmap(QPixmap.fromImage(image))
        self.scene.setSceneRect(self.item.boundingRect())
        self.size_label.setText(f"{image.width():,} × {image.height():,} pixels")
        self.fit_width()

    def clear(self) -> None:
        self.item.setPixmap(QPixmap())

    def image_size(self) -> tuple[int, int]:
        pixmap = self.item.pixmap()
        return pixmap.width(), pixmap.height()

    def set_scale(self, scale: float, *, fitting: bool = False) -> None:
        self._fitting = fitting
        self.scale = max(0.05, min(scale, 8.0))
        self.view.setTransform(QTransform.fromScale(self.scale, self.scale))
        self.zoom_label.setText(f"{self.scale * 100:.0f} %")

    def step_zoom(self, direction: int) -> None:
        self.set_scale(_step(self.scale, direction))

    def fit_width(self) -> None:
        width = self.image_size()[0]
        if width:
            room = max(self.view.viewport().width() - 4, 50)
            self.set_scale(room / width, fitting=True)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._fitting:
            self.fit_width()


class DocumentViewer(QWidget):
    """One window that shows the supporting document the officer opened last."""

    settled = Signal(str)  # "pdf", "image" or "message": what the window now shows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("documentViewer")
        self.setWindowTitle("Supporting document")
        self.resize(900, 1000)
        self.title = QLabel()
        self.title.setObjectName("documentTitle")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel()
        self.facts.setObjectName("documentFacts")
        self.facts.setStyleSheet("color: #555;")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # waiting
        self.waiting = QWidget()
        self.waiting_label = QLabel()
        self.waiting_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy: the fetch's size is known, its progress is not
        self.busy.setMaximumWidth(360)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_fetch)
        waiting_layout = QVBoxLayout(self.waiting)
        waiting_layout.addStretch(1)
        waiting_layout.addWidget(self.waiting_label)
        waiting_layout.addWidget(self.busy, 0, Qt.AlignmentFlag.AlignHCenter)
        waiting_layout.addWidget(self.cancel, 0, Qt.AlignmentFlag.AlignHCenter)
        waiting_layout.addStretch(2)
        # viewers
        self.pdf = PdfPage()
        self.image = ImagePage()
        # a refusal, a warning, a damaged file
        self.message_page = QWidget()
        self.problem = QLabel()
        self.problem.setObjectName("documentProblem")
        self.problem.setStyleSheet(WARNING_STYLE)
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_note = QLabel()
        self.problem_note.setWordWrap(True)
        self.problem_note.setStyleSheet("color: #555;")
        message_layout = QVBoxLayout(self.message_page)
        message_layout.addWidget(self.problem)
        message_layout.addWidget(self.problem_note)
        message_layout.addStretch(1)
        self.pages = QStackedWidget()
        for page in (self.waiting, self.pdf, self.image, self.message_page):
            self.pages.addWidget(page)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.facts)
        layout.addWidget(line)
        layout.addWidget(self.pages, 1)
        self.pdf.ready.connect(self._pdf_ready)
        self.pdf.failed.connect(self.show_problem)
        self._task: Task | None = None
        self._opened: OpenedDocument | None = None
        self.state = "empty"
        for keys, slot in (
            (("Ctrl+=", "Ctrl++"), lambda: self.zoom(1)),  # one key each: no ambiguity
            (("Ctrl+-",), lambda: self.zoom(-1)),
            (("Ctrl+0",), self.fit_width),
            (("PgDown",), lambda: self.turn(1)),
            (("PgUp",), lambda: self.turn(-1)),
            (("Home",), lambda: self.turn_to(0)),
            (("End",), lambda: self.turn_to(-1)),
            (("Esc",), self.close),
        ):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(slot)

    # --- opening -------------------------------------------------------------------------

    def open_document(self, documents: SupportingDocuments, document_id: int,
                      file_name: str = "") -> None:
        """Fetch and show a document (the fetch runs on a worker; the window waits)."""
        self._drop_task()
        self._opened = None
        name = file_name or f"document #{document_id}"
        self.setWindowTitle(f"{name} — supporting document")
        self.title.setText(name)
        self.facts.setText("")
        self._set_state("waiting")
        self.waiting_label.setText(f"Opening {name}…")
        self.pages.setCurrentWidget(self.waiting)
        self.cancel.setEnabled(True)

        def work(progress: Any) -> OpenedDocument:
            return documents.open(document_id, progress)

        self._task = run_task(work, self._arrived, self._failed, self._progress, owner=self)

    def _drop_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def cancel_fetch(self) -> None:
        """The officer gave up waiting: the fetch's result, when it comes, is dropped."""
        waiting = self._task is not None and self.state == "waiting"
        self._drop_task()
        if waiting:
            self.show_problem("Opening the document was cancelled.")

    def _progress(self, progress: TaskProgress) -> None:
        self.waiting_label.setText(progress.message)

    def _failed(self, exc: BaseException) -> None:
        self._task = None
        if isinstance(exc, UserFacingError):
            self.show_problem(str(exc))
        else:
            log.error("a supporting document could not be opened", exc_info=exc)
            self.show_problem("The document could not be opened (details in the log).")

    def _arrived(self, opened: OpenedDocument) -> None:
        self._task = None
        self.show_opened(opened)

    def show_opened(self, opened: OpenedDocument) -> None:
        """Show what the service fetched and judged."""
        self._opened = opened
        info = opened.info
        kind = opened.judgement.description if opened.judgement else "not checked"
        self.title.setText(f"{info.file_name} — {info.kind.replace('_', ' ')}")
        self.facts.setText(f"{info.size_text} · content: {kind} · from {opened.source}\n"
                           f"SHA-256 {info.sha256}")
        if opened.viewer == "pdf" and opened.content is not None:
            self.waiting_label.setText(f"Showing {info.file_name}…")
            self.pdf.load(opened.content, info.file_name)
        elif opened.viewer == "image" and opened.content is not None:
            self.waiting_label.setText(f"Showing {info.file_name}…")
            content = opened.content
            self._task = run_task(lambda: decode_image(content), self._image_decoded,
                                  self._failed, owner=self)
        else:
            self.show_problem(opened.problem or f"{info.file_name} cannot be shown.")

    def _image_decoded(self, image: QImage) -> None:
        self._task = None
        name = self._opened.info.file_name if self._opened else "The image"
        if image.isNull():
            self.show_problem(f"{name} could not be shown: the image is damaged.")
            return
        self.pages.setCurrentWidget(self.image)
        self.image.show_image(image)
        self.image.view.setFocus()
        self._set_state("image")

    def _pdf_ready(self, _pages: int) -> None:
        self.pages.setCurrentWidget(self.pdf)
        self.pdf.view.setFocus()
        self._set_state("pdf")

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        note = ("It is not opened by any other program. Ask the exporter for a proper copy "
                "if you need it." if self._opened is not None and self._opened.problem
                else "")
        self.problem_note.setText(note)
        self.pages.setCurrentWidget(self.message_page)
        self._set_state("message")

    def _set_state(self, state: str) -> None:
        self.state = state
        if state != "waiting":
            self.settled.emit(state)

    # --- keyboard ----------------------------------------------------------------------------

    def zoom(self, direction: int) -> None:
        if self.state == "pdf":
            self.pdf.step_zoom(direction)
        elif self.state == "image":
            self.image.step_zoom(direction)

    def fit_width(self) -> None:
        if self.state == "pdf":
            self.pdf.fit_width()
        elif self.state == "image":
            self.image.fit_width()

    def turn(self, step: int) -> None:
        if self.state == "pdf":
            self.pdf.go_to_page(self.pdf.current_page() + step)

    def turn_to(self, page: int) -> None:
        if self.state == "pdf":
            self.pdf.go_to_page(page if page >= 0 else self.pdf.page_count() - 1)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._drop_task()
        self.pdf.clear()
        super().closeEvent(event)


def open_document(window: Any, document_id: int, file_name: str = "") -> DocumentViewer | None:
    """Show a supporting document of the desk ``window`` works on, in its viewer window
    (one per desk window, reused)."""
    desk = getattr(window, "desk", None)
    if desk is None:
        return None
    viewer = getattr(window, "_document_viewer", None)
    if viewer is None:
        viewer = DocumentViewer(window)
        window._document_viewer = viewer
    shown = viewer.isVisible()
    viewer.open_document(desk.documents(), document_id, file_name)
    viewer.show()
    if shown:  # behind the desk window: bring it forward
        viewer.raise_()
    viewer.activateWindow()
    return viewer
