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
    from app.hub.serve import demo_settings, run
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
    sealer = open_sealer(settings, config, demo=args.demo, engine=engine)
    print(f"Origin Desk central service on {settings.public_base_url} "
          f"(OpenAPI docs at {settings.public_base_url}/docs); Ctrl+C stops it.", flush=True)
    if args.demo:
        print(f"Desks trust its TLS certificate with central_ca_file = "
              f"\"{config.data_dir / 'hub-demo' / 'tls' / 'ca.pem'}\"", flush=True)
    _log_to_stderr()
    run(settings, sealer=sealer, engine=engine, log_config=None)
    return 0


def _log_to_stderr() -> None:
    """A service logs to standard error too (journald, container logs): the access log as
    one JSON object per line, the rest as level and message."""
    import sys

    access = logging.StreamHandler(sys.stderr)
    access.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("app.hub.access").addHandler(access)
    logging.getLogger("app.hub.access").propagate = True
    service = logging.StreamHandler(sys.stderr)
    service.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    service.addFilter(lambda record: record.name != "app.hub.access")
    for name in ("app", "uvicorn.error"):
        logging.getLogger(name).addHandler(service)


def _demo_engine(config: Config) -> Any:
    from app.services.desk import open_central
    from app.signing.demo_token import prepare_demo_signing

    engine = open_central(config, lambda message: log.info("%s", message))
    prepare_demo_signing(config, engine)  # the demo token and the demo seal
    return engine


def open_sealer(settings: Any, config: Config, *, demo: bool, engine: Any) -> Any:
    """The agency seal the service seals QR payloads with (None: desks' tokens sign them)."""
    if demo:
        from app.signing.demo_seal import demo_sealer

        return demo_sealer(config)
    if not settings.seal:
        log.warning("no [seal] configured: QR codes are signed by the officers' tokens")
        return None
    from app.signing.seal import Sealer

    raw = dict(settings.seal)
    raw.setdefault("public_base_url", settings.public_base_url)
    return Sealer.from_dict(raw)
