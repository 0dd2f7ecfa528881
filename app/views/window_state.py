"""Window geometry and column layout, remembered between starts.

Kept with :class:`~PySide6.QtCore.QSettings` in an INI file of the data directory
(``<data>/window-state.ini``, next to ``config.toml``): the desk window's geometry, the
queue's header (column widths, order, sort) and the splitter between queue and detail, and
the administrator's window geometry. What was saved is only a wish: a value that is not a
saved state (a corrupt file, another version's layout) is ignored, and a window whose saved
place lies on no screen now (a monitor unplugged) opens where a new window would.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

if TYPE_CHECKING:
    from app.views.main_window import DeskWindow

log = logging.getLogger(__name__)
STATE_FILE = "window-state.ini"
FORMAT = 1  # bump when a saved layout must not be restored by this release
# less of a window than this on a screen, and it is moved back onto one (pixels)
MIN_VISIBLE = 80


def _settings_path() -> Path:
    from app.config import data_dir

    return data_dir() / STATE_FILE


def window_settings(path: Path | None = None) -> QSettings:
    settings = QSettings(str(path or _settings_path()), QSettings.Format.IniFormat)
    return settings


def _bytes(settings: QSettings, key: str) -> QByteArray | None:
    """A saved state, or None when there is none or it is not one (a corrupt file)."""
    value = settings.value(key)
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    if value is not None:
        log.info("window state %s is not a saved state: ignored", key)
    return None


def _on_a_screen(window: QMainWindow) -> bool:
    frame = window.frameGeometry()
    for screen in QGuiApplication.screens():
        seen = frame.intersected(screen.availableGeometry())
        if seen.width() >= MIN_VISIBLE and seen.height() >= MIN_VISIBLE:
            return True
    return False


def _restore_geometry(window: QMainWindow, settings: QSettings, key: str) -> bool:
    saved = _bytes(settings, key)
    if saved is None:
        return False
    size, position = window.size(), window.pos()
    try:
        restored = window.restoreGeometry(saved)
    except (TypeError, ValueError):
        restored = False
    if restored and not _on_a_screen(window):
        log.info("saved place of %s lies on no screen now: ignored", key)
        restored = False
    if not restored:
        window.resize(size)
        window.move(position)
        screen = QGuiApplication.primaryScreen()
        if screen is not None and not _on_a_screen(window):
            window.move(screen.availableGeometry().topLeft())
    return restored


def _usable(settings: QSettings) -> bool:
    saved = settings.value("format")
    try:
        return saved is None or int(saved) == FORMAT  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def save_desk_window(window: DeskWindow, path: Path | None = None) -> None:
    settings = window_settings(path)
    settings.setValue("format", FORMAT)
    settings.setValue("desk/geometry", window.saveGeometry())
    settings.setValue("desk/queue_header", window.table.horizontalHeader().saveState())
    settings.setValue("desk/splitter", window.splitter.saveState())
    settings.sync()


def restore_desk_window(window: DeskWindow, path: Path | None = None) -> dict[str, bool]:
    """Restore what was saved; which parts were restored (the rest keeps its defaults)."""
    settings = window_settings(path)
    restored = {"geometry": False, "queue_header": False, "splitter": False}
    if not _usable(settings):
        return restored
    restored["geometry"] = _restore_geometry(window, settings, "desk/geometry")
    header = _bytes(settings, "desk/queue_header")
    if header is not None:
        table_header = window.table.horizontalHeader()
        before = table_header.saveState()
        ok = table_header.restoreState(header)
        if ok and table_header.count() != window.model.columnCount():
            ok = False
        if not ok:
            table_header.restoreState(before)
        restored["queue_header"] = ok
    splitter = _bytes(settings, "desk/splitter")
    if splitter is not None:
        before = window.splitter.saveState()
        ok = window.splitter.restoreState(splitter)
        sizes = window.splitter.sizes()
        if ok and (len(sizes) != 2 or min(sizes) < 0):
            ok = False
        if not ok:
            window.splitter.restoreState(before)
        restored["splitter"] = ok
    return restored


def save_admin_window(window: QMainWindow, path: Path | None = None) -> None:
    settings = window_settings(path)
    settings.setValue("format", FORMAT)
    settings.setValue("admin/geometry", window.saveGeometry())
    settings.sync()


def restore_admin_window(window: QMainWindow, path: Path | None = None) -> bool:
    settings = window_settings(path)
    return _usable(settings) and _restore_geometry(window, settings, "admin/geometry")
