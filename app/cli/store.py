"""The ``origin-desk db`` commands: schema, database roles, the keyring password, sync."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from app.config import load_config
from app.errors import UserFacingError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = subparsers.add_parser("db", help="the central store: schema, roles, sync")
    commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)

    def url_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--url", help="SQLAlchemy URL of the store (default: central_url, "
                            "or the embedded demo store); no password in it")

    upgrade = commands.add_parser("upgrade", help="migrate the central store's schema")
    url_option(upgrade)
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    upgrade.set_defaults(func=run_upgrade)

    current = commands.add_parser("current", help="print the central store's schema revision")
    url_option(current)
    current.set_defaults(func=run_current)

    grant = commands.add_parser(
        "grant", help="create or update a user's PostgreSQL login role (run as the owner)")
    url_option(grant)
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("email", nargs="?", help="the user's e-mail address")
    who.add_argument("--verifier", metavar="ROLE",
                     help="a verification login (certificate status by number only)")
    who.add_argument("--hub", metavar="ROLE",
                     help="the central service's login (origin-desk serve; docs/HUB.md)")
    grant.add_argument("--role", help="login role name (default: od_<name>_<user id>)")
    grant.add_argument("--password", action="store_true",
                       help="set the role's password (asked twice, never echoed)")
    grant.set_defaults(func=run_grant)

    revoke = commands.add_parser("revoke", help="drop a user's PostgreSQL login role")
    url_option(revoke)
    revoke.add_argument("email")
    revoke.set_defaults(func=run_revoke)

    password = commands.add_parser(
        "password", help="keep your central store password in the OS keyring")
    url_option(password)
    password.add_argument("--forget", action="store_true", help="remove it from the keyring")
    password.set_defaults(func=run_password)

    sync = commands.add_parser("sync", help="sync the local store with the central store now")
    sync.add_argument("--email", help="your e-mail (the embedded store has no logins)")
    sync.set_defaults(func=run_sync)


def _raw_url(args: argparse.Namespace) -> str:
    if getattr(args, "url", None):
        return str(args.url)
    config = load_config()
    if config.is_embedded:
        if not config.demo_store_path.exists():
            raise UserFacingError(
                f"The embedded demo store {config.demo_store_path} does not exist yet; create "
                "it with 'origin-desk demo', or name a store with --url or central_url."
            )
        return f"sqlite:///{config.demo_store_path}"
    return config.central_url


def _ask(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt + ": ") or None


def _engine(args: argparse.Namespace, *, create: bool = False):  # type: ignore[no-untyped-def]
    """The store's engine, connected once (CentralUnreachable, one line, when it cannot
    be); ``create``: a SQLite file may be new (``db upgrade`` makes the schema)."""
    from app.store.central import engine_for_url, ensure_reachable

    engine = engine_for_url(_raw_url(args), _ask, create=create)
    try:
        ensure_reachable(engine, schema=False)
    except BaseException:
        engine.dispose()
        raise
    return engine


def run_upgrade(args: argparse.Namespace) -> int:
    from app.store.schema import upgrade

    engine = _engine(args, create=True)
    try:
        revision = upgrade(engine, args.revision)
    finally:
        engine.dispose()
    print(f"Central store schema at revision {revision}")
    return 0


def run_current(args: argparse.Namespace) -> int:
    from app.store.schema import current_revision, head_revision

    engine = _engine(args)
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
    finally:
        engine.dispose()
    head = head_revision()
    note = "" if revision == head else f" (this Origin Desk's newest: {head})"
    print(f"{revision or 'empty (no schema)'}{note}")
    return 0


def _new_password() -> str:
    if not sys.stdin.isatty():
        raise UserFacingError("--password needs a terminal to ask the password on.")
    first = getpass.getpass("New password for the login role: ")
    if len(first) < 12:
        raise UserFacingError("Use a password of at least 12 characters.")
    if getpass.getpass("Once more: ") != first:
        raise UserFacingError("The two passwords differ; nothing was changed.")
    return first


def run_grant(args: argparse.Namespace) -> int:
    from app.store.roles import grant_hub_role, grant_user_role, grant_verifier_role

    password = _new_password() if args.password else None
    engine = _engine(args)
    try:
        with engine.begin() as connection:
            if args.verifier:
                grant = grant_verifier_role(connection, args.verifier, password=password)
            elif args.hub:
                grant = grant_hub_role(connection, args.hub, password=password)
            else:
                grant = grant_user_role(connection, args.email, role_name=args.role,
                                        password=password)
    finally:
        engine.dispose()
    verb = "created" if grant.created else "updated"
    print(f"Login role {grant.role_name} {verb} ({grant.group})")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from app.store.roles import revoke_user_role

    engine = _engine(args)
    try:
        with engine.begin() as connection:
            name = revoke_user_role(connection, args.email)
    finally:
        engine.dispose()
    print(f"Login role {name} dropped" if name else f"{args.email} had no login role")
    return 0


def run_password(args: argparse.Namespace) -> int:
    from app.store.connection import forget_password, parse_url, remember_password

    url = parse_url(_raw_url(args))
    if url.get_backend_name() != "postgresql":
        raise UserFacingError("Only a PostgreSQL central store has passwords.")
    if args.forget:
        print("Password removed from the keyring" if forget_password(url)
              else "No password was in the keyring")
        return 0
    if not sys.stdin.isatty():
        raise UserFacingError("'db password' needs a terminal to ask the password on.")
    remember_password(url, getpass.getpass(f"Password of {url.username} on {url.host}: "))
    print("Password kept in the OS keyring")
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from app.services.sync import SyncService
    from app.store.central import central_engine
    from app.store.link import SqlCentralLink
    from app.store.local import LocalStore

    config = load_config()
    if config.uses_central_service and not args.email:
        raise UserFacingError("Name yourself with --email: the central service signs you in.")
    local = LocalStore(config.local_store_path)
    link: Any
    if config.uses_central_service:
        from app.services.central_http import HttpCentral

        link = HttpCentral(config.central_url, ca_file=config.central_ca_file,
                           ask_password=_ask)
        close = link.close
    else:
        engine = central_engine(config, _ask)
        link, close = SqlCentralLink(engine), engine.dispose
    try:
        service = SyncService(local, link, email=args.email)
        report = service.sync_now(lambda message: print(message, file=sys.stderr))
    finally:
        close()
        local.close()
    print(report.summary)
    for entry in report.rejections:
        print(f"  not applied: {entry.action} {entry.application_number}", file=sys.stderr)
    return 0 if report.online else 3
