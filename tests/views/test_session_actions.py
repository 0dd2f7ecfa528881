"""File → Sign out, Switch user…, Quit (Ctrl+Q) and Help → About / Copy diagnostics, driven
through the windows' own menu actions, with the stores checked afterwards: on the embedded
demo, on a desk synced with the central store (its outbox), and on a desk synced through
the central service (its session given back at sign-out)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine

from app.config import load_config
from app.models.enums import Action
from app.services.central import SqlCentral
from app.services.desk import Desk
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.local import LocalStore
from app.views.main_window import DeskWindow
from app.views.session import DeskSession
from app.views.sign_in import SignInDialog
from app.views.tasks import wait_for_tasks
from tests.hub.conftest import PASSWORD, demo_hub, serve, set_password  # noqa: F401 - fixtures
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    PIN,
    ca,
    config,
    hsm,
    issuer,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)

ADMIN = "admin@igcc.org.in"


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _choose(dialog: SignInDialog, email: str) -> None:
    found = [i for i in range(dialog.combo.count()) if dialog.combo.itemData(i) == email]
    if found:
        dialog.combo.setCurrentIndex(found[0])
    else:  # a desk that has not synced yet knows nobody: the e-mail is typed
        dialog.combo.setEditText(email)
    dialog.accept()


def _start(qtbot, desk: Desk, email: str = OFFICER_EMAIL) -> tuple[DeskWindow, DeskSession]:  # type: ignore[no-untyped-def]
    window = DeskWindow()
    qtbot.addWidget(window)
    window.show()
    session = DeskSession(window, desk)
    session.sign_in_shown.connect(lambda dialog: _choose(dialog, email))
    with qtbot.waitSignal(window.queue_loaded, timeout=20_000):
        session.begin()
    return window, session


def _teardown(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    window.quit_guard = None  # the test closes the window itself
    wait_for_tasks()
    qtbot.wait(10)


def test_sign_out_returns_to_the_sign_in_and_closes_the_token_session(
    qtbot, demo_engine: Engine, issuer, rsa_token  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    assert window.session_menu.sign_out_action.isEnabled()
    assert window.model.rowCount() > 0 and "Anita" in window.user_label.text()
    token_session = issuer.open_token_session(lambda info, warnings: PIN)  # a batch's session
    assert not token_session.closed
    shown: list[SignInDialog] = []
    session.sign_in_shown.disconnect()
    session.sign_in_shown.connect(shown.append)
    with qtbot.waitSignal(session.sign_in_shown, timeout=10_000):
        window.session_menu.sign_out_action.trigger()
    assert desk.user is None and token_session.closed
    assert window.desk is None and window.model.rowCount() == 0
    assert "not signed in" in window.user_label.text()
    assert not window.session_menu.sign_out_action.isEnabled()
    # someone else signs in at the same desk, without a restart
    with qtbot.waitSignal(window.queue_loaded, timeout=20_000):
        _choose(shown[0], "rahul.menon@igcc.org.in")
    assert desk.user is not None and desk.user.email == "rahul.menon@igcc.org.in"
    assert "Rahul Menon" in window.windowTitle()
    _teardown(qtbot, window)


def test_cancelling_the_sign_in_after_a_sign_out_quits(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    session.sign_in_shown.disconnect()
    session.sign_in_shown.connect(lambda dialog: dialog.reject())
    with qtbot.waitSignal(session.finished, timeout=10_000) as finished:
        window.session_menu.sign_out_action.trigger()
    assert finished.args == [0]
    _teardown(qtbot, window)


def test_switch_user_from_an_officer_to_the_administrator_and_back(
    qtbot, demo_engine: Engine  # type: ignore[no-untyped-def]
) -> None:
    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    session.sign_in_shown.disconnect()
    session.sign_in_shown.connect(lambda dialog: _choose(dialog, ADMIN))
    with qtbot.waitSignal(session.admin_opened, timeout=20_000) as opened:
        window.session_menu.switch_user_action.trigger()
    admin_window = opened.args[0]
    assert desk.user is not None and desk.user.role == "administrator"
    assert admin_window.isVisible() and not window.isVisible()
    assert admin_window.session_menu.switch_user_action.isEnabled()
    # from the administrator's own File menu, back to an officer: the desk window returns
    session.sign_in_shown.disconnect()
    session.sign_in_shown.connect(lambda dialog: _choose(dialog, OFFICER_EMAIL))
    with qtbot.waitSignal(window.queue_loaded, timeout=20_000):
        admin_window.session_menu.switch_user_action.trigger()
    assert desk.user.email == OFFICER_EMAIL and window.isVisible()
    assert session.admin_window is None
    qtbot.waitUntil(lambda: not admin_window.isVisible() if _alive(admin_window) else True)
    _teardown(qtbot, window)


def _alive(widget: Any) -> bool:
    import shiboken6

    return shiboken6.isValid(widget)


def test_switch_user_cancelled_changes_nothing(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    session.sign_in_shown.disconnect()
    session.sign_in_shown.connect(lambda dialog: dialog.reject())
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.session_menu.switch_user_action.trigger()
    assert desk.user is not None and desk.user.email == OFFICER_EMAIL
    assert window.model.rowCount() > 0
    _teardown(qtbot, window)


def _synced_offline(demo_engine: Engine, tmp_path: Path) -> LocalDesk:
    """A synced desk's copy filled while online, then without a link (offline): what the
    officer does waits in the outbox."""
    settings = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    LocalDesk(local, settings, SyncService(local, SqlCentral(demo_engine, settings))).sign_in(
        OFFICER_EMAIL)
    return LocalDesk(local, settings, SyncService(local, None))


def _answer_box(qtbot, session: DeskSession, button: str, seen: list[str]) -> None:  # type: ignore[no-untyped-def]
    def look() -> None:
        box = getattr(session, "quit_box", None)
        if box is None:
            QTimer.singleShot(20, look)
            return
        seen.append(box.text())
        chosen = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        chosen.click()

    QTimer.singleShot(0, look)


def test_quit_asks_nothing_when_nothing_is_pending(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    assert window.session_menu.quit_action.shortcut().toString() == "Ctrl+Q"
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    with qtbot.waitSignal(session.finished, timeout=10_000) as finished:
        qtbot.keyClick(window.table, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert finished.args == [0] and getattr(session, "quit_box", None) is None
    _teardown(qtbot, window)


def test_quit_warns_about_decisions_waiting_in_the_outbox_and_sign_out_keeps_them(
    qtbot, demo_engine: Engine, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    desk = _synced_offline(demo_engine, tmp_path)
    window, session = _start(qtbot, desk)
    window.status_tabs.setCurrentIndex(1)
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        window.table.selectRow(0)
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        window.take_action(Action.CLAIM)
    assert len(desk.local.pending()) == 1
    finished: list[int] = []
    session.finished.connect(finished.append)
    seen: list[str] = []
    _answer_box(qtbot, session, "Cancel", seen)
    window.close()  # closing the window is Quit too
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    qtbot.wait(50)
    assert "1 application has decisions not yet sent" in seen[0] and finished == []
    assert window.isVisible()
    # sign out: the outbox stays as it was
    session.sign_in_shown.disconnect()
    session.sign_in_shown.connect(lambda dialog: _choose(dialog, OFFICER_EMAIL))
    with qtbot.waitSignal(window.queue_loaded, timeout=20_000):
        window.session_menu.sign_out_action.trigger()
    assert len(desk.local.pending()) == 1
    _answer_box(qtbot, session, "Quit anyway", seen)
    with qtbot.waitSignal(session.finished, timeout=10_000):
        window.session_menu.quit_action.trigger()
    assert len(seen) == 2 and len(desk.local.pending()) == 1
    _teardown(qtbot, window)


def test_sign_out_gives_the_central_services_session_back(
    qtbot, tmp_path: Path, demo_hub, serve, demo_engine: Engine  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    from app.services.central_http import HttpCentral

    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)
    desk = LocalDesk(local, load_config(), SyncService(local, link))
    window, session = _start(qtbot, desk)
    token = link._token
    assert token
    trust = ssl.create_default_context(cafile=str(server.ca))
    hello = httpx.get(f"{server.url}/desk/v1/hello", verify=trust,
                      headers={"Authorization": f"Bearer {token}"})
    assert hello.status_code == 200
    session.sign_in_shown.disconnect()
    with qtbot.waitSignal(session.sign_in_shown, timeout=10_000) as shown:
        window.session_menu.sign_out_action.trigger()
    assert link._token is None and desk.user is None
    refused = httpx.get(f"{server.url}/desk/v1/hello", verify=trust,
                        headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert window.sync_controls.timer.isActive() is False  # no background sync signed out
    assert not window.sync_controls.sync_action.isEnabled()  # nor F9
    with qtbot.waitSignal(window.queue_loaded, timeout=20_000):  # signed in again
        _choose(shown.args[0], OFFICER_EMAIL)
    assert link._token and link._token != token
    assert window.sync_controls.timer.isActive() and window.sync_controls.sync_action.isEnabled()
    link.close()
    _teardown(qtbot, window)


def test_about_names_the_versions_and_the_pkcs11_module_in_use(
    qtbot, demo_engine: Engine  # type: ignore[no-untyped-def]
) -> None:
    from importlib.metadata import version

    import PySide6

    from app.signing.demo_token import softhsm_module

    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    dialog = window.session_menu.about()
    qtbot.waitUntil(lambda: dialog.module is not None, timeout=10_000)
    text = dialog.findChildren(type(dialog.module_label))[0].text()
    import platform

    from PySide6 import QtCore

    for name, expected in (("Python", platform.python_version()), ("Qt", QtCore.qVersion()),
                           ("PySide6", PySide6.__version__),
                           ("pyHanko", version("pyhanko")),
                           ("python-pkcs11", version("python-pkcs11")),
                           ("SQLAlchemy", version("SQLAlchemy")),
                           ("Origin Desk", version("origin-desk"))):
        assert f"<td>{name}</td><td><b>{expected}" in text, name
    assert "not installed" not in text
    assert dialog.module.path == softhsm_module()
    assert "SoftHSM" in dialog.module_label.text() and softhsm_module() in \
        dialog.module_label.text()
    assert window.session_menu.about_action.shortcut().toString() == "F1"
    dialog.close()
    _teardown(qtbot, window)


SECRETS = ("S3cret-Passw0rd", "KeyPass-99", "582947", "pg-env-secret", "seal-pin-4711")


def test_copy_diagnostics_holds_no_secret(
    qtbot, demo_engine: Engine, tmp_path: Path, data_home: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    # a desk whose settings and environment are full of secrets
    (data_home / "config.toml").write_text(
        'central_url = "postgresql+psycopg://anita:S3cret-Passw0rd@db.igcc.example:5433/central'
        '?sslpassword=KeyPass-99&sslmode=require"\n')
    monkeypatch.setenv("PGPASSWORD", "pg-env-secret")
    monkeypatch.setenv("OD_SEAL_PIN", "seal-pin-4711")
    monkeypatch.setenv("OD_TOKEN_PIN", "582947")
    monkeypatch.setenv("ORIGIN_DESK_TOKEN_LABEL", "DSC-ANITA")
    settings = load_config()
    assert "S3cret-Passw0rd" in settings.central_url
    local = LocalStore(settings.local_store_path)
    LocalDesk(local, settings, SyncService(local, SqlCentral(demo_engine, settings))).sign_in(
        OFFICER_EMAIL)  # filled once (the store itself is the demo's)
    desk = LocalDesk(local, settings, SyncService(local, None))
    window, session = _start(qtbot, desk)
    QGuiApplication.clipboard().clear()
    copied: list[str] = []
    task_done = qtbot.waitSignal(window.statusBar().messageChanged, timeout=10_000)
    with task_done:
        window.session_menu.diagnostics_action.trigger()
    copied.append(QGuiApplication.clipboard().text())
    text = copied[0]
    for secret in SECRETS:
        assert secret not in text, secret
    assert "anita:" not in text and "anita@db" not in text  # nor the store login's name
    for expected in ("Origin Desk", "Qt", "pyHanko", "python-pkcs11", "SQLAlchemy",
                     "Platform:", "postgresql+psycopg://db.igcc.example:5433/central?sslmode=require",
                     "central PostgreSQL store", str(settings.local_store_path), "format",
                     "Outbox: 0 pending", "Log file:", "Last sync:",
                     "ORIGIN_DESK_TOKEN_LABEL", "PKCS#11 module:"):
        assert expected in text, expected
    assert "Diagnostics copied" in window.statusBar().currentMessage()
    _teardown(qtbot, window)


def test_a_window_without_a_session_quits_by_closing(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = DeskWindow()
    qtbot.addWidget(window)
    window.show()
    assert not window.session_menu.sign_out_action.isEnabled()
    window.session_menu.quit_action.trigger()
    assert not window.isVisible()


def test_quit_warns_while_an_issue_is_running(
    qtbot, demo_engine: Engine, rsa_token  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.models import Application, Certificate
    from app.views.issue_actions import issue_selected

    desk = Desk(demo_engine, load_config())
    window, session = _start(qtbot, desk)
    window.status_tabs.setCurrentIndex(4)  # Approved
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        window.table.selectRow(0)
    from app.services.queue_rows import Col

    app_id = window.selected_row()[Col.ID]
    prompts: list[Any] = []
    issue = issue_selected(window)  # waits for the confirmation or the PIN: running
    issue.confirm.dialog_shown.connect(prompts.append)
    issue.prompter.dialog_shown.connect(prompts.append)
    qtbot.waitUntil(lambda: bool(prompts), timeout=20_000)
    assert issue.outcome is None
    seen: list[str] = []
    _answer_box(qtbot, session, "Cancel", seen)
    finished: list[int] = []
    session.finished.connect(finished.append)
    session.quit()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    qtbot.wait(50)
    assert "Certificates are being issued" in seen[0] and finished == []
    with qtbot.waitSignal(issue.finished_batch, timeout=20_000):
        prompts[0].reject()  # the officer cancels the question: nothing is issued
    with Session(demo_engine) as store:
        assert store.get(Application, app_id).status == "approved"
        assert store.scalar(select(Certificate.id).where(
            Certificate.application_id == app_id)) is None
    with qtbot.waitSignal(session.finished, timeout=10_000):  # nothing runs now: no question
        session.quit()
    assert len(seen) == 1
    _teardown(qtbot, window)
