"""CLI: ``origin-desk seal create|list``: the agencies' QR seals (``app/signing/seal.py``).

``seal create --agency CODE`` generates a new seal key pair on the seal token, makes its
certificate and records it in the central store; the agency's previous seal is retired (it
stays in the trust list). The seal token is named by ``--config FILE``: the central
service's settings file (its ``[seal]`` table and ``[server] public_base_url``) or a TOML
file with the seal keys at the top; on the embedded demo the demo seal is used.
``seal list`` prints the seals of the store, ``--json`` the published trust list document.
Run both against the schema owner's login (``--url``, default ``central_url`` or the
embedded demo store).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

from app.errors import UserFacingError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    seal = subparsers.add_parser("seal", help="the agencies' QR seals and their trust list")
    commands = seal.add_subparsers(dest="seal_command", metavar="SEAL_COMMAND", required=True)

    def url_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--url", help="SQLAlchemy URL of the store (default: central_url, "
                            "or the embedded demo store); no password in it")

    create = commands.add_parser(
        "create", help="make a new seal for an agency (key pair on the seal token)",
        description="Generate a seal key pair on the seal token, make its certificate and "
                    "record it; the agency's previous seal is retired but stays listed.")
    create.add_argument("--agency", required=True, metavar="CODE", help="the agency's code")
    create.add_argument("--config", metavar="FILE", type=Path,
                        help="the service's settings file ([seal] table) or a TOML file of "
                             "seal settings (default on the embedded demo: the demo seal)")
    url_option(create)
    create.set_defaults(func=run_create)

    listing = commands.add_parser("list", help="the seals in the store")
    listing.add_argument("--json", action="store_true",
                         help="print the trust list document (what the service publishes)")
    url_option(listing)
    listing.set_defaults(func=run_list)


def seal_settings(path: Path) -> dict[str, Any]:
    """The seal settings in ``path``: its ``[seal]`` table (with ``[server]
    public_base_url`` when the table has none), else its top-level keys."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserFacingError(f"--config {path}: cannot be read: {exc.strerror or exc}.") \
            from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserFacingError(f"--config {path}: not TOML: {exc}.") from None
    if "seal" not in raw:
        return raw
    settings = dict(raw["seal"]) if isinstance(raw["seal"], dict) else {}
    server = raw.get("server")
    if "public_base_url" not in settings and isinstance(server, dict) \
            and "public_base_url" in server:
        settings["public_base_url"] = server["public_base_url"]
    return settings


def _sealer(args: argparse.Namespace) -> Any:
    from app.config import load_config
    from app.signing.seal import SealConfigError, Sealer

    if args.config is not None:
        try:
            return Sealer.from_dict(seal_settings(args.config))
        except SealConfigError as exc:
            raise UserFacingError(f"--config {args.config}: {exc}") from None
    config = load_config()
    if config.is_embedded and not args.url:
        from app.signing.demo_seal import demo_sealer
        from app.signing.demo_token import activate_demo_token

        activate_demo_token(config)
        sealer = demo_sealer(config)
        if sealer is not None:
            return sealer
        raise UserFacingError("The embedded demo has no seal token; recreate it with "
                              "'origin-desk demo --reset', or name one with --config FILE.")
    raise UserFacingError("Name the seal token's settings with --config FILE (the central "
                          "service's settings file, or module, token_label, pin_file or "
                          "pin_env and public_base_url in a TOML file).")


def run_create(args: argparse.Namespace) -> int:
    from app.cli.store import _engine
    from app.services.seals import create_seal

    sealer = _sealer(args)
    engine = _engine(args)
    try:
        seal = create_seal(engine, sealer, args.agency)
    finally:
        sealer.close()
        engine.dispose()
    print(f"Seal of {seal.agency} created: key id {seal.key_id.hex()}, "
          f"{seal.certificate.subject.rfc4514_string()}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from app.cli.store import _engine
    from app.services.seals import list_seals, seal_trust_list

    engine = _engine(args)
    try:
        with Session(engine) as session:
            if args.json:
                print(json.dumps(seal_trust_list(session), indent=1))
                return 0
            seals = list_seals(session)
    finally:
        engine.dispose()
    if not seals:
        print("no seal in the store; make one with 'origin-desk seal create --agency CODE'")
    for seal in seals:
        state = f"retired {seal.retired_at:%Y-%m-%d %H:%M} UTC" if seal.retired_at else "current"
        print(f"{seal.agency}\t{seal.key_id.hex()}\tcreated {seal.created_at:%Y-%m-%d %H:%M} "
              f"UTC\t{state}")
    return 0
