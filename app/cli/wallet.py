"""`origin-desk admin wallet …`: the offices' e-wallets from the command line (the same
service as the admin window's E-wallet tab, ``app.services.wallet.WalletBook``).

    origin-desk admin --as admin@igcc.org.in wallet balance [--office MUM]
    origin-desk admin --as admin@igcc.org.in wallet statement --office MUM \\
        [--from 2026-11-01 --to 2026-11-30] [--json]
    origin-desk admin --as admin@igcc.org.in wallet top-up --office MUM --amount 1000.00 \\
        --reference PAYU/8812734
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin

AddAction = Callable[..., argparse.ArgumentParser]
Wrap = Callable[[Callable[[argparse.Namespace, "AgencyAdmin"], int]],
                Callable[[argparse.Namespace], int]]


def register(add_action: AddAction, wrap: Wrap, as_too: argparse.ArgumentParser) -> None:
    wallet = add_action("wallet", help="the offices' e-wallets: balance, statement, top-up")
    commands = wallet.add_subparsers(dest="wallet_command", metavar="WALLET_ACTION",
                                     required=True)
    balance = commands.add_parser("balance", parents=[as_too],
                                  help="each office's balance (or one office's)")
    balance.add_argument("--office", metavar="CODE", default=None)
    balance.set_defaults(func=wrap(_balance))
    statement = commands.add_parser(
        "statement", parents=[as_too], help="an office's ledger lines with the running "
        "balance (dates are India dates, inclusive)")
    statement.add_argument("--office", metavar="CODE", required=True)
    statement.add_argument("--from", dest="date_from", type=_date, default=None,
                           metavar="YYYY-MM-DD")
    statement.add_argument("--to", dest="date_to", type=_date, default=None,
                           metavar="YYYY-MM-DD")
    statement.add_argument("--json", action="store_true", help="print JSON")
    statement.set_defaults(func=wrap(_statement))
    top_up = commands.add_parser(
        "top-up", parents=[as_too], help="credit a payment received through the gateway "
        "(its reference credits once)")
    top_up.add_argument("--office", metavar="CODE", required=True)
    top_up.add_argument("--amount", required=True, metavar="RUPEES", help="e.g. 1000.00")
    top_up.add_argument("--reference", required=True, metavar="REF",
                        help="the payment gateway's transaction reference")
    top_up.set_defaults(func=wrap(_top_up))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _balance(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.wallet import WalletBook, WalletRefused, rupees

    rows = WalletBook(admin).balances()
    if args.office:
        wanted = args.office.strip().upper()
        rows = [r for r in rows if r.code == wanted]
        if not rows:
            raise WalletRefused(f"No office with the code {args.office!r} in your agency.")
    for r in rows:
        state = "" if r.ewallet_enabled else "  (e-wallet off: fees not debited)"
        print(f"{r.code:<6} {rupees(r.balance):>16}  {r.name}{state}")
    return 0


def _statement(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.wallet import WalletBook, rupees

    statement = WalletBook(admin).statement(args.office, args.date_from, args.date_to)
    if args.json:
        print(json.dumps(statement.to_json(), ensure_ascii=False, indent=2))
        return 0
    span = (f" from {statement.date_from or 'the first line'} to "
            f"{statement.date_to or 'today'}" if statement.date_from or statement.date_to
            else "")
    print(f"E-wallet of office {statement.office_code} ({statement.office_name}){span}")
    print(f"{'':<10} {'opening balance':<8} {'':>30} {rupees(statement.opening):>16}")
    for line in statement.lines:
        print(f"{line.date.isoformat():<10} {line.kind:<8} {_signed(line.amount):>14} "
              f"{line.certificate_number or '':<20} {rupees(line.balance):>16}  {line.reference}")
    print(f"{'':<10} {'closing balance':<8} {'':>30} {rupees(statement.closing):>16}")
    return 0


def _signed(amount: Any) -> str:
    from app.services.wallet import rupees

    return ("+" if amount > 0 else "") + rupees(amount)


def _top_up(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.wallet import WalletBook, parse_amount, rupees

    amount = parse_amount(args.amount)
    row = WalletBook(admin).top_up(args.office, amount, args.reference)
    print(f"{row.code}: {rupees(amount)} credited ({args.reference.strip()}); the e-wallet "
          f"holds {rupees(row.balance)}")
    return 0
