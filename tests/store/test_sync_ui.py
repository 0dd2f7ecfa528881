"""The sync controls in the desk window, against the embedded SQLite central store."""

from __future__ import annotations

from pathlib import Path

from app.config import load_config
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.link import SqlCentralLink
from app.store.local import LocalStore
from app.store.operations import REJECTED, OperationResult


def test_sync_now_shows_online_and_the_not_applied_list(qtbot, demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.views.main_window import DeskWindow
    from app.views.sync_ui import install_sync_ui

    local = LocalStore(tmp_path / "local.sqlite")
    service = SyncService(local, SqlCentralLink(demo_engine))
    desk = LocalDesk(local, load_config(), service)
    desk.sign_in("anita.deshpande@igcc.org.in")
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    install_sync_ui(window, desk)
    controls = window.sync_controls  # type: ignore[attr-defined]
    assert "Online" in controls.indicator.text()
    with qtbot.waitSignal(window.queue_loaded, timeout=20000):
        window.reload_queue()
    assert window.model.total > 0  # the queue comes from the local copy

    # a refused action: listed with its reason, kept after "Mark as read"
    app_id = window.model.row_at(0)[12]
    with local.engine.begin() as connection:
        _row, op_id = LocalStore.enqueue(connection, user_id=desk.user.id, application_id=app_id,
                                         application_number="APP-X", action="claim", text=None,
                                         expected_version=1)
    entry = local.pending()[0]
    local.record_results([OperationResult(op_id, REJECTED, "Already claimed by Ravi Kumar.")],
                         [entry])
    controls.refresh_counts()  # counted on a worker
    qtbot.waitUntil(lambda: "1 not applied" in controls.indicator.text(), timeout=10000)
    assert controls.rejected_action.isEnabled()
    dialog = controls.show_rejected()
    qtbot.addWidget(dialog)
    qtbot.waitSignal(dialog.loaded, timeout=10000).wait()  # read on a worker
    assert dialog.table.item(0, 3).text() == "Already claimed by Ravi Kumar."
    with qtbot.waitSignal(dialog.acknowledged, timeout=10000):
        dialog.mark_read.click()
    assert service.rejected() == [] and len(service.rejected(include_acknowledged=True)) == 1
    qtbot.waitUntil(lambda: "not applied" not in controls.indicator.text(), timeout=10000)

    controls.sync(manual=True)
    qtbot.waitUntil(lambda: not controls.running, timeout=20000)
    assert controls.last_report is not None and controls.last_report.online
    assert "Online" in controls.indicator.text()


def test_offline_decisions_are_marked_pending_in_the_queue(qtbot, demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from app.models.enums import Action
    from app.services.queue_rows import Col
    from app.views.main_window import DeskWindow

    local = LocalStore(tmp_path / "local.sqlite")
    online = LocalDesk(local, load_config(), SyncService(local, SqlCentralLink(demo_engine)))
    online.sign_in("anita.deshpande@igcc.org.in")
    online.sync.sync_now()  # the local copy of Anita's office
    desk = LocalDesk(local, load_config(), SyncService(local, None))  # now the line is down
    desk.sign_in("anita.deshpande@igcc.org.in")
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.queue_loaded, timeout=20000):
        window.reload_queue()
    assert window.model.rowCount() > 0  # still readable offline
    with qtbot.waitSignal(window.detail_loaded, timeout=20000):
        window.table.selectRow(0)
    app_id = window.detail.detail.id
    with qtbot.waitSignal(window.action_finished, timeout=20000):
        window.take_action(Action.CLAIM)
    row = window.model.row_of(app_id)
    status = window.model.data(window.model.index(row, Col.STATUS))
    tip = window.model.data(window.model.index(row, Col.STATUS), Qt.ItemDataRole.ToolTipRole)
    assert status == "under scrutiny ⟳" and "Pending sync" in tip
    assert desk.pending_application_ids() == {app_id}


def _offline_desk(demo_engine, tmp_path: Path, *, started_offline: bool) -> LocalDesk:  # type: ignore[no-untyped-def]
    """Anita's synced desk, set to work offline: from its settings (no connection at all)
    or by the switch after starting online."""
    import dataclasses

    local = LocalStore(tmp_path / "local.sqlite")
    online = LocalDesk(local, load_config(), SyncService(local, SqlCentralLink(demo_engine)))
    online.sign_in("anita.deshpande@igcc.org.in")  # fills the local copy
    if not started_offline:
        return online
    config = dataclasses.replace(load_config(), offline=True)
    desk = LocalDesk(local, config, SyncService(local, None))
    desk.sign_in("anita.deshpande@igcc.org.in")
    return desk


def test_sync_now_while_set_offline_says_offline(qtbot, demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.views.main_window import DeskWindow
    from app.views.sync_ui import install_sync_ui

    desk = _offline_desk(demo_engine, tmp_path, started_offline=True)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    install_sync_ui(window, desk)
    controls = window.sync_controls  # type: ignore[attr-defined]
    assert controls.offline_action.isChecked()
    assert "Working offline" in controls.indicator.text()
    controls.sync_action.trigger()  # F9
    text = window.message.text()
    assert window.message.isVisible() and "set to work offline" in text
    assert "no central store is configured" not in text.lower()
    assert not controls.running and controls.last_report is None  # nothing was tried
    # switching back on needs a connection this desk never made: said so, switch stays on
    controls.offline_action.trigger()
    assert controls.offline_action.isChecked()
    assert "start Origin Desk again" in window.message.text()


def test_work_offline_switch_stops_and_resumes_sync(qtbot, demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.views.main_window import DeskWindow
    from app.views.sync_ui import install_sync_ui

    desk = _offline_desk(demo_engine, tmp_path, started_offline=False)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    install_sync_ui(window, desk)
    controls = window.sync_controls  # type: ignore[attr-defined]
    assert not controls.offline_action.isChecked()
    controls.offline_action.trigger()  # the officer switches to offline
    assert desk.config.offline and "Working offline" in controls.indicator.text()
    qtbot.waitUntil(lambda: "offline" in window.store_label.text(), timeout=10000)
    controls.sync_action.trigger()  # F9
    assert "set to work offline" in window.message.text() and not controls.running
    controls.offline_action.trigger()  # back online: syncs at once
    assert not desk.config.offline
    qtbot.waitUntil(lambda: controls.last_report is not None and not controls.running,
                    timeout=20000)
    assert controls.last_report.online and "Online" in controls.indicator.text()


def test_embedded_demo_says_its_store_is_always_local(qtbot, demo_engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.desk import Desk
    from app.views.main_window import DeskWindow
    from app.views.sync_ui import EmbeddedStoreControls, install_sync_ui

    desk = Desk(demo_engine, load_config())
    desk.sign_in("anita.deshpande@igcc.org.in")
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    install_sync_ui(window, desk)
    controls = window.sync_controls  # type: ignore[attr-defined]
    assert isinstance(controls, EmbeddedStoreControls)
    controls.offline_action.trigger()  # the offline switch
    assert not controls.offline_action.isChecked()
    assert "embedded demo store, which is always local" in window.message.text()
    window.hide_message()
    controls.sync_action.trigger()  # F9
    assert "always local" in window.message.text()
    assert "no central store is configured" not in window.message.text().lower()
