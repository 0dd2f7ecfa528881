"""``origin-desk serve``: the central service (``app/hub``, docs/HUB.md)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from app.config import Config, load_config
from app.errors import UserFacingError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser(
        "serve", help="run the central service (HTTPS sync, intake API, public verification)")
    which = serve.add_mutually_exclusive_group(required=True)
    which.add_argument("--config", type=Path, metavar="FILE",
                       help="the service's TOML configuration (docs/HUB.md)")
    which.add_argument("--demo", action="store_true",
                       help="serve the embedded demo store on https://127.0.0.1:8443")
    serve.add_argument("--port", type=int, help="listen on this port instead (--demo)")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from app.hub.serve import demo_settings, log_to_stderr, open_sealer, run
    from app.hub.settings import load_hub_settings

    config = load_config()
    if args.demo:
        port = args.port or 8443
        if not 0 < port < 65536:
            raise UserFacingError(f"--port {port} is not a TCP port (1-65535)")
        settings = demo_settings(config, port)
        engine = _demo_engine(config)
    else:
        if args.port is not None:
            raise UserFacingError("--port goes with --demo; set [server] listen in the file")
        settings = load_hub_settings(args.config)
        engine = None
    sealer = None if settings.workers > 1 and not args.demo else \
        open_sealer(settings, config, demo=args.demo)
    print(f"Origin Desk central service on {settings.public_base_url} "
          f"(OpenAPI docs at {settings.public_base_url}/docs); Ctrl+C stops it.", flush=True)
    if args.demo:
        print(f"Desks trust its TLS certificate with central_ca_file = "
              f"\"{config.data_dir / 'hub-demo' / 'tls' / 'ca.pem'}\"", flush=True)
    log_to_stderr()
    run(settings, sealer=sealer, engine=engine, log_config=None,
        config_file=None if args.demo else args.config)
    return 0


def _demo_engine(config: Config) -> Any:
    from app.services.desk import open_central
    from app.signing.demo_token import prepare_demo_signing

    engine = open_central(config, lambda message: log.info("%s", message))
    prepare_demo_signing(config, engine)  # the demo token and the demo seal
    return engine
