"""`origin-desk admin …` commands (registered through app.cli's COMMAND_MODULES)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.cli import admin as admin_commands
from app.errors import UserFacingError
from tests.admin.conftest import ADMIN, PENDING, audit_events, bad_files, load_office, load_user


def run(argv: list[str]) -> int:
    """Parse and run as app.cli.main does (catching UserFacingError into exit 2)."""
    parser = argparse.ArgumentParser(prog="origin-desk")
    admin_commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserFacingError as exc:
        print(f"origin-desk: {exc}")
        return 2


def test_list_offices_and_users(demo_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["admin", "--as", ADMIN, "offices"]) == 0
    out = capsys.readouterr().out
    assert "MUM" in out and "Mumbai Regional Office" in out
    assert run(["admin", "--as", ADMIN, "users", "--pending"]) == 0
    assert capsys.readouterr().out.split()[0] == PENDING


def test_as_may_follow_the_action_and_is_required(demo_store: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["admin", "offices", "--as", ADMIN]) == 0
    assert "Mumbai Regional Office" in capsys.readouterr().out
    assert run(["admin", "offices"]) == 2
    assert "--as EMAIL" in capsys.readouterr().out


def test_set_gateway_reads_key_from_stdin(demo_store: Path, demo_engine: Engine,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    key = "Zx9#Kq7xpL2vN9!aB3c_dH"
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    assert run(["admin", "--as", ADMIN, "set-gateway", "MUM", "--merchant-id",
                "IGCCMUM000222"]) == 0
    out = capsys.readouterr().out
    assert key not in out and "Zx" in out
    office = load_office(demo_engine, "MUM")
    assert (office.merchant_id, office.checksum_key) == ("IGCCMUM000222", key)
    # a trailing space on the line is part of the value: refused, not trimmed
    monkeypatch.setattr("sys.stdin", io.StringIO(key + " \n"))
    assert run(["admin", "--as", ADMIN, "set-gateway", "MUM", "--merchant-id",
                "IGCCMUM000333"]) == 2
    assert "(the end): a space" in capsys.readouterr().out
    assert load_office(demo_engine, "MUM").merchant_id == "IGCCMUM000222"


def test_approve_and_upload(demo_store: Path, demo_engine: Engine, stamp_scan: Path,
                            tmp_path: Path, stamp_scan_bytes: bytes,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["admin", "--as", ADMIN, "approve", PENDING, "--office", "MUM"]) == 0
    assert load_user(demo_engine, PENDING).status == "active"
    assert run(["admin", "--as", ADMIN, "upload-stamp", "MUM", str(stamp_scan)]) == 0
    assert load_office(demo_engine, "MUM").stamp_png is not None
    text = bad_files(tmp_path, stamp_scan_bytes)["text"]
    assert run(["admin", "--as", ADMIN, "upload-stamp", "DEL", str(text)]) == 2
    assert "not an image" in capsys.readouterr().out
    assert load_office(demo_engine, "DEL").stamp_png is None
    assert [e.action for e in audit_events(demo_engine)[-2:]] == ["user.approve", "office.stamp"]


def test_officer_cannot_administer(demo_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["admin", "--as", "anita.deshpande@igcc.org.in", "offices"]) == 2
    assert "not an agency administrator" in capsys.readouterr().out
