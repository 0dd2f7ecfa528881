"""Administrators and officers' sign-in at the central service: initial passwords, unlock,
ending sessions, the DSC-at-sign-in policy; through the command line on the demo store,
and through an administrator's own PostgreSQL login (which may set passwords of its
agency's users but never read a hash)."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.hub.conftest import PASSWORD


def _users(engine: Any, role: str) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return [(r[0], r[1]) for r in connection.execute(text(
            "SELECT email, agency_id FROM users WHERE role = :r AND status = 'active' "
            "ORDER BY id"), {"r": role})]


def _sign_in(client: Any, email: str, password: str, **extra: Any) -> Any:
    return client.post("/desk/v1/sign-in", json={"email": email, "password": password,
                                                 **extra})


def test_the_command_line_sets_an_initial_password_unlocks_and_ends_sessions(
    client, demo_engine, demo_hub, capsys, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    from app.cli import main

    admin, agency = _users(demo_engine, "administrator")[0]
    officer = next(e for e, a in _users(demo_engine, "officer") if a == agency)
    assert main(["admin", "--as", admin, "password", officer, "--generate"]) == 0
    initial = capsys.readouterr().out.strip().splitlines()[0]
    assert len(initial) == 16
    first = _sign_in(client, officer, initial)
    assert first.status_code == 403 and first.json()["kind"] == "PasswordChangeRequired"
    assert _sign_in(client, officer, initial, new_password=PASSWORD).status_code == 200
    token = _sign_in(client, officer, PASSWORD).json()["token"]

    assert main(["admin", "--as", admin, "end-sessions", officer]) == 0
    assert "2 session(s)" in capsys.readouterr().out
    assert client.get("/desk/v1/hello", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401

    for _ in range(demo_hub.policy.max_failures):
        _sign_in(client, officer, "a wrong password")
    assert "locked" in _sign_in(client, officer, PASSWORD).json()["error"]
    assert main(["admin", "--as", admin, "unlock", officer]) == 0
    assert _sign_in(client, officer, PASSWORD).status_code == 200

    # a password read from standard input; the audit trail names the act, not the password
    monkeypatch.setattr(sys, "stdin", io.StringIO("another initial pw\n"))
    assert main(["admin", "--as", admin, "password", officer]) == 0
    with demo_engine.connect() as connection:
        events = connection.execute(text(
            "SELECT action, after FROM audit_events WHERE action LIKE 'user.%' "
            "AND action IN ('user.password_set', 'user.unlock', 'user.sessions_ended')"
        )).all()
    assert {e.action for e in events} == {"user.password_set", "user.unlock",
                                          "user.sessions_ended"}
    assert "another initial pw" not in str(events) and initial not in str(events)


def test_a_short_password_or_another_agencys_user_is_refused(demo_engine, capsys,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    admin, agency = _users(demo_engine, "administrator")[0]
    others = [e for e, a in _users(demo_engine, "officer") if a != agency]
    officer = next(e for e, a in _users(demo_engine, "officer") if a == agency)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["admin", "--as", admin, "password", officer]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    if others:
        assert main(["admin", "--as", admin, "password", others[0], "--generate"]) == 2
        assert "another agency" in capsys.readouterr().err


def test_an_administrators_own_login_sets_passwords_but_reads_no_hash(central) -> None:  # type: ignore[no-untyped-def]
    from app.services.admin import AgencyAdmin
    from app.services.admin_credentials import require_dsc_at_sign_in, set_initial_password

    owner = central.owner_engine()
    admin, agency = _users(owner, "administrator")[0]
    officer = next(e for e, a in _users(owner, "officer") if a == agency)
    engine = central.engine_for(admin)
    service = AgencyAdmin.for_email(engine, admin)
    set_initial_password(service, officer, "initial password 42")
    require_dsc_at_sign_in(service, True)
    assert central.scalar("SELECT count(*) FROM user_credentials c JOIN users u ON "
                          "u.id = c.user_id WHERE u.email = :e AND c.must_change",
                          e=officer) == 1
    with engine.connect() as connection, pytest.raises(ProgrammingError,
                                                       match="permission denied"):
        connection.execute(text("SELECT password_hash FROM user_credentials")).all()
    with engine.connect() as connection, pytest.raises(ProgrammingError,
                                                       match="permission denied"):
        connection.execute(text("SELECT token_sha256 FROM hub_sessions")).all()
    officer_engine = central.engine_for(officer)
    with officer_engine.connect() as connection, pytest.raises(ProgrammingError,
                                                               match="permission denied"):
        connection.execute(text("SELECT user_id FROM user_credentials")).all()
