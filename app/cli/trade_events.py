"""`origin-desk admin trade-event …`: the agency's trade events from the command line (the
same book as the administrator's window, ``app.services.trade_events.TradeEventBook``).

    origin-desk admin --as admin@igcc.org.in trade-event add --title "Gulfood 2027" \\
        --from 2027-02-17 --to 2027-02-21 --place "Dubai World Trade Centre" --note "…"
    origin-desk admin --as admin@igcc.org.in trade-event list [--all] [--json]
    origin-desk admin --as admin@igcc.org.in trade-event change ID --title … --from …
    origin-desk admin --as admin@igcc.org.in trade-event remove ID
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin

AddAction = Callable[..., argparse.ArgumentParser]
Wrap = Callable[[Callable[[argparse.Namespace, "AgencyAdmin"], int]],
                Callable[[argparse.Namespace], int]]


def register(add_action: AddAction, wrap: Wrap, as_too: argparse.ArgumentParser) -> None:
    events = add_action("trade-event", help="the agency's trade events: add, list, change, "
                        "remove (officers see them on their dashboard)")
    commands = events.add_subparsers(dest="trade_event_command", metavar="EVENT_ACTION",
                                     required=True)
    add = commands.add_parser("add", parents=[as_too], help="announce a trade event")
    change = commands.add_parser("change", parents=[as_too], help="change a trade event")
    change.add_argument("event_id", type=int, metavar="ID")
    for parser in (add, change):
        parser.add_argument("--title", required=True)
        parser.add_argument("--from", dest="starts_on", required=True, metavar="YYYY-MM-DD",
                            help="the first day (India date)")
        parser.add_argument("--to", dest="ends_on", default="", metavar="YYYY-MM-DD",
                            help="the last day (default: the first)")
        parser.add_argument("--place", default="")
        parser.add_argument("--note", default="")
    add.set_defaults(func=wrap(_add))
    change.set_defaults(func=wrap(_change))
    listing = commands.add_parser("list", parents=[as_too],
                                  help="current and coming events (--all: past ones too)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=wrap(_list))
    remove = commands.add_parser("remove", parents=[as_too], help="remove a trade event")
    remove.add_argument("event_id", type=int, metavar="ID")
    remove.set_defaults(func=wrap(_remove))


def _data(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from app.services.trade_events import check_event

    return check_event(args.title, args.starts_on, args.ends_on, args.place, args.note)


def _line(row) -> str:  # type: ignore[no-untyped-def]
    days = (f"{row.starts_on}" if row.starts_on == row.ends_on
            else f"{row.starts_on} to {row.ends_on}")
    return f"#{row.id}  {days}  {row.title}" + (f"  ({row.place})" if row.place else "")


def _add(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    row = admin.trade_events().add(_data(args))
    print(f"Added trade event {_line(row)}")
    return 0


def _change(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    row = admin.trade_events().update(args.event_id, _data(args))
    print(f"Changed trade event {_line(row)}")
    return 0


def _remove(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    row = admin.trade_events().remove(args.event_id)
    print(f"Removed trade event {_line(row)}")
    return 0


def _list(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.dashboard import india_today
    from app.services.queue_rows import utcnow

    rows = admin.trade_events().list(from_date=None if args.all else india_today(utcnow()))
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        print(_line(row))
    if not rows:
        print("No trade events" + ("." if args.all else " now or to come."))
    return 0
