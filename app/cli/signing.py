"""CLI: ``origin-desk verify FILE.pdf`` and ``origin-desk tokens``.

``verify`` prints a JSON report on stdout and exits 0 when the document is valid, 1 when
it is not, 2 when the input is not a PDF or cannot be read. ``tokens`` lists the PKCS#11
modules, the tokens present, the PIN state and every certificate with whether it can sign.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.signing.errors import InvalidInput


def register(subparsers: argparse._SubParsersAction) -> None:
    verify = subparsers.add_parser(
        "verify", help="check the signatures of a signed certificate PDF (JSON report)"
    )
    verify.add_argument("file", metavar="FILE.pdf", help="the signed PDF")
    verify.add_argument(
        "--trust", metavar="DIR", help="folder of trusted root certificates (default: settings)"
    )
    verify.add_argument(
        "--signature-only", action="store_true",
        help="check the signature alone, without the store (registered signer, QR code, status)",
    )
    verify.set_defaults(func=_verify)

    tokens = subparsers.add_parser(
        "tokens", help="list PKCS#11 tokens, their certificates and PIN state"
    )
    tokens.add_argument("--json", action="store_true", help="print JSON instead of text")
    tokens.set_defaults(func=_tokens)


def _verify(args: argparse.Namespace) -> int:
    from app.config import load_config
    from app.signing.policy import load_trust_roots
    from app.signing.validation import validate_pdf

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a PDF file.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from None
    config = load_config()
    has_store = not config.is_embedded or config.demo_store_path.exists()
    if has_store and not args.trust and not args.signature_only:
        return _verify_with_store(config, data)
    trust = Path(args.trust) if args.trust else config.trust_path
    roots = load_trust_roots(trust)
    report = validate_pdf(data, trust_roots=roots)
    if not roots:
        report.problems.append(f"No trusted root certificate found in {trust}.")
        report.valid = False
    print(report.to_json())
    return 0 if report.valid else 1


def _verify_with_store(config: Any, data: bytes) -> int:
    """Every check the desk's verify view makes: signature, chain, registered signer, no
    change after signing, the QR code against the store, and the certificate's status."""
    from app.services.desk import open_central
    from app.services.issuing import verify_certificate_pdf

    engine = open_central(config)
    try:
        result = verify_certificate_pdf(engine, config, data)
    finally:
        engine.dispose()
    payload = result.report.to_dict()
    payload.update(
        valid=result.valid,
        certificate_number=result.certificate_number,
        store_status=result.store_status,
        checks=[{"check": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks],
    )
    print(json.dumps(payload, indent=2))
    return 0 if result.valid else 1


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
