"""A certificate PDF opened with Origin Desk (``--open``, the desktop entry, a second start)
goes straight to the verify view: the officer's when signed in, the public one before a
sign-in, and after the store opened when it arrives earlier."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.config import load_config
from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate
from app.services.desk import Desk
from app.views.main_window import DeskWindow
from app.views.open_requests import OpenRequests
from app.views.tasks import wait_for_tasks

ANITA = "anita.deshpande@igcc.org.in"
# the offscreen platform cannot raise a window (a real desktop does): it says so
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")


@pytest.fixture
def received_pdf(tmp_path: Path) -> Path:
    """A certificate PDF as one arrives by e-mail (here a draft: it is not genuine)."""
    path = tmp_path / "received certificate.pdf"
    path.write_bytes(render_certificate(sample_certificate(issued=False)).pdf)
    return path


def test_a_signed_in_officer_gets_the_pdf_in_the_verify_view(
    qtbot, demo_engine: Engine, received_pdf: Path  # type: ignore[no-untyped-def]
) -> None:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    requests = OpenRequests(window)
    requests.desk_opened(desk)
    requests.views.clear()
    requests.handle(["open", str(received_pdf)])
    view = requests.views[-1]
    with qtbot.waitSignal(view.verified, timeout=60_000):
        pass
    assert view.path_label.text() == str(received_pdf)
    assert view.verdict.text() and view.verdict.text() != "Checking…"
    assert view.verdict.text().startswith("This certificate is NOT valid")  # a draft, unsigned
    wait_for_tasks()


def test_before_a_sign_in_the_public_verifier_answers_and_early_requests_wait(
    qtbot, demo_engine: Engine, received_pdf: Path  # type: ignore[no-untyped-def]
) -> None:
    window = DeskWindow()
    qtbot.addWidget(window)
    window.show()
    requests = OpenRequests(window)
    requests.open_file(str(received_pdf))  # the store is still opening
    assert requests.pending == [received_pdf] and requests.views == []
    desk = Desk(demo_engine, load_config())  # opened; nobody signed in yet
    requests.desk_opened(desk)
    assert requests.pending == []
    view = requests.views[-1]
    with qtbot.waitSignal(view.verified, timeout=60_000):
        pass
    assert view.path_label.text() == str(received_pdf)
    assert view.verdict.text().startswith("This certificate is NOT valid")
    requests.handle(["raise"])  # only brings the window forward: no new view
    assert len(requests.views) == 1
    wait_for_tasks()
