"""The officer's window and the Aadhaar eSign dialog (pytest-qt), on a desk synced through
the central service: "Sign with Aadhaar eSign" shows only where the service offers eSign;
the dialog opens the consent page (``open_in_browser`` is replaced by the test, which
records the address and, as the officer's browser, follows it), shows the address with
Copy, the waiting state and the time left, and ends issued; Cancel and the timeout end
with nothing issued and the application approved."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from sqlalchemy import select

from app.models import Application, Certificate
from app.models.enums import ApplicationStatus
from app.services.esign_issuing import EsignIssuer
from app.services.queue_rows import Col, StatusFilter
from app.store.central import session_factory
from app.views.esign_dialog import EsignDialog
from app.views.issue_actions import esign_selected
from app.views.main_window import DeskWindow
from app.views.tasks import running_tasks
from tests.esign.desk_gateway import (  # noqa: F401 - fixtures
    Browser,
    EsignHub,
    esign_pki,
    esp,
    gateway,
    no_keyring,
    seal,
    seal_config,
    sealer,
    synced_desk,
    trust_esign_ca,
)
from tests.hub.conftest import demo_hub, serve  # noqa: F401 - fixtures
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    approved,
    ca,
    hsm,
    officer_id,
    trust_dir,
)
from tests.issuing.test_issue_confirmation import _answer, _approved_by
from tests.support.test_esp import ESP_NAME


class FakeRequest:
    def __init__(self, url: str) -> None:
        self.consent_url = url


@pytest.fixture
def browser_opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The addresses the desk asked the system to open (nothing opens)."""
    opened: list[str] = []

    def record(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("app.views.esign_dialog.open_in_browser", record)
    return opened


def _window(qtbot: Any, desk: Any, app_id: int | None = None) -> DeskWindow:
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=30_000):
        window.reload_queue()
    qtbot.waitUntil(lambda: running_tasks() == 0, timeout=30_000)  # the offer is known
    if app_id is not None:
        window.status_tabs.setCurrentIndex(StatusFilter.ALL)
        qtbot.waitUntil(lambda: window.model.row_of(app_id) >= 0, timeout=30_000)
        assert window.select_application(app_id)
    return window


def _status(engine: Any, app_id: int) -> str:
    with session_factory(engine)() as s:
        return str(s.get(Application, app_id).status)


def _certificates(engine: Any, app_id: int) -> int:
    with session_factory(engine)() as s:
        return len(s.scalars(select(Certificate.id).where(
            Certificate.application_id == app_id)).all())


def test_the_window_signs_with_esign_where_the_service_offers_it(
    qtbot: Any, tmp_path: Path, gateway: EsignHub, officer_id: int,  # noqa: F811
    browser_opened: list[str], esign_pki: Any,  # noqa: F811
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = _approved_by(gateway.engine, officer_id, mine=True, n=1)
    desk.sync.sync_now()
    window = _window(qtbot, desk, app_id)
    assert window.esign_button.isVisible() and window.esign_action.isVisible()
    assert window.esign_offer.esp == ESP_NAME
    dialog = esign_selected(window)
    assert isinstance(dialog, EsignDialog)
    qtbot.waitUntil(lambda: bool(browser_opened), timeout=30_000)
    assert dialog.url_edit.text() == browser_opened[0]
    # the officer's browser follows the address (on its own thread, as a browser would)
    follow = threading.Thread(target=Browser(gateway), args=(FakeRequest(browser_opened[0]),))
    with qtbot.waitSignal(dialog.finished_issue, timeout=60_000) as finished:
        follow.start()
    follow.join()
    issued = finished.args[0]
    assert dialog.message.text() == (
        f"Signed with Aadhaar eSign (one-time certificate from {ESP_NAME}); issued as "
        f"{issued.certificate_number}.")
    assert not dialog.cancel_button.isEnabled() and dialog.close_button.isEnabled()
    assert _status(gateway.engine, app_id) == ApplicationStatus.ISSUED
    assert _certificates(gateway.engine, app_id) == 1
    qtbot.waitUntil(lambda: str(window.model.row_at(window.model.row_of(app_id))[Col.STATUS])
                    .lower() == "issued", timeout=30_000)
    # the verify view says which way it was signed, and that it is valid
    from app.views.verify_view import VerifyView

    trust_esign_ca(esign_pki)
    with session_factory(gateway.engine)() as s:
        pdf = s.scalar(select(Certificate.pdf).where(Certificate.application_id == app_id))
    path = tmp_path / "issued-by-esign.pdf"
    path.write_bytes(pdf)
    view = VerifyView(desk.verifier())  # what Certificates > Verify… shows
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.verified, timeout=60_000) as verified:
        view.verify_file(path)
    assert verified.args[0].valid, [c for c in verified.args[0].checks if not c.passed]
    assert "Signed with Aadhaar eSign (one-time certificate from Test eSign CA 2026)" in \
        view.facts.text()
    assert view.verdict.text() == "This certificate is genuine and unchanged since it was " \
        "signed."


def test_waiting_shows_the_address_with_copy_and_the_time_left_and_cancel_issues_nothing(
    qtbot: Any, tmp_path: Path, gateway: EsignHub, officer_id: int,  # noqa: F811
    browser_opened: list[str],
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = _approved_by(gateway.engine, officer_id, mine=True, n=1)
    desk.sync.sync_now()
    window = _window(qtbot, desk, app_id)
    dialog = esign_selected(window)
    qtbot.waitUntil(lambda: dialog.time_left.text().startswith("Time left"), timeout=30_000)
    assert "Waiting for your consent" in dialog.status.text()
    minutes, seconds = dialog.time_left.text().rsplit(" ", 1)[1].split(":")
    assert 540 <= int(minutes) * 60 + int(seconds) <= 600  # the service's 600 s, counting
    assert dialog.url_edit.text() == browser_opened[0] and "/esign/v1/consent/" in \
        browser_opened[0]
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == browser_opened[0]
    with qtbot.waitSignal(dialog.finished_issue, timeout=60_000) as finished:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert "Cancelled while waiting" in str(finished.args[0])
    assert dialog.message.text().startswith("Cancelled while waiting for your eSign consent")
    assert dialog.status.text() == "Nothing was issued; the application stays approved."
    assert _status(gateway.engine, app_id) == ApplicationStatus.APPROVED
    assert _certificates(gateway.engine, app_id) == 0
    with gateway.client() as late:  # the consent link died with the transaction
        assert late.get(browser_opened[0]).status_code == 410


def test_the_dialog_gives_up_after_the_timeout(
    qtbot: Any, tmp_path: Path, gateway: EsignHub, approved: Callable[..., list[int]],  # noqa: F811
    browser_opened: list[str],
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = approved("non_preferential")
    desk.sync.sync_now()
    dialog = EsignDialog(EsignIssuer(desk.issuer(), poll_seconds=0.2, timeout_seconds=2),
                         app_id, "APP", ESP_NAME)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.finished_issue, timeout=60_000):
        dialog.start()
    assert len(browser_opened) == 1
    assert dialog.message.text().startswith("No eSign consent within 2 seconds")
    assert dialog.time_left.text() == "" and dialog.close_button.isEnabled()
    assert _status(gateway.engine, app_id) == ApplicationStatus.APPROVED
    assert _certificates(gateway.engine, app_id) == 0


def test_a_service_without_esign_hides_the_action(
    qtbot: Any, tmp_path: Path, demo_hub: Any, serve: Any, demo_engine: Any,  # noqa: F811
) -> None:
    from tests.esign.conftest import EsignHub as Served

    server = serve(demo_hub)
    desk = synced_desk(Served(hub=demo_hub, server=server, esp=None,  # type: ignore[arg-type]
                              engine=demo_engine), tmp_path)
    window = _window(qtbot, desk)
    assert window.esign_offer is not None and not window.esign_offer.available
    assert window.issue_button.isVisible()
    assert not window.esign_button.isVisible() and not window.esign_action.isVisible()
    assert esign_selected(window) is None


def test_another_officers_approval_is_confirmed_first_and_cancel_sends_nothing(
    qtbot: Any, tmp_path: Path, gateway: EsignHub, officer_id: int,  # noqa: F811
    browser_opened: list[str],
) -> None:
    """As before the token's PIN: "APP-… was approved by …; issue it under your
    signature?"; Cancel reserves nothing and sends nothing to the gateway."""
    from app.models import CertificateNumber

    desk = synced_desk(gateway, tmp_path)
    [app_id] = _approved_by(gateway.engine, officer_id, mine=False, n=1)
    window = _window(qtbot, desk, app_id)
    dialog = esign_selected(window)
    asked: list[Any] = []
    dialog.confirm.dialog_shown.connect(_answer("Cancel", asked))
    with qtbot.waitSignal(dialog.finished_issue, timeout=60_000) as finished:
        pass
    [(question, _listing)] = asked
    assert " was approved by " in question and question.endswith(
        "; issue it under your signature?")
    assert str(finished.args[0]).startswith("Cancelled: nothing was issued.")
    assert browser_opened == [] and gateway.esp.esp.requests == []
    with session_factory(gateway.engine)() as s:
        assert s.scalars(select(CertificateNumber.id).where(
            CertificateNumber.application_id == app_id)).all() == []
    assert _status(gateway.engine, app_id) == ApplicationStatus.APPROVED
