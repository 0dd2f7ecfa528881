"""`origin-desk origin-check`: does a cost sheet meet its agreement's origin rule?

Exit 0 when the criterion claimed is met, 1 when it is not, 2 when the file is not an
origin-check file (docs/ORIGIN.md) or the application cannot be read (nothing computed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.errors import UserFacingError

EXIT_MET = 0
EXIT_NOT_MET = 1
MAX_FILE_BYTES = 5 * 1024 * 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "origin-check",
        help="check a cost sheet against its agreement's origin rule",
        description=(
            "Compute value content (build-down and build-up), the non-originating share and "
            "the change of classification of a cost sheet, and the verdict for the "
            "criterion claimed. FILE.json is described in docs/ORIGIN.md; an application "
            "number reads that application's cost sheet from the store. "
            "Exit 0: met; 1: not met; 2: refused."
        ),
    )
    parser.add_argument("target", metavar="FILE.json | APPLICATION_NUMBER",
                        help="an origin-check file, or an application in the store")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=_origin_check)


def _origin_check(args: argparse.Namespace) -> int:
    from app.models.agreements import origin_agreements
    from app.models.origin import check_origin, show

    case = _case(args.target)
    agreement = origin_agreements().get(case.agreement)
    if agreement is None:
        raise UserFacingError(f"unknown agreement {case.agreement!r}")
    verdict = check_origin(case, agreement)
    if args.json:
        print(json.dumps(verdict.as_json(), indent=2, ensure_ascii=False))
    else:
        for number, step in enumerate(verdict.steps, start=1):
            print(f"{number:2}. {step}")
        print(f"build-down {show(verdict.build_down_percent)} %, build-up "
              f"{show(verdict.build_up_percent)} %, non-originating "
              f"{show(verdict.non_originating_percent)} %")
        print(f"Verdict: {verdict.criterion} {'met' if verdict.met else 'not met'}")
    return EXIT_MET if verdict.met else EXIT_NOT_MET


def _case(target: str):  # type: ignore[no-untyped-def]
    path = Path(target)
    if target.lower().endswith(".json") or path.exists():
        from app.models.origin_file import OriginFileError, read_origin_case

        try:
            if not path.exists():
                raise UserFacingError(f"{target}: no such file")
            if not path.is_file():
                raise UserFacingError(f"{target}: not a regular file")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise UserFacingError(f"{target}: larger than 5 MB; not an origin-check file")
            data = path.read_bytes()
        except OSError as exc:
            raise UserFacingError(f"cannot read {target}: {exc.strerror or exc}") from None
        try:
            return read_origin_case(data)
        except OriginFileError as exc:
            raise UserFacingError(f"{target}: {exc}") from None
    from app.services.origin_source import origin_case_for

    return origin_case_for(target)
