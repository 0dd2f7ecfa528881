"""An officer's day from the sign-in to an issued certificate with the keyboard alone, on
the embedded demo's first start with its real SoftHSM2 demo token (prepared in the
background behind the sign-in): no mouse event may reach the application."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import load_config
from app.models import Application, Certificate, User
from app.models.enums import ApplicationStatus
from app.services.opening import open_desk
from app.views.issue_dialog import IssueProgressDialog
from app.views.main_window import DeskWindow
from app.views.pin_dialog import PinDialog
from app.views.session import PREPARING_TOKEN, DeskSession
from app.views.sign_in import SignInDialog
from app.views.tasks import wait_for_tasks

MOUSE_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                QEvent.Type.NonClientAreaMouseButtonPress,
                QEvent.Type.NonClientAreaMouseButtonRelease,
                QEvent.Type.NonClientAreaMouseButtonDblClick, QEvent.Type.ContextMenu}


class MouseGuard(QObject):
    """Counts every mouse event that reaches any object of the application."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in MOUSE_EVENTS:
            self.seen.append(f"{event.type().name} on {type(watched).__name__}")
        return False


def _focus() -> QWidget:
    widget = QApplication.focusWidget() or QApplication.activeWindow()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def _key(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed on the keyboard: it goes to the widget that has the focus."""
    QTest.keyClick(_focus(), key, modifier)


def _back_to(qtbot, window: QWidget) -> None:  # type: ignore[no-untyped-def]
    """The window the keyboard returns to when a dialog closes (a window manager does
    this; the offscreen platform has none)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def _type(text: str) -> None:
    QTest.keyClicks(_focus(), text)


def test_the_officer_signs_in_and_issues_with_the_keyboard_alone(
    qtbot, data_home: Path  # type: ignore[no-untyped-def]
) -> None:
    guard = MouseGuard()
    QApplication.instance().installEventFilter(guard)
    try:
        _flow(qtbot, data_home)
    finally:
        QApplication.instance().removeEventFilter(guard)
    assert guard.seen == [], guard.seen[:10]


def _flow(qtbot, data_home: Path) -> None:  # type: ignore[no-untyped-def]
    from app.signing.demo_token import DEMO_PIN, demo_token_preparing

    config = load_config()
    assert not config.demo_store_path.exists()  # the first start: no store, no token yet
    desk = open_desk(config, demo_signing=True, defer_demo_token=True)
    assert not (data_home / "demo-token" / "demo.json").exists()
    with Session(desk.engine) as session:  # the officer's approved application to issue
        anita = session.scalars(select(User).where(
            User.email == "anita.deshpande@igcc.org.in")).one()
        target = session.scalars(select(Application).where(
            Application.status == "approved", Application.kind == "non_preferential",
            Application.office_id.in_([o.id for o in anita.offices]))
            .order_by(Application.id)).first()
        assert target is not None
        number, app_id = target.number, target.id

    window = DeskWindow()
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    session = DeskSession(window, desk, prepare_token=True)
    notes: list[str] = []
    session.sign_in_shown.connect(lambda dialog: notes.append(dialog.token_note.text()))
    with qtbot.waitSignal(session.sign_in_shown, timeout=20_000) as shown:
        session.begin()
    dialog: SignInDialog = shown.args[0]
    # the sign-in is there at once; the token is still being prepared behind it
    assert notes == [PREPARING_TOKEN] and demo_token_preparing()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=5000)

    # --- sign in: type the officer's name in the list, Enter
    dialog.combo.setFocus()
    qtbot.waitUntil(dialog.combo.hasFocus, timeout=3000)
    _type("Anita")
    assert dialog.combo.currentData() == "anita.deshpande@igcc.org.in"
    with qtbot.waitSignal(window.queue_loaded, timeout=30_000):
        _key(Qt.Key.Key_Return)
    _back_to(qtbot, window)
    if hasattr(window, "pages"):  # the dashboard comes first: Ctrl+2 is the queue
        _key(Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(window.table.isVisible, timeout=3000)

    # --- the Approved tab (Alt+5), search the application (Ctrl+F), the first row (Ctrl+N)
    _key(Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)
    assert window.status_tabs.tabText(window.status_tabs.currentIndex()).startswith("Approved")
    _key(Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    _type(number)
    _key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        _key(Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.detail.detail is not None and window.detail.detail.number == number

    # --- Ctrl+I: the confirmation (another officer approved it) with Alt+I, then the PIN
    pins: list[PinDialog] = []
    _key(Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    issue = next(d for d in window.findChildren(IssueProgressDialog) if d.outcome is None)
    issue.prompter.dialog_shown.connect(pins.append)
    asked_confirmation: list[object] = []
    issue.confirm.dialog_shown.connect(asked_confirmation.append)

    def confirmation_or_pin() -> bool:
        return bool(asked_confirmation or pins)

    qtbot.waitUntil(confirmation_or_pin, timeout=30_000)  # after the token is ready
    if asked_confirmation:
        box = asked_confirmation[0]
        qtbot.waitUntil(lambda: QApplication.activeWindow() is box, timeout=5000)
        _key(Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda: bool(pins), timeout=30_000)
    assert not demo_token_preparing()  # the PIN is asked once the token is ready
    pin_dialog = pins[0]
    qtbot.waitUntil(pin_dialog.field.hasFocus, timeout=5000)
    _type(DEMO_PIN)
    with qtbot.waitSignal(issue.finished_batch, timeout=60_000) as finished:
        _key(Qt.Key.Key_Return)
    outcome = finished.args[0]
    assert not isinstance(outcome, BaseException), outcome
    assert [a for a, _issued in outcome.done] == [app_id], outcome

    # --- the store holds the certificate, signed
    with Session(desk.engine) as store:
        stored = store.get(Application, app_id)
        certificate = store.scalars(select(Certificate).where(
            Certificate.application_id == app_id)).one()
        assert stored.status == ApplicationStatus.ISSUED
        assert certificate.pdf and certificate.pdf.startswith(b"%PDF")
    qtbot.waitUntil(lambda: issue.close_button.isEnabled(), timeout=5000)
    _back_to(qtbot, issue)
    issue.close_button.setFocus()
    _key(Qt.Key.Key_Return)  # Close, with the keyboard too
    qtbot.waitUntil(lambda: not issue.isVisible(), timeout=5000)
    window.quit_guard = None
    wait_for_tasks()
    qtbot.wait(10)
