"""The Cost sheet tab shows every step of each line's origin check and its verdict; the
approve action asks for an override reason when a line fails; the override is red in the
application's history and in the administrator's audit log."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from sqlalchemy import Engine

from app.config import load_config
from app.models.workflow import Action
from app.services.desk import Desk
from app.views.detail_panel import ALERT, MET, DetailPanel
from app.views.main_window import DeskWindow
from app.views.tasks import wait_for_tasks
from tests.origin.approval_support import ANITA, REASON, shape, submitted_preferential

ADMIN = "admin@igcc.org.in"


@pytest.fixture
def desk(demo_engine: Engine) -> Desk:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    return desk


def _case(demo_engine: Engine, desk: Desk, vnm: str) -> int:
    app_id = submitted_preferential(demo_engine)
    shape(demo_engine, app_id, vnm=vnm)
    desk.act(app_id, Action.CLAIM)
    return app_id


def test_the_cost_sheet_tab_shows_every_step_of_a_hand_computed_case(
        qtbot, demo_engine: Engine, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    app_id = _case(demo_engine, desk, "66000.00")
    detail = desk.detail(app_id)
    line = detail.origin_lines[0]
    assert not line.met and line.verdict == "not met"
    assert line.title.startswith("Line 1 · ") and line.title.endswith("HS 610910 · claimed RVC")
    assert line.steps == [
        ("FOB", "INR 100,000.00"),
        ("Non-originating materials (VNM)", "INR 66,000.00"),
        ("Originating materials (VOM)", "INR 0.00"),
        ("Labour", "INR 0.00"), ("Overheads", "INR 0.00"), ("Profit", "INR 0.00"),
        ("Other costs", "INR 0.00"),
        ("VOM + labour + overheads + profit + other costs", "INR 0.00"),
        ("Build-down (FOB − VNM) / FOB × 100", "34.000 %"),
        ("Build-up (VOM + labour + overheads + profit + other costs) / FOB × 100", "0.000 %"),
        ("Non-originating share VNM / FOB × 100", "66.000 %"),
        ("Change of classification at the sub-heading (6 digits)", "yes"),
        ("De minimis used / allowed", "0.000 % / none"),
        ("Rule", "CTSH + AIFTA content >= 35% of FOB (direct or indirect method)"),
        ("Method and threshold", "build-down at least 35 %, build-up at least 35 %"),
        ("Criterion claimed", "RVC"),
        ("Verdict", "not met"),
    ]
    assert line.materials == [
        ("Cotton yarn", "CN", "520512", "no", "INR 66,000.00", "yes"),
        ("Indian inputs", "IN", "520100", "yes", "INR 0.00", "—"),
    ]
    assert "NOT MET: build-down 34.000 %" in detail.origin_failing

    panel = DetailPanel()
    qtbot.addWidget(panel)
    panel.show_detail(detail)
    shown = panel.cost_sheet.toPlainText()
    for words in ("Origin check, line by line", "Build-down (FOB − VNM) / FOB × 100", "34.000 %",
                  "66.000 %", "0.000 % / none", "build-down at least 35 %", "Cotton yarn",
                  "520512", "not met", "Materials"):
        assert words in shown, words
    assert ALERT in _verdict_colours(detail) and MET not in _verdict_colours(detail)


def _verdict_colours(detail) -> str:  # type: ignore[no-untyped-def]
    from app.views.detail_panel import _origin_html

    return "".join(part for part in _origin_html(detail.origin_lines).split("<p>") if "<b style" in part)


def test_a_met_line_is_green(qtbot, demo_engine: Engine, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    app_id = _case(demo_engine, desk, "65000.00")  # exactly 35.000 %: met
    detail = desk.detail(app_id)
    assert all(line.met for line in detail.origin_lines) and not detail.origin_failing
    assert MET in _verdict_colours(detail) and ALERT not in _verdict_colours(detail)


def test_approve_asks_for_the_override_and_the_history_shows_it_in_red(
        qtbot, demo_engine: Engine, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    app_id = _case(demo_engine, desk, "66000.00")
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        window.load_detail(app_id)
    qtbot.waitUntil(lambda: window.buttons[Action.APPROVE].isEnabled(), timeout=5000)
    asked: list[tuple[str, str, str]] = []
    window.ask_text = lambda title, prompt, label: asked.append((title, prompt, label)) or None
    window.buttons[Action.APPROVE].click()  # cancelled: nothing happens
    assert len(asked) == 1 and "origin override" in asked[0][0]
    assert "line 1 (RVC): NOT MET: build-down 34.000 %" in asked[0][1]
    assert asked[0][2] == "Approve with override"
    assert desk.detail(app_id).status == "under_scrutiny"

    window.ask_text = lambda title, prompt, label: REASON
    with qtbot.waitSignal(window.action_finished, timeout=10_000):
        window.buttons[Action.APPROVE].click()
    qtbot.waitUntil(lambda: window.detail.title.text().endswith("approved"), timeout=5000)
    model = window.detail.history_model
    actions = [model.data(model.index(r, 2)) for r in range(model.rowCount())]
    row = actions.index("origin_override")
    assert model.data(model.index(row, 4)) == REASON
    red = QColor(ALERT)
    for column in range(model.columnCount()):
        assert model.data(model.index(row, column), Qt.ItemDataRole.ForegroundRole) == red
    others = [r for r in range(model.rowCount()) if r != row]
    assert all(model.data(model.index(r, 0), Qt.ItemDataRole.ForegroundRole) is None
               for r in others)
    wait_for_tasks()
    qtbot.wait(10)


def test_the_admin_audit_log_shows_the_override_in_red(
        qtbot, demo_engine: Engine, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    from app.views.admin_audit import ACTION_LABELS, AuditTab

    app_id = _case(demo_engine, desk, "66000.00")
    desk.act(app_id, Action.APPROVE, text=REASON)
    desk.sign_in(ADMIN)
    tab = AuditTab(desk.admin())
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.reload()
    model = tab.model
    labels = [model.data(model.index(r, 2)) for r in range(model.rowCount())]
    label = ACTION_LABELS["application.origin_override"]
    rows = [r for r, text in enumerate(labels) if text == label]
    assert rows
    assert model.data(model.index(rows[0], 5)) == REASON or REASON in [
        model.data(model.index(r, 5)) for r in rows]
    assert model.data(model.index(rows[0], 2), Qt.ItemDataRole.ForegroundRole) == QColor(ALERT)
    wait_for_tasks()
    qtbot.wait(10)
