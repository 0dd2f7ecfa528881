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
    from app.views.sync_ui import RejectedActionsDialog, install_sync_ui

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
    service._refresh_counts()
    controls.show_status()
    assert "1 not applied" in controls.indicator.text()
    dialog = RejectedActionsDialog(service, window)
    qtbot.addWidget(dialog)
    assert dialog.table.item(0, 3).text() == "Already claimed by Ravi Kumar."
    dialog.mark_read.click()
    assert service.rejected() == [] and len(service.rejected(include_acknowledged=True)) == 1

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
