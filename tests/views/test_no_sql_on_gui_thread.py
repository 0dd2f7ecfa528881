"""The guard of tests/conftest.py: SQL that the GUI thread runs fails the test.

Each test here makes the GUI thread query on purpose and reads what the hook recorded
(then clears it, so that the deliberate query does not fail the test itself); the last
one runs a test in a separate pytest to show that such a test fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget
from sqlalchemy import Engine

from app.config import load_config
from app.services.desk import Desk
from app.views.main_window import DeskWindow
from app.views.tasks import run_task, wait_for_tasks

ANITA = "anita.deshpande@igcc.org.in"


def _desk(demo_engine: Engine) -> Desk:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)  # test set-up on the main thread, outside Qt: not flagged
    return desk


def test_sql_in_a_task_callback_is_caught(qtbot, demo_engine: Engine, gui_thread_sql) -> None:  # type: ignore[no-untyped-def]
    desk = _desk(demo_engine)
    owner = QWidget()
    qtbot.addWidget(owner)
    seen: list[object] = []
    run_task(lambda: None, on_done=lambda _r: seen.append(desk.my_offices()), owner=owner)
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert gui_thread_sql.found, "a query in a done callback runs on the GUI thread"
    assert "from tasks.py" in gui_thread_sql.found[0] and "offices" in gui_thread_sql.found[0]
    gui_thread_sql.found.clear()


def test_sql_in_a_timer_is_caught(qtbot, demo_engine: Engine, gui_thread_sql) -> None:  # type: ignore[no-untyped-def]
    desk = _desk(demo_engine)
    seen: list[object] = []
    QTimer.singleShot(0, lambda: seen.append(desk.users()))  # no app/views frame at all
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert gui_thread_sql.found and gui_thread_sql.found[0].startswith(
        "while Qt dispatched an event")
    gui_thread_sql.found.clear()


def test_the_desk_window_reading_its_offices_on_the_gui_thread_is_caught(  # type: ignore[no-untyped-def]
        qtbot, demo_engine: Engine, gui_thread_sql) -> None:
    class OldDeskWindow(DeskWindow):
        def _load_offices(self) -> None:  # as the window did before: on the GUI thread
            assert self.desk is not None
            self._fill_offices(self.desk.my_offices())

    window = OldDeskWindow(_desk(demo_engine))
    qtbot.addWidget(window)
    assert any("from main_window.py" in f and "(attach)" in f for f in gui_thread_sql.found)
    gui_thread_sql.found.clear()


def test_set_up_assertions_and_workers_are_not_flagged(qtbot, demo_engine: Engine,  # type: ignore[no-untyped-def]
                                                       gui_thread_sql) -> None:
    desk = _desk(demo_engine)
    assert desk.users()  # an assertion reading the store on the main thread
    owner = QWidget()
    qtbot.addWidget(owner)
    with qtbot.waitSignal(run_task(desk.users, owner=owner).relay.done, timeout=10_000):
        pass
    window = DeskWindow(desk)  # the window as it is: everything on workers
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.reload_queue()
    wait_for_tasks()
    assert gui_thread_sql.found == []


def test_a_test_whose_gui_thread_runs_sql_fails(tmp_path: Path) -> None:
    conftest = Path(__file__).resolve().parents[1] / "conftest.py"
    (tmp_path / "conftest.py").write_text(conftest.read_text())
    (tmp_path / "test_deliberate.py").write_text(
        "from PySide6.QtCore import QTimer\n"
        "from sqlalchemy import create_engine\n\n"
        "def test_query_in_a_timer(qtbot):\n"
        "    engine = create_engine('sqlite://')\n"
        "    with engine.connect() as connection:  # set-up: not flagged\n"
        "        connection.exec_driver_sql('SELECT 1')\n"
        "    def query():\n"
        "        with engine.connect() as connection:\n"
        "            connection.exec_driver_sql('SELECT 42')\n"
        "    QTimer.singleShot(0, query)\n"
        "    qtbot.wait(50)\n\n"
        "def test_no_query(qtbot):\n"
        "    qtbot.wait(10)\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**_env(), "QT_QPA_PLATFORM": "offscreen"})
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    # only the timer's query (the set-up's SELECT 1 is not counted), and only that test
    assert ("1 SQL statement(s) ran on the GUI thread:\n"
            "  while Qt dispatched an event: SELECT 42") in out
    assert "ERROR test_deliberate.py::test_query_in_a_timer" in out
    assert "test_no_query" not in out and "2 passed, 1 error" in out


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
