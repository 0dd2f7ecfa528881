"""Issuing one certificate with Aadhaar eSign: the consent page in the browser, the wait
with Cancel and the time left, then the signature embedded and the issue recorded.

:class:`EsignDialog` runs :meth:`app.services.esign_issuing.EsignIssuer.issue` on a worker
(``run_task``); the worker hands the consent address back through a signal, the dialog
opens it in the officer's browser (:func:`open_in_browser`, ``QDesktopServices``) and
shows it with a Copy button (for another browser, or when none opened), and each poll of
the gateway updates the state and the remaining time. Cancel (or Esc) tells the worker,
which cancels the transaction at the gateway and releases the reservation: nothing is
issued, the application stays approved.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.signing.esign_pdf import signed_with_esign
from app.views.issue_dialog import OK_STYLE
from app.views.pin_dialog import DANGER_STYLE
from app.views.tasks import run_task

_STATES = {
    "pending": "Waiting for your consent and OTP in the browser…",
    "signed": "Signed by the eSign Service Provider; embedding the signature and recording "
              "the issue…",
}


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the officer's browser (tests replace this to follow it themselves)."""
    return QDesktopServices.openUrl(QUrl(url))


class _Relay(QObject):
    consent = Signal(object)  # the EsignRequest
    state = Signal(object)  # a WaitingState


class EsignDialog(QDialog):
    """Signs and issues one application with Aadhaar eSign (see the module's doc)."""

    finished_issue = Signal(object)  # the IssuedCertificate, or the exception

    def __init__(self, issuer: Any, application_id: int, application_number: str,
                 esp_name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.issuer = issuer
        self.application_id = application_id
        self.application_number = application_number
        self.esp_name = esp_name
        self.cancel_event = threading.Event()
        self.outcome: Any = None
        self.request: Any = None
        self.task: Any = None
        self._deadline: float | None = None
        self.setWindowTitle(f"Aadhaar eSign — {application_number}")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        self.heading = QLabel(f"<b>Sign and issue {application_number} with Aadhaar eSign</b>")
        layout.addWidget(self.heading)
        esp = f" from {esp_name}" if esp_name else ""
        self.explain = QLabel(
            "Only the certificate's digest leaves this desk. Your browser opens the agency's "
            "eSign page: give your consent and the OTP sent to the mobile number linked to "
            f"your Aadhaar. The certificate is signed with a one-time certificate{esp}.")
        self.explain.setWordWrap(True)
        layout.addWidget(self.explain)
        self.status = QLabel("Preparing the certificate…")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        url_row = QHBoxLayout()
        self.url_edit = QLineEdit()
        self.url_edit.setReadOnly(True)
        self.url_edit.setPlaceholderText("The consent page's address appears here")
        self.url_edit.setToolTip("Open this address in a browser if none opened; it works "
                                 "once, for this signature only")
        self.copy_button = QPushButton("&Copy address")
        self.copy_button.clicked.connect(self.copy_url)
        self.open_button = QPushButton("&Open browser again")
        self.open_button.setToolTip("If no browser opened: the address works once")
        self.open_button.clicked.connect(self.open_consent_page)
        for widget in (self.copy_button, self.open_button):
            widget.setEnabled(False)
        url_row.addWidget(self.url_edit, 1)
        url_row.addWidget(self.copy_button)
        url_row.addWidget(self.open_button)
        layout.addLayout(url_row)
        self.time_left = QLabel("")
        layout.addWidget(self.time_left)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the outcome
        self.bar.setTextVisible(False)
        layout.addWidget(self.bar)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop waiting: nothing is issued, the application stays "
                                      "approved")
        self.cancel_button.clicked.connect(self.request_cancel)
        self.close_button = QPushButton("Close")
        self.close_button.setEnabled(False)
        self.close_button.clicked.connect(self.accept)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self._relay = _Relay(self)
        self._relay.consent.connect(self.show_consent)
        self._relay.state.connect(self.show_state)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Issue on a worker; the dialog follows it."""
        issuer, app_id, cancel = self.issuer, self.application_id, self.cancel_event
        relay = self._relay
        self.task = run_task(
            lambda: issuer.issue(app_id, open_consent=relay.consent.emit, cancel=cancel,
                                 on_state=relay.state.emit),
            self.show_issued, self.show_failure, owner=self)

    def show_consent(self, request: Any) -> None:
        self.request = request
        self.url_edit.setText(request.consent_url)
        self.url_edit.setCursorPosition(0)
        self.copy_button.setEnabled(True)
        self.open_button.setEnabled(True)
        self.status.setText(_STATES["pending"])
        self.open_consent_page()

    def open_consent_page(self) -> None:
        if self.request is None:
            return
        if not open_in_browser(self.request.consent_url):
            self.status.setText("No browser could be opened: copy the address below into a "
                                "browser to give your consent.")

    def copy_url(self) -> None:
        if self.request is not None:
            QGuiApplication.clipboard().setText(self.request.consent_url)
            self.copy_button.setText("Copied")

    def show_state(self, waiting: Any) -> None:
        if self.outcome is not None or self.cancel_event.is_set():
            return
        self._deadline = time.monotonic() + float(waiting.seconds_left)
        self.status.setText(_STATES.get(waiting.state, waiting.message or waiting.state))
        self._tick()
        if not self._ticker.isActive():
            self._ticker.start()

    def _tick(self) -> None:
        if self._deadline is None:
            return
        left = max(0, int(round(self._deadline - time.monotonic())))
        self.time_left.setText(f"Time left for your consent: {left // 60}:{left % 60:02d}")

    def request_cancel(self) -> None:
        if self.outcome is not None:
            return
        self.cancel_event.set()
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling: the transaction is withdrawn and the number "
                            "released…")

    def reject(self) -> None:  # Esc / window close: cancel, keep the dialog until it is done
        if self.outcome is None:
            self.request_cancel()
            return
        super().reject()

    # --- the outcome --------------------------------------------------------------------------

    def show_issued(self, issued: Any) -> None:
        self.outcome = issued
        self.status.setText(f"{issued.application_number} is issued as certificate "
                            f"{issued.certificate_number}.")
        self._message(f"{signed_with_esign(self.esp_name)}; issued as "
                      f"{issued.certificate_number}.", ok=True)
        self._done()
        self.finished_issue.emit(issued)

    def show_failure(self, exc: BaseException) -> None:
        self.outcome = exc
        text = str(exc) if isinstance(exc, UserFacingError) else (
            f"Something went wrong: {exc}. Nothing was issued; the details are in the log.")
        self.status.setText("Nothing was issued; the application stays approved.")
        self._message(text, ok=False)
        self._done()
        self.finished_issue.emit(exc)

    def _message(self, text: str, *, ok: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(OK_STYLE if ok else DANGER_STYLE)
        self.message.setVisible(True)
        self.adjustSize()  # room for the outcome without squeezing the explanation

    def _done(self) -> None:
        self._ticker.stop()
        self.time_left.clear()
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.cancel_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self.close_button.setDefault(True)
