"""What a start of Origin Desk asks of the desk window: come forward, or verify a received
certificate PDF (``origin-desk --open FILE.pdf``: the desktop entry's and the Windows
installer's "Open with", or a second start handed over by ``single_instance``).

A PDF opens in the verify view straight away: the signed-in officer's verifier, or before
anyone signs in the verifier customs use without a sign-in
(``verification.verifier_without_sign_in``). A request that arrives while the store is
still opening waits for it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMainWindow, QWidget

log = logging.getLogger(__name__)


class OpenRequests(QObject):
    """Routes ``["raise"]`` and ``["open", path]`` requests to the desk window."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.desk: Any = None  # the opened desk (signed in or not); None while opening
        self.pending: list[Path] = []
        self.views: list[QWidget] = []

    def desk_opened(self, desk: Any) -> None:
        self.desk = desk
        pending, self.pending = self.pending, []
        for path in pending:
            self._verify(path)

    def handle(self, request: list[str]) -> None:
        self._bring_forward()
        if request[0] == "open":
            self._verify(Path(request[1]))

    def open_file(self, path: str | None) -> None:
        """The PDF this start was given (``--open``), if any."""
        if path:
            self._verify(Path(path))

    def _bring_forward(self) -> None:
        window = self.window
        if window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()
        for widget in window.findChildren(QWidget):
            if widget.isWindow() and widget.isVisible() and widget.isModal():
                widget.raise_()  # the sign-in dialog, when it is up
                widget.activateWindow()

    def _verify(self, path: Path) -> None:
        if self.desk is None:
            self.pending.append(path)
            return
        from app.errors import UserFacingError
        from app.views.verify_view import VerifyView

        desk = self.desk
        try:
            if getattr(desk, "user", None) is not None:
                verifier = desk.verifier()
            else:
                from app.services.verification import verifier_without_sign_in

                verifier = verifier_without_sign_in(desk)
        except UserFacingError as exc:
            show_error = getattr(self.window, "show_error", None)
            if show_error is not None:
                show_error(exc)
            return
        view = VerifyView(verifier, self.window)
        view.setWindowFlags(Qt.WindowType.Window)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.views = [v for v in self.views if v.isVisible()] + [view]
        view.show()
        view.raise_()
        view.activateWindow()
        log.info("verifying a PDF opened with the desk")
        view.verify_file(path)
