"""Uploading an office's stamp or an officer's signature: choose a scan or a photo, see the
background removed (before and after over a checkerboard, and inside the certification
box of a certificate), adjust the strength, save.

All image work runs on workers (:func:`app.views.tasks.run_task`): reading and analysing
the file once, then one cheap render per slider position, coalesced so that a fast slider
never queues more than one render behind the running one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.views.admin_widgets import (
    ERROR_STYLE,
    WARNING_STYLE,
    ImageView,
    png_image,
    rgb_image,
    rgba_image,
)
from app.views.tasks import Task, TaskProgress, run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin
    from app.services.admin_images import (
        CertificatePreview,
        CleanedInk,
        PreparedUpload,
        UploadTarget,
    )

log = logging.getLogger(__name__)

FILE_FILTER = ("Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp *.gif);;"
               "All files (*)")
PREVIEW_DPI = 160


def rasterise_certification_box(preview: CertificatePreview, dpi: int = PREVIEW_DPI) -> QImage:
    """The certification box of the preview PDF as an image on white (QtPdf; any thread)."""
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument()
    buffer = QBuffer()
    buffer.setData(QByteArray(preview.pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready:
        raise UserFacingError("The certificate preview could not be drawn.")
    page_size = document.pagePointSize(preview.page)
    scale = dpi / 72
    page = document.render(preview.page, QSize(round(page_size.width() * scale),
                                               round(page_size.height() * scale)))
    document.close()
    x1, y1, x2, y2 = preview.box
    margin = 4
    crop = QRect(round(x1 * scale) - margin, round((page_size.height() - y2) * scale) - margin,
                 round((x2 - x1) * scale) + 2 * margin, round((y2 - y1) * scale) + 2 * margin)
    crop = crop.intersected(page.rect())
    result = QImage(crop.size(), QImage.Format.Format_RGB32)
    result.fill(QColor("white"))
    painter = QPainter(result)
    painter.drawImage(0, 0, page, crop.x(), crop.y(), crop.width(), crop.height())
    painter.end()
    return result


class ImageUploadDialog(QDialog):
    """Upload, clean, preview and save one stamp or signature."""

    prepared = Signal()  # the file was read and analysed (or refused: see ``error_text``)
    rendered = Signal()  # a strength was rendered and previewed
    saved = Signal()  # the image is in the store
    save_failed = Signal(str)  # not stored; the message is shown

    def __init__(self, admin: AgencyAdmin, target: UploadTarget,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.target = target
        self.upload: PreparedUpload | None = None
        self.cleaned: CleanedInk | None = None
        self._generation = 0
        self._preparing: Task | None = None
        self._render_busy = False
        self._render_again = False
        self._saving = False
        noun = "stamp" if target.kind == "stamp" else "signature"
        self.setWindowTitle(f"Upload {noun} — Origin Desk")

        title = QLabel(f"<b>{html.escape(target.title)}</b>")
        hint = QLabel(
            f"Choose a scan or a phone photo of the {noun} on paper. The paper is removed "
            "automatically; check the result below and adjust the strength if needed. "
            "Nothing is stored until you press Save.")
        hint.setWordWrap(True)

        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("No file chosen")
        self.choose_button = QPushButton("&Choose file…")
        self.choose_button.clicked.connect(self.choose_file)
        file_row = QHBoxLayout()
        file_row.addWidget(QLabel("File:"))
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.choose_button)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE + " font-weight: bold;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setVisible(False)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(WARNING_STYLE)
        self.warning_label.setVisible(False)

        self.before_view = ImageView("The original appears here.", checkered=False)
        self.after_view = ImageView("The cleaned image appears here, over a checkerboard: "
                                    "grey and white squares show where it is transparent.")
        self.certificate_view = ImageView("The certification box of a certificate, with the "
                                          "cleaned image in place, appears here.", checkered=False)
        self.certificate_view.setMinimumHeight(190)
        before_box, after_box, cert_box = (QGroupBox(t) for t in (
            "Before: the file as chosen", "After: background removed",
            "On a certificate: box 8, certification by the issuing body (draft sample)"))
        for box, view in ((before_box, self.before_view), (after_box, self.after_view),
                          (cert_box, self.certificate_view)):
            QVBoxLayout(box).addWidget(view)
        views = QGridLayout()
        views.addWidget(before_box, 0, 0)
        views.addWidget(after_box, 0, 1)
        views.addWidget(cert_box, 1, 0, 1, 2)
        views.setRowStretch(0, 1)
        views.setRowStretch(1, 1)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setPageStep(10)
        self.slider.setTickInterval(10)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setEnabled(False)
        self.slider.setToolTip("0: keep the faintest ink (bolder). 100: remove the most "
                               "(thinner; faint marks dropped). 50 follows the ink's outline.")
        self.slider.valueChanged.connect(self._strength_changed)
        self.strength_label = QLabel("50")
        self.strength_label.setMinimumWidth(28)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setEnabled(False)
        self.reset_button.clicked.connect(lambda: self.slider.setValue(50))
        strength_row = QHBoxLayout()
        strength_row.addWidget(QLabel("<b>Strength:</b>  keep faint ink"))
        strength_row.addWidget(self.slider, 1)
        strength_row.addWidget(QLabel("remove more"))
        strength_row.addWidget(self.strength_label)
        strength_row.addWidget(self.reset_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.status_label = QLabel()
        self.save_button = QPushButton("&Save")
        self.save_button.setDefault(True)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress)
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(file_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.warning_label)
        layout.addLayout(views, 1)
        layout.addLayout(strength_row)
        layout.addLayout(bottom)
        self.resize(1180, 820)
        if target.current_png:
            self.after_view.set_image(png_image(target.current_png))
            self.status_label.setText(f"The {noun} stored now is shown under After.")

    # --- state the tests read ------------------------------------------------------------

    @property
    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    @property
    def warning_text(self) -> str:
        return self.warning_label.text() if self.warning_label.isVisible() else ""

    # --- choosing and preparing ----------------------------------------------------------

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, f"Choose the {self.target.kind} scan or photo", str(Path.home()), FILE_FILTER)
        if path:
            self.load_file(path)

    def load_file(self, path: str | Path) -> None:
        """Read, check and analyse the file on a worker; ``prepared`` follows."""
        if self._preparing is not None:  # another file was chosen: that one is not wanted
            self._preparing.cancel()
        self._generation += 1
        generation = self._generation
        self.upload = self.cleaned = None
        self.path_edit.setText(str(path))
        self._show_error(None)
        self._show_warnings(())
        self.before_view.clear()
        self.after_view.clear()
        self.certificate_view.clear()
        self.slider.setEnabled(False)
        self.reset_button.setEnabled(False)
        self._update_save()
        self._busy(f"Reading {Path(path).name}…")
        kind = self.target.kind

        def prepare(progress: Callable[[str], None]) -> PreparedUpload:
            from app.services.admin_images import prepare_upload  # imaging: on the worker

            return prepare_upload(path, kind, progress=progress)

        self._preparing = run_task(
            prepare,
            lambda upload: self._prepared(generation, upload),
            lambda exc: self._prepare_failed(generation, exc),
            on_progress=self._progress_text,
            owner=self,
        )

    def _progress_text(self, progress: TaskProgress) -> None:
        self.status_label.setText(progress.message)
        if progress.fraction is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(progress.fraction * 100))

    def _prepared(self, generation: int, upload: PreparedUpload) -> None:
        self._preparing = None
        if generation != self._generation:
            return
        self.upload = upload
        width, height = upload.before_size
        self.before_view.set_image(rgb_image(upload.before_rgb, width, height))
        self.slider.setEnabled(True)
        self.reset_button.setEnabled(True)
        self.prepared.emit()
        self._request_render()

    def _prepare_failed(self, generation: int, exc: BaseException) -> None:
        self._preparing = None
        if generation != self._generation:
            return
        self._idle("")
        if not isinstance(exc, UserFacingError):
            log.error("preparing %s failed", self.path_edit.text(), exc_info=exc)
            message = f"The file could not be used: {exc}"
        else:
            message = str(exc)
        self._show_error(message + "\nNothing was stored; choose another file.")
        self.prepared.emit()

    # --- rendering -----------------------------------------------------------------------

    @property
    def strength(self) -> float:
        return self.slider.value() / 100

    def _strength_changed(self, value: int) -> None:
        self.strength_label.setText(str(value))
        self._request_render()

    def _request_render(self) -> None:
        if self.upload is None:
            return
        if self._render_busy:
            self._render_again = True
            return
        self._render_busy = True
        self._render_again = False
        upload, strength, target, generation = self.upload, self.strength, self.target, \
            self._generation
        self._busy("Removing the background…")
        run_task(
            lambda: _render_with_preview(upload, strength, target),
            lambda result: self._rendered(generation, result),
            lambda exc: self._render_failed(generation, exc),
            owner=self,
        )

    def _rendered(self, generation: int, result: tuple[CleanedInk, QImage | None]) -> None:
        self._render_busy = False
        if generation != self._generation:
            self._request_render()
            return
        cleaned, box_image = result
        self.cleaned = cleaned
        self.after_view.set_image(rgba_image(cleaned.rgba, cleaned.width, cleaned.height))
        self.certificate_view.set_image(box_image if box_image is not None else QImage())
        self._show_warnings(tuple(w.message for w in cleaned.warnings))
        if self._render_again:
            self._request_render()
            return
        self._idle(f"{cleaned.width}×{cleaned.height} pixels at strength "
                   f"{round(cleaned.strength * 100)}" if cleaned.has_ink else "")
        self._update_save()
        self.rendered.emit()

    def _render_failed(self, generation: int, exc: BaseException) -> None:
        self._render_busy = False
        if generation != self._generation:
            self._request_render()
            return
        log.error("rendering the cleaned image failed", exc_info=exc)
        self._idle("")
        self._show_error(f"The cleaned image could not be shown: {exc}")
        self.rendered.emit()

    # --- saving --------------------------------------------------------------------------

    def save(self) -> None:
        if self.upload is None or self.cleaned is None or not self.cleaned.has_ink:
            return
        upload, strength, admin, target = self.upload, self.strength, self.admin, self.target
        self._saving = True
        self._update_save()
        self._busy("Saving…")
        run_task(lambda: _store(admin, target, upload, strength), self._saved,
                 self._save_failed, owner=self)

    def _saved(self, _result: object) -> None:
        self._saving = False
        self._idle("Saved.")
        self.saved.emit()
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._idle("")
        if not isinstance(exc, UserFacingError):
            log.error("saving the %s failed", self.target.kind, exc_info=exc)
        self._show_error(f"Not saved: {exc}")
        self._update_save()
        self.save_failed.emit(str(exc))

    # --- display helpers -----------------------------------------------------------------

    def _update_save(self) -> None:
        ready = (self.upload is not None and self.cleaned is not None and self.cleaned.has_ink
                 and not self._saving and not self._render_busy)
        self.save_button.setEnabled(ready)

    def _busy(self, message: str) -> None:
        self.progress.setRange(0, 0)  # busy, until a task says how far it is
        self.progress.setVisible(True)
        self.status_label.setText(message)
        self._update_save()

    def _idle(self, message: str) -> None:
        self.progress.setVisible(False)
        self.status_label.setText(message)

    def _show_error(self, message: str | None) -> None:
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))

    def _show_warnings(self, messages: tuple[str, ...]) -> None:
        text = "\n".join(f"⚠ {m}" for m in messages)
        self.warning_label.setText(text)
        self.warning_label.setVisible(bool(messages))


def _render_with_preview(upload: PreparedUpload, strength: float,
                         target: UploadTarget) -> tuple[CleanedInk, QImage | None]:
    """On a worker: the cleaned ink at this strength, and the certification box with it."""
    from app.documents.samples import sample_signature_png, sample_stamp_png
    from app.services.admin_images import certification_preview

    cleaned = upload.render(strength)
    if not cleaned.has_ink:
        return cleaned, None
    ink = cleaned.preview_png()
    companion = target.companion_png
    if target.kind == "stamp":
        stamp, signature = ink, companion or sample_signature_png()
    else:
        stamp, signature = companion or sample_stamp_png(), ink
    preview = certification_preview(
        stamp_png=stamp, signature_png=signature, office_code=target.office_code,
        office_name=target.office_name, place=target.place, officer_name=target.officer_name)
    return cleaned, rasterise_certification_box(preview)


def _store(admin: AgencyAdmin, target: UploadTarget, upload: PreparedUpload,
           strength: float) -> object:
    """On a worker: the final PNG at this strength, into the store."""
    png = upload.render(strength).png()
    if target.kind == "stamp":
        return admin.set_office_stamp(target.target_id, png, source=upload.name)
    return admin.set_officer_signature(target.target_id, png, source=upload.name)
