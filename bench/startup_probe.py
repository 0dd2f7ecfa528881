"""Child process for the start-up benchmark: prints 'shown' once the first window is up.

    python -m bench.startup_probe bare|app
"""

from __future__ import annotations

import sys


def main(which: str) -> None:
    if which == "bare":
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMainWindow

        app = QApplication(sys.argv[:1])
        window = QMainWindow()
        window.resize(1400, 860)
        window.show()
        QTimer.singleShot(0, lambda: (print("shown", flush=True), app.quit()))
        app.exec()
        return
    from PySide6.QtWidgets import QApplication

    from app.views import application

    def on_window(window: object) -> None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: (print("shown", flush=True), QApplication.quit()))

    application.WINDOW_SHOWN_HOOKS.append(on_window)
    application.run_gui(officer="rahul.menon@igcc.org.in")


if __name__ == "__main__":
    main(sys.argv[1])
