"""Starting the GUI: the window first, then (in a worker) the store and the sign-in.

Only Qt and the light modules are imported before the window shows; SQLAlchemy, the models
and the store open on a worker thread, so an officer sees the desk as fast as a bare Qt
window would appear, with "Opening the store…" until the queue arrives.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.config import Config, ConfigError, load_config
from app.errors import UserFacingError
from app.services.queue_rows import Col
from app.views.main_window import DeskWindow
from app.views.tasks import run_task, wait_for_tasks

if TYPE_CHECKING:
    from app.services.desk import Desk

log = logging.getLogger(__name__)
# called with the desk window just before it is first shown (the start-up benchmark listens)
WINDOW_SHOWN_HOOKS: list[Callable[[DeskWindow], None]] = []


def _open_desk(
    config: Config, officer: str | None, progress: Callable[[str], None],
    ask_password: Callable[[str], str | None] | None = None,
) -> Desk:
    from app.logs import setup_logging  # on the worker: not needed to show a window
    from app.services.desk import Desk, open_central

    setup_logging(config)
    progress("Opening the store…")
    if not config.is_embedded:
        return _open_synced_desk(config, officer, ask_password)
    desk = Desk(open_central(config, progress), config)
    if config.is_embedded:  # a demo store made before the signing kit existed gets one now
        from app.signing.demo_token import prepare_demo_signing

        prepare_demo_signing(config, desk.engine)
    if officer:
        desk.sign_in(officer)
    return desk


def _open_synced_desk(
    config: Config, officer: str | None, ask_password: Callable[[str], str | None] | None
) -> Desk:
    """A central store is configured: work from the local store and sync with it."""
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.central import central_engine
    from app.store.link import SqlCentralLink
    from app.store.local import LocalStore

    local = LocalStore(config.local_store_path)
    # the password comes from the keyring, else from a prompt (never from a file)
    link = None if config.offline else SqlCentralLink(central_engine(config, ask_password))
    desk = LocalDesk(local, config, SyncService(local, link))
    if officer:
        desk.sign_in(officer)
    return desk


def run_gui(officer: str | None = None, screenshot: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Origin Desk")
    app.setOrganizationName("Origin Desk")
    try:
        config = load_config()
    except ConfigError as exc:
        QMessageBox.critical(None, "Origin Desk — settings", str(exc))
        return 2

    window = DeskWindow()
    for hook in WINDOW_SHOWN_HOOKS:  # before show(), so that a hook sees the first paint
        hook(window)
    window.show()

    state: dict[str, object] = {}

    def fail(title: str, exc: BaseException) -> None:
        if not isinstance(exc, UserFacingError):
            log.error("%s failed", title, exc_info=exc)
        QMessageBox.critical(window, f"Origin Desk — {title}", str(exc))
        app.exit(2)

    def opened(desk: Desk) -> None:
        if desk.user is None:
            if screenshot:
                first = next(u for u in desk.users() if u.role == "officer" and len(u.office_codes) > 1)
                email = first.email
            else:
                from app.views.sign_in import SignInDialog

                dialog = SignInDialog(desk.users(), desk.store_label, window)
                if dialog.exec() != SignInDialog.DialogCode.Accepted:
                    app.quit()
                    return
                email = dialog.chosen_email()
            try:
                desk.sign_in(email)
            except UserFacingError as exc:
                fail("sign in", exc)
                return
        if desk.user is not None and desk.user.role == "administrator":
            from app.views.admin_window import open_admin_window

            state["admin_window"] = open_admin_window(desk)  # keep a reference
            window.close()
            return
        window.attach(desk)
        if getattr(desk, "sync", None) is not None:
            from app.views.sync_ui import install_sync_ui

            install_sync_ui(window, desk)
        window.reload_queue()
        if screenshot:
            window.queue_loaded.connect(lambda: _select_first_and_shoot(window, screenshot))

    prompter = None
    if not config.is_embedded:
        from app.views.password_prompt import PasswordPrompter

        prompter = PasswordPrompter(window)
    run_task(
        lambda progress: _open_desk(config, officer, progress,
                                    prompter.ask if prompter else None),
        opened,
        lambda exc: fail("store", exc),
        on_progress=window.count_label.setText,
        owner=window,
    )
    code = app.exec()
    wait_for_tasks()
    return code


def _select_first_and_shoot(window: DeskWindow, path: str) -> None:
    first = window.model.row_at(0)
    if first is not None:
        window.select_application(first[Col.ID])

    def shoot() -> None:
        window.grab().save(path)
        log.info("screenshot saved to %s", path)
        QApplication.quit()

    window.detail_loaded.connect(lambda: QTimer.singleShot(600, shoot))
