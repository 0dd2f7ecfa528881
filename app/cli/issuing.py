"""CLI: ``origin-desk issue APPLICATION_NUMBER... [--office CODE]`` and ``origin-desk dsc ...``.

``issue`` signs with the configured token; the PIN is read from the terminal (hidden) or,
when standard input is not a terminal, from its first line. It is never an argument.
Exit codes: 0 every certificate issued, 1 some were not (the report says which and why),
2 nothing could start (wrong PIN, no token, refused certificate, ...).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from app.errors import UserFacingError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    issue = subparsers.add_parser(
        "issue", help="issue approved applications: sign their certificates with the token",
        description="Issue approved applications with the DSC token. The PIN is read from "
        "the terminal, or from the first line of standard input when it is not a terminal.",
    )
    issue.add_argument("numbers", nargs="+", metavar="APPLICATION_NUMBER")
    issue.add_argument("--office", metavar="CODE", help="only applications of this office")
    issue.add_argument("--officer", metavar="EMAIL",
                       help="the issuing officer (default: the officer whose registered DSC "
                       "is on the token)")
    issue.add_argument("--out", metavar="DIR", help="also write the signed PDFs into DIR")
    issue.set_defaults(func=run_issue)

    dsc = subparsers.add_parser("dsc", help="DSC (token certificate) registration")
    dsc_commands = dsc.add_subparsers(dest="dsc_command", metavar="SUBCOMMAND", required=True)
    reg = dsc_commands.add_parser(
        "register", help="register the token's signing certificate for an officer")
    reg.add_argument("--officer", metavar="EMAIL",
                     help="the officer (default: the e-mail address in the certificate)")
    reg.add_argument("--fingerprint", metavar="SHA256",
                     help="which certificate, when the token holds several that qualify")
    reg.set_defaults(func=run_dsc_register)
    listing = dsc_commands.add_parser("list", help="certificates on the token and their state")
    listing.set_defaults(func=run_dsc_list)


def _open_store() -> tuple[Any, Any]:
    from app.config import load_config
    from app.services.desk import open_central

    config = load_config()
    engine = open_central(config)
    if config.is_embedded:
        from app.signing.demo_token import activate_demo_token

        activate_demo_token(config)
    return config, engine


def read_pin(token: Any, warnings: list[str]) -> str | None:
    """The PIN from the terminal (hidden) or the first line of stdin; None when empty."""
    for warning in warnings:
        print(f"origin-desk: warning: {warning}", file=sys.stderr)
    prompt = f"PIN for token '{token.label}' (serial {token.serial}): "
    if sys.stdin is not None and sys.stdin.isatty():
        pin = getpass.getpass(prompt)
    else:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        pin = line.rstrip("\r\n")
    return pin or None


def _officer_from_token(config: Any, engine: Any) -> int:
    from sqlalchemy import select

    from app.models import DscRegistration
    from app.services.dsc import token_certificates
    from app.store.central import session_factory

    found = token_certificates(config, engine)
    fingerprints = {c.certificate.fingerprint for c in found}
    with session_factory(engine)() as session:
        users = set(session.scalars(
            select(DscRegistration.user_id).where(
                DscRegistration.fingerprint_sha256.in_(fingerprints),
                DscRegistration.revoked_at.is_(None),
            )
        ))
    if not users:
        raise UserFacingError(
            "No certificate on the token is registered to an officer: register it first "
            "(origin-desk dsc register) or name the officer with --officer."
        )
    if len(users) > 1:
        raise UserFacingError(
            "The token holds certificates of several officers: name yours with --officer EMAIL."
        )
    return int(users.pop())


def run_issue(args: argparse.Namespace) -> int:
    from app.services.dsc import user_id_for_email
    from app.services.issuing import Issuer
    from app.signing.batch import BatchStatus

    config, engine = _open_store()
    officer_id = (user_id_for_email(engine, args.officer) if args.officer
                  else _officer_from_token(config, engine))
    issuer = Issuer(engine, config, officer_id)
    ids = issuer.approved_ids(args.numbers, args.office)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)

    def progress(p: Any) -> None:
        if p.total:
            print(f"{p.finished}/{p.total}", file=sys.stderr, flush=True)

    outcome = issuer.run_batch(ids, read_pin, on_progress=progress)
    for _app_id, issued in outcome.done:
        extra = f" (supersedes {issued.superseded_number})" if issued.superseded_number else ""
        print(f"{issued.application_number}\tissued\t{issued.certificate_number}{extra}")
        if out_dir is not None:
            target = out_dir / (issued.certificate_number.replace("/", "-") + ".pdf")
            target.write_bytes(issuer.certificate_pdf(issued.certificate_number))
    numbers = issuer.application_numbers([i for i, _ in outcome.failed] + list(outcome.left))
    for app_id, reason in outcome.failed:
        print(f"{numbers[app_id]}\tnot issued\t{reason}")
    for app_id in outcome.left:
        print(f"{numbers[app_id]}\tleft approved")
    print(f"origin-desk: {outcome.summary()}", file=sys.stderr)
    if outcome.status is BatchStatus.STOPPED and not outcome.done:
        return 2
    return 0 if outcome.status is BatchStatus.COMPLETED and not outcome.failed else 1


def run_dsc_register(args: argparse.Namespace) -> int:
    from app.services.dsc import (
        DscRegistrationError,
        register_from_token,
        token_certificates,
        user_id_for_email,
    )

    config, engine = _open_store()

    def choose(candidates: list[Any]) -> Any:
        if args.fingerprint:
            wanted = args.fingerprint.lower().replace(":", "")
            for c in candidates:
                if c.certificate.fingerprint == wanted:
                    return c
            raise DscRegistrationError(
                f"No qualifying certificate on the token has SHA-256 {args.fingerprint}.")
        names = "; ".join(f"{c.certificate.common_name} sha256 {c.certificate.fingerprint}"
                          for c in candidates)
        raise DscRegistrationError(
            f"The token holds several certificates that could be registered ({names}); "
            "choose one with --fingerprint.")

    if args.officer:
        user_id = user_id_for_email(engine, args.officer)
    else:
        qualifying = [c for c in token_certificates(config, engine) if c.qualifies]
        chosen = choose(qualifying) if len(qualifying) > 1 or args.fingerprint else (
            qualifying[0] if qualifying else None)
        email = _certificate_email(chosen.certificate) if chosen else None
        if not email:
            raise UserFacingError(
                "Name the officer with --officer EMAIL (the certificate names no e-mail "
                "address of a user).")
        user_id = user_id_for_email(engine, email)
    result = register_from_token(engine, config, user_id=user_id, choose=choose)
    verb = "registered" if result.created else "was already registered"
    print(f"DSC {result.subject} (serial {result.serial_hex}, valid to "
          f"{result.not_after:%Y-%m-%d}) {verb} for {result.officer_email}")
    print(f"sha256 {result.fingerprint}  QR key id {result.key_id}")
    return 0


def run_dsc_list(args: argparse.Namespace) -> int:
    from app.services.dsc import describe, token_certificates

    config, engine = _open_store()
    for item in token_certificates(config, engine):
        print(f"[{item.token_label}] {describe(item)}")
    return 0


def _certificate_email(cert: Any) -> str | None:
    from cryptography import x509

    parsed = cert.certificate
    try:
        san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails = san.get_values_for_type(x509.RFC822Name)
        if emails:
            return str(emails[0])
    except x509.ExtensionNotFound:
        pass
    values = parsed.subject.get_attributes_for_oid(x509.NameOID.EMAIL_ADDRESS)
    return str(values[0].value) if values else None
