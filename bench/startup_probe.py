"""Child process for the start-up benchmark: prints 'shown' when the first window paints.

    python -m bench.startup_probe bare|app

Both probes watch for the window's first Paint event: that is when an officer sees it.
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

    application.WINDOW_SHOWN_HOOKS.append(
        lambda window: _report_first_paint(window, QApplication.instance())
    )
    application.run_gui(officer="rahul.menon@igcc.org.in")


if __name__ == "__main__":
    main(sys.argv[1])
