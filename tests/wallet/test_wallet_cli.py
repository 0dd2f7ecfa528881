"""`origin-desk admin wallet …` on the embedded demo and on PostgreSQL through the
administrator's own login: exit 0 with the answer, exit 2 with one line and nothing
changed; an https:// central_url is refused in one line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.models import WalletEntry
from app.store.central import session_factory
from tests.store.conftest import CentralDb

AS = ["admin", "--as", "admin@igcc.org.in", "wallet"]


def _exit_code(argv: list[str]) -> int:
    """main's answer, or the code argparse exits with (a usage error, said in one line)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _lines(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(WalletEntry)) or 0)


def test_balance_statement_and_top_up_on_the_demo(demo_engine, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([*AS, "balance"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["CHE", "DEL", "MUM"]
    assert "₹400.00" in out[0]
    assert main([*AS, "balance", "--office", "che"]) == 0
    assert capsys.readouterr().out.split()[:2] == ["CHE", "₹400.00"]

    assert main([*AS, "top-up", "--office", "CHE", "--amount", "1000.00",
                 "--reference", "PAYU/CLI/0001"]) == 0
    assert capsys.readouterr().out.strip() == (
        "CHE: ₹1,000.00 credited (PAYU/CLI/0001); the e-wallet holds ₹1,400.00")

    assert main([*AS, "statement", "--office", "CHE", "--json"]) == 0
    statement = json.loads(capsys.readouterr().out)
    assert statement["closing_balance"] == "1400.00" and statement["opening_balance"] == "0.00"
    last = statement["lines"][-1]
    assert (last["kind"], last["amount"], last["reference"], last["balance"]) == (
        "top_up", "1000.00", "PAYU/CLI/0001", "1400.00")
    running = Decimal(0)
    for line in statement["lines"]:
        running += Decimal(line["amount"])
        assert Decimal(line["balance"]) == running
    day = last["date"]
    assert main([*AS, "statement", "--office", "CHE", "--from", day, "--to", day]) == 0
    text = capsys.readouterr().out
    assert "PAYU/CLI/0001" in text and "closing balance" in text


@pytest.mark.parametrize(("args", "says"), [
    (["top-up", "--office", "CHE", "--amount", "1000.00", "--reference", "PAYU/CLI/0001"],
     "already credited"),
    (["top-up", "--office", "CHE", "--amount", "0", "--reference", "PAYU/CLI/9"],
     "more than ₹0.00"),
    (["top-up", "--office", "CHE", "--amount", "1.005", "--reference", "PAYU/CLI/9"],
     "more than two decimals"),
    (["top-up", "--office", "CHE", "--amount", "100", "--reference", "x"], "is not one"),
    (["top-up", "--office", "NOPE", "--amount", "100", "--reference", "PAYU/CLI/9"],
     "No office with the code 'NOPE'"),
    (["top-up", "--office", "CHE", "--amount", "100"], "--reference"),
    (["statement"], "--office"),
    (["statement", "--office", "CHE", "--from", "2026-02-30"], "not a date"),
    (["statement", "--office", "CHE", "--from", "2026-11-30", "--to", "2026-11-01"],
     "the start is after the end"),
    (["balance", "--office", "XX"], "No office with the code 'XX'"),
    (["refill"], "invalid choice"),
])
def test_bad_arguments_say_one_line_and_change_nothing(demo_engine, capsys, args,  # type: ignore[no-untyped-def]
                                                       says) -> None:
    assert main([*AS, "top-up", "--office", "CHE", "--amount", "1000.00",
                 "--reference", "PAYU/CLI/0001"]) == 0
    capsys.readouterr()
    before = _lines(demo_engine)
    assert _exit_code([*AS, *args]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "Traceback" not in err[0], captured.err
    assert captured.out == ""
    assert _lines(demo_engine) == before


def test_an_officer_is_refused(demo_engine, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["admin", "--as", "anita.deshpande@igcc.org.in", "wallet", "top-up", "--office",
                 "MUM", "--amount", "100", "--reference", "PAYU/CLI/7"]) == 2
    assert "not an agency administrator" in capsys.readouterr().err


def test_over_https_one_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", "https://central.example.org")
    assert main([*AS, "balance"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]


def test_on_postgresql_through_the_administrators_login(central: CentralDb, capsys,  # type: ignore[no-untyped-def]
                                                        monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url("admin@igcc.org.in"))
    assert main([*AS, "top-up", "--office", "DEL", "--amount", "250.50",
                 "--reference", "RAZORPAY/pay_29QQoUBi66xm2f"]) == 0
    assert "₹250.50 credited" in capsys.readouterr().out
    assert main([*AS, "top-up", "--office", "DEL", "--amount", "250.50",
                 "--reference", "RAZORPAY/pay_29QQoUBi66xm2f"]) == 2
    assert "already credited to office DEL" in capsys.readouterr().err
    assert main([*AS, "statement", "--office", "DEL", "--json"]) == 0
    statement = json.loads(capsys.readouterr().out)
    assert statement["lines"][-1]["reference"] == "RAZORPAY/pay_29QQoUBi66xm2f"
    balance = central.scalar("SELECT balance FROM office_wallets WHERE office_id = 2")
    assert Decimal(statement["closing_balance"]) == balance
