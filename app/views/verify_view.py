"""Verifying a certificate three ways: by its number (status and details: valid, superseded
by which in-lieu certificate, cancelled, or an alert for an unknown number), by the QR code
of an image (a photo or a scan) or a PDF (its seal, then the status), and a signed
certificate PDF (each check with a plain pass or fail, the signature level the file
carries and, for B-B, a warning that it cannot be checked once the officer's DSC expires).
Every look-up runs on the background task helper."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.views.issue_dialog import OK_STYLE
from app.views.pin_dialog import DANGER_STYLE, WARNING_STYLE
from app.views.tasks import run_task

PASS, FAIL, UNKNOWN = "✔  Pass", "✖  Fail", "–  Not checked"
QR_FILES = ("Images and PDFs (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.pdf);;"
            "All files (*)")


class VerifyView(QWidget):
    verified = Signal(object)

    def __init__(self, verifier: Any, parent: QWidget | None = None) -> None:
        """``verifier``: the desk's verification service (``Desk.verifier()``)."""
        super().__init__(parent)
        self.verifier = verifier
        self.setWindowTitle("Verify a certificate")
        self.resize(820, 460)
        layout = QVBoxLayout(self)
        by_number = QHBoxLayout()
        number_label = QLabel("Certificate &number:")
        self.number_edit = QLineEdit()
        self.number_edit.setPlaceholderText("e.g. IGCC/2026/0000123")
        self.number_edit.setMaxLength(64)
        number_label.setBuddy(self.number_edit)
        self.number_button = QPushButton("&Verify number")
        self.number_button.clicked.connect(lambda: self.verify_number())
        self.number_edit.returnPressed.connect(lambda: self.verify_number())
        agency_label = QLabel("&Agency:")
        self.agency_edit = QLineEdit()  # optional: the store knows; the service asks for it
        self.agency_edit.setPlaceholderText("from the number")
        self.agency_edit.setToolTip("The issuing agency's code (e.g. IGCC). Needed only for "
                                    "a number that does not begin with it, such as a legacy "
                                    "certificate's, when the central service answers.")
        self.agency_edit.setMaxLength(16)
        self.agency_edit.setMaximumWidth(130)
        agency_label.setBuddy(self.agency_edit)
        self.agency_edit.returnPressed.connect(lambda: self.verify_number())
        by_number.addWidget(number_label)
        by_number.addWidget(self.number_edit, 1)
        by_number.addWidget(agency_label)
        by_number.addWidget(self.agency_edit)
        by_number.addWidget(self.number_button)
        layout.addLayout(by_number)
        row = QHBoxLayout()
        self.qr_button = QPushButton("Open &QR image…")
        self.qr_button.setToolTip("A photo or a scan of the certificate's QR code (PNG, "
                                  "JPEG), or a certificate PDF: its seal, then its status")
        self.qr_button.clicked.connect(self.choose_qr_file)
        self.open_button = QPushButton("Open certificate &PDF…")
        self.open_button.clicked.connect(self.choose_file)
        self.path_label = QLabel("No file opened.")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.qr_button)
        row.addWidget(self.open_button)
        row.addWidget(self.path_label, 1)
        layout.addLayout(row)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setVisible(False)
        layout.addWidget(self.verdict)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.facts)
        self.level_note = QLabel()  # B-B: cannot be checked once the officer's DSC expires
        self.level_note.setWordWrap(True)
        self.level_note.setStyleSheet(WARNING_STYLE)
        self.level_note.setVisible(False)
        layout.addWidget(self.level_note)
        self.details = QLabel()  # a number's or a QR code's certificate details
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setVisible(False)
        layout.addWidget(self.details, 1)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(("Check", "Result", "Details"))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.close_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)  # Esc closes
        self.close_shortcut.activated.connect(self.close)

    # --- by number and by QR code ------------------------------------------------------------

    def verify_number(self, number: str | None = None) -> None:
        """Look the number up (on a worker): its status and details."""
        if number is not None:
            self.number_edit.setText(number)
        text = self.number_edit.text().strip()
        agency = self.agency_edit.text().strip() or None
        self._begin(f"Certificate number {text}" if text else "")
        run_task(lambda: self.verifier.verify_number(text, agency), self.show_lookup,
                 self.show_error, owner=self)

    def choose_qr_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a QR code image or a certificate",
                                              "", QR_FILES)
        if path:
            self.verify_qr_file(Path(path))

    def verify_qr_file(self, path: Path) -> None:
        """Decode the QR code of an image or a PDF, check its seal, look the number up."""
        self._begin(str(path))
        run_task(lambda: self.verifier.verify_qr_file(Path(path)), self.show_lookup,
                 self.show_error, owner=self)

    def _begin(self, what: str) -> None:
        self.path_label.setText(what or "No file opened.")
        self._busy(True)
        self.table.setRowCount(0)
        self.facts.clear()
        self.details.clear()
        self.level_note.setVisible(False)
        self._verdict("Checking…", None)

    def _busy(self, busy: bool) -> None:
        for widget in (self.number_button, self.qr_button, self.open_button):
            widget.setEnabled(not busy)

    def show_lookup(self, result: Any) -> None:
        """A NumberVerification (app/services/certificate_lookup.py)."""
        self._busy(False)
        self.table.setVisible(False)
        self.details.setVisible(True)
        outcome = result.outcome
        if outcome == "valid":
            self._verdict(f"✔ {result.message}", True)
        elif outcome == "not_checked":
            self._verdict(f"– {result.message}", None)
            self.verdict.setStyleSheet(WARNING_STYLE)
        elif outcome == "unknown":
            self._verdict(f"⚠ {result.message}", False)
        else:
            self._verdict(f"✖ {result.message}", False)
        rows: list[tuple[str, str]] = []
        cert = result.certificate
        qr = result.qr
        if qr is not None:
            rows.append(("QR code", "seal verifies (" + (qr.signer or "seal") + ")"
                         if qr.valid else ("not checked: " + qr.problem) if qr.valid is None
                         else "does NOT verify: " + qr.problem))
        if cert is not None:
            status = {"superseded": f"superseded by {cert.superseded_by}",
                      }.get(cert.status, cert.status)
            if cert.cancelled_on:
                status += f" on {cert.cancelled_on.strftime('%d %b %Y')}"
            if cert.cancel_reason:
                status += f": {cert.cancel_reason}"
            if cert.legacy:
                status += " (legacy eCoO 1.0 status: migrated from the legacy system)"
            rows += [("Certificate", cert.number), ("Status", status),
                     ("Issued on", cert.issued_on.strftime("%d %b %Y") if cert.issued_on
                      else "—"),
                     ("Issuing office", f"{cert.office_name}, {cert.agency_name} "
                      f"({cert.agency_code})")]
            if cert.exporter_name or cert.exporter_iec:
                rows.append(("Exporter", f"{cert.exporter_name} (IEC {cert.exporter_iec})"))
            if cert.consignee_name:
                rows.append(("Consignee", cert.consignee_name))
            if cert.destination_country:
                rows.append(("Destination", cert.destination_country))
            if cert.goods_summary:
                rows.append(("Goods", cert.goods_summary))
        elif qr is not None and qr.valid:
            rows += [("Certificate (sealed)", qr.number), ("Exporter IEC (sealed)",
                     qr.exporter_iec), ("Destination (sealed)", qr.destination_country)]
        for note in result.notes:
            rows.append(("Note", note))
        rows.append(("Answered by", result.answered_by))
        self.details.setText("<table cellspacing='4'>" + "".join(
            f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows)
            + "</table>")
        self.verified.emit(result)

    # --- a signed PDF ------------------------------------------------------------------------

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a signed certificate", "",
                                              "PDF files (*.pdf)")
        if path:
            self.verify_file(Path(path))

    def verify_file(self, path: Path) -> None:
        self.path_label.setText(str(path))
        self._busy(True)
        self.table.setVisible(True)
        self.details.setVisible(False)
        self.table.setRowCount(0)
        self.facts.clear()
        self.level_note.setVisible(False)
        self._verdict("Checking…", None)

        def work() -> Any:
            if hasattr(self.verifier, "verify_file"):  # refuses files over the size limit
                return self.verifier.verify_file(Path(path))
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise UserFacingError(f"Cannot read {path}: {exc.strerror}.") from None
            return self.verifier.verify_pdf(data)

        run_task(work, self.show_result, self.show_error, owner=self)

    def show_result(self, result: Any) -> None:
        self._busy(False)
        self.table.setRowCount(len(result.checks))
        for r, check in enumerate(result.checks):
            mark = UNKNOWN if check.passed is None else PASS if check.passed else FAIL
            cells = (QTableWidgetItem(check.name), QTableWidgetItem(mark),
                     QTableWidgetItem(check.detail))
            color = ("#1b5e20" if check.passed else "#777777" if check.passed is None
                     else "#b71c1c")
            cells[1].setForeground(QColor(color))
            for c, cell in enumerate(cells):
                self.table.setItem(r, c, cell)
        self.table.resizeRowsToContents()
        number = result.certificate_number or "unknown"
        facts = [f"<b>Certificate:</b> {number}"]
        if result.store_status:
            facts.append(f"<b>In the store:</b> {result.store_status}")
        if result.signer:
            facts.append(f"<b>Signed by:</b> {result.signer}")
        signed_with = getattr(result, "signed_with", "")
        if signed_with:  # a DSC token, or Aadhaar eSign with a one-time certificate
            facts.append(escape(signed_with))
        level = getattr(result, "level", None)
        if level:
            facts.append(f"<b>Signature level:</b> PAdES {level}")
        self.facts.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(facts))
        note = getattr(result, "level_note", "")
        self.level_note.setText(f"⚠ PAdES {level}: {note}." if note else "")
        self.level_note.setVisible(bool(note))
        verdict = getattr(result, "verdict", "")
        if result.valid:
            self._verdict("This certificate is genuine and unchanged since it was signed.", True)
        elif verdict.startswith("authentic but "):
            self._verdict("This certificate is authentic (genuine and unchanged since it was "
                          f"signed) but {verdict.removeprefix('authentic but ')}: it is no "
                          "longer in force.", False)
        else:
            failed = [c.name.lower() for c in result.checks if c.passed is False]
            if not failed and getattr(result, "offline", ""):
                self._verdict("Checked offline: nothing is wrong in what this desk can check "
                              "alone (marked Pass); the rest needs the central store.", None)
            else:
                self._verdict("This certificate is NOT valid: " + ", ".join(failed) + ".",
                              False)
        self.verified.emit(result)

    def show_error(self, exc: BaseException) -> None:
        self._busy(False)
        text = str(exc) if isinstance(exc, UserFacingError) else f"Something went wrong: {exc}"
        self._verdict(text, False)
        self.verified.emit(exc)

    def _verdict(self, text: str, ok: bool | None) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(
            "padding:6px;" if ok is None else OK_STYLE if ok else DANGER_STYLE)
        self.verdict.setVisible(True)
