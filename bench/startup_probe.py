"""Child process for the start-up benchmark: prints 'shown' when the first window paints.

    python -m bench.startup_probe bare|app|ready

Both probes watch for the window's first Paint event: that is when an officer sees it.
``ready`` goes on: it signs in the first officer by itself (as an officer choosing from
the sign-in list would) and prints 'ready' when the queue's rows are painted (the queue
page brought to the front as the officer's Ctrl+2 does, the dashboard being the first
page after sign-in), then quits.
"""

from __future__ import annotations

import sys


def _report_first_paint(window, app) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent, QObject

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):  # type: ignore[no-untyped-def]  # noqa: N802
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                print("shown", flush=True)
                app.quit()
            return False

    window._first_paint_filter = FirstPaint(window)
    window.installEventFilter(window._first_paint_filter)


def _report_ready(window, app) -> None:  # type: ignore[no-untyped-def]
    """'ready' on the first paint of the queue's rows after sign-in."""
    from PySide6.QtCore import QEvent, QObject

    class RowsPainted(QObject):
        armed = False
        seen = False

        def eventFilter(self, watched, event):  # type: ignore[no-untyped-def]  # noqa: N802
            if (event.type() == QEvent.Type.Paint and self.armed and not self.seen
                    and window.model.rowCount() > 0):
                self.seen = True
                print("ready", flush=True)
                app.quit()
            return False

    watch = RowsPainted(window)
    window._rows_painted_filter = watch
    window.table.viewport().installEventFilter(watch)

    def loaded() -> None:
        if window.model.rowCount() == 0:
            return
        pages = getattr(window, "pages", None)
        if pages is not None and pages.indexOf(window.splitter) >= 0:
            pages.setCurrentWidget(window.splitter)  # the officer's Ctrl+2
        watch.armed = True
        window.table.viewport().update()

    window.queue_loaded.connect(loaded)


def _first_officer(users):  # type: ignore[no-untyped-def]
    """As the sign-in list shows them: officers first, by name."""
    officers = sorted((u for u in users if u.status == "active" and u.role == "officer"),
                      key=lambda u: u.full_name)
    return officers[0].email


def main(which: str) -> None:
    if which == "bare":
        from PySide6.QtWidgets import QApplication, QMainWindow

        app = QApplication(sys.argv[:1])
        window = QMainWindow()
        window.resize(1400, 860)
        _report_first_paint(window, app)
        window.show()
        app.exec()
        return
    from PySide6.QtWidgets import QApplication

    from app.views import application

    if which == "ready":
        from app.views import session

        application.WINDOW_SHOWN_HOOKS.append(
            lambda window: _report_ready(window, QApplication.instance()))
        session.AUTO_SIGN_IN = _first_officer
        application.run_gui()
        return
    application.WINDOW_SHOWN_HOOKS.append(
        lambda window: _report_first_paint(window, QApplication.instance())
    )
    application.run_gui(officer="rahul.menon@igcc.org.in")


if __name__ == "__main__":
    main(sys.argv[1])
