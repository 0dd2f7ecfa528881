"""The Stamps & signatures tab: every office's stamp and every officer's signature as
stored, with the upload dialog one click away."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.views.admin_image_upload import ImageUploadDialog
from app.views.admin_widgets import ERROR_STYLE, scaled_png, thumbnail
from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin, OfficeRow, UserRow
    from app.services.admin_images import UploadTarget

log = logging.getLogger(__name__)
THUMB = 64


class ImagesTab(QWidget):
    loaded = Signal()
    dialog_opened = Signal(object)  # the ImageUploadDialog
    changed = Signal()

    def __init__(self, admin: AgencyAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.offices: list[OfficeRow] = []
        self.officers: list[UserRow] = []
        self.dialog: ImageUploadDialog | None = None

        intro = QLabel("Upload each office's stamp and each officer's signature once, from a "
                       "scan or a phone photo: the paper is removed automatically and the ink "
                       "is printed in the certification box of every certificate.")
        intro.setWordWrap(True)
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        self.stamps = self._table(("Stamp", "Office", "Status"))
        self.signatures = self._table(("Signature", "Officer", "Offices", "Status"))
        self.stamp_button = QPushButton("Upload &stamp…")
        self.signature_button = QPushButton("Upload si&gnature…")
        self.stamp_button.setEnabled(False)
        self.signature_button.setEnabled(False)
        self.stamp_button.clicked.connect(lambda: self.upload_stamp(self.stamps.currentRow()))
        self.signature_button.clicked.connect(
            lambda: self.upload_signature(self.signatures.currentRow()))
        self.stamps.itemSelectionChanged.connect(
            lambda: self.stamp_button.setEnabled(self.stamps.currentRow() >= 0))
        self.signatures.itemSelectionChanged.connect(
            lambda: self.signature_button.setEnabled(self.signatures.currentRow() >= 0))
        self.stamps.cellDoubleClicked.connect(lambda row, _c: self.upload_stamp(row))
        self.signatures.cellDoubleClicked.connect(lambda row, _c: self.upload_signature(row))

        columns = QHBoxLayout()
        for title, table, button in (("Office stamps", self.stamps, self.stamp_button),
                                     ("Officers' signatures", self.signatures,
                                      self.signature_button)):
            box = QGroupBox(title)
            box_layout = QVBoxLayout(box)
            box_layout.addWidget(table, 1)
            row = QHBoxLayout()
            row.addWidget(button)
            row.addStretch(1)
            box_layout.addLayout(row)
            columns.addWidget(box, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.message)
        layout.addLayout(columns, 1)

    def _table(self, headers: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(list(headers))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setIconSize(QSize(THUMB, THUMB))
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        table.horizontalHeader().setStretchLastSection(True)
        table.setColumnWidth(0, THUMB + 16)
        return table

    def reload(self) -> None:
        admin = self.admin

        def load() -> tuple[list[OfficeRow], list[UserRow], dict[int, QImage | None],
                            dict[int, QImage | None]]:
            offices = admin.offices()
            officers = [u for u in admin.users(["active", "deactivated"]) if u.role == "officer"]
            # read and decoded here, on the worker: the GUI thread only paints them
            stamps = {o.id: scaled_png(admin.office_stamp(o.id), THUMB) if o.has_stamp else None
                      for o in offices}
            signatures = {u.id: scaled_png(admin.officer_signature(u.id), THUMB)
                          if u.has_signature else None for u in officers}
            return offices, officers, stamps, signatures

        run_task(load, self._loaded, self._failed, owner=self)

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(str(exc))
        self.message.setVisible(True)

    def _loaded(self, result: tuple[list[OfficeRow], list[UserRow], dict[int, QImage | None],
                                    dict[int, QImage | None]]) -> None:
        offices, officers, stamps, signatures = result
        self.offices, self.officers = offices, officers
        stamp_row, signature_row = self.stamps.currentRow(), self.signatures.currentRow()
        self.stamps.setRowCount(len(offices))
        for i, office in enumerate(offices):
            self._fill(self.stamps, i, stamps.get(office.id), [
                f"{office.code} — {office.name}\n{office.place}",
                "uploaded" if office.has_stamp else "missing: certificates print no stamp"])
        self.signatures.setRowCount(len(officers))
        for i, user in enumerate(officers):
            status = "uploaded" if user.has_signature else "missing"
            if user.status != "active":
                status += f" ({user.status})"
            self._fill(self.signatures, i, signatures.get(user.id), [
                f"{user.full_name}\n{user.email}", ", ".join(user.office_codes) or "—", status])
        for table in (self.stamps, self.signatures):
            table.resizeColumnToContents(1)
        if 0 <= stamp_row < len(offices):
            self.stamps.selectRow(stamp_row)
        if 0 <= signature_row < len(officers):
            self.signatures.selectRow(signature_row)
        self.loaded.emit()

    def _fill(self, table: QTableWidget, row: int, image: QImage | None,
              texts: list[str]) -> None:
        picture = QTableWidgetItem()
        picture.setIcon(QIcon(thumbnail(image, THUMB)))
        picture.setToolTip("stored image" if image is not None else "no image yet")
        table.setItem(row, 0, picture)
        for column, text in enumerate(texts, start=1):
            item = QTableWidgetItem(text)
            if text.startswith("missing"):
                item.setForeground(Qt.GlobalColor.darkRed)
            table.setItem(row, column, item)

    def upload_stamp(self, row: int) -> None:
        if 0 <= row < len(self.offices):
            self._open("stamp", self.offices[row].id)

    def upload_signature(self, row: int) -> None:
        if 0 <= row < len(self.officers):
            self._open("signature", self.officers[row].id)

    def _open(self, kind: str, target_id: int) -> None:
        admin = self.admin
        run_task(lambda: admin.upload_target(kind, target_id), self._show_dialog,
                 self._failed_target, owner=self)

    def _failed_target(self, exc: BaseException) -> None:
        if not isinstance(exc, UserFacingError):
            log.error("opening the upload dialog failed", exc_info=exc)
        self._failed(exc)

    def _show_dialog(self, target: UploadTarget) -> None:
        dialog = ImageUploadDialog(self.admin, target, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._after_save)
        self.dialog = dialog
        dialog.open()
        self.dialog_opened.emit(dialog)

    def _after_save(self) -> None:
        self.changed.emit()
        self.reload()
