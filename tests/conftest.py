"""Shared fixtures: an isolated data directory per test, and the seeded demo store."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEMO_TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ORIGIN_DESK_HOME and no ORIGIN_DESK_* settings from outside."""
    for key in list(os.environ):
        if key.startswith("ORIGIN_DESK_"):
            monkeypatch.delenv(key)
    # the demo token points SOFTHSM2_CONF at itself: undo that after every test
    monkeypatch.setenv("SOFTHSM2_CONF", os.environ.get("SOFTHSM2_CONF", ""))
    if not os.environ["SOFTHSM2_CONF"]:
        monkeypatch.delenv("SOFTHSM2_CONF")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ORIGIN_DESK_HOME", str(home))
    # and no machine-wide settings file (/etc/origin-desk/config.toml) from this machine
    monkeypatch.setenv("ORIGIN_DESK_SYSTEM_CONFIG", str(tmp_path / "no-system-config.toml"))
    return home


@pytest.fixture(scope="session")
def seeded_demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, seeded once per test session (tests get copies)."""
    from app.store.demo import create_demo_store

    path = tmp_path_factory.mktemp("demo") / "demo-central.sqlite"
    engine = create_demo_store(path, today=DEMO_TODAY)
    engine.dispose()
    return path


@pytest.fixture
def demo_store(seeded_demo_file: Path, data_home: Path) -> Iterator[Path]:
    """A private copy of the seeded demo store, where the app expects it."""
    target = data_home / "demo-central.sqlite"
    shutil.copyfile(seeded_demo_file, target)
    yield target


@pytest.fixture
def demo_engine(demo_store: Path):  # type: ignore[no-untyped-def]
    from app.store.central import sqlite_engine

    engine = sqlite_engine(demo_store)
    yield engine
    engine.dispose()


# --- no SQL on the GUI thread ---------------------------------------------------------------
#
# The GUI thread only draws (docs/ARCHITECTURE.md, Threads). In every test that uses qtbot,
# a statement that reaches the database on the main thread (the GUI thread in these tests)
# is recorded when the GUI caused it:
#   - a frame of ``app/views`` is on the stack (a widget, a slot, a task's done callback),
#   - or Qt is dispatching an event (a timer, a click, a queued signal: see ``qapp_cls``).
# Test set-up and assertions that read the store themselves are neither, and pass.
# The hook only records (an exception raised inside SQLAlchemy's hook could be swallowed
# by the code under test); the fixture fails the test at teardown.

def _views_dir() -> str:
    import app.views

    return str(Path(app.views.__file__).resolve().parent)


VIEWS_DIR = _views_dir()


class GuiThreadSql:
    """The ``before_cursor_execute`` hook: records GUI-caused SQL on the main thread."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def __call__(self, _connection, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        import sys
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        view_frame = None
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename.startswith(VIEWS_DIR):
                view_frame = frame
                break
            frame = frame.f_back
        if view_frame is not None:
            where = (f"from {Path(view_frame.f_code.co_filename).name}:{view_frame.f_lineno} "
                     f"({view_frame.f_code.co_name})")
        elif _dispatch_depth[0] > 0:
            where = "while Qt dispatched an event"
        else:
            return
        self.found.append(f"{where}: {' '.join(statement.split())[:160]}")

    def report(self) -> str:
        shown = "\n  ".join(self.found[:10])
        more = f"\n  … and {len(self.found) - 10} more" if len(self.found) > 10 else ""
        return f"{len(self.found)} SQL statement(s) ran on the GUI thread:\n  {shown}{more}"


_dispatch_depth = [0]  # how deep Qt is in QApplication.notify (events being dispatched)


@pytest.fixture(scope="session")
def qapp_cls():  # type: ignore[no-untyped-def]
    """pytest-qt's QApplication, counting the events it is dispatching."""
    from PySide6.QtWidgets import QApplication

    class DispatchCountingApplication(QApplication):
        def notify(self, receiver, event):  # type: ignore[no-untyped-def]
            _dispatch_depth[0] += 1
            try:
                return super().notify(receiver, event)
            finally:
                _dispatch_depth[0] -= 1

    return DispatchCountingApplication


@pytest.fixture
def gui_thread_sql() -> Iterator[GuiThreadSql]:
    """The hook, installed for the test (on every engine); what it found is left to the
    caller. ``no_sql_on_gui_thread`` fails the test with it."""
    from sqlalchemy import Engine, event

    hook = GuiThreadSql()
    event.listen(Engine, "before_cursor_execute", hook)
    try:
        yield hook
    finally:
        event.remove(Engine, "before_cursor_execute", hook)


@pytest.fixture(autouse=True)
def no_sql_on_gui_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that drives Qt (uses qtbot) fails when the GUI thread ran SQL."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("qtbot")  # set up first, so torn down after the check
    hook = request.getfixturevalue("gui_thread_sql")
    yield
    if hook.found:
        pytest.fail(hook.report(), pytrace=False)
