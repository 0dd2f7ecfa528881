"""Issuing another officer's approval is confirmed first, naming whose approval it was
(from the application.approve audit event); cancelled, nothing is issued and no PIN asked.
One's own approvals are issued without the question (pytest-qt, the embedded demo)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import func, select

from app.models import Application, AuditEvent, Certificate, User
from app.models.enums import ApplicationStatus
from app.signing.batch import BatchStatus
from app.store.central import session_factory
from tests.issuing.conftest import OFFICER_EMAIL, PIN

WAIT = 60_000


def _approved_by(engine, officer_id: int, mine: bool, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """n approved non-preferential applications of the officer's offices whose approval
    event is (mine) or is not (not mine) the officer's."""
    with session_factory(engine)() as s:
        offices = [o.id for o in s.get(User, officer_id).offices]
        approver = (select(AuditEvent.actor_id)
                    .where(AuditEvent.entity_type == "application",
                           AuditEvent.entity_id == Application.id,
                           AuditEvent.action == "application.approve")
                    .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1)
                    .scalar_subquery())
        ids = list(s.scalars(select(Application.id).where(
            Application.status == ApplicationStatus.APPROVED,
            Application.kind == "non_preferential", Application.office_id.in_(offices),
            (approver == officer_id) if mine else (approver != officer_id),
        ).order_by(Application.id).limit(n)))
    assert len(ids) == n
    return ids


def _approver(engine, app_id: int) -> str:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        actor = s.scalars(select(AuditEvent.actor_id).where(
            AuditEvent.entity_id == app_id, AuditEvent.action == "application.approve")).one()
        return s.get(User, actor).full_name


def _window(qtbot, demo_engine, config, app_ids: list[int]):  # type: ignore[no-untyped-def]
    from app.services.desk import Desk
    from app.services.queue_rows import StatusFilter
    from app.views.main_window import DeskWindow

    desk = Desk(demo_engine, config)
    desk.sign_in(OFFICER_EMAIL)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=WAIT):
        window.reload_queue()
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    selection = window.table.selectionModel()
    selection.clearSelection()
    for app_id in app_ids:
        row = window.model.row_of(app_id)
        assert row >= 0
        selection.select(window.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    return window


def _statuses(engine, ids: list[int]) -> set[str]:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return {str(s.get(Application, i).status) for i in ids}


def _certificates(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(Certificate)) or 0


def _answer(button: str, asked: list[Any]):  # type: ignore[no-untyped-def]
    def answer(box: QMessageBox) -> None:
        asked.append((box.text(), box.informativeText()))
        target = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        QTimer.singleShot(0, target.click)

    return answer


def test_cancelling_the_confirmation_issues_nothing_and_asks_no_pin(  # type: ignore[no-untyped-def]
        qtbot, rsa_token, demo_engine, config, officer_id) -> None:
    from app.views.issue_actions import issue_selected
    from app.views.tasks import wait_for_tasks

    others = _approved_by(demo_engine, officer_id, mine=False, n=2)
    [own] = _approved_by(demo_engine, officer_id, mine=True, n=1)
    names = {_approver(demo_engine, i) for i in others}
    assert "Anita Deshpande" not in names
    ids = [own, *others]
    window = _window(qtbot, demo_engine, config, ids)
    before = _certificates(demo_engine)
    dialog = issue_selected(window)
    qtbot.addWidget(dialog)
    asked: list[Any] = []
    pins: list[Any] = []
    dialog.confirm.dialog_shown.connect(_answer("Cancel", asked))
    dialog.prompter.dialog_shown.connect(pins.append)
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT) as finished:
        pass
    assert pins == []  # the PIN prompt was never opened
    [(question, listing)] = asked
    assert question.startswith("2 of the selected applications were approved by another officer")
    with session_factory(demo_engine)() as s:
        numbers = {i: s.get(Application, i).number for i in ids}
    for app_id in others:  # each named with its approver
        assert numbers[app_id] + " was approved by " + _approver(demo_engine, app_id) in listing
    assert numbers[own] not in listing  # one's own approval is not in the question
    assert " IST." in listing
    assert "Cancelled: nothing was issued" in str(finished.args[0])
    assert "Nothing was issued" in dialog.status.text()
    assert _statuses(demo_engine, ids) == {"approved"}
    assert _certificates(demo_engine) == before
    wait_for_tasks()
    qtbot.wait(20)


def test_one_other_approval_is_named_and_issued_once_confirmed(  # type: ignore[no-untyped-def]
        qtbot, rsa_token, demo_engine, config, officer_id) -> None:
    from app.views.issue_actions import issue_selected
    from app.views.tasks import wait_for_tasks

    [other] = _approved_by(demo_engine, officer_id, mine=False, n=1)
    window = _window(qtbot, demo_engine, config, [other])
    dialog = issue_selected(window)
    qtbot.addWidget(dialog)
    asked: list[Any] = []
    dialog.confirm.dialog_shown.connect(_answer("Issue under my signature", asked))

    def type_pin(pin_dialog):  # type: ignore[no-untyped-def]
        def answer() -> None:
            pin_dialog.field.setText(PIN)
            pin_dialog.accept()

        QTimer.singleShot(0, answer)

    dialog.prompter.dialog_shown.connect(type_pin)
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT) as finished:
        pass
    [(question, _listing)] = asked
    with session_factory(demo_engine)() as s:
        number = s.get(Application, other).number
    assert question.startswith(f"{number} was approved by {_approver(demo_engine, other)} on ")
    assert question.endswith(" IST; issue it under your signature?")
    assert finished.args[0].status is BatchStatus.COMPLETED
    assert _statuses(demo_engine, [other]) == {"issued"}
    wait_for_tasks()
    qtbot.wait(20)


def test_own_approvals_are_issued_without_the_question(  # type: ignore[no-untyped-def]
        qtbot, rsa_token, demo_engine, config, officer_id) -> None:
    from app.views.issue_actions import issue_selected
    from app.views.tasks import wait_for_tasks

    [own] = _approved_by(demo_engine, officer_id, mine=True, n=1)
    window = _window(qtbot, demo_engine, config, [own])
    dialog = issue_selected(window)
    qtbot.addWidget(dialog)
    asked: list[Any] = []
    dialog.confirm.dialog_shown.connect(asked.append)

    def type_pin(pin_dialog):  # type: ignore[no-untyped-def]
        def answer() -> None:
            pin_dialog.field.setText(PIN)
            pin_dialog.accept()

        QTimer.singleShot(0, answer)

    dialog.prompter.dialog_shown.connect(type_pin)
    with qtbot.waitSignal(dialog.finished_batch, timeout=WAIT) as finished:
        pass
    assert asked == []
    assert finished.args[0].status is BatchStatus.COMPLETED
    assert _statuses(demo_engine, [own]) == {"issued"}
    wait_for_tasks()
    qtbot.wait(20)


def test_the_desk_names_other_officers_approvals(demo_engine, config, officer_id) -> None:  # type: ignore[no-untyped-def]
    from app.services.desk import Desk

    others = _approved_by(demo_engine, officer_id, mine=False, n=2)
    [own] = _approved_by(demo_engine, officer_id, mine=True, n=1)
    desk = Desk(demo_engine, config)
    desk.sign_in(OFFICER_EMAIL)
    found = desk.approvals_by_others([own, *others])
    assert [a.application_id for a in found] == others
    assert all(a.approver == _approver(demo_engine, a.application_id) for a in found)
