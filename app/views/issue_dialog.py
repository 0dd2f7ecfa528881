"""Issuing a batch from the desk: one PIN, a progress dialog with cancel, a clear outcome.

Before the PIN is asked the dialog says the signature level: PAdES B-LTA with the
configured timestamp server, else a warning that a B-B signature cannot be checked once
the officer's DSC expires.

:func:`start_issue_batch` runs ``Issuer.run_batch`` on a worker (``run_task``); the PIN is
asked on the GUI thread through :class:`~app.views.pin_dialog.PinPrompter`; "Stop" asks
the batch to stop after the certificate being signed (each one is issued whole or not).
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.signing.esign_pdf import SIGNED_WITH_DSC
from app.views.pin_dialog import DANGER_STYLE, WARNING_STYLE, PinPrompter
from app.views.tasks import run_task

OK_STYLE = ("background:#e8f5e9; color:#1b5e20; border:1px solid #a5d6a7; border-radius:3px; "
            "padding:6px;")


class _Relay(QObject):
    progress = Signal(object)


class IssueProgressDialog(QDialog):
    finished_batch = Signal(object)  # the BatchOutcome, or the exception that stopped it

    def __init__(self, numbers: dict[int, str], parent: QWidget | None = None, *,
                 timestamp_url: str = "") -> None:
        """``timestamp_url``: the configured timestamp server ("" none: PAdES B-B, said
        in a warning before the PIN is asked)."""
        from app.signing.validation import planned_level

        super().__init__(parent)
        self.numbers = numbers
        self.total = len(numbers)
        self.cancel_event = threading.Event()
        self.outcome: Any = None
        self.setWindowTitle("Issuing certificates")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        self.heading = QLabel(f"<b>Issuing {self.total} certificate"
                              f"{'s' if self.total != 1 else ''}</b>")
        layout.addWidget(self.heading)
        text, long_term = planned_level(timestamp_url)
        self.level = QLabel(("" if long_term else "⚠ ") + text)
        self.level.setWordWrap(True)
        self.level.setStyleSheet("" if long_term else WARNING_STYLE)
        layout.addWidget(self.level)
        self.status = QLabel("Waiting for the token PIN…")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.bar = QProgressBar()
        self.bar.setRange(0, max(self.total, 1))
        self.bar.setValue(0)
        self.bar.setFormat("%v of %m")
        layout.addWidget(self.bar)
        self.results = QListWidget()
        self.results.setMinimumHeight(140)
        layout.addWidget(self.results)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        self.stop_button = QPushButton("Stop after this certificate")
        self.stop_button.clicked.connect(self.request_stop)
        self.close_button = QPushButton("Close")
        self.close_button.setEnabled(False)
        self.close_button.clicked.connect(self.accept)
        row.addWidget(self.stop_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)

    def request_stop(self) -> None:
        self.cancel_event.set()
        self.stop_button.setEnabled(False)
        self.status.setText("Stopping after the certificate being signed…")

    def reject(self) -> None:  # Escape / window close: stop, but keep the dialog until done
        if self.outcome is None:
            self.request_stop()
            return
        super().reject()

    def show_progress(self, progress: Any) -> None:
        self.bar.setValue(progress.finished)
        if progress.current is not None:
            number = self.numbers.get(progress.current, str(progress.current))
            self.results.addItem(f"{number}: done")
        if not self.cancel_event.is_set():
            left = progress.total - progress.finished
            self.status.setText(f"{progress.done} issued, {progress.failed} not issued, "
                                f"{left} to go. Keep the token plugged in.")

    def show_outcome(self, outcome: Any) -> None:
        from app.signing.batch import BatchStatus

        self.outcome = outcome
        self.results.clear()
        for app_id, issued in outcome.done:
            self.results.addItem(f"✔ {self.numbers.get(app_id, app_id)} → "
                                 f"{issued.certificate_number}")
        for app_id, reason in outcome.failed:
            self.results.addItem(f"✖ {self.numbers.get(app_id, app_id)}: {reason}")
        for app_id in outcome.left:
            self.results.addItem(f"• {self.numbers.get(app_id, app_id)}: left approved")
        self.bar.setValue(len(outcome.done) + len(outcome.failed))
        good = outcome.status is BatchStatus.COMPLETED and not outcome.failed
        self.status.setText(outcome.summary().capitalize() + ".")
        if outcome.message and outcome.status is not BatchStatus.COMPLETED:
            self._message(outcome.message, ok=False)
        elif good:
            self._message(f"All {len(outcome.done)} certificates issued and signed. "
                          f"{SIGNED_WITH_DSC}.", ok=True)
        self._done()
        self.finished_batch.emit(outcome)

    def show_failure(self, exc: BaseException) -> None:
        self.outcome = exc
        text = str(exc) if isinstance(exc, UserFacingError) else (
            f"Something went wrong: {exc}. Nothing was issued; the details are in the log.")
        self.status.setText("Nothing was issued.")
        self._message(text, ok=False)
        self._done()
        self.finished_batch.emit(exc)

    def _message(self, text: str, *, ok: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(OK_STYLE if ok else DANGER_STYLE)
        self.message.setVisible(True)

    def _done(self) -> None:
        self.stop_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self.close_button.setDefault(True)


def start_issue_batch(parent: QWidget, issuer: Any, application_ids: list[int],
                      numbers: dict[int, str]) -> IssueProgressDialog:
    """Open the progress dialog and issue ``application_ids`` on a worker."""
    config = getattr(issuer, "config", None)
    dialog = IssueProgressDialog({i: numbers.get(i, str(i)) for i in application_ids}, parent,
                                 timestamp_url=getattr(config, "timestamp_url", "") or "")
    prompter = PinPrompter(dialog, purpose=f"Sign {len(application_ids)} certificate(s).")
    dialog.prompter = prompter  # type: ignore[attr-defined]
    relay = _Relay(dialog)
    relay.progress.connect(dialog.show_progress)
    cancel = dialog.cancel_event
    run_task(
        lambda: issuer.run_batch(application_ids, prompter.ask, cancel=cancel,
                                 on_progress=relay.progress.emit),
        dialog.show_outcome, dialog.show_failure, owner=dialog,
    )
    dialog.show()
    return dialog
