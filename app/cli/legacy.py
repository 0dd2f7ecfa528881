"""``origin-desk import-legacy FILE --as EMAIL``: the legacy system's (eCoO 1.0) export of
issued certificates and e-wallet balances, migrated into the central store
(``docs/MIGRATION.md``; ``app/services/legacy_import.py``).

One line per rejected row (``line N: reason``) on standard output, then the summary, e.g.
``Nothing changed: 0 new, 1200 already migrated (...)`` on a second run; ``--json`` prints
the report as JSON instead. A progress bar on standard error when it is a terminal.
Exit 0: every row imported or already migrated; 1: some rows were rejected (the good ones
are imported); 2: the file cannot be read, is not the export's CSV, or the acting user
may not import (one line on standard error, nothing imported).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command = subparsers.add_parser(
        "import-legacy", help="migrate the legacy eCoO 1.0 export (certificates and e-wallet "
        "balances) into the central store",
        description=(
            "Import the legacy system's CSV export (docs/MIGRATION.md) as an agency "
            "administrator: certificates become verifiable by number with their legacy "
            "status, balances open each office's e-wallet. Bad rows are reported with their "
            "line number and reason; the good ones are imported. Running it again changes "
            "nothing. Exit 0: all imported or already migrated; 1: some rows rejected; "
            "2: the file or the user is refused (nothing imported)."))
    command.add_argument("file", metavar="FILE.csv", help="the legacy export")
    command.add_argument("--as", dest="admin_email", required=True, metavar="EMAIL",
                         help="the administrator importing (their e-mail address)")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.set_defaults(func=_import)


class _Bar:
    """A progress bar on standard error (a terminal only)."""

    def __init__(self) -> None:
        self.shown = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.shown or (time.monotonic() - self.last < 0.1 and done < total):
            return
        self.last = time.monotonic()
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _import(args: argparse.Namespace) -> int:
    from app.config import load_config
    from app.errors import UserFacingError
    from app.services.admin import AgencyAdmin
    from app.services.desk import open_central
    from app.services.legacy_import import LegacyImport
    from app.store.central import ensure_reachable

    config = load_config()
    if config.central_url.lower().startswith("https://"):
        raise UserFacingError("The legacy import works on the central store's database "
                              "(central_url postgresql+psycopg://... with an administrator's "
                              "login, or the embedded demo), not through the central service.")
    engine = open_central(config)
    try:
        ensure_reachable(engine)
        admin = AgencyAdmin.for_email(engine, args.admin_email)
        report = LegacyImport(admin).run(Path(args.file), progress=_Bar())
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for rejected in report.rejected:
            print(f"{args.file}: {rejected}")
        print(report.summary())
    return 1 if report.rejected else 0
