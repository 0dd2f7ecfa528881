"""The one "ask on the GUI thread" bridge: the token's PIN and the central store's password
are asked of the officer for a worker that waits, at most for the time limit."""

from __future__ import annotations

import threading
from typing import Any

import shiboken6
from PySide6.QtWidgets import QDialog, QInputDialog, QWidget

from app.signing.discovery import PinState, TokenInfo
from app.views.password_prompt import PasswordPrompter
from app.views.pin_dialog import PinDialog, PinPrompter

TOKEN = TokenInfo(module_path="/x.so", slot_id=0, label="DSC-OFFICER", serial="A1B2C3D4",
                  manufacturer="Watchdata", model="ProxKey", pin=PinState())


def _gone(dialog: QDialog) -> bool:
    """Closed (and, once the event loop got to it, deleted)."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def _ask_on_worker(qtbot, ask) -> tuple[threading.Thread, dict[str, Any]]:  # type: ignore[no-untyped-def]
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.setdefault("answer", ask()))
    worker.start()
    return worker, result


def _prompter(qtbot, cls, **kwargs):  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    prompter = cls(parent, **kwargs)
    shown: list[QDialog] = []
    prompter.dialog_shown.connect(shown.append)
    return prompter, shown


def test_pin_typed_in_the_dialog_reaches_the_worker(qtbot) -> None:  # type: ignore[no-untyped-def]
    prompter, shown = _prompter(qtbot, PinPrompter, purpose="Sign 2 certificate(s).")
    worker, result = _ask_on_worker(qtbot, lambda: prompter.ask(TOKEN, ["Few tries left."]))
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    dialog = shown[0]
    assert isinstance(dialog, PinDialog) and dialog.isVisible()
    assert "DSC-OFFICER" in dialog.token_label.text()
    qtbot.keyClicks(dialog.field, "582947")
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5000)
    assert result["answer"] == "582947"


def test_unanswered_pin_times_out_as_cancelled_and_the_dialog_goes(qtbot) -> None:  # type: ignore[no-untyped-def]
    prompter, shown = _prompter(qtbot, PinPrompter, timeout=0.5)
    worker, result = _ask_on_worker(qtbot, lambda: prompter.ask(TOKEN, []))
    qtbot.waitUntil(lambda: bool(shown) and shown[0].isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5000)
    assert result == {"answer": None}
    qtbot.waitUntil(lambda: _gone(shown[0]), timeout=5000)


def test_unanswered_password_times_out_as_cancelled_and_the_dialog_goes(qtbot) -> None:  # type: ignore[no-untyped-def]
    prompter, shown = _prompter(qtbot, PasswordPrompter, timeout=0.5)
    worker, result = _ask_on_worker(qtbot, lambda: prompter.ask("Password for anita"))
    qtbot.waitUntil(lambda: bool(shown) and shown[0].isVisible(), timeout=5000)
    assert isinstance(shown[0], QInputDialog)
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5000)
    assert result == {"answer": None}
    qtbot.waitUntil(lambda: _gone(shown[0]), timeout=5000)


def test_a_closed_window_does_not_leave_the_worker_waiting(qtbot) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    prompter = PasswordPrompter(parent, timeout=60)
    shown: list[QDialog] = []
    prompter.dialog_shown.connect(shown.append)
    worker, result = _ask_on_worker(qtbot, lambda: prompter.ask("Password for anita"))
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    parent.deleteLater()  # the window closes while the worker waits
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5000)
    assert result == {"answer": None}
