"""Issue 13, the rough edges of the officer's window: the goods table's columns, a long
preview status, and the keyboard (mnemonics, focus, tab shortcuts, Esc, Ctrl+Enter)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QMenu, QPushButton, QTabBar, QTableView, QWidget
from sqlalchemy import Engine

from app.config import load_config
from app.services.desk import Desk
from app.services.queue_rows import StatusFilter
from app.views.detail_panel import DetailPanel
from app.views.main_window import FOCUS_COLOUR, DeskWindow
from app.views.tasks import wait_for_tasks
from app.views.text_prompt import TextPrompt
from app.views.verify_view import VerifyView

ANITA = "anita.deshpande@igcc.org.in"
LONG_DESCRIPTION = ("Unwrought aluminium alloy ingots, LM6 grade, in bundles of twenty-one "
                    "strapped with steel bands, for remelting")


@pytest.fixture
def window(qtbot, demo_engine: Engine):  # type: ignore[no-untyped-def]
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.reload_queue()
    yield window
    wait_for_tasks()
    qtbot.wait(10)


def _activate(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Shortcuts go to the active window: make ``widget``'s window the active one."""
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=3000)


def _goods_panel(qtbot, width: int, description: str) -> tuple[DetailPanel, QTableView]:  # type: ignore[no-untyped-def]
    panel = DetailPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 500)
    panel.show()
    panel.tabs.setCurrentIndex(1)
    panel.goods_model.set_rows([
        ("1", "SOUTHERN/2513/1", "21 bundles", description, "760120", "21 MTS", "21,063 kg",
         "55,045.87", "WO"),
    ])
    table = panel.tabs.widget(1)
    assert isinstance(table, QTableView)
    qtbot.waitExposed(panel)
    return panel, table


def test_goods_description_wraps_and_every_column_fits(qtbot) -> None:  # type: ignore[no-untyped-def]
    _panel, table = _goods_panel(qtbot, 640, LONG_DESCRIPTION)
    header = table.horizontalHeader()
    description = header.sectionSize(3)
    # wider than its header ("Description"), not squashed to "crip…"
    assert description > header.sectionSizeFromContents(3).width()
    # the long description wraps: the row is taller than one line
    one_line = table.fontMetrics().height()
    assert table.rowHeight(0) >= 2 * one_line
    # every column is in view: nothing cut off at the right
    total = sum(header.sectionSize(c) for c in range(header.count()))
    assert total <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    # a wider panel gives the description the room: one line again
    _wide, wide_table = _goods_panel(qtbot, 1400, "Unwrought aluminium ingots")
    assert wide_table.rowHeight(0) < 2 * one_line
    assert sum(wide_table.horizontalHeader().sectionSize(c)
               for c in range(9)) == wide_table.viewport().width()


def test_long_preview_status_does_not_widen_the_panel(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    window.resize(1400, 860)
    detail = window.detail
    detail.tabs.setCurrentWidget(detail.preview)
    qtbot.wait(50)
    before = (detail.width(), window.splitter.sizes(), window.width())
    buttons = {a: b.mapTo(window, b.rect().topLeft()) for a, b in window.buttons.items()}
    text = "No preview: " + "the renderer could not find the office's stamp image " * 6
    detail.preview.show_message(text)
    qtbot.wait(50)
    assert (detail.width(), window.splitter.sizes(), window.width()) == before
    assert {a: b.mapTo(window, b.rect().topLeft()) for a, b in window.buttons.items()} == buttons
    # the whole text stays readable: elided on screen, whole in the tooltip
    assert detail.preview.status.text() == text
    assert detail.preview.status.toolTip() == text
    assert detail.preview.status.minimumSizeHint().width() == 0


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


def test_window_mnemonics_are_unique(window: DeskWindow) -> None:
    """Every Alt+letter of the window (menu titles, the detail's tabs, buttons) is one thing."""
    tabs = window.detail.tabs
    letters = [_mnemonic(a.text()) for a in window.menuBar().actions()]
    letters += [_mnemonic(tabs.tabText(i)) for i in range(tabs.count())]
    letters += [_mnemonic(b.text()) for b in window.findChildren(QPushButton)]
    letters = [letter for letter in letters if letter]
    assert "a" in letters and len(letters) == len(set(letters)), letters


# the offscreen platform cannot raise a popup menu or grab the keyboard for it
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_alt_a_opens_the_actions_menu(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    tabs = window.detail.tabs
    tabs.setCurrentIndex(1)
    _activate(qtbot, window)
    window.table.setFocus()
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Actions")
    assert isinstance(menu, QMenu)
    qtbot.keyClick(window.table, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    assert tabs.currentIndex() == 1  # not the Application tab
    menu.close()
    # the Application tab has its own letter: Alt+P
    qtbot.keyClick(window.table, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: tabs.currentIndex() == 0, timeout=3000)


def test_status_tab_shortcuts(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    _activate(qtbot, window)
    window.table.setFocus()
    keys = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5,
            Qt.Key.Key_6, Qt.Key.Key_7]
    assert window.status_tabs.count() == len(keys)
    for index in (StatusFilter.CLOSED, StatusFilter.ALL, StatusFilter.APPROVED,
                  StatusFilter.WAITING):
        qtbot.keyClick(window.table, keys[index], Qt.KeyboardModifier.AltModifier)
        assert window.status_tabs.currentIndex() == index
    assert "Alt+7" in window.status_tabs.tabToolTip(StatusFilter.CLOSED)
    # no other shortcut of the window uses Alt+digit
    taken = [a.shortcut().toString() for a in window.findChildren(type(window.menuBar().actions()[0]))]
    for n in range(1, 8):
        assert taken.count(f"Alt+{n}") == 1


def test_escape_clears_the_search(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    _activate(qtbot, window)
    total = window.model.rowCount()
    window.search.setFocus()
    qtbot.keyClicks(window.search, "no such exporter anywhere")
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.search.text() == ""
    qtbot.waitUntil(lambda: window.model.rowCount() == total, timeout=3000)
    # on an empty field Esc goes back to the queue
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    qtbot.waitUntil(window.table.hasFocus, timeout=3000)
    # text in the field, the queue focused: Esc clears it too
    window.search.setText("ganga")
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Escape)
    assert window.search.text() == ""


def test_ctrl_enter_submits_the_reason(qtbot) -> None:  # type: ignore[no-untyped-def]
    prompt = TextPrompt("Reject", "Why?", "Reject")
    qtbot.addWidget(prompt)
    _activate(qtbot, prompt)
    prompt.editor.setFocus()
    # with no text Ctrl+Enter does nothing
    qtbot.keyClick(prompt.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert prompt.isVisible() and prompt.result() == 0
    qtbot.keyClicks(prompt.editor, "Invoice missing")
    qtbot.keyClick(prompt.editor, Qt.Key.Key_Return)  # Enter alone: a new line
    qtbot.keyClicks(prompt.editor, "and the packing list")
    assert prompt.isVisible()
    with qtbot.waitSignal(prompt.accepted, timeout=3000):
        qtbot.keyClick(prompt.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert prompt.result() == TextPrompt.DialogCode.Accepted
    assert prompt.text() == "Invoice missing\nand the packing list"
    # the keypad's Enter too
    other = TextPrompt("Return", "What?", "Return")
    qtbot.addWidget(other)
    _activate(qtbot, other)
    qtbot.keyClicks(other.editor, "Sign the invoice")
    with qtbot.waitSignal(other.accepted, timeout=3000):
        qtbot.keyClick(other.editor, Qt.Key.Key_Enter,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.KeypadModifier)


def test_escape_closes_the_verify_window(qtbot) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    view = VerifyView(SimpleNamespace(), parent)
    view.setWindowFlags(Qt.WindowType.Window)
    _activate(qtbot, view)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=3000)


def _focus_pixels(image: QImage) -> int:
    colour = QColor(FOCUS_COLOUR).rgb()
    return sum(1 for y in range(image.height()) for x in (0, 1, image.width() - 2,
                                                          image.width() - 1)
               if image.pixel(x, y) == colour)


@pytest.mark.parametrize("which", ["table", "tabs", "button"])
def test_focus_is_clearly_visible(qtbot, window: DeskWindow, which: str) -> None:  # type: ignore[no-untyped-def]
    """The focused table, tab bar or button carries a frame in the focus colour; the
    unfocused one does not."""
    _activate(qtbot, window)
    widget: QWidget = {
        "table": window.table,
        "tabs": window.detail.tabs.findChild(QTabBar),
        "button": next(iter(window.buttons.values())),
    }[which]
    widget.setEnabled(True)
    window.search.setFocus()
    qtbot.waitUntil(window.search.hasFocus, timeout=3000)
    unfocused = _focus_pixels(widget.grab().toImage())
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=3000)
    focused = _focus_pixels(widget.grab().toImage())
    assert unfocused == 0
    assert focused >= widget.height()  # a frame down both sides, not a dotted hint


def test_goods_columns_fit_in_the_window_as_it_opens(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    """The demo store's application in the detail pane of a 1400 px window: every goods
    column is in view and the description is not elided."""
    window.resize(1400, 860)
    window._size_panes()
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        window.table.selectRow(0)
    window.detail.tabs.setCurrentIndex(1)
    table = window.detail.tabs.widget(1)
    assert isinstance(table, QTableView)
    qtbot.waitUntil(table.isVisible, timeout=3000)
    header = table.horizontalHeader()
    assert table.model().rowCount() >= 1
    assert sum(header.sectionSize(c) for c in range(header.count())) <= table.viewport().width()
    description = table.model().index(0, 3).data()
    lines = table.rowHeight(0) // table.fontMetrics().height()
    width = table.fontMetrics().horizontalAdvance(description)
    assert lines * header.sectionSize(3) >= width  # room for the whole text, wrapped
