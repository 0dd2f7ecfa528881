"""Checking a signed certificate PDF: each check with a plain pass or fail, the signature
level the file carries and, for B-B, a warning that it cannot be checked once the
officer's DSC expires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
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


class VerifyView(QWidget):
    verified = Signal(object)

    def __init__(self, verifier: Any, parent: QWidget | None = None) -> None:
        """``verifier``: the desk's verification service (``Desk.verifier()``)."""
        super().__init__(parent)
        self.verifier = verifier
        self.setWindowTitle("Verify a certificate")
        self.resize(820, 400)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open certificate PDF…")
        self.open_button.clicked.connect(self.choose_file)
        self.path_label = QLabel("No file opened.")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
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

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a signed certificate", "",
                                              "PDF files (*.pdf)")
        if path:
            self.verify_file(Path(path))

    def verify_file(self, path: Path) -> None:
        self.path_label.setText(str(path))
        self.open_button.setEnabled(False)
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
        self.open_button.setEnabled(True)
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
        self.open_button.setEnabled(True)
        text = str(exc) if isinstance(exc, UserFacingError) else f"Something went wrong: {exc}"
        self._verdict(text, False)
        self.verified.emit(exc)

    def _verdict(self, text: str, ok: bool | None) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(
            "padding:6px;" if ok is None else OK_STYLE if ok else DANGER_STYLE)
        self.verdict.setVisible(True)
