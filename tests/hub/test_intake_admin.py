"""Administering intake API keys: the service (issue, list, revoke, within the agency),
'origin-desk admin api-key issue|list|revoke', and the API keys tab of the administrator's
window, driven as an administrator would."""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.cli import admin as admin_commands
from app.errors import UserFacingError
from app.services.admin import AgencyAdmin
from app.services.api_keys import ApiKeyError, ApiKeyRefused, authenticate, key_prefix
from tests.hub.intake_support import ADMIN, exporter_facts

WAIT = 20_000


@pytest.fixture
def admin(demo_engine: Engine) -> AgencyAdmin:
    return AgencyAdmin.for_email(demo_engine, ADMIN)


@pytest.fixture
def facts(demo_engine: Engine) -> Any:
    return exporter_facts(demo_engine)


def stored_keys(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(text("SELECT * FROM api_keys ORDER BY id")).all()


# --- the service ------------------------------------------------------------------------------

def test_issue_stores_only_a_digest_and_authenticates(admin: AgencyAdmin, demo_engine: Engine,
                                                      facts: Any,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    issued = admin.api_keys().issue(facts.iec.lower(), label="  SAP   ERP ")
    assert issued.key.startswith(f"odk_{issued.row.prefix}_") and len(issued.key) == 56
    assert key_prefix(issued.key) == issued.row.prefix
    assert issued.key not in repr(issued)
    row = stored_keys(demo_engine)[-1]
    assert row.key_sha256 == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in str(tuple(row))
    assert (issued.row.iec, issued.row.office_code, issued.row.label) == (
        facts.iec, facts.office_code, "SAP ERP")
    assert issued.key not in caplog.text and issued.row.prefix in caplog.text
    with Session(demo_engine) as session, session.begin():
        holder = authenticate(session, issued.key)
    assert (holder.iec, holder.prefix) == (facts.iec, issued.row.prefix)
    assert admin.api_keys().list_keys()[0].last_used_at is not None
    events = admin.audit_log()
    assert events[0].action == "api_key.issue" and issued.row.prefix in events[0].entity
    assert issued.key not in str(events[0])


def test_revoke_and_refusals(admin: AgencyAdmin, demo_engine: Engine, facts: Any) -> None:
    issued = admin.api_keys().issue(facts.iec, office_code="CHE")
    assert issued.row.office_code == "CHE"
    revoked = admin.api_keys().revoke(f"odk_{issued.row.prefix}")
    assert not revoked.active
    with Session(demo_engine) as session, pytest.raises(ApiKeyRefused, match="revoked"):
        authenticate(session, issued.key)
    with pytest.raises(ApiKeyError, match="already revoked"):
        admin.api_keys().revoke(issued.row.prefix)
    with pytest.raises(ApiKeyError, match="No API key"):
        admin.api_keys().revoke("00000000")
    with pytest.raises(ApiKeyError, match="expected 10 characters"):
        admin.api_keys().issue("NOT-AN-IEC")
    with pytest.raises(ApiKeyError, match="No exporter with IEC"):
        admin.api_keys().issue("ZZZCZ9999Z")
    with pytest.raises(ApiKeyError, match="No office with the code"):
        admin.api_keys().issue(facts.iec, office_code="XYZ")
    assert [k.active for k in admin.api_keys().list_keys()] == [False]
    assert admin.api_keys().list_keys(include_revoked=False) == []


def test_another_agency_neither_sees_nor_revokes(admin: AgencyAdmin, demo_engine: Engine,
                                                 facts: Any) -> None:
    from app.models import Agency, Office, Role, User, UserStatus

    with Session(demo_engine) as s, s.begin():
        agency = Agency(code="WCC", name="Western Chamber of Commerce",
                        email_domains=["wcc.org.in"])
        office = Office(agency=agency, code="PUN", name="Pune Office", place="Pune")
        s.add_all([agency, office, User(agency=agency, email="admin@wcc.org.in",
                                        full_name="Kiran Patil", role=Role.ADMINISTRATOR,
                                        status=UserStatus.ACTIVE)])
    other = AgencyAdmin.for_email(demo_engine, "admin@wcc.org.in")
    issued = admin.api_keys().issue(facts.iec)
    assert other.api_keys().list_keys() == []
    with pytest.raises(ApiKeyError, match="No API key"):
        other.api_keys().revoke(issued.row.prefix)
    # nothing filed with it yet: the office must be named, and one of its own
    with pytest.raises(ApiKeyError, match="name the office"):
        other.api_keys().issue(facts.iec)
    with pytest.raises(ApiKeyError, match="No office with the code"):
        other.api_keys().issue(facts.iec, office_code="MUM")
    assert other.api_keys().issue(facts.iec, office_code="PUN").row.office_code == "PUN"


def test_malformed_keys_are_refused_without_echo(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        for presented in (None, "", "   ", "odk_", "odk_12345678_short", "x" * 500,
                          "odk_12345678_" + "A" * 43):
            with pytest.raises(ApiKeyRefused) as refused:
                authenticate(session, presented)
            if presented and len(presented.strip()) > 4:
                assert presented.strip() not in str(refused.value)


# --- the command line -------------------------------------------------------------------------

def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="origin-desk")
    admin_commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserFacingError as exc:
        print(f"origin-desk: {exc}")
        return 2


def test_admin_api_key_commands(demo_store: Path, demo_engine: Engine, facts: Any,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["admin", "--as", ADMIN, "api-key", "issue", "--iec", facts.iec,
                "--label", "Customs agent Shah & Co"]) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert key_prefix(key) is not None and key not in captured.err
    prefix = key_prefix(key)
    assert f"API key {prefix} for" in captured.err and "shown only now" in captured.err

    assert run(["admin", "api-key", "list", "--as", ADMIN]) == 0
    listing = capsys.readouterr().out
    assert prefix in listing and facts.iec in listing and "active" in listing
    assert key not in listing and "Customs agent Shah & Co" in listing

    assert run(["admin", "--as", ADMIN, "api-key", "revoke", str(prefix)]) == 0
    assert "revoked" in capsys.readouterr().out
    assert run(["admin", "--as", ADMIN, "api-key", "list", "--active"]) == 0
    assert prefix not in capsys.readouterr().out
    assert run(["admin", "--as", ADMIN, "api-key", "revoke", str(prefix)]) == 2
    assert "already revoked" in capsys.readouterr().out
    assert run(["admin", "--as", ADMIN, "api-key", "issue", "--iec", facts.iec,
                "--office", "NOPE"]) == 2
    assert "No office with the code 'NOPE'" in capsys.readouterr().out
    assert run(["admin", "--as", "anita.deshpande@igcc.org.in", "api-key", "list"]) == 2
    assert "not an agency administrator" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run(["admin", "--as", ADMIN, "api-key", "issue"])  # --iec is required
    assert len(stored_keys(demo_engine)) == 1


# --- the window -------------------------------------------------------------------------------

@pytest.fixture
def keys_tab(qtbot, admin: AgencyAdmin) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from app.views.admin_api_keys import ApiKeysTab
    from app.views.tasks import wait_for_tasks

    tab = ApiKeysTab(admin)
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.reload()
    yield tab
    wait_for_tasks()
    qtbot.wait(20)


def test_the_api_keys_tab_issues_lists_and_revokes(qtbot, keys_tab: Any,  # type: ignore[no-untyped-def]
                                                   demo_engine: Engine, facts: Any) -> None:
    assert keys_tab.model.rowCount() == 0
    assert keys_tab.office_combo.count() == 4  # the default and the three offices
    keys_tab.iec_edit.setFocus()
    qtbot.keyClicks(keys_tab.iec_edit, facts.iec)
    qtbot.keyClicks(keys_tab.label_edit, "Exporter ERP")
    keys_tab.office_combo.setCurrentIndex(keys_tab.office_combo.findData("DEL"))
    with qtbot.waitSignals([keys_tab.changed, keys_tab.loaded], timeout=WAIT):
        qtbot.mouseClick(keys_tab.issue_button, Qt.MouseButton.LeftButton)
    shown = keys_tab.new_key.text()
    assert not keys_tab.new_key.isHidden() and key_prefix(shown) is not None
    assert "shown only now" in keys_tab.new_key_note.text()
    assert keys_tab.model.rowCount() == 1
    row = keys_tab.model.row_at(0)
    assert (row.iec, row.office_code, row.label, row.active) == (facts.iec, "DEL",
                                                                 "Exporter ERP", True)
    assert shown not in str([keys_tab.model.data(keys_tab.model.index(0, c))
                             for c in range(keys_tab.model.columnCount())])
    keys_tab.forget_shown_key()
    assert keys_tab.new_key.text() == "" and keys_tab.new_key.isHidden()

    # a wrong IEC: said under the form, nothing stored
    qtbot.keyClicks(keys_tab.iec_edit, "ZZZCZ9999Z")
    qtbot.mouseClick(keys_tab.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not keys_tab.issue_error.isHidden(), timeout=WAIT)
    assert "No exporter with IEC ZZZCZ9999Z" in keys_tab.issue_error.message
    assert len(stored_keys(demo_engine)) == 1

    # revoking asks first; "no" changes nothing
    keys_tab.table.selectRow(0)
    assert keys_tab.revoke_button.isEnabled()
    keys_tab.confirm = lambda _question: False
    qtbot.mouseClick(keys_tab.revoke_button, Qt.MouseButton.LeftButton)
    assert stored_keys(demo_engine)[0].revoked_at is None
    asked: list[str] = []
    keys_tab.confirm = lambda question: asked.append(question) or True
    with qtbot.waitSignals([keys_tab.changed, keys_tab.loaded], timeout=WAIT):
        qtbot.mouseClick(keys_tab.revoke_button, Qt.MouseButton.LeftButton)
    assert facts.iec in asked[0] and "cannot be undone" in asked[0]
    assert stored_keys(demo_engine)[0].revoked_at is not None
    assert keys_tab.model.row_at(0).active is False
    keys_tab.table.selectRow(0)
    assert not keys_tab.revoke_button.isEnabled()
    keys_tab.show_revoked.setChecked(False)
    assert keys_tab.model.rowCount() == 0 and "0 active of 1" in keys_tab.count.text()


def test_the_admin_window_has_the_tab(qtbot, admin: AgencyAdmin) -> None:  # type: ignore[no-untyped-def]
    from app.views.admin_window import AdminWindow
    from app.views.tasks import wait_for_tasks

    window = AdminWindow(admin)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.api_keys_tab.loaded, timeout=WAIT):
        pass
    assert window.tabs.tabText(AdminWindow.API_KEYS) == "API &keys"
    assert window.tabs.widget(AdminWindow.API_KEYS) is window.api_keys_tab
    wait_for_tasks()
    qtbot.wait(20)
