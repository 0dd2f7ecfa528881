"""A question a worker asks the officer on the GUI thread, with a time limit.

Electrum's hardware-wallet pattern: the worker calls :meth:`GuiPrompt.ask`, which emits a
signal and waits on a ``threading.Event``; the dialog opens on the GUI thread and its
answer sets the event. When nobody answers within ``timeout`` seconds the question counts
as cancelled: the worker gets None and the dialog closes. The token's PIN
(:class:`~app.views.pin_dialog.PinPrompter`) and the central store's password
(:class:`~app.views.password_prompt.PasswordPrompter`) are the two questions asked so.

A subclass says which dialog to show (:meth:`make_dialog`) and what its answer is
(:meth:`read_answer`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QDialog

log = logging.getLogger(__name__)
ASK_TIMEOUT_SECONDS = 180.0  # long enough to find the token or the password; not forever


class _Question:
    """One ask: its arguments, and the answer once the dialog gave one (or gave up)."""

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.args = args
        self.lock = threading.Lock()
        self.settled = threading.Event()
        self.answer: Any = None
        self.expired = False  # timed out or the prompter went away: the answer is None
        self.dialog: QDialog | None = None


class GuiPrompt(QObject):
    """``ask(*args)`` from any thread; the answer, or None when cancelled or timed out."""

    _asked = Signal(object)
    _expired = Signal(object)
    dialog_shown = Signal(object)  # the dialog, once open (tests and screenshots answer it)

    def __init__(self, parent: QObject | None = None, *,
                 timeout: float = ASK_TIMEOUT_SECONDS) -> None:
        super().__init__(parent)
        self.timeout = timeout
        self._open: set[_Question] = set()
        self._asked.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._expired.connect(self._close, Qt.ConnectionType.QueuedConnection)
        questions = self._open
        self.destroyed.connect(lambda *_: _give_up(questions))  # a worker never waits on a ghost

    # --- for subclasses ----------------------------------------------------------------------

    def make_dialog(self, *args: Any) -> QDialog:
        raise NotImplementedError

    def read_answer(self, dialog: QDialog) -> Any:
        raise NotImplementedError

    # --- the worker's side -------------------------------------------------------------------

    def ask(self, *args: Any) -> Any:
        if QThread.currentThread() is self.thread():
            return self._ask_here(args)
        question = _Question(args)
        self._open.add(question)
        self._asked.emit(question)
        question.settled.wait(self.timeout)
        with question.lock:
            timed_out = not question.settled.is_set()
            if timed_out:
                question.expired = True
            answer, question.answer = (None if question.expired else question.answer), None
        self._open.discard(question)
        if timed_out:
            log.info("no answer within %.0f s: the question is cancelled", self.timeout)
            if shiboken6.isValid(self):
                self._expired.emit(question)
        return answer

    # --- the GUI thread's side ---------------------------------------------------------------

    def _show(self, question: _Question) -> None:
        with question.lock:
            if question.expired:
                return
        dialog = self.make_dialog(*question.args)
        question.dialog = dialog
        dialog.finished.connect(lambda _code: self._answered(question, dialog))
        dialog.open()
        self.dialog_shown.emit(dialog)

    def _answered(self, question: _Question, dialog: QDialog) -> None:
        answer = self.read_answer(dialog)
        with question.lock:
            if not question.expired:
                question.answer = answer
            question.settled.set()
        question.dialog = None
        dialog.deleteLater()

    def _close(self, question: _Question) -> None:
        dialog = question.dialog
        if dialog is not None and shiboken6.isValid(dialog):
            dialog.reject()

    def _ask_here(self, args: tuple[Any, ...]) -> Any:
        """Asked on the GUI thread itself: a modal dialog, closed at the same time limit."""
        dialog = self.make_dialog(*args)
        QTimer.singleShot(round(self.timeout * 1000), dialog, dialog.reject)
        self.dialog_shown.emit(dialog)
        dialog.exec()
        answer = self.read_answer(dialog)
        dialog.deleteLater()
        return answer


def _give_up(questions: set[_Question]) -> None:
    for question in list(questions):
        with question.lock:
            question.expired = True
            question.settled.set()
