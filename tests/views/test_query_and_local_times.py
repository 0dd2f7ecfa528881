"""The rough edges of issue 13 part 6 that the officer reads: the open query of a returned
application (and the exporter's answer) at the top of the Application tab, a returned
application waiting on the exporter (not overdue), and times in India with the zone."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine, select

from app.config import load_config
from app.models import Application, AuditEvent, Office, User
from app.services.desk import Desk
from app.services.queue_rows import Col, local_time

ANITA = "anita.deshpande@igcc.org.in"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def _desk(engine: Engine) -> Desk:
    desk = Desk(engine, load_config())
    desk.sign_in(ANITA)
    return desk


def _first(engine: Engine, status: str) -> Application:
    from app.store.central import session_factory

    with session_factory(engine)() as s:
        app = s.scalars(select(Application).join(Office).where(
            Office.code == "MUM", Application.status == status).order_by(Application.id)).first()
        assert app is not None
        s.expunge(app)
        return app


def _event(engine: Engine, app_id: int, action: str) -> tuple[dt.datetime, str]:
    from app.store.central import session_factory

    with session_factory(engine)() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.entity_id == app_id, AuditEvent.entity_type == "application",
            AuditEvent.action == f"application.{action}").order_by(AuditEvent.id.desc())).first()
        assert event is not None
        name = s.get(User, event.actor_id).full_name if event.actor_id else event.actor_label
        return event.at, name


def _ist(at: dt.datetime) -> str:
    """The expected text, computed apart from the code under test: UTC + 5:30."""
    utc = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
    return utc.astimezone(IST).strftime("%d %b %Y %H:%M") + " IST"


def test_a_known_utc_time_reads_in_india_with_the_zone() -> None:
    at = dt.datetime(2026, 11, 30, 5, 35, 7, tzinfo=dt.UTC)
    assert local_time(at) == "30 Nov 2026 11:05 IST"
    assert local_time(at, seconds=True) == "30 Nov 2026 11:05:07 IST"
    assert local_time("2026-11-30 18:40:00") == "01 Dec 2026 00:10 IST"  # SQLite's naive UTC
    assert local_time(None) == ""


def test_the_admin_audit_log_shows_india_time_with_the_zone() -> None:
    from app.views.admin_audit import COLUMNS

    [(header, when)] = [c for c in COLUMNS if c[0] == "When"]
    row = SimpleNamespace(at=dt.datetime(2026, 11, 30, 5, 35, 7, tzinfo=dt.UTC))
    assert when(row) == "30 Nov 2026 11:05:07 IST"


def test_history_is_shown_in_india_time_with_the_zone(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.views.detail_panel import DetailPanel

    app = _first(demo_engine, "resubmitted")
    detail = _desk(demo_engine).detail(app.id)
    panel = DetailPanel()
    qtbot.addWidget(panel)
    panel.show_detail(detail)
    model = panel.history_model
    assert model.rowCount() == len(detail.history) >= 3
    for row, entry in enumerate(detail.history):
        assert model.data(model.index(row, 0)) == _ist(entry.at)


def _fields(qtbot, detail):  # type: ignore[no-untyped-def]
    from app.views.detail_panel import DetailPanel

    panel = DetailPanel()
    qtbot.addWidget(panel)
    panel.show_detail(detail)
    return panel.fields.toPlainText()


def test_a_returned_application_shows_its_open_query_first(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    app = _first(demo_engine, "returned")
    asked_at, asked_by = _event(demo_engine, app.id, "return")
    detail = _desk(demo_engine).detail(app.id)
    title, rows = detail.sections[0]
    assert title == "Open query to the exporter"
    fields = dict(rows)
    assert fields["Query"] == app.query_text
    assert fields["Asked by"] == asked_by
    assert fields["Asked on"] == _ist(asked_at)
    assert fields["Exporter's reply"].startswith("None yet")
    application = dict(detail.sections[1][1])
    assert "Waiting since" not in application
    assert application["Returned to the exporter on"] == (
        f"{_ist(asked_at)} — waiting on the exporter")
    text = _fields(qtbot, detail)
    assert text.index("Open query to the exporter") < text.index("Number")
    assert app.query_text in text
    assert "Query to exporter" not in text  # not again under Decision
    # an application never returned has no query section; it waits on the office
    plain = _desk(demo_engine).detail(_first(demo_engine, "submitted").id)
    assert plain.sections[0][0] == "Application"
    assert "Waiting since" in dict(plain.sections[0][1])


def test_a_resubmitted_application_shows_the_query_and_the_answer(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    app = _first(demo_engine, "resubmitted")
    asked_at, asked_by = _event(demo_engine, app.id, "return")
    answered_at, _who = _event(demo_engine, app.id, "resubmit")
    detail = _desk(demo_engine).detail(app.id)
    title, rows = detail.sections[0]
    assert title == "Query to the exporter — answered"
    fields = dict(rows)
    assert fields["Query"] == app.query_text
    assert fields["Asked by"] == asked_by
    assert fields["Exporter's reply"].startswith(
        f"Resubmitted the corrected application on {_ist(answered_at)}")
    assert "Waiting since" in dict(detail.sections[1][1])  # back with the office
    text = _fields(qtbot, detail)
    assert text.index("Query to the exporter — answered") < text.index("Number")


@pytest.mark.parametrize("limit", [0, 10**7])  # every waiting row over it; none
def test_returned_rows_wait_on_the_exporter_and_are_never_overdue(qtbot, demo_engine: Engine,  # type: ignore[no-untyped-def]
                                                                  limit: int) -> None:
    from app.views.queue_model import OfficeQueueModel

    rows = _desk(demo_engine).queue(None)
    model = OfficeQueueModel(waiting_limit_hours=limit)
    model.set_rows(rows)
    returned = [i for i in range(model.rowCount()) if model.row_at(i)[Col.STATUS] == "returned"]
    waiting = [i for i in range(model.rowCount()) if model.row_at(i)[Col.STATUS] == "submitted"]
    assert returned and waiting
    for i in returned:
        index = model.index(i, Col.WAITING_SINCE)
        assert model.data(index) == "exporter"
        assert "waiting on the exporter" in model.data(index, Qt.ItemDataRole.ToolTipRole)
        assert model.data(index, Qt.ItemDataRole.BackgroundRole) is None  # not overdue
        assert model.data(model.index(i, Col.NUMBER), Qt.ItemDataRole.BackgroundRole) is None
    # the office's own waiting rows still count (limit 0: every one is over it), in IST
    index = model.index(waiting[0], Col.WAITING_SINCE)
    assert (model.data(index, Qt.ItemDataRole.BackgroundRole) is not None) == (limit == 0)
    tip = model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Waiting since ") and " IST" in tip
