"""The central store's password is asked on the GUI thread for a connecting worker."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QWidget

from app.views.password_prompt import PasswordPrompter


def _answer_dialog_with(text: str | None, seen: dict[str, object]) -> QTimer:
    """A timer that answers the password dialog from inside its own event loop."""

    def answer() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QInputDialog) and widget.isVisible():
                seen["masked"] = widget.textEchoMode() == QLineEdit.EchoMode.Password
                seen["label"] = widget.labelText()
                if text is None:
                    widget.reject()
                else:
                    widget.setTextValue(text)
                    widget.accept()
                timer.stop()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(answer)
    timer.start()
    return timer


def _ask(qtbot, answer: str | None) -> tuple[object, dict[str, object]]:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    prompter = PasswordPrompter(parent)
    seen: dict[str, object] = {}
    timer = _answer_dialog_with(answer, seen)
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "password", prompter.ask("Password for anita on db.igcc.example/central")))
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=10_000)
    timer.stop()
    return result.get("password"), seen


def test_worker_gets_the_password_typed_in_the_masked_dialog(qtbot) -> None:  # type: ignore[no-untyped-def]
    password, seen = _ask(qtbot, "s3cret-pass")
    assert password == "s3cret-pass"
    assert seen["masked"] is True and "anita on db.igcc.example" in str(seen["label"])


def test_cancel_gives_no_password(qtbot) -> None:  # type: ignore[no-untyped-def]
    password, _seen = _ask(qtbot, None)
    assert password is None
