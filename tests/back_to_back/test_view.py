"""The detail panel shows a back-to-back application's foreign certificate balance (the
numbers the desk service prepared; the view computes nothing)."""

from __future__ import annotations

from app.config import load_config
from app.services.desk import Desk
from tests.back_to_back.conftest import COPPER_CERTIFICATE, drawing
from tests.issuing.conftest import OFFICER_EMAIL


def test_the_detail_panel_shows_the_balance_and_the_over_draw_in_red(qtbot, demo_engine) -> None:  # type: ignore[no-untyped-def]
    from app.views.detail_panel import ALERT, DetailPanel

    *_rest, (over, number, _status) = drawing(demo_engine, COPPER_CERTIFICATE)
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER_EMAIL)
    detail = desk.detail(over)  # in the test's thread: the window loads it on a worker
    panel = DetailPanel()
    qtbot.addWidget(panel)
    panel.show_detail(detail)
    shown = panel.fields.toPlainText()
    assert "Back-to-back: balance of the foreign certificate" in shown
    assert f"Foreign certificate {COPPER_CERTIFICATE} (CN)" in shown
    for cell in ("100 MTS", "40 MTS", "35 MTS", "30 MTS", "25 MTS", "5000 NOS", "3000 NOS"):
        assert cell in shown
    assert "This application draws more than the balance of the item(s) in red." in shown
    html = panel.fields.toHtml()
    assert html.count(ALERT) >= 1 and number in panel.title.text()
