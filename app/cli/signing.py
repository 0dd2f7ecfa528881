"""CLI: ``origin-desk verify FILE.pdf`` (or ``--number N`` / ``--qr IMAGE``), ``origin-desk
extend`` and ``origin-desk tokens``.

``verify --number N [--agency CODE]`` and ``verify --qr IMAGE`` (a photo, a scan or a PDF)
print the JSON of ``app/services/certificate_lookup.py`` (``docs/MIGRATION.md``, "Verifying
by number and QR code": kind, number, outcome, valid, message, answered_by, certificate,
qr, notes) and exit 0 only when the certificate is valid, 1 when it is superseded,
cancelled, unknown, its QR seal does not verify or its status could not be asked, 2 with one
line for a malformed number, a file that is not an image, holds no QR code or one that is
not a certificate's.

``verify`` prints a JSON report on stdout (``--json`` says so explicitly; it is the only
form) that names every check (``checks``: name, passed true/false/null, detail; the list
is ``app/services/verification.py``'s) and the ``verdict``, and exits 0 when the document
is valid, 1 when it is not or is authentic but superseded or cancelled; it exits 2, with
one line on standard error and no report, when the file cannot be checked: missing, a
folder, larger than 20 MB (``MAX_PDF_BYTES``, checked before reading), not a PDF, a PDF
whose structure cannot be parsed (e.g. objects nested thousands deep), or when the store
cannot be reached. ``extend [NUMBER ... | --all] [--older-than DAYS]`` adds fresh
validation data and a new document timestamp (the setting ``timestamp_url``) to stored
B-LTA certificates and stores the extended files (``app/signing/archive.py``): one line
per certificate, "extended", "not due" or why not; exit 0 when none failed, 1 when some
did, 2 without a timestamp server or a store. ``tokens`` lists the PKCS#11
modules, the tokens present, the PIN state and every certificate with whether it can sign.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.services.verification import MAX_PDF_BYTES
from app.signing.errors import InvalidInput

__all__ = ["MAX_PDF_BYTES", "read_pdf", "register"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    verify = subparsers.add_parser(
        "verify", help="check the signatures of a signed certificate PDF (JSON report)",
        description=(
            "Check a signed certificate PDF and print a JSON report naming every check. "
            "Exit 0: valid; 1: not valid, or authentic but superseded or cancelled (the "
            "report says why); 2: the file cannot be checked (missing, not a PDF, "
            f"unreadable, larger than {MAX_PDF_BYTES // (1024 * 1024)} MB) or the store "
            "cannot be reached, said in one line on standard error."
        ),
    )
    verify.add_argument("file", metavar="FILE.pdf", nargs="?", default=None,
                        help="the signed PDF")
    verify.add_argument("--number", metavar="N", default=None,
                        help="verify by certificate number instead (e.g. IGCC/2026/0000123)")
    verify.add_argument("--agency", metavar="CODE", default=None,
                        help="with --number: the issuing agency's code (default: the "
                        "number's first part)")
    verify.add_argument("--qr", metavar="IMAGE", default=None,
                        help="verify the QR code of an image (PNG, JPEG: a photo or a scan) "
                        "or of a PDF: its seal, then the certificate's status")
    verify.add_argument("--json", action="store_true",
                        help="print the JSON report (the default and only form)")
    verify.add_argument(
        "--trust", metavar="DIR", help="folder of trusted root certificates (default: settings)"
    )
    verify.add_argument(
        "--signature-only", action="store_true",
        help="check the signature alone, without the store (registered signer, QR code, status)",
    )
    verify.set_defaults(func=_verify)

    extend = subparsers.add_parser(
        "extend", help="add fresh validation data and a document timestamp to stored B-LTA "
        "certificates (archive renewal)",
        description=(
            "For each stored certificate named (or every valid one with --all): fetch the "
            "OCSP answers or CRLs of its newest document timestamp's chain into the DSS, add "
            "a new document timestamp from the configured timestamp server, and store the "
            "extended file (the digest recorded at issue is kept). One line per "
            "certificate. Exit 0: none failed; 1: some did; 2: no timestamp server "
            "configured, or the store cannot be reached."),
    )
    extend.add_argument("numbers", nargs="*", metavar="NUMBER", help="certificate numbers")
    extend.add_argument("--all", action="store_true", help="every valid certificate")
    extend.add_argument("--older-than", type=_days, metavar="DAYS", default=None,
                        help="only those whose newest document timestamp is older than DAYS "
                        "days (else: 'not due')")
    extend.set_defaults(func=_extend)

    tokens = subparsers.add_parser(
        "tokens", help="list PKCS#11 tokens, their certificates and PIN state"
    )
    tokens.add_argument("--json", action="store_true", help="print JSON instead of text")
    tokens.set_defaults(func=_tokens)


def _verify(args: argparse.Namespace) -> int:
    from app.config import load_config
    from app.signing.validation import InvalidPdf

    asked = [a for a in (args.file, args.number, args.qr) if a is not None]
    if len(asked) != 1:
        raise InvalidInput("Name one thing to verify: FILE.pdf, --number N or --qr IMAGE.")
    if args.agency is not None and args.number is None:
        raise InvalidInput("--agency goes with --number.")
    if args.number is not None or args.qr is not None:
        return _verify_number_or_qr(args)
    path = Path(args.file)
    data = read_pdf(path)
    config = load_config()
    has_store = not config.is_embedded or config.demo_store_path.exists()
    try:
        if has_store and not args.trust and not args.signature_only:
            return _verify_with_store(config, data)
        return _verify_signature_only(args, config, data)
    except InvalidPdf as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    except RecursionError:
        raise InvalidInput(
            f"{path}: the PDF cannot be read: its objects are nested too deeply (a damaged "
            "or hostile file)."
        ) from None


def read_pdf(path: Path, max_bytes: int = MAX_PDF_BYTES) -> bytes:
    """The bytes of the PDF at ``path``, checked (size with stat, before reading)."""
    try:
        info = path.stat()
        if path.is_dir():
            raise InvalidInput(f"{path} is a folder, not a PDF file.")
        if not path.is_file():
            raise InvalidInput(f"{path} is not a regular file.")
        if info.st_size > max_bytes:
            raise InvalidInput(
                f"{path} is {info.st_size / 1e6:.0f} MB; verify reads files up to "
                f"{max_bytes // (1024 * 1024)} MB (a signed certificate is well under 1 MB)."
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except ValueError:  # a NUL character in the name
        raise InvalidInput(f"{path!r} is not a usable file name.") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{path} grew past {max_bytes // (1024 * 1024)} MB while being read.")
    if not data:
        raise InvalidInput(f"{path} is empty (0 bytes), not a PDF.")
    if b"%PDF-" not in data[:1024]:
        raise InvalidInput(f"{path} is not a PDF (no %PDF header).")
    return data


def _verify_signature_only(args: argparse.Namespace, config: Any, data: bytes) -> int:
    from app.signing.policy import load_trust_roots
    from app.signing.validation import validate_pdf

    trust = Path(args.trust) if args.trust else config.trust_path
    if args.trust and not trust.is_dir():
        raise InvalidInput(f"--trust {trust}: no such folder.")
    try:
        roots = load_trust_roots(trust)
    except OSError as exc:
        raise InvalidInput(f"The trust folder {trust} cannot be read: {exc.strerror or exc}.") \
            from None
    from app.services.verification import NOT_VALID, VALID, Check, signature_checks, verdict_of
    from app.signing.integrity import check_integrity

    report = validate_pdf(data, trust_roots=roots)
    if not roots:
        report.problems.append(f"No trusted root certificate found in {trust}.")
        report.valid = False
    integrity = check_integrity(data)
    checks = signature_checks(data, report, integrity, {}, "not checked: the signature alone")
    unchecked = "not checked: the signature alone (without the store)"
    checks += [Check("Same file as issued", None, unchecked, "issued_digest"),
               Check("Status in the store", None, unchecked, "store_status"),
               Check("QR code matches the document", None, unchecked, "qr_code")]
    later = integrity.later_changes()
    if later:
        report.problems.append(f"The document was changed after it was signed: {later}.")
    if report.signatures and integrity.padding_untouched is False:
        report.problems.append("The signature's /Contents was altered after signing: after "
                               "the signature data it holds something other than zero padding.")
    failed = any(c.passed is False for c in checks)
    report.valid = report.valid and not failed
    payload = report.to_dict()
    verdict = verdict_of(checks)
    payload.update(verdict=VALID if report.valid else NOT_VALID if failed else verdict,
                   checks=[c.to_dict() for c in checks])
    print(json.dumps(payload, indent=2))
    return 0 if report.valid else 1


def _verify_with_store(config: Any, data: bytes) -> int:
    """Every check the desk's verify view makes (``app/services/verification.py``)."""
    from app.services.desk import open_central
    from app.services.verification import verify_certificate_pdf
    from app.store.central import ensure_reachable

    engine = open_central(config)
    try:
        ensure_reachable(engine)
        result = verify_certificate_pdf(engine, config, data)
    finally:
        engine.dispose()
    payload = result.report.to_dict()
    payload.update(result.to_dict())
    print(json.dumps(payload, indent=2))
    return 0 if result.valid else 1


def _verify_number_or_qr(args: argparse.Namespace) -> int:
    """``--number N`` or ``--qr IMAGE``: the JSON of ``NumberVerification.to_dict`` (its
    ``outcome`` valid / superseded / cancelled / unknown / seal_invalid / not_checked);
    exit 0 only when valid."""
    from app.config import load_config
    from app.services.certificate_lookup import (
        BadVerificationInput,
        StoreLookup,
        public_lookup,
        verify_number,
        verify_qr_file,
    )
    from app.store.central import central_engine, ensure_reachable

    config = load_config()
    engine = None
    try:
        if config.is_embedded:
            from app.services.desk import open_central

            engine = open_central(config)
            lookup = public_lookup(config, engine)
        elif config.central_url.lower().startswith("https://"):
            lookup = public_lookup(config)
        else:  # the store, through the login the settings name (od_certificate_details;
            # a verifier's login may call it and read no table, not even the schema's)
            engine = central_engine(config)
            ensure_reachable(engine, schema=False)
            lookup = StoreLookup(engine, config)
        try:
            result = (verify_number(lookup, args.number, args.agency)
                      if args.number is not None else verify_qr_file(lookup, Path(args.qr)))
        except BadVerificationInput as exc:
            raise InvalidInput(str(exc)) from None
    finally:
        if engine is not None:
            engine.dispose()
    print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    return 0 if result.valid else 1


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days") from None
    if not 0 <= days <= 36500:
        raise argparse.ArgumentTypeError("DAYS is between 0 and 36500")
    return days


def _extend(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from cryptography.hazmat.primitives.serialization import Encoding

    from app.config import load_config
    from app.errors import UserFacingError
    from app.services.central import SqlCentral
    from app.services.desk import open_central
    from app.signing.archive import extend_pdf, extension_due
    from app.signing.policy import load_trust_roots
    from app.store.central import ensure_reachable

    if bool(args.numbers) == bool(args.all):
        raise InvalidInput("Name certificate numbers, or --all (not both).")
    config = load_config()
    if not config.timestamp_url:
        raise InvalidInput("No timestamp server is configured (setting 'timestamp_url'): "
                           "certificates cannot be extended.")
    roots = [c.public_bytes(Encoding.DER) for c in load_trust_roots(config.trust_path)]
    older_than = timedelta(days=args.older_than) if args.older_than is not None else None
    engine = open_central(config)
    failed = 0
    try:
        ensure_reachable(engine)
        central = SqlCentral(engine, config)
        numbers = ([n.strip().upper() for n in args.numbers] if args.numbers
                   else central.valid_certificate_numbers())
        for number in numbers:
            try:
                pdf = central.certificate_pdf(number)
                if pdf is None:
                    raise UserFacingError("not in this store")
                if not extension_due(pdf, older_than):
                    print(f"{number}: not due (its newest document timestamp is less than "
                          f"{args.older_than} days old)")
                    continue
                central.extend_certificate(number, extend_pdf(
                    pdf, timestamp_url=config.timestamp_url, trust_roots=roots))
                print(f"{number}: extended")
            except UserFacingError as exc:
                failed += 1
                reason = str(exc).removeprefix(f"Certificate {number} was not extended: ")
                print(f"{number}: not extended: {reason}")
            except Exception as exc:  # noqa: BLE001 - one line per certificate, never a traceback
                failed += 1
                log.exception("certificate %s not extended", number)
                print(f"{number}: not extended: {type(exc).__name__}: {str(exc)[:200]} "
                      "(details in the log)")
    finally:
        engine.dispose()
    return 1 if failed else 0


def _tokens(args: argparse.Namespace) -> int:
    from app.config import load_config
    from app.signing.discovery import discover_from_config

    now = datetime.now(UTC)
    config = load_config()
    if config.is_embedded:  # the embedded demo's SoftHSM2 token, when it has been made
        from app.signing.demo_token import activate_demo_token

        activate_demo_token(config)
    discovery = discover_from_config(config)
    if args.json:
        print(json.dumps({
            "modules": [m.__dict__ for m in discovery.modules],
            "tokens": [t.to_dict(now) for t in discovery.tokens],
        }, indent=2))
        return 0
    for module in discovery.modules:
        state = "loaded" if module.present and not module.error else (
            f"error: {module.error}" if module.error else "not installed")
        print(f"module {module.path}: {state}")
    if not discovery.tokens:
        print("no token present")
    for token in discovery.tokens:
        print(f"\ntoken {token.describe()} in {token.module_path}")
        warnings = token.pin.warnings()
        print("  PIN: " + (" ".join(warnings) if warnings else "ok"))
        for cert in token.certificates:
            if cert.is_ca:
                print(f"  CA certificate {cert.subject}")
                continue
            problems = cert.problems(now)
            verdict = "can sign" if not problems else "cannot sign: " + ", ".join(problems)
            print(f"  certificate {cert.describe()} [{cert.key_algorithm}] {verdict}")
            print(f"    subject {cert.subject}; issuer {cert.issuer}")
            print(f"    key usage {', '.join(sorted(cert.usages))}; sha256 {cert.fingerprint}")
    return 0
