"""`origin-desk export-ubl` and `origin-desk import-ubl`: issued certificates as OASIS UBL 2.1
CertificateOfOrigin documents (``docs/UBL.md``)."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import UserFacingError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export-ubl",
        help="write issued certificates as UBL 2.1 CertificateOfOrigin documents",
        description=(
            "Write each named certificate as an OASIS UBL 2.1 CertificateOfOrigin document "
            "(NUMBER.xml, '/' written as '-') into DIR. Read from the embedded demo, the "
            "central PostgreSQL store (your own login) or, when central_url is the central "
            "service's https:// address, through the service signed in as --officer. Nothing "
            "is written unless every number is an issued certificate of the store."
        ),
    )
    export.add_argument("numbers", nargs="+", metavar="NUMBER", help="certificate number")
    export.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="the directory the documents are written to (made if missing)")
    export.add_argument("--officer", metavar="EMAIL",
                        help="through the central service: sign in as this officer")
    export.set_defaults(func=_export)

    read = subparsers.add_parser(
        "import-ubl",
        help="check a UBL 2.1 CertificateOfOrigin document and read its certificate",
        description=(
            "Check FILE against UBL 2.1's CertificateOfOrigin (the elements Origin Desk "
            "reads, their order, occurrences and data types; a wrong one is named with its "
            "path) and print the certificate it carries as Origin Desk's certificate-data "
            "JSON. With --compare, also say whether it matches the certificate of that "
            "number in the configured store. Exit 0 when the document is read (and, with "
            "--compare, matches), 1 when it differs from the store, 2 when it is refused."
        ),
    )
    read.add_argument("file", type=Path, metavar="FILE", help="the UBL document (XML)")
    read.add_argument("--compare", action="store_true",
                      help="compare with the store's certificate of the same number")
    read.add_argument("--officer", metavar="EMAIL",
                      help="with --compare through the central service: sign in as this officer")
    read.set_defaults(func=_import)


def _export(args: argparse.Namespace) -> int:
    from app.services.ubl_exchange import checked_numbers, export_certificates

    numbers = checked_numbers(args.numbers)  # one line before any connection
    with _link(args.officer) as link:
        written = export_certificates(link, numbers, args.out)
    for entry in written:
        note = "" if entry.status == "valid" else f" ({entry.status})"
        print(f"wrote {entry.path}: certificate {entry.number}{note}")
    log.info("export-ubl: %d document(s) to %s", len(written), args.out)
    return 0


def _import(args: argparse.Namespace) -> int:
    from app.documents.certificate_json import certificate_data_to_dict
    from app.services.ubl_exchange import differences, read_document

    data = read_document(args.file)
    payload: dict[str, Any] = {"document": str(args.file), "valid_ubl": True,
                               "certificate": certificate_data_to_dict(data)}
    code = 0
    if args.compare:
        with _link(args.officer) as link:
            stored, status = link.certificate_record(data.certificate_number)
        if stored is None:
            payload["store"] = {"found": False, "status": status}
            code = 1
        else:
            changed = differences(data, stored)
            payload["store"] = {"found": True, "status": status, "matches": not changed,
                                "differs_in": changed}
            code = 0 if not changed else 1
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    return code


class _link:  # noqa: N801 - used as a context manager, like open()
    """The configured central store as a CentralLink, closed on leaving."""

    def __init__(self, officer: str | None) -> None:
        self.officer = officer
        self._close: Callable[[], None] = lambda: None

    def __enter__(self) -> Any:
        from app.config import load_config

        config = load_config()
        if config.uses_central_service:
            from app.cli.issuing import _ask_password
            from app.services.central_http import HttpCentral

            if not self.officer:
                raise UserFacingError("Name yourself with --officer EMAIL: the central service "
                                      "signs you in to read certificates.")
            link = HttpCentral(config.central_url, ca_file=config.central_ca_file,
                               ask_password=_ask_password)

            def close() -> None:
                link.sign_out()
                link.close()

            try:
                link.hello(self.officer)
            except BaseException:
                close()
                raise
            self._close = close
            return link
        from app.services.central import as_central
        from app.services.desk import open_central
        from app.store.central import ensure_reachable

        engine = open_central(config)
        self._close = engine.dispose
        ensure_reachable(engine)
        return as_central(engine, config)

    def __exit__(self, *exc: object) -> None:
        self._close()
