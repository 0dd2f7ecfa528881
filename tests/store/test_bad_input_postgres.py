"""A PostgreSQL central store that answers but cannot be used: one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.support.postgres import PostgresServer


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("origin-desk: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture
def empty_database(pg_server: PostgresServer):  # type: ignore[no-untyped-def]
    name = "bad_input_empty"
    pg_server.create_database(name)
    yield name
    pg_server.drop_database(name)


def test_a_database_without_the_schema(pg_server: PostgresServer, empty_database: str,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", pg_server.url(empty_database))
    for argv in (["list"], ["admin", "--as", "admin@igcc.org.in", "offices"]):
        assert main(argv) == 2
        assert "no Origin Desk schema yet" in _one_line(capsys.readouterr().err)
    assert main(["db", "current"]) == 0
    assert "empty (no schema)" in capsys.readouterr().out


@pytest.mark.parametrize("what", ["role", "database"])
def test_a_login_or_database_the_server_refuses(pg_server: PostgresServer, data_home: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                what: str) -> None:
    url = (pg_server.url("postgres", user="nobody_here") if what == "role"
           else pg_server.url("no_such_database"))
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", url)
    for argv in (["list"], ["db", "current"], ["db", "upgrade"]):
        assert main(argv) == 2
        line = _one_line(capsys.readouterr().err)
        assert "refused the connection" in line and "does not exist" in line
    assert sorted(p.name for p in data_home.iterdir()) == ["logs"]
