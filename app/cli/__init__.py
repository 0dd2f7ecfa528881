"""The `origin-desk` command line: one entry point, commands contributed by each concern.

Every command module exposes ``register(subparsers)`` which adds its sub-parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
With no command, the GUI starts.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that contribute commands; each has register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.desk",
    "app.cli.admin",
    "app.cli.issuing",
    "app.cli.imaging",
    "app.cli.documents",
    "app.cli.signing",
    "app.cli.store",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="origin-desk",
        description="Review, preview and sign electronic Certificates of Origin.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = subparsers.add_parser("gui", help="open the desk window (the default)")
    _add_gui_arguments(gui)
    gui.set_defaults(func=_run_gui)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a concern that has no commands yet
                continue
            raise
        module.register(subparsers)
    return parser


def _add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--officer", help="sign in as this officer (e-mail) without asking")
    parser.add_argument(
        "--screenshot", metavar="PNG", help="save a picture of the main window and quit"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("origin-desk")
    except PackageNotFoundError:
        return "unknown"


def _run_gui(args: argparse.Namespace) -> int:
    from app.views.application import run_gui

    return run_gui(officer=args.officer, screenshot=args.screenshot)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("--") and argv[0] not in ("--help", "-h", "--version"):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    from app.config import ConfigError
    from app.errors import UserFacingError
    from app.logs import setup_logging

    try:
        setup_logging()
        return int(args.func(args) or 0)
    except (ConfigError, UserFacingError) as exc:
        print(f"origin-desk: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("origin-desk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
