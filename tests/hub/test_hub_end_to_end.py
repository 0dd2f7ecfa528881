"""End to end through the central service on PostgreSQL: the service (uvicorn, TLS from a
test CA) in front of a throwaway PostgreSQL through its own login role; an officer's desk
window, opened from a configuration whose central_url is the service's https:// address,
registers its DSC, syncs, claims, approves and issues (Ctrl+I, PIN) through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from app.config import Config
from app.models.enums import Action
from app.services.opening import open_desk
from app.services.queue_rows import Col, StatusFilter
from tests.hub.conftest import PASSWORD, set_password
from tests.store.conftest import CentralDb, officer_emails
from tests.support.pki import KeySpec, SoftHsm, TestCA, make_test_ca

PIN = "730412"


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return make_test_ca("Hub End To End")


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    softhsm = SoftHsm(tmp_path / "hsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm.conf))
    return softhsm


@pytest.fixture(autouse=True)
def _memory_keyring(monkeypatch: pytest.MonkeyPatch) -> dict[Any, str]:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))
    return store


def _count(db: CentralDb, sql: str, **params: object) -> int:
    return int(db.scalar(sql, **params) or 0)


def _window(qtbot, desk):  # type: ignore[no-untyped-def]
    from app.views.main_window import DeskWindow
    from app.views.sync_ui import install_sync_ui

    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    install_sync_ui(window, desk)
    with qtbot.waitSignal(window.queue_loaded, timeout=30000):
        window.reload_queue()
    return window


def test_a_desk_window_reviews_and_issues_through_the_service_on_postgresql(
    qtbot, pg_hub, serve, hsm: SoftHsm, ca: TestCA, tmp_path: Path, _memory_keyring  # type: ignore[no-untyped-def]
) -> None:
    from app.views.dsc_dialog import DscDialog
    from app.views.issue_actions import open_dsc_dialog
    from app.views.pin_dialog import PinDialog

    central: CentralDb = pg_hub.extras["central"]
    code, emails = next((c, e) for c, e in officer_emails(central).items() if e)
    email = emails[0]
    office_id = _count(central, "SELECT id FROM offices WHERE code = :c", c=code)
    set_password(central.owner_engine(), email)
    # the service checks DSCs against the agency's roots ([server] trust_dir)
    ca.write_trust_dir(tmp_path / "hub-trust")
    pg_hub.central.config = Config(data_dir=tmp_path, trust_dir=str(tmp_path / "hub-trust"))
    server = serve(pg_hub)
    token = hsm.make_token("DSC-HUB", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    home = tmp_path / "desk"
    home.mkdir()
    ca.write_trust_dir(home / "trust")
    config = Config(data_dir=home, central_url=server.url, central_ca_file=str(server.ca),
                    pkcs11_modules=[hsm.module], token_label="DSC-HUB")
    asked: list[str] = []
    desk = open_desk(config, ask_password=lambda prompt: asked.append(prompt) or PASSWORD,
                     officer=email)
    assert type(desk.sync.link).__name__ == "HttpCentral"
    assert len(asked) == 1 and "password" in asked[0].lower()
    assert "Bearer" not in " ".join(asked)

    window = _window(qtbot, desk)
    # the DSC is registered through the service
    dialog = open_dsc_dialog(window)
    assert isinstance(dialog, DscDialog)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=30000)
    with qtbot.waitSignal(dialog.registered, timeout=30000) as blocker:
        dialog.register_button.click()
        qtbot.waitUntil(lambda: blocker.signal_triggered or dialog.message.isVisible(),
                        timeout=30000)
        assert blocker.signal_triggered, dialog.message.text()
    qtbot.waitUntil(dialog.read_button.isEnabled, timeout=30000)
    dialog.close()
    assert _count(central, "SELECT count(*) FROM dsc_registrations d JOIN users u ON "
                  "u.id = d.user_id WHERE u.email = :e AND d.fingerprint_sha256 = :f",
                  e=email, f=token.certs["sign"].fingerprint) == 1

    # claim and approve a submitted application with the window's buttons
    submitted = _count(central, "SELECT id FROM applications WHERE office_id = :o AND "
                       "status = 'submitted' AND kind <> 'in_lieu' ORDER BY id LIMIT 1",
                       o=office_id)
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    assert window.select_application(submitted)
    for action in (Action.CLAIM, Action.APPROVE):
        qtbot.waitUntil(window.buttons[action].isEnabled, timeout=30000)
        with qtbot.waitSignal(window.action_finished, timeout=30000):  # queued and pushed
            window.buttons[action].click()
        qtbot.waitUntil(lambda: not desk.local.pending(), timeout=30000)
    desk.sync.sync_now()
    assert _count(central, "SELECT count(*) FROM applications WHERE id = :i AND "
                  "status = 'approved'", i=submitted) == 1
    assert _count(central, "SELECT count(*) FROM audit_events e JOIN users u ON "
                  "u.id = e.actor_id WHERE e.entity_id = :i AND u.email = :e AND "
                  "e.action = 'application.approve'", i=submitted, e=email) == 1

    # Ctrl+I on it, the PIN, and the central store holds the certificate
    window.reload_queue()
    qtbot.waitUntil(lambda: str(desk.queue_row(submitted)[Col.STATUS]).lower() == "approved",
                    timeout=30000)
    assert window.select_application(submitted)

    def pin_dialog() -> PinDialog | None:
        return next((w for w in QApplication.topLevelWidgets()
                     if isinstance(w, PinDialog) and w.isVisible()), None)

    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=10000)
    qtbot.keyClick(window.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pin_dialog() is not None, timeout=30000)
    entry = pin_dialog()
    assert entry is not None
    qtbot.keyClicks(entry.field, PIN)
    qtbot.keyClick(entry.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _count(central, "SELECT count(*) FROM certificates WHERE "
                                   "application_id = :i", i=submitted) == 1, timeout=60000)
    assert _count(central, "SELECT count(*) FROM certificates c JOIN users u ON "
                  "u.id = c.issued_by_id WHERE u.email = :e AND c.application_id = :i",
                  e=email, i=submitted) == 1
    assert _count(central, "SELECT count(*) FROM certificate_numbers WHERE "
                  "application_id = :i AND state = 'issued'", i=submitted) == 1
    qtbot.waitUntil(lambda: str(desk.queue_row(submitted)[Col.STATUS]).lower() == "issued",
                    timeout=30000)
    # the service acted as the officer: the store's own login mapping named them
    assert _count(central, "SELECT count(*) FROM certificate_numbers n JOIN users u ON "
                  "u.id = n.reserved_by_id WHERE n.application_id = :i AND u.email = :e",
                  i=submitted, e=email) == 1
    with central.owner_engine().connect() as connection:
        logged = connection.execute(text("SELECT count(*) FROM hub_sessions")).scalar()
    assert logged == 1
