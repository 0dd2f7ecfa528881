"""The `origin-desk` command line: one entry point, commands contributed by each concern.

Every command module exposes ``register(subparsers)`` which adds its sub-parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
With no command, the GUI starts.

Exit codes (every command):

- 0: done (``verify``: the certificate is valid);
- 1: ``verify`` only: the certificate is not valid (the JSON report says why);
  ``import-legacy``: some rows were rejected (each named; the good ones imported);
- 2: refused: a wrong argument, setting or input file, or the central store cannot be
  reached. One line on standard error, starting ``origin-desk:``, says what is wrong;
  nothing was changed. argparse's usage errors exit 2 as well;
- 3: ``db sync`` only: the central store could not be reached (the work stays local);
- 70: an unexpected error (a bug): one line names the error's type and the log file,
  which holds the traceback; nothing is printed beyond that line;
- 130: interrupted (Ctrl+C).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_UNEXPECTED = 70  # EX_SOFTWARE of sysexits.h
EXIT_INTERRUPTED = 130

log = logging.getLogger("app.cli")

# Modules that contribute commands; each has register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.desk",
    "app.cli.admin",
    "app.cli.issuing",
    "app.cli.imaging",
    "app.cli.documents",
    "app.cli.signing",
    "app.cli.store",
    "app.cli.hub",
    "app.cli.seal",
    "app.cli.origin",
    "app.cli.ubl",
    "app.cli.legacy",
)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error told in one line (exit 2) that names the help."""

    def error(self, message: str) -> NoReturn:
        _say(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_REFUSED)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    parser.add_argument(
        "--open", metavar="PDF",
        help="verify this certificate PDF in the desk (a running desk is brought forward "
             "and opens it)",
    )
    parser.add_argument(
        "--self-test", action="store_true",
        help="check this installation offscreen in a temporary directory (demo store, "
             "render, sign, verify, QR) and exit 0 when it works",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("origin-desk")
    except PackageNotFoundError:
        return "unknown"


def _run_gui(args: argparse.Namespace) -> int:
    if args.self_test:
        from app.self_test import run_self_test

        return run_self_test()
    open_file = None
    if args.open:
        from pathlib import Path

        from app.errors import UserFacingError

        path = Path(args.open).expanduser()
        if not path.is_file():
            raise UserFacingError(f"{args.open}: no such file to open (--open takes a "
                                  "certificate PDF)")
        open_file = str(path.resolve())
    from app.views.application import run_gui

    return run_gui(officer=args.officer, screenshot=args.screenshot, open_file=open_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (see the module's description)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one top-level handler (SystemExit passes)
        return _unexpected(exc)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _tolerant_stdout()
    parser = build_parser()
    if not argv or argv[0].startswith("--") and argv[0] not in ("--help", "-h", "--version"):
        argv = ["gui", *argv]
    args, extra = parser.parse_known_args(argv)
    if extra:  # named here, where the command (and its help) is known
        words = [getattr(args, key, None) for key in ("command", "db_command", "admin_command")]
        prog = " ".join(["origin-desk", *(w for w in words if isinstance(w, str))])
        _say(f"unrecognized arguments: {' '.join(extra)} (see '{prog} --help')")
        return EXIT_REFUSED
    from app.config import ConfigError, load_config, prepare_data_dir
    from app.errors import UserFacingError
    from app.logs import setup_logging

    try:
        config = load_config()
        prepare_data_dir(config.data_dir)
    except ConfigError as exc:  # said, not logged: the log's own folder may be what is wrong
        _say(str(exc))
        return EXIT_REFUSED
    setup_logging(config)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UserFacingError) as exc:
        log.warning("%s refused: %s", args.command, exc)
        _say(str(exc))
        return EXIT_REFUSED
    except BrokenPipeError:  # e.g. piped into head
        _quiet_stdout()
        return EXIT_OK


def _say(message: str) -> None:
    """One line on standard error: ``origin-desk: message`` (line breaks folded)."""
    text = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    with contextlib.suppress(OSError, ValueError):  # standard error closed: nothing to do
        print(f"origin-desk: {text}", file=sys.stderr, flush=True)


def _tolerant_stdout() -> None:
    """A file name that is not valid UTF-8 is printed as its bytes, not as an error."""
    stream = sys.stdout
    if stream is not sys.__stdout__:  # not the process's own (e.g. captured in a test)
        return
    if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
        with contextlib.suppress(Exception):
            stream.reconfigure(errors="surrogateescape")


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at devnull so the interpreter's flush is silent."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _unexpected(exc: BaseException) -> int:
    """Anything not foreseen: the traceback to the log file, one line to the terminal."""
    from app.logs import setup_logging

    try:
        where = setup_logging()  # this run's log (already open unless the error came first)
    except Exception:  # noqa: BLE001 - logging must not hide the error itself
        where = None
    log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # a log that cannot be flushed: still say it
            handler.flush()
    detail = f"details in {where}" if where is not None else "no log file could be written"
    _say(f"unexpected error ({type(exc).__name__}); {detail}")
    return EXIT_UNEXPECTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
