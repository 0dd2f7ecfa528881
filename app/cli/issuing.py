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


def _ask_password(prompt: str) -> str | None:
    """The central store's password, from the terminal only (stdin carries the PIN)."""
    if sys.stdin is None or not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt + ": ") or None


def _open_desk() -> tuple[Any, Any]:
    """The desk this machine is set up for (embedded, synced or offline): one path for
    the window and the commands."""
    from app.config import load_config
    from app.services.opening import open_desk

    config = load_config()
    return config, open_desk(config, ask_password=_ask_password)


def _sign_in(config: Any, desk: Any, email: str | None) -> None:
    """Sign in as ``email``, or as the officer whose registered DSC is on the token."""
    desk.sign_in(email or _officer_from_token(config, desk.central()))


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


def _officer_from_token(config: Any, central: Any) -> str:
    from app.services.dsc import token_certificates

    found = token_certificates(config, central)
    emails = {c.registered_to for c in found if c.registered_to}
    if not emails:
        raise UserFacingError(
            "No certificate on the token is registered to an officer: register it first "
            "(origin-desk dsc register) or name the officer with --officer."
        )
    if len(emails) > 1:
        raise UserFacingError(
            "The token holds certificates of several officers: name yours with --officer EMAIL."
        )
    return emails.pop()


def _output_folder(out: str | None) -> Path | None:
    """The folder for the signed PDFs, checked writable before any PIN is asked."""
    if not out:
        return None
    import tempfile

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UserFacingError(f"--out {out}: exists and is not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".origin-desk-check-"):
            pass
    except OSError as exc:
        raise UserFacingError(
            f"--out {out}: cannot write there ({exc.strerror or exc}); nothing was issued."
        ) from None
    return folder


def _write_pdf(folder: Path, number: str, pdf: bytes) -> Path:
    """Write atomically (a partial file never carries the certificate's name)."""
    import os

    target = folder / (number.replace("/", "-") + ".pdf")
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(pdf)
    os.replace(partial, target)
    return target


def run_issue(args: argparse.Namespace) -> int:
    from app.signing.batch import BatchStatus

    out_dir = _output_folder(args.out)
    config, desk = _open_desk()
    _sign_in(config, desk, args.officer)
    unwritten: dict[str, str] = {}

    def write(issued: Any, pdf: bytes) -> None:  # as soon as each certificate is recorded
        if out_dir is None:
            return
        try:
            _write_pdf(out_dir, issued.certificate_number, pdf)
        except OSError as exc:
            unwritten[issued.certificate_number] = exc.strerror or str(exc)

    issuer = desk.issuer(on_issued=write)
    ids = issuer.approved_ids(args.numbers, args.office)

    def progress(p: Any) -> None:
        if p.total:
            print(f"{p.finished}/{p.total}", file=sys.stderr, flush=True)

    outcome = issuer.run_batch(ids, read_pin, on_progress=progress)
    for _app_id, issued in outcome.done:
        extra = f" (supersedes {issued.superseded_number})" if issued.superseded_number else ""
        if issued.certificate_number in unwritten:
            extra += (f" (issued, but its PDF could not be written: "
                      f"{unwritten[issued.certificate_number]})")
        print(f"{issued.application_number}\tissued\t{issued.certificate_number}{extra}")
    numbers = issuer.application_numbers([i for i, _ in outcome.failed] + list(outcome.left))
    for app_id, reason in outcome.failed:
        print(f"{numbers.get(app_id, app_id)}\tnot issued\t{reason}")
    for app_id in outcome.left:
        print(f"{numbers.get(app_id, app_id)}\tleft approved")
    print(f"origin-desk: {outcome.summary()}", file=sys.stderr)
    if outcome.status is BatchStatus.STOPPED and not outcome.done:
        return 2
    ok = outcome.status is BatchStatus.COMPLETED and not outcome.failed and not unwritten
    return 0 if ok else 1


def run_dsc_register(args: argparse.Namespace) -> int:
    from app.services.dsc import DscRegistrationError, token_certificates

    config, desk = _open_desk()

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
        desk.sign_in(args.officer)
    else:
        qualifying = [c for c in token_certificates(config, desk.central()) if c.qualifies]
        chosen = choose(qualifying) if len(qualifying) > 1 or args.fingerprint else (
            qualifying[0] if qualifying else None)
        email = _certificate_email(chosen.certificate) if chosen else None
        if not email:
            raise UserFacingError(
                "Name the officer with --officer EMAIL (the certificate names no e-mail "
                "address of a user).")
        desk.sign_in(email)
    result = desk.dsc().register(choose)
    verb = "registered" if result.created else "was already registered"
    print(f"DSC {result.subject} (serial {result.serial_hex}, valid to "
          f"{result.not_after:%Y-%m-%d}) {verb} for {result.officer_email}")
    print(f"sha256 {result.fingerprint}  QR key id {result.key_id}")
    return 0


def run_dsc_list(args: argparse.Namespace) -> int:
    from app.services.dsc import describe, token_certificates

    config, desk = _open_desk()
    try:
        central = desk.central()
    except UserFacingError:  # offline: the token alone, without owners
        central = None
    for item in token_certificates(config, central):
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
