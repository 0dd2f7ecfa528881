"""`origin-desk admin …`: the administrator's services from the command line, for
automation (same rules, same audit events as the window).

    origin-desk admin --as admin@igcc.org.in offices
    origin-desk admin --as admin@igcc.org.in set-gateway MUM --merchant-id IGCCMUM1 < key.txt
    origin-desk admin --as admin@igcc.org.in approve tarun.bose@igcc.org.in --office MUM
    origin-desk admin --as admin@igcc.org.in upload-stamp MUM stamp-photo.jpg
    origin-desk admin --as admin@igcc.org.in api-key issue --iec AAACR5055K --label "ERP"
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.cli.imaging import _strength
from app.errors import UserFacingError

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    admin = subparsers.add_parser("admin", help="agency administration: offices, users, "
                                  "payment gateway, stamps and signatures")
    admin.add_argument("--as", dest="admin_email", default=None, metavar="EMAIL",
                       help="the administrator acting (their e-mail address)")
    actions = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    # `admin ACTION --as EMAIL` works as well as `admin --as EMAIL ACTION`
    as_too = argparse.ArgumentParser(add_help=False)
    as_too.add_argument("--as", dest="admin_email", default=argparse.SUPPRESS, metavar="EMAIL",
                        help="the administrator acting (their e-mail address)")

    def add_action(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return actions.add_parser(name, parents=[as_too], **kwargs)

    add_action("offices", help="list the agency's offices").set_defaults(
        func=_wrap(_offices))
    users = add_action("users", help="list the agency's users")
    users.add_argument("--pending", action="store_true", help="only pending registrations")
    users.set_defaults(func=_wrap(_users))

    gateway = add_action(
        "set-gateway", help="set an office's payment gateway Merchant ID and Checksum key; "
        "the key is read from standard input (one line), never from the command line")
    gateway.add_argument("office", metavar="OFFICE", help="office code, e.g. MUM")
    gateway.add_argument("--merchant-id", required=True)
    gateway.set_defaults(func=_wrap(_set_gateway))

    wallet = add_action("ewallet", help="switch an office's e-wallet on or off")
    wallet.add_argument("office", metavar="OFFICE")
    wallet.add_argument("state", choices=("on", "off"))
    wallet.set_defaults(func=_wrap(_ewallet))
    from app.cli import wallet as wallet_cli

    wallet_cli.register(add_action, _wrap, as_too)
    from app.cli import trade_events as trade_events_cli

    trade_events_cli.register(add_action, _wrap, as_too)

    approve = add_action("approve", help="approve a pending officer registration")
    approve.add_argument("email")
    approve.add_argument("--office", action="append", required=True, metavar="CODE",
                         help="an office the officer serves (repeat for several)")
    approve.set_defaults(func=_wrap(_approve))
    for name, text in (("refuse", "refuse a pending registration"),
                       ("deactivate", "deactivate an active user"),
                       ("activate", "activate a deactivated user")):
        command = add_action(name, help=text)
        command.add_argument("email")
        if name != "activate":
            command.add_argument("--reason", default="")
        command.set_defaults(func=_wrap(_status), status_action=name)
    mapping = add_action("map", help="set the offices an officer serves")
    mapping.add_argument("email")
    mapping.add_argument("--office", action="append", default=[], metavar="CODE")
    mapping.set_defaults(func=_wrap(_map))
    domains = add_action("domains", help="set the agency's official e-mail domains")
    domains.add_argument("domain", nargs="+")
    domains.set_defaults(func=_wrap(_domains))

    for kind in ("stamp", "signature"):
        upload = add_action(
            f"upload-{kind}", help=f"clean a scan or photo and store it as the "
            f"{'office' if kind == 'stamp' else 'officer'}'s {kind}")
        upload.add_argument("owner", metavar="OFFICE" if kind == "stamp" else "EMAIL")
        upload.add_argument("image", metavar="FILE")
        upload.add_argument("--strength", type=_strength, default=0.5, metavar="0..1",
                            help="0 keeps faint ink … 1 removes the most (default 0.5)")
        upload.set_defaults(func=_wrap(_upload), kind=kind)

    keys = add_action("api-key", help="intake API keys of exporters (IECs): issue, list, "
                      "revoke")
    key_actions = keys.add_subparsers(dest="key_command", metavar="KEY_ACTION", required=True)
    issue = key_actions.add_parser("issue", parents=[as_too], help="issue a key for an IEC; "
                                   "the key is printed once, on standard output")
    issue.add_argument("--iec", required=True, help="the exporter's IEC, e.g. AAACR5055K")
    issue.add_argument("--label", default="", help="what the key is for, e.g. the exporter's "
                       "ERP or the customs agent's name")
    issue.add_argument("--office", default=None, metavar="CODE",
                       help="the office its applications go to (default: the office that "
                       "handled most of the exporter's applications)")
    issue.set_defaults(func=_wrap(_key_issue))
    listing = key_actions.add_parser("list", parents=[as_too], help="the agency's keys "
                                     "(prefix, IEC, office, state; never the keys)")
    listing.add_argument("--active", action="store_true", help="only keys not revoked")
    listing.set_defaults(func=_wrap(_key_list))
    revoke = key_actions.add_parser("revoke", parents=[as_too], help="revoke a key by its "
                                    "prefix")
    revoke.add_argument("prefix", metavar="PREFIX", help="the key's prefix, e.g. 1a2b3c4d")
    revoke.set_defaults(func=_wrap(_key_revoke))

    password = add_action(
        "password", help="set a user's initial password at the central service (they must "
        "change it at first sign-in); read from standard input, or --generate")
    password.add_argument("email")
    password.add_argument("--generate", action="store_true",
                          help="make a random password and print it once")
    password.set_defaults(func=_wrap(_password))
    for name, text in (("unlock", "lift the lock after repeated wrong passwords"),
                       ("end-sessions", "sign a user out of every desk now")):
        command = add_action(name, help=text)
        command.add_argument("email")
        command.set_defaults(func=_wrap(_credentials), credentials_action=name)
    policy = add_action("sign-in-policy", help="ask officers for their registered DSC when "
                        "they sign in to the central service")
    policy.add_argument("--require-dsc", choices=("on", "off"), required=True)
    policy.set_defaults(func=_wrap(_sign_in_policy))

    audit = add_action("audit", help="the latest administrative events")
    audit.add_argument("--limit", type=_limit, default=50, metavar=f"1..{MAX_AUDIT_LIMIT}",
                       help="how many events (default 50)")
    audit.set_defaults(func=_wrap(_audit))


Handler = Callable[[argparse.Namespace, "AgencyAdmin"], int]


def _password(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.admin_credentials import generated_password, set_initial_password

    if args.generate:
        password = generated_password()
    else:
        if sys.stdin.isatty():
            import getpass

            password = getpass.getpass("Initial password (not echoed): ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserFacingError("No password on standard input; nothing was changed "
                                  "(or use --generate).")
    set_initial_password(admin, args.email, password)
    if args.generate:
        print(password)
        print(f"Initial password set for {args.email.strip().lower()}: give it to them "
              "privately; they choose their own at first sign-in.", file=sys.stderr)
    else:
        print(f"Initial password set for {args.email.strip().lower()}; they choose their "
              "own at first sign-in.")
    return 0


def _credentials(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.admin_credentials import end_sessions, unlock

    if args.credentials_action == "unlock":
        unlock(admin, args.email)
        print(f"{args.email.strip().lower()} may sign in again.")
    else:
        ended = end_sessions(admin, args.email)
        print(f"{ended} session(s) of {args.email.strip().lower()} ended.")
    return 0


def _sign_in_policy(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.admin_credentials import require_dsc_at_sign_in

    require_dsc_at_sign_in(admin, args.require_dsc == "on")
    print("Officers " + ("must now prove their registered DSC" if args.require_dsc == "on"
                         else "sign in with their password only") + " at the central service.")
    return 0
MAX_AUDIT_LIMIT = 100_000


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_AUDIT_LIMIT:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_AUDIT_LIMIT}, not {value}")
    return value


def _wrap(handler: Handler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from app.config import load_config
        from app.services.admin import AgencyAdmin
        from app.services.desk import open_central
        from app.store.central import ensure_reachable

        if not args.admin_email or not args.admin_email.strip():
            raise UserFacingError("Name the administrator acting with --as EMAIL.")
        engine = open_central(load_config())
        try:
            ensure_reachable(engine)
            return handler(args, AgencyAdmin.for_email(engine, args.admin_email.strip()))
        finally:
            engine.dispose()

    return run


def _office_id(admin: AgencyAdmin, code: str) -> int:
    for office in admin.offices():
        if office.code == code:
            return int(office.id)
    raise UserFacingError(f"No office with the code {code!r} in your agency.")


def _user_id(admin: AgencyAdmin, email: str) -> int:
    wanted = email.strip().lower()
    for user in admin.users():
        if user.email == wanted:
            return int(user.id)
    raise UserFacingError(f"No user {email!r} in your agency.")


def _offices(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    for o in admin.offices():
        wallet = "on " if o.ewallet_enabled else "off"
        print(f"{o.code:<6} {o.name:<32} {o.place:<14} e-wallet {wallet}"
              f"  merchant {o.merchant_id or '—':<16} key {o.checksum_key_hint or '—':<20} "
              f"stamp {'yes' if o.has_stamp else 'MISSING'}")
    return 0


def _users(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    rows = admin.pending_registrations() if args.pending else admin.users()
    for u in rows:
        print(f"{u.email:<36} {u.full_name:<22} {u.role:<13} {u.status:<11} "
              f"{','.join(u.office_codes) or '—'}")
    return 0


def _set_gateway(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    if sys.stdin.isatty():
        import getpass

        key = getpass.getpass("Checksum key (not shown): ")
    else:
        line = sys.stdin.readline()
        key = line[:-1] if line.endswith("\n") else line  # the line's end, nothing else
        key = key[:-1] if key.endswith("\r") else key
    row = admin.set_gateway(_office_id(admin, args.office), args.merchant_id, key)
    print(f"{row.code}: merchant ID {row.merchant_id}, checksum key {row.checksum_key_hint}")
    return 0


def _ewallet(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    row = admin.set_ewallet(_office_id(admin, args.office), args.state == "on")
    print(f"{row.code}: e-wallet {'on' if row.ewallet_enabled else 'off'}")
    return 0


def _approve(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    offices = [_office_id(admin, code) for code in args.office]
    row = admin.approve(_user_id(admin, args.email), offices)
    print(f"{row.email}: {row.status}, offices {', '.join(row.office_codes)}")
    return 0


def _status(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    uid = _user_id(admin, args.email)
    if args.status_action == "refuse":
        row = admin.refuse(uid, args.reason)
    elif args.status_action == "activate":
        row = admin.activate(uid)
    else:
        result = admin.deactivate(uid, args.reason)
        row = result.user
        if result.claims_released:
            print(f"note: back in the queue (claims of {row.full_name} released): "
                  f"{', '.join(result.claims_released)}", file=sys.stderr)
    print(f"{row.email}: {row.status}")
    return 0


def _map(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    offices = [_office_id(admin, code) for code in args.office]
    row = admin.set_officer_offices(_user_id(admin, args.email), offices)
    print(f"{row.email}: offices {', '.join(row.office_codes) or 'none'}")
    return 0


def _domains(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    agency = admin.set_email_domains(args.domain)
    print(f"{agency.code}: {', '.join(agency.email_domains)}")
    return 0


def _upload(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    from app.services.admin_images import prepare_upload

    upload = prepare_upload(args.image, args.kind)
    cleaned = upload.render(args.strength)
    for warning in cleaned.warnings:
        print(f"warning: {warning.message}", file=sys.stderr)
    png = cleaned.png()  # refuses when no ink was found
    if args.kind == "stamp":
        admin.set_office_stamp(_office_id(admin, args.owner), png, source=upload.name)
    else:
        admin.set_officer_signature(_user_id(admin, args.owner), png, source=upload.name)
    print(f"{args.owner}: {args.kind} stored ({cleaned.width}×{cleaned.height} px, "
          f"{len(png) / 1024:,.0f} KB)")
    return 0


def _audit(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    for e in admin.audit_log(limit=args.limit):
        change = e.change.replace("\n", "; ")
        print(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor}  {e.action}  {e.entity}  {change}"
              + (f"  ({e.note})" if e.note else ""))
    return 0


def _key_line(k: Any) -> str:
    state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
    used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
    return (f"{k.prefix}  {k.iec}  {k.office_code:<6} {state:<22} used {used:<16}  "
            f"{k.exporter_name}" + (f"  ({k.label})" if k.label else ""))


def _key_issue(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    issued = admin.api_keys().issue(args.iec, label=args.label, office_code=args.office)
    row = issued.row
    print(f"API key {row.prefix} for {row.exporter_name} ({row.iec}), office {row.office_code}; "
          "it is shown only now: hand it to the exporter over a safe channel.",
          file=sys.stderr)
    print(issued.key)
    return 0


def _key_list(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    for key in admin.api_keys().list_keys(include_revoked=not args.active):
        print(_key_line(key))
    return 0


def _key_revoke(args: argparse.Namespace, admin: AgencyAdmin) -> int:
    print(_key_line(admin.api_keys().revoke(args.prefix)))
    return 0
