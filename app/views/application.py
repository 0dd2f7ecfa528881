"""Starting the GUI: settings, logging, the store (created in a worker on first start),
sign-in, the desk window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from app.config import ConfigError, load_config
from app.errors import UserFacingError
from app.logs import setup_logging
from app.services.desk import Desk, open_central
from app.services.queue import Col
from app.views.main_window import DeskWindow
from app.views.sign_in import SignInDialog
from app.views.tasks import run_task, wait_for_tasks

log = logging.getLogger(__name__)


def run_gui(officer: str | None = None, screenshot: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Origin Desk")
    app.setOrganizationName("Origin Desk")
    try:
        config = load_config()
    except ConfigError as exc:
        QMessageBox.critical(None, "Origin Desk — settings", str(exc))
        return 2
    setup_logging(config)

    state: dict[str, object] = {}
    progress = QProgressDialog("Opening the store…", "", 0, 0)
    progress.setWindowTitle("Origin Desk")
    progress.setCancelButton(None)
    progress.setMinimumDuration(400)

    def opened(engine: object) -> None:
        progress.close()
        desk = Desk(engine, config)  # type: ignore[arg-type]
        try:
            if officer:
                desk.sign_in(officer)
            elif screenshot:
                first = next(u for u in desk.users() if u.role == "officer" and len(u.office_codes) > 1)
                desk.sign_in(first.email)
            else:
                dialog = SignInDialog(desk.users(), desk.store_label)
                if dialog.exec() != SignInDialog.DialogCode.Accepted:
                    app.quit()
                    return
                desk.sign_in(dialog.chosen_email())
        except UserFacingError as exc:
            QMessageBox.critical(None, "Origin Desk — sign in", str(exc))
            app.exit(2)
            return
        window = DeskWindow(desk)
        state["window"] = window
        window.show()
        window.reload_queue()
        if screenshot:
            window.queue_loaded.connect(lambda: _select_first_and_shoot(window, screenshot))

    def failed(exc: BaseException) -> None:
        progress.close()
        log.error("could not open the store", exc_info=exc)
        QMessageBox.critical(None, "Origin Desk", f"The store could not be opened: {exc}")
        app.exit(2)

    run_task(lambda progress: open_central(config, progress), opened, failed,
             on_progress=progress.setLabelText)
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
        QApplication.instance().quit()  # type: ignore[union-attr]

    window.detail_loaded.connect(lambda: QTimer.singleShot(600, shoot))
