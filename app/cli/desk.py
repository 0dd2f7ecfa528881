"""Commands of the desk itself: the demo store and the queue listing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from app.config import load_config
from app.errors import UserFacingError
from app.models import ApplicationKind, ApplicationStatus
from app.services.desk import open_central
from app.services.queue import QueueQuery, load_queue
from app.services.queue_rows import HEADERS, Col, as_decimal, as_utc
from app.store.central import ensure_reachable

if TYPE_CHECKING:
    from sqlalchemy import Engine

JSON_KEYS = {
    "application": Col.NUMBER, "kind": Col.KIND, "status": Col.STATUS,
    "waiting_since": Col.WAITING_SINCE, "exporter": Col.EXPORTER, "iec": Col.IEC,
    "consignee": Col.CONSIGNEE, "destination": Col.DESTINATION, "hs_codes": Col.HS_CODES,
    "fob_usd": Col.FOB, "claimed_by": Col.CLAIMED_BY, "office": Col.OFFICE,
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = subparsers.add_parser("demo", help="create or recreate the embedded demo store")
    demo.add_argument("--reset", action="store_true", help="delete the demo store and seed it again")
    demo.set_defaults(func=run_demo)

    listing = subparsers.add_parser("list", help="print the queue as a table or JSON lines")
    listing.add_argument("--office", metavar="CODE", help="only this office (e.g. MUM)")
    listing.add_argument("--status", metavar="S", action="append",
                         help="only this status (repeatable): " + ", ".join(s.value for s in ApplicationStatus))
    listing.add_argument("--kind", metavar="K", action="append",
                         help="only this kind (repeatable): " + ", ".join(k.value for k in ApplicationKind))
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)


def _cell(text: str, width: int) -> str:
    """Text padded to ``width``; a longer text is cut with an ellipsis, never silently."""
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def run_demo(args: argparse.Namespace) -> int:
    config = load_config()
    if not config.is_embedded:
        raise UserFacingError(
            "A central store is configured (central_url); the demo store is only used without one."
        )
    path = config.demo_store_path
    if path.exists() and not args.reset:
        print(f"The demo store exists at {path}; use --reset to recreate it.")
        return 0
    from app.signing.demo_token import prepare_demo_signing
    from app.store.demo import create_demo_store

    engine = create_demo_store(path)
    prepare_demo_signing(config, engine, reset=True)
    engine.dispose()
    print(f"Demo store created at {path}; demo token ORIGIN-DESK-DEMO, PIN 123456")
    return 0


def _choices(values: list[str] | None, allowed: type[ApplicationStatus] | type[ApplicationKind], name: str) -> tuple[str, ...] | None:
    if not values:
        return None
    known = {member.value for member in allowed}
    result = []
    for value in values:
        normal = value.strip().lower().replace("-", "_").replace(" ", "_")
        if normal not in known:
            raise UserFacingError(f"--{name} {value!r} is not known; expected one of {', '.join(sorted(known))}")
        result.append(normal)
    return tuple(result)


def run_list(args: argparse.Namespace) -> int:
    statuses = _choices(args.status, ApplicationStatus, "status")
    kinds = _choices(args.kind, ApplicationKind, "kind")
    config = load_config()
    engine = open_central(config)
    try:
        return _print_list(args, engine, statuses, kinds)
    finally:
        engine.dispose()


def _print_list(args: argparse.Namespace, engine: Engine, statuses: tuple[str, ...] | None,
                kinds: tuple[str, ...] | None) -> int:
    ensure_reachable(engine)
    office_ids = None
    if args.office is not None:
        from sqlalchemy import select

        from app.models import Office

        code = args.office.strip().upper()
        if not code:
            raise UserFacingError("--office needs an office code, e.g. MUM")
        with engine.connect() as connection:
            office_id = connection.execute(select(Office.id).where(Office.code == code)).scalar()
        if office_id is None:
            raise UserFacingError(f"--office {args.office!r}: no office with that code in the store")
        office_ids = (office_id,)
    rows = load_queue(engine, QueueQuery(office_ids=office_ids, statuses=statuses, kinds=kinds))
    out = sys.stdout
    if args.json:
        for row in rows:
            record = {}
            for key, column in JSON_KEYS.items():
                value = row[column]
                if column == Col.FOB:
                    value = str(as_decimal(value))
                elif column == Col.WAITING_SINCE:
                    moment = as_utc(value)
                    value = moment.isoformat() if moment else None
                record[key] = value
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    columns = (Col.NUMBER, Col.KIND, Col.STATUS, Col.OFFICE, Col.IEC, Col.EXPORTER,
               Col.DESTINATION, Col.HS_CODES)
    widths = {Col.NUMBER: 15, Col.KIND: 16, Col.STATUS: 14, Col.OFFICE: 6, Col.IEC: 10,
              Col.EXPORTER: 40, Col.DESTINATION: 11, Col.HS_CODES: 30}
    out.write("  ".join(HEADERS[c].ljust(widths[c]) for c in columns).rstrip() + "\n")
    for row in rows:
        cells = [_cell(str(row[c]), widths[c]) for c in columns]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"{len(rows)} application(s)\n")
    return 0
