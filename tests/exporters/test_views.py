"""The exporter window and the detail panel's in-lieu difference and invoice warning, driven
as an officer would (pytest-qt, offscreen), on the embedded demo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction
from sqlalchemy import Engine

from app.config import load_config
from app.models import ApplicationStatus
from app.services.desk import Desk
from app.services.queue_rows import StatusFilter
from app.views.exporter_view import ExporterView
from app.views.main_window import DeskWindow
from app.views.tasks import wait_for_tasks
from tests.exporters.support import duplicate_invoice_scene
from tests.in_lieu.support import NEW_CONSIGNEE, make_in_lieu

ANITA = "anita.deshpande@igcc.org.in"  # MUM


@pytest.fixture
def desk(demo_engine: Engine) -> Desk:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    return desk


@pytest.fixture
def window(qtbot, desk: Desk):  # type: ignore[no-untyped-def]
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.reload_queue()
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    yield window
    wait_for_tasks()
    qtbot.wait(10)


def _open(qtbot, window: DeskWindow, app_id: int) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        assert window.select_application(app_id)


def test_the_exporter_window_finds_an_exporter_and_lists_everything(qtbot, desk, demo_engine) -> None:  # type: ignore[no-untyped-def]
    scene = duplicate_invoice_scene(demo_engine)
    view = ExporterView(desk)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=10_000):  # one hit: shown at once
        qtbot.keyClicks(view.search, scene.iec)
    assert view.results.count() == 1
    assert view.overview is not None and view.overview.id == scene.exporter_id
    assert scene.iec in view.windowTitle() and scene.name in view.windowTitle()
    applicants = [view.applicants_model.rows[i] for i in range(view.applicants_model.rowCount())]
    assert any(r[1] == scene.idle_email and r[3] == "no applications here" for r in applicants)
    rows = view.applications_model.rows
    numbers = {desk.detail(a).number for a in (scene.first, scene.second, scene.third)}
    flagged = {rows[i][0] for i in view.applications_model.alert_rows}
    assert numbers <= flagged
    for i, row in enumerate(rows):
        assert (i in view.applications_model.alert_rows) == bool(row[9])
        assert row[4] == "MUM"  # Anita's office only
    assert scene.invoice.casefold() in view.details.toPlainText().casefold()
    red = min(view.applications_model.alert_rows)
    assert view.applications_model.index(red, 0).data(Qt.ItemDataRole.ForegroundRole) \
        is not None
    # by name, any case: several hits until one is chosen
    with qtbot.waitSignal(view.searched, timeout=10_000):
        view.search.clear()
        qtbot.keyClicks(view.search, scene.name.split()[0].lower())
    assert any(h.id == scene.exporter_id for h in view.hits)
    wait_for_tasks()


def test_the_detail_panel_warns_both_ways_and_opens_the_exporter(qtbot, window, demo_engine) -> None:  # type: ignore[no-untyped-def]
    scene = duplicate_invoice_scene(demo_engine)
    _open(qtbot, window, scene.first)
    text = window.detail.fields.toPlainText()
    second = window.desk.detail(scene.second).number
    assert "Invoice number also on live applications" in text and second in text
    _open(qtbot, window, scene.second)
    first = window.desk.detail(scene.first).number
    assert first in window.detail.fields.toPlainText()
    assert not window.detail.tabs.isTabVisible(window.detail.tabs.indexOf(window.detail.in_lieu))
    # the exporter link opens the exporter window on this exporter
    with qtbot.waitSignal(window.detail.exporter_requested, timeout=5_000):
        window.detail.fields.anchorClicked.emit(QUrl(f"exporter:{scene.exporter_id}"))
    view = window.exporter_view
    qtbot.waitUntil(lambda: view.overview is not None, timeout=10_000)
    assert view.overview.iec == scene.iec
    # a rejected application is not live: no warning on the other
    from tests.exporters.support import set_status

    set_status(demo_engine, scene.second, ApplicationStatus.REJECTED)
    set_status(demo_engine, scene.third, ApplicationStatus.REJECTED)
    _open(qtbot, window, scene.first)
    assert "Invoice number also on" not in window.detail.fields.toPlainText()
    view.close()
    wait_for_tasks()


def test_the_in_lieu_tab_shows_what_changed(qtbot, window, demo_engine) -> None:  # type: ignore[no-untyped-def]
    made = make_in_lieu(demo_engine, officer_email=ANITA)
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.reload_queue()
    _open(qtbot, window, made.application_id)
    tabs = window.detail.tabs
    index = tabs.indexOf(window.detail.in_lieu)
    assert tabs.isTabVisible(index) and tabs.tabText(index) == "In &lieu of (2 changed)"
    text = window.detail.in_lieu.toPlainText()
    assert made.original_number in text
    changed = text.split("Unchanged")[0]
    assert "Consignee" in changed and NEW_CONSIGNEE in changed
    assert f"Goods item {made.changed_item}: changed" in changed and "Quantity" in changed
    assert "Exporter" not in changed and "Invoice number" not in changed
    assert "Invoice number" in text.split("Unchanged")[1]
    _open(qtbot, window, made.original_application_id)
    assert not tabs.isTabVisible(index)


def test_the_menu_action_opens_the_exporter_window(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    [action] = [a for a in window.findChildren(QAction) if a.text() == "E&xporter…"]
    assert action.shortcut().toString() == "Ctrl+E"
    action.trigger()
    view = window.exporter_view
    assert isinstance(view, ExporterView) and view.isVisible()
    view.close()
