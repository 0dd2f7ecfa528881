"""Window geometry and column layout are remembered: a second window restores what the
first saved when it closed; a corrupt or off-screen saved state is ignored safely."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow
from sqlalchemy import Engine

from app.config import load_config
from app.services.desk import Desk
from app.services.queue_rows import Col
from app.views.main_window import DeskWindow
from app.views.tasks import wait_for_tasks
from app.views.window_state import (
    STATE_FILE,
    restore_admin_window,
    save_admin_window,
    window_settings,
)

ANITA = "anita.deshpande@igcc.org.in"


def _window(qtbot, desk: Desk | None = None) -> DeskWindow:  # type: ignore[no-untyped-def]
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _on_screen(window: QMainWindow) -> bool:
    frame = window.frameGeometry()
    return any(frame.intersects(s.availableGeometry()) for s in QGuiApplication.screens())


def test_a_second_window_restores_what_the_first_saved(
    qtbot, demo_engine: Engine, data_home: Path  # type: ignore[no-untyped-def]
) -> None:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    first = _window(qtbot, desk)
    with qtbot.waitSignal(first.queue_loaded, timeout=10_000):
        first.reload_queue()
    screen = QGuiApplication.primaryScreen().availableGeometry()
    size = (min(1111, screen.width() - 60), min(777, screen.height() - 60))
    first.resize(*size)
    first.move(screen.left() + 20, screen.top() + 20)
    header = first.table.horizontalHeader()
    header.resizeSection(Col.EXPORTER, 321)
    header.moveSection(header.visualIndex(Col.FOB), 0)  # FOB first
    first.splitter.setSizes([700, 400])
    sizes = first.splitter.sizes()
    first.close()
    wait_for_tasks()
    assert (data_home / STATE_FILE).exists()

    second = _window(qtbot)  # before any store is open, as at start-up
    assert second.restored_layout == {"geometry": True, "queue_header": True, "splitter": True}
    assert (second.width(), second.height()) == size
    header2 = second.table.horizontalHeader()
    assert header2.sectionSize(Col.EXPORTER) == 321
    assert header2.logicalIndex(0) == Col.FOB
    qtbot.wait(50)  # the first-show sizing does not undo the officer's split
    assert second.splitter.sizes() == sizes


def test_a_corrupt_saved_state_is_ignored(qtbot, data_home: Path) -> None:  # type: ignore[no-untyped-def]
    settings = window_settings(data_home / STATE_FILE)
    settings.setValue("desk/geometry", "not a geometry at all")
    settings.setValue("desk/queue_header", b"\x00\x01garbage")
    settings.setValue("desk/splitter", b"\xff" * 40)
    settings.sync()
    window = _window(qtbot)
    assert window.restored_layout == {"geometry": False, "queue_header": False,
                                      "splitter": False}
    assert (window.width(), window.height()) == (1400, 860)  # the defaults
    assert window.table.horizontalHeader().sectionSize(Col.NUMBER) == 122
    assert _on_screen(window)
    # a file that is not INI at all
    (data_home / STATE_FILE).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    again = _window(qtbot)
    assert not any(again.restored_layout.values()) and _on_screen(again)


def test_an_off_screen_saved_place_is_ignored(qtbot, data_home: Path) -> None:  # type: ignore[no-untyped-def]
    first = _window(qtbot)
    first.setGeometry(QRect(50_000, 40_000, 900, 600))  # a monitor that is gone now
    first.close()
    second = _window(qtbot)  # Qt or the desk moves it back where it can be seen
    assert _on_screen(second) and second.x() < 50_000 and second.y() < 40_000


def test_the_administrators_window_geometry_is_remembered(qtbot, data_home: Path) -> None:  # type: ignore[no-untyped-def]
    first = QMainWindow()
    qtbot.addWidget(first)
    screen = QGuiApplication.primaryScreen().availableGeometry()
    size = (min(1010, screen.width() - 60), min(640, screen.height() - 60))
    first.resize(*size)
    first.move(screen.left() + 20, screen.top() + 20)
    first.show()
    qtbot.waitExposed(first)
    save_admin_window(first)
    second = QMainWindow()
    qtbot.addWidget(second)
    second.resize(300, 200)
    assert restore_admin_window(second)
    assert (second.width(), second.height()) == size
