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
    from app.services.desk import Desk, OfficerInfo

log = logging.getLogger(__name__)
# called with the desk window just before it is first shown (the start-up benchmark listens)
WINDOW_SHOWN_HOOKS: list[Callable[[DeskWindow], None]] = []


def _open_desk(
    config: Config, officer: str | None, progress: Callable[[str], None],
    ask_password: Callable[[str], str | None] | None = None,
    ask_pin: Callable[..., str | None] | None = None,
) -> Desk:
    from app.logs import setup_logging  # on the worker: not needed to show a window
    from app.services.opening import open_desk

    setup_logging(config)
    progress("Opening the store…")
    prove_dsc = None
    if ask_pin is not None and config.uses_central_service:
        from app.services.dsc_proof import token_prover

        prove_dsc = token_prover(config, ask_pin)  # asked only where the agency wants it
    # the demo's signing token is prepared in the background behind the sign-in (DeskSession)
    return open_desk(config, progress, ask_password, officer=officer, demo_signing=True,
                     prove_dsc=prove_dsc, defer_demo_token=True)


def run_gui(officer: str | None = None, screenshot: str | None = None,
            open_file: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Origin Desk")
    app.setOrganizationName("Origin Desk")
    try:
        config = load_config()
    except ConfigError as exc:
        QMessageBox.critical(None, "Origin Desk — settings", str(exc))
        return 2

    instance = None
    if not screenshot:  # one desk per user: a second start hands its request over
        from app.views.single_instance import SingleInstance, request_for

        instance = SingleInstance(config.data_dir)
        if not instance.acquire():
            if SingleInstance.forward(instance.name, request_for(open_file)):
                log.info("a desk already runs for this user: it was handed the request")
                print("Origin Desk is already running: its window was brought forward"
                      + (" with the PDF." if open_file else "."))
                return 0
            QMessageBox.warning(None, "Origin Desk", (
                "Origin Desk is already running for this user but does not answer. Close "
                "it (or end its process), then start Origin Desk again."))
            return 2

    window = DeskWindow()
    from app.views.open_requests import OpenRequests

    requests = OpenRequests(window)
    if instance is not None:
        instance.requested.connect(requests.handle)
    for hook in WINDOW_SHOWN_HOOKS:  # before show(), so that a hook sees the first paint
        hook(window)
    window.show()
    requests.open_file(open_file)  # verified as soon as the store is open

    state: dict[str, object] = {}

    def fail(title: str, exc: BaseException) -> None:
        if not isinstance(exc, UserFacingError):
            log.error("%s failed", title, exc_info=exc)
        QMessageBox.critical(window, f"Origin Desk — {title}", str(exc))
        app.exit(2)

    def opened(desk: Desk) -> None:
        from app.views.session import DeskSession

        requests.desk_opened(desk)

        session = DeskSession(window, desk, prepare_token=config.is_embedded,
                              choose=_screenshot_officer if screenshot else None)
        session.failed.connect(fail)
        session.finished.connect(app.exit)
        if not screenshot:  # the dashboard is the first page after sign-in
            from app.views.dashboard import show_dashboard_page

            session.signed_in.connect(lambda _user: show_dashboard_page(window))
        if screenshot:
            session.signed_in.connect(lambda _user: window.queue_loaded.connect(
                lambda: _select_first_and_shoot(window, screenshot)))
        state["session"] = session
        session.begin()

    prompter = pin_prompter = None
    if not config.is_embedded:
        from app.views.password_prompt import PasswordPrompter
        from app.views.pin_dialog import PinPrompter

        prompter = PasswordPrompter(window)
        pin_prompter = PinPrompter(window, purpose="prove your DSC to the central service")
    run_task(
        lambda progress: _open_desk(config, officer, progress,
                                    prompter.ask if prompter else None,
                                    pin_prompter.ask if pin_prompter else None),
        opened,
        lambda exc: fail("store", exc),
        on_progress=window.show_progress,
        owner=window,
    )
    code = app.exec()
    wait_for_tasks()
    if instance is not None:
        instance.release()
    return code


def _screenshot_officer(users: list[OfficerInfo]) -> str:
    """The screenshot's officer: the first who serves several offices."""
    return next(u for u in users if u.role == "officer" and len(u.office_codes) > 1).email


def _select_first_and_shoot(window: DeskWindow, path: str) -> None:
    first = window.model.row_at(0)
    if first is not None:
        window.select_application(first[Col.ID])

    def shoot() -> None:
        window.grab().save(path)
        log.info("screenshot saved to %s", path)
        QApplication.quit()

    window.detail_loaded.connect(lambda: QTimer.singleShot(600, shoot))
