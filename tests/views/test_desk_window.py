"""The officer's window, driven as an officer would, with the store checked afterwards."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from sqlalchemy import Engine, select

from app.config import load_config
from app.models import Application, AuditEvent, User
from app.models.workflow import Action
from app.services.desk import Desk
from app.services.queue_rows import Col, StatusFilter
from app.views.main_window import DeskWindow
from app.views.tasks import wait_for_tasks
from app.views.text_prompt import TextPrompt

ANITA = "anita.deshpande@igcc.org.in"  # mapped to MUM only


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
    qtbot.wait(10)  # deliver the last results while the window still exists


def _select(qtbot, window: DeskWindow, row: int = 0) -> int:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        window.table.selectRow(row)
    return window.detail.detail.id  # type: ignore[union-attr]


def _app(engine: Engine, app_id: int) -> Application:
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        return s.get(Application, app_id)  # type: ignore[return-value]


def test_queue_shows_only_my_offices_and_status_bar(window: DeskWindow) -> None:
    offices = {window.model.row_at(i)[Col.OFFICE] for i in range(window.model.rowCount())}
    assert offices == {"MUM"}
    assert "Anita Deshpande" in window.user_label.text()
    assert "embedded demo" in window.store_label.text()
    assert "MUM" in window.office_label.text()
    # the officer starts on the waiting tab
    assert window.status_tabs.currentIndex() == StatusFilter.WAITING
    statuses = {window.model.row_at(i)[Col.STATUS] for i in range(window.model.rowCount())}
    assert statuses <= {"submitted", "resubmitted"}


def test_search_filters_by_iec_and_hs_code(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    total = window.model.rowCount()
    iec = window.model.row_at(5)[Col.IEC]
    qtbot.keyClicks(window.search, iec.lower())
    qtbot.waitUntil(lambda: window.model.rowCount() < total, timeout=3000)
    rows = [window.model.row_at(i) for i in range(window.model.rowCount())]
    assert rows and all(r[Col.IEC] == iec for r in rows)
    window.search.clear()
    qtbot.keyClicks(window.search, "100630")  # basmati rice
    qtbot.waitUntil(lambda: window.model.rowCount() != len(rows), timeout=3000)
    assert all("100630" in window.model.row_at(i)[Col.HS_CODES] for i in range(window.model.rowCount()))
    assert "of" in window.count_label.text()


def test_sorting_every_column(window: DeskWindow) -> None:
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    for column in range(window.model.columnCount()):
        window.table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
        first = window.model.data(window.model.index(0, column))
        window.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        last = window.model.data(window.model.index(0, column))
        assert first is not None and last is not None
    window.table.sortByColumn(Col.EXPORTER, Qt.SortOrder.AscendingOrder)
    names = [window.model.row_at(i)[Col.EXPORTER].lower() for i in range(window.model.rowCount())]
    assert names == sorted(names)


def test_claim_and_approve_reaches_the_store(qtbot, window: DeskWindow, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    app_id = _select(qtbot, window, 0)
    assert window.buttons["claim"].isEnabled() and not window.buttons["approve"].isEnabled()
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        qtbot.keyClick(window.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.buttons["approve"].isEnabled(), timeout=5000)
    stored = _app(demo_engine, app_id)
    assert stored.status == "under_scrutiny"
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        window.buttons["approve"].click()
    stored = _app(demo_engine, app_id)
    assert stored.status == "approved"
    from sqlalchemy.orm import Session

    with Session(demo_engine) as s:
        anita = s.scalars(select(User).where(User.email == ANITA)).one()
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == app_id).order_by(AuditEvent.id)
        ).all()
    assert [e.action for e in events[-2:]] == ["application.claim", "application.approve"]
    assert all(e.actor_id == anita.id for e in events[-2:])
    qtbot.waitUntil(lambda: window.detail.title.text().endswith("approved"), timeout=5000)
    assert not window.buttons["approve"].isEnabled()


def test_return_for_clarification_carries_the_query(qtbot, window: DeskWindow, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    app_id = _select(qtbot, window, 1)
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        window.buttons[Action.CLAIM].click()
    qtbot.waitUntil(lambda: window.buttons["return"].isEnabled(), timeout=5000)
    window.ask_text = lambda title, prompt, label: "Please attach the packing list."
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        window.buttons["return"].click()
    stored = _app(demo_engine, app_id)
    assert stored.status == "returned" and stored.query_text == "Please attach the packing list."


def test_cancelling_the_prompt_changes_nothing(qtbot, window: DeskWindow, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    window.status_tabs.setCurrentIndex(StatusFilter.UNDER_SCRUTINY)
    mine = [i for i in range(window.model.rowCount())
            if window.model.row_at(i)[Col.CLAIMED_BY] == "Anita Deshpande"]
    app_id = _select(qtbot, window, mine[0])
    window.ask_text = lambda title, prompt, label: None
    window.buttons["reject"].click()
    assert _app(demo_engine, app_id).status == "under_scrutiny"


def test_forbidden_action_shows_its_message_and_changes_nothing(qtbot, window: DeskWindow, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    window.status_tabs.setCurrentIndex(StatusFilter.UNDER_SCRUTINY)
    others = [i for i in range(window.model.rowCount())
              if window.model.row_at(i)[Col.CLAIMED_BY] not in ("", "Anita Deshpande")]
    assert others, "the demo has applications claimed by Anita's colleague"
    app_id = _select(qtbot, window, others[0])
    before = _app(demo_engine, app_id)
    assert not window.buttons["approve"].isEnabled()
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        window.take_action(Action.APPROVE)  # e.g. a shortcut pressed while the button was stale
    assert window.message.isVisible()
    assert "claimed by" in window.message.text() and "only the claim holder" in window.message.text()
    after = _app(demo_engine, app_id)
    assert (after.status, after.claimed_by_id, after.version) == (before.status, before.claimed_by_id, before.version)


def test_next_and_previous_shortcuts(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    first = _select(qtbot, window, 0)
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        qtbot.keyClick(window.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.detail.detail.id != first
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        qtbot.keyClick(window.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert window.detail.detail.id == first


def test_detail_panel_shows_goods_cost_sheet_documents_history(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    prefs = [i for i in range(window.model.rowCount()) if window.model.row_at(i)[Col.KIND] == "preferential"]
    _select(qtbot, window, prefs[0])
    detail = window.detail
    assert detail.goods_model.rowCount() >= 1
    assert "Regional value content" in detail.cost_sheet.toPlainText()
    assert detail.documents_model.rowCount() >= 3
    assert detail.history_model.rowCount() >= 1
    assert "IEC" in detail.fields.toPlainText()


def test_text_prompt_needs_text(qtbot) -> None:  # type: ignore[no-untyped-def]
    prompt = TextPrompt("Reject", "Why?", "Reject")
    qtbot.addWidget(prompt)
    assert not prompt.ok.isEnabled()
    qtbot.keyClicks(prompt.editor, "   ")
    assert not prompt.ok.isEnabled()
    qtbot.keyClicks(prompt.editor, "Duplicate")
    assert prompt.ok.isEnabled() and prompt.text().strip() == "Duplicate"


def test_preview_shows_the_draft_certificate_pdf(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtPdf import QPdfDocument

    _select(qtbot, window, 0)
    number = window.detail.detail.number  # type: ignore[union-attr]
    preview = window.detail.preview
    with qtbot.waitSignal(window.preview_loaded, timeout=20_000):
        window.detail.tabs.setCurrentWidget(preview)
    qtbot.waitUntil(lambda: preview.document.status() == QPdfDocument.Status.Ready, timeout=10_000)
    assert preview.document.pageCount() >= 1
    assert "DRAFT" in preview.status.text() and number in preview.status.text()
    text = preview.document.getAllText(0).text()
    assert number in text  # a draft carries the application number on every page
    preview.step_zoom(1)
    assert preview.view.zoomFactor() > 1.0
    # moving to the next application re-renders while the preview tab stays open
    with qtbot.waitSignal(window.preview_loaded, timeout=20_000):
        window.move_selection(1)
    qtbot.waitUntil(lambda: window.detail.detail.number in preview.status.text(), timeout=10_000)  # type: ignore[union-attr]


def test_kind_filter_combines_with_status_and_search(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    everything = window.model.rowCount()
    window.kind_combo.setCurrentIndex(window.kind_combo.findData("back_to_back"))
    kinds = {window.model.row_at(i)[Col.KIND] for i in range(window.model.rowCount())}
    assert kinds == {"back_to_back"} and window.model.rowCount() < everything
    assert f"All ({window.model.rowCount():,})" == window.status_tabs.tabText(StatusFilter.ALL)
    window.kind_combo.setCurrentIndex(0)
    assert window.model.rowCount() == everything


def test_next_with_nothing_selected_starts_at_the_top(qtbot, window: DeskWindow) -> None:  # type: ignore[no-untyped-def]
    assert window.selected_row() is None
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        window.move_selection(1)
    assert window.detail.detail.id == window.model.row_at(0)[Col.ID]  # type: ignore[union-attr]


def test_preview_can_be_saved_and_drafts_carry_no_stamp(qtbot, window: DeskWindow, tmp_path, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from PySide6.QtPdf import QPdfDocument
    from sqlalchemy import update

    from app.documents.samples import sample_signature_png, sample_stamp_png
    from app.models import Office

    with demo_engine.begin() as connection:  # the office has a stamp, the officers signatures
        connection.execute(update(Office).values(stamp_png=sample_stamp_png()))
        connection.execute(update(User).values(signature_png=sample_signature_png()))
    _select(qtbot, window, 0)
    preview = window.detail.preview
    with qtbot.waitSignal(window.preview_loaded, timeout=20_000):
        window.detail.tabs.setCurrentWidget(preview)
    qtbot.waitUntil(lambda: preview.document.status() == QPdfDocument.Status.Ready, timeout=10_000)
    assert preview.save.isEnabled()
    target = tmp_path / "draft.pdf"
    preview.save_to(target)
    assert target.read_bytes().startswith(b"%PDF")
    images = subprocess.run(["pdfimages", "-list", str(target)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert images == []  # neither the office stamp nor the officer's signature on a draft


def test_sign_in_lists_active_users_officers_first(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.views.sign_in import SignInDialog

    desk = Desk(demo_engine, load_config())
    dialog = SignInDialog(desk.users(), desk.store_label)
    qtbot.addWidget(dialog)
    emails = [dialog.combo.itemData(i) for i in range(dialog.combo.count())]
    assert "tarun.bose@igcc.org.in" not in emails  # pending registration: cannot sign in
    assert emails[-1] == "admin@igcc.org.in" and len(emails) == 7
    assert dialog.chosen_email() == emails[0] != "admin@igcc.org.in"


def test_sign_in_reads_the_users_and_signs_in_on_workers(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    from app.views.sign_in import SignInDialog, SignInFlow

    desk = Desk(demo_engine, load_config())
    parent = QWidget()
    qtbot.addWidget(parent)
    flow = SignInFlow(desk, parent)
    with qtbot.waitSignal(flow.dialog_shown, timeout=10_000) as shown:
        flow.start()
    dialog = shown.args[0]
    assert isinstance(dialog, SignInDialog) and dialog.isVisible()
    assert "embedded demo" in dialog.findChild(QLabel).text()
    dialog.combo.setCurrentIndex(dialog.combo.findData(ANITA))
    with qtbot.waitSignal(flow.signed_in, timeout=10_000) as signed:
        dialog.accept()
    assert signed.args[0].email == ANITA and desk.user is not None
    assert desk.user.office_codes == ("MUM",)


def test_sign_in_cancelled_or_refused(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    from app.views.sign_in import SignInFlow

    desk = Desk(demo_engine, load_config())
    parent = QWidget()
    qtbot.addWidget(parent)
    flow = SignInFlow(desk, parent)
    with qtbot.waitSignal(flow.dialog_shown, timeout=10_000) as shown:
        flow.start()
    with qtbot.waitSignal(flow.cancelled, timeout=10_000):
        shown.args[0].reject()
    assert desk.user is None
    with qtbot.waitSignal(flow.failed, timeout=10_000) as failed:
        flow.sign_in("tarun.bose@igcc.org.in")  # a pending registration
    assert "cannot sign in" in str(failed.args[0]) and desk.user is None


def test_status_bar_shows_the_store_read_on_a_worker(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    assert window.office_combo.count() == 0  # not read on the GUI thread: on its way
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.reload_queue()  # waits for the offices, then loads
    assert window.office_combo.currentText().startswith("MUM")
    assert "embedded demo" in window.store_label.text()
    assert window.model.rowCount() > 0
