"""Who sits at the desk, from the sign-in to Quit: the File and Help menus of the desk
and administrator windows, and :class:`DeskSession`, which runs them.

- **Sign out** ends the officer's session (the central service's session is given back,
  open token sessions closed, the background sync paused; a synced desk's outbox stays)
  and shows the sign-in again. Cancelling that sign-in quits.
- **Switch user…** shows the sign-in over the current session: choose someone else and
  the current user is signed out and the other signed in (an administrator gets the
  administrator's window, an officer the desk); cancel, and nothing changes.
- **Quit** (Ctrl+Q) quits at once when nothing is pending, and asks first when decisions
  wait in the outbox (unsent: they are sent at the next start) or an issue is running.
- **Help → About Origin Desk** (F1) and **Copy diagnostics** (``app.views.about``).

On the embedded demo's first start the signing token is prepared in the background
behind the sign-in (``prepare_token``): the sign-in dialog says so, and issuing waits
for it (the issue dialog says so too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QWidget

from app.errors import UserFacingError
from app.views.tasks import TaskProgress, run_task

if TYPE_CHECKING:
    from app.services.desk import Desk, OfficerInfo
    from app.views.main_window import DeskWindow
    from app.views.sign_in import SignInDialog, SignInFlow

log = logging.getLogger(__name__)
PREPARING_TOKEN = ("Preparing the demo signing token… You can sign in and review "
                   "meanwhile; signing waits until it is ready.")
TOKEN_READY = "The demo signing token is ready (its PIN is 123456)."
NOTE_STYLE = "background:#fff4e5; color:#5a3d00; border:1px solid #f3c98b; padding:6px;"
# the start-up benchmark's officer: picks the e-mail from the users instead of the dialog
AUTO_SIGN_IN: Callable[[list[OfficerInfo]], str] | None = None


class SessionMenu(QObject):
    """File (Sign out, Switch user…, Quit) and Help (About, Copy diagnostics) of a window.
    Without a :class:`DeskSession` (``controller``), Quit closes the window and the
    session entries stay disabled."""

    def __init__(self, window: QMainWindow, desk: Any = None) -> None:
        super().__init__(window)
        self.window = window
        self.desk = desk
        self.controller: DeskSession | None = None
        bar = window.menuBar()
        file_menu = QMenu("&File", window)
        first = bar.actions()[0] if bar.actions() else None
        if first is not None:
            bar.insertMenu(first, file_menu)
        else:
            bar.addMenu(file_menu)
        self.file_menu = file_menu
        self.sign_out_action = QAction("Sign &out", window)
        self.sign_out_action.setToolTip("End your session and show the sign-in; decisions "
                                        "not yet sent stay on this desk")
        self.sign_out_action.triggered.connect(lambda: self._session("sign_out"))
        self.switch_user_action = QAction("S&witch user…", window)
        self.switch_user_action.setToolTip("Sign in as someone else without restarting")
        self.switch_user_action.triggered.connect(lambda: self._session("switch_user"))
        self.quit_action = QAction("&Quit", window)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.triggered.connect(self.quit)
        for action in (self.sign_out_action, self.switch_user_action):
            action.setEnabled(False)
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        # Help has no Alt+letter of its own: H, E, L and P are taken in the desk window
        # (History, Exporters, In lieu of, Application); F1 opens About
        help_menu = bar.addMenu("Help")
        self.help_menu = help_menu
        self.about_action = QAction("&About Origin Desk", window)
        self.about_action.setShortcut(QKeySequence("F1"))
        self.about_action.triggered.connect(self.about)
        self.diagnostics_action = QAction("Copy &diagnostics", window)
        self.diagnostics_action.setToolTip("Put a report for a support request on the "
                                           "clipboard (versions, settings without passwords, "
                                           "stores, log file)")
        self.diagnostics_action.triggered.connect(self.copy_diagnostics)
        help_menu.addAction(self.about_action)
        help_menu.addAction(self.diagnostics_action)
        self.about_dialog: Any = None

    def _desk(self) -> Any:
        return self.desk if self.desk is not None else getattr(self.window, "desk", None)

    def keep_help_last(self) -> None:
        """Help stays the menu bar's last menu when other menus are added after it."""
        bar = self.window.menuBar()
        action = self.help_menu.menuAction()
        if bar.actions() and bar.actions()[-1] is not action:
            bar.removeAction(action)
            bar.addAction(action)

    def set_signed_in(self, signed_in: bool) -> None:
        for action in (self.sign_out_action, self.switch_user_action):
            action.setEnabled(signed_in and self.controller is not None)

    def _session(self, what: str) -> None:
        if self.controller is not None:
            getattr(self.controller, what)()

    def quit(self) -> None:
        if self.controller is not None:
            self.controller.quit()
        else:
            self.window.close()

    def about(self) -> Any:
        from app.views.about import AboutDialog

        dialog = AboutDialog(self._desk(), self.window)
        self.about_dialog = dialog
        dialog.open()
        return dialog

    def copy_diagnostics(self) -> Any:
        from app.views.about import copy_diagnostics

        return copy_diagnostics(self.window, self._desk())


class _CloseWatch(QObject):
    """Runs ``on_close`` when the watched window closes (its state is saved then)."""

    def __init__(self, watched: QWidget, on_close: Callable[[], None]) -> None:
        super().__init__(watched)
        self.on_close = on_close
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Close:
            self.on_close()
        return False


class DeskSession(QObject):
    """The sign-in, the windows of the signed-in user, sign out, switch user and quit for
    one desk (see the module's doc). ``choose`` signs in without the dialog (the
    screenshot and the start-up benchmark); ``prepare_token`` prepares the embedded demo's
    signing token in the background."""

    sign_in_shown = Signal(object)  # the SignInDialog, open
    signed_in = Signal(object)  # OfficerInfo
    signed_out = Signal()
    admin_opened = Signal(object)  # the AdminWindow
    token_prepared = Signal(object)  # the DemoSigning, or the exception
    failed = Signal(str, object)  # what failed, the exception: the program cannot go on
    finished = Signal(int)  # the program should end with this code

    def __init__(self, window: DeskWindow, desk: Desk, *,
                 choose: Callable[[list[OfficerInfo]], str] | None = None,
                 prepare_token: bool = False) -> None:
        super().__init__(window)
        self.window = window
        self.desk = desk
        self.choose = choose or AUTO_SIGN_IN
        self.admin_window: QMainWindow | None = None
        self.flow: SignInFlow | None = None
        self.sync_installed = False
        self.token_preparing = False
        self.token_error: BaseException | None = None
        window.session_menu.controller = self  # type: ignore[attr-defined]
        window.session_menu.desk = desk  # type: ignore[attr-defined]
        window.quit_guard = self.quit  # type: ignore[attr-defined]
        if prepare_token:
            self.prepare_token()

    # --- the demo token, in the background ----------------------------------------------------

    def prepare_token(self) -> None:
        from app.signing.demo_token import begin_background_preparation, end_background_preparation

        desk = self.desk
        begin_background_preparation()
        self.token_preparing = True

        def prepare() -> Any:
            from app.services.opening import prepare_embedded_signing

            try:
                return prepare_embedded_signing(desk)
            finally:  # signing waits on this, whatever happens to the task's result
                end_background_preparation()

        run_task(prepare, self._token_done, self._token_failed)

    def _token_done(self, prepared: Any) -> None:
        self.token_preparing = False
        self._show_token_note(TOKEN_READY if prepared is not None else "")
        self.token_prepared.emit(prepared)

    def _token_failed(self, exc: BaseException) -> None:
        self.token_preparing = False
        self.token_error = exc
        log.error("preparing the demo signing token failed", exc_info=exc)
        self._show_token_note(f"The demo signing token could not be prepared: {exc}")
        self.token_prepared.emit(exc)

    def _show_token_note(self, text: str) -> None:
        dialog = self.flow.dialog if self.flow is not None else None
        note = getattr(dialog, "token_note", None)
        if note is not None:
            note.setText(text)
            note.setVisible(bool(text))
            dialog.adjustSize()  # room for the note and the wrapped introduction

    # --- sign-in -------------------------------------------------------------------------------

    def begin(self) -> None:
        """Sign in (the dialog, or ``choose``); a desk already signed in goes straight on."""
        if self.desk.user is not None:
            self._signed_in(self.desk.user)
            return
        self._show_sign_in(switching=False)

    def _admin(self) -> QMainWindow | None:
        """The administrator's window while it exists (it is deleted when closed)."""
        admin = self.admin_window
        if admin is not None and not shiboken6.isValid(admin):
            self.admin_window = admin = None
        return admin

    def _front(self) -> QWidget:
        admin = self._admin()
        return admin if admin is not None and admin.isVisible() else self.window

    def _show_sign_in(self, *, switching: bool) -> None:
        from app.views.sign_in import SignInFlow

        flow = SignInFlow(self.desk, self._front())
        if switching:  # the current user is signed out on the worker, just before
            flow.before_sign_in = self.desk.sign_out  # type: ignore[attr-defined]
        flow.progress.connect(self.window.show_progress)
        flow.dialog_shown.connect(self._dialog_shown)
        flow.signed_in.connect(self._signed_in)
        flow.failed.connect(lambda exc: self._sign_in_failed(exc, switching))
        flow.cancelled.connect(self._switch_cancelled if switching else self._cancelled)
        self.flow = flow
        if self.choose is not None and not switching:
            flow.start_as(self.choose)
        else:
            flow.start()

    def _dialog_shown(self, dialog: SignInDialog) -> None:
        note = QLabel()
        note.setWordWrap(True)
        note.setStyleSheet(NOTE_STYLE)
        note.setVisible(False)
        layout = dialog.layout()
        layout.insertWidget(max(layout.count() - 1, 0), note)  # above the buttons
        dialog.token_note = note  # type: ignore[attr-defined]
        if self.token_preparing:
            self._show_token_note(PREPARING_TOKEN)
        self.sign_in_shown.emit(dialog)

    def _sign_in_failed(self, exc: BaseException, switching: bool) -> None:
        self.flow = None
        if not switching and self.desk.user is None and not self._was_signed_in():
            self.failed.emit("sign in", exc)
            return
        if not isinstance(exc, UserFacingError):
            log.error("sign-in failed", exc_info=exc)
        QMessageBox.warning(self._front(), "Origin Desk — sign in", str(exc))
        if self.desk.user is None:  # signed out on the way: ask again
            self._after_sign_out()

    def _was_signed_in(self) -> bool:
        return getattr(self, "_ever_signed_in", False)

    def _cancelled(self) -> None:
        self.flow = None
        self.finished.emit(0)

    def _switch_cancelled(self) -> None:
        """Nobody else chosen: the current user stays signed in, as they were."""
        self.flow = None
        if self.window.desk is not None:
            self.window.reload_queue()
        else:
            self.window.show_progress(TaskProgress(""))

    def _signed_in(self, user: OfficerInfo) -> None:
        self.flow = None
        self._ever_signed_in = True
        if user.role == "administrator":
            self._open_admin()
        else:
            self._open_desk_window()
        self.signed_in.emit(user)

    def _open_desk_window(self) -> None:
        window = self.window
        window.show()  # first: closing the last window shown would quit
        self._close_admin()
        window.attach(self.desk)
        if not self.sync_installed:
            from app.views.sync_ui import install_sync_ui

            install_sync_ui(window, self.desk)
            self.sync_installed = True
            window.session_menu.keep_help_last()  # type: ignore[attr-defined]
        else:
            self._resume_sync()
        window.session_menu.set_signed_in(True)  # type: ignore[attr-defined]
        window.reload_queue()

    def _open_admin(self) -> None:
        from app.views.admin_window import open_admin_window

        self.window.show_progress(TaskProgress("Opening the administration…"))

        def shown(admin_window: QMainWindow) -> None:
            from app.views.window_state import restore_admin_window, save_admin_window

            self._close_admin()
            self.admin_window = admin_window
            restore_admin_window(admin_window)
            _CloseWatch(admin_window, lambda: save_admin_window(admin_window))
            menu = SessionMenu(admin_window, self.desk)
            menu.controller = self
            menu.set_signed_in(True)
            admin_window.session_menu = menu  # type: ignore[attr-defined]
            self._hide_desk_window()
            self.admin_opened.emit(admin_window)

        open_admin_window(self.desk, on_open=shown,
                          on_error=lambda exc: self.failed.emit("administration", exc))

    def _hide_desk_window(self) -> None:
        from app.views.window_state import save_desk_window

        if self.window.isVisible():
            save_desk_window(self.window)
            self.window.hide()

    def _close_admin(self) -> None:
        admin, self.admin_window = self._admin(), None
        if admin is not None:
            admin.close()  # saves its geometry (the close watch)

    # --- sign out, switch user -----------------------------------------------------------------

    def _issue_running(self) -> bool:
        from app.views.issue_dialog import IssueProgressDialog

        return any(d.outcome is None for d in self.window.findChildren(IssueProgressDialog))

    def _refuse_while_issuing(self, what: str) -> bool:
        if self._issue_running():
            QMessageBox.information(
                self._front(), f"Origin Desk — {what}",
                f"Certificates are being issued. {what.capitalize()} when the batch is done "
                "(or stop it first).")
            return True
        return False

    def sign_out(self) -> None:
        if self.desk.user is None or self._refuse_while_issuing("sign out"):
            return
        self._pause_sync()
        self.window.show_progress(TaskProgress("Signing out…"))
        run_task(self.desk.sign_out, lambda _r: self._after_sign_out(),
                 lambda exc: self._after_sign_out(exc), owner=self.window)

    def _after_sign_out(self, exc: BaseException | None = None) -> None:
        if exc is not None:
            log.warning("sign-out: %s", exc)
            self.desk.user = None
        window = self.window
        window.show()  # first: closing the last window shown would quit
        self._close_admin()
        window.detach()
        window.session_menu.set_signed_in(False)  # type: ignore[attr-defined]
        self.signed_out.emit()
        self._show_sign_in(switching=False)

    def switch_user(self) -> None:
        if self.desk.user is None or self._refuse_while_issuing("switch user"):
            return
        self._show_sign_in(switching=True)

    def _pause_sync(self) -> None:
        """Signed out, nothing syncs: not the timer, not F9 (it would sign the previous
        user in to the central service again)."""
        controls = getattr(self.window, "sync_controls", None)
        timer = getattr(controls, "timer", None)
        if timer is not None:
            timer.stop()
        action = getattr(controls, "sync_action", None)
        if action is not None:
            action.setEnabled(False)

    def _resume_sync(self) -> None:
        controls = getattr(self.window, "sync_controls", None)
        timer = getattr(controls, "timer", None)
        if timer is not None:
            timer.start()
        action = getattr(controls, "sync_action", None)
        if action is not None:
            action.setEnabled(True)

    # --- quit --------------------------------------------------------------------------------

    def quit(self) -> None:
        """Quit at once when nothing is pending; ask first when decisions wait in the
        outbox or an issue is running (the outbox is counted on a worker)."""
        desk = self.desk
        running = self._issue_running()

        def count() -> int:
            return len(desk.pending_application_ids()) if desk.user is not None else \
                _outbox_pending(desk)

        run_task(count, lambda pending: self._confirm_quit(pending, running),
                 lambda exc: self._confirm_quit(-1, running), owner=self.window)

    def _confirm_quit(self, pending: int, running: bool) -> None:
        reasons = []
        if running:
            reasons.append("Certificates are being issued: quitting stops the batch after "
                           "the certificate being signed (each is issued whole or not at all).")
        if pending > 0:
            reasons.append(f"{pending} application{'s' if pending != 1 else ''} "
                           f"{'have' if pending != 1 else 'has'} decisions not yet sent to "
                           "the central store. They stay on this desk and are sent at the "
                           "next sync after you start Origin Desk again.")
        elif pending < 0:
            reasons.append("This desk could not count the decisions not yet sent.")
        if reasons:
            box = QMessageBox(QMessageBox.Icon.Warning, "Quit Origin Desk?", "\n\n".join(reasons),
                              QMessageBox.StandardButton.NoButton, self._front())
            quit_button = box.addButton("&Quit anyway", QMessageBox.ButtonRole.AcceptRole)
            box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
            self.quit_box = box
            box.exec()
            self.quit_box = None
            if box.clickedButton() is not quit_button:
                return
        self._stop_batches()
        self._save_states()
        self.finished.emit(0)

    def _stop_batches(self) -> None:
        from app.views.issue_dialog import IssueProgressDialog

        for dialog in self.window.findChildren(IssueProgressDialog):
            if dialog.outcome is None:
                dialog.request_stop()

    def _save_states(self) -> None:
        from app.views.window_state import save_admin_window, save_desk_window

        if self.window.isVisible():
            save_desk_window(self.window)
        admin = self._admin()
        if admin is not None:
            save_admin_window(admin)


def _outbox_pending(desk: Any) -> int:
    local = getattr(desk, "local", None)
    return len(local.pending()) if local is not None else 0
