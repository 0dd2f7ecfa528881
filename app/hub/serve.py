"""Run the central service: uvicorn with TLS (``origin-desk serve``).

``serve --config FILE`` serves the store the file names. ``serve --demo`` serves the
embedded demo store on https://127.0.0.1:8443 with a demo TLS certificate (its CA in
``<data>/hub-demo/tls/ca.pem``) and the demo seal, for trying the service on one machine.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from app.config import Config
from app.hub.settings import HubSettings, hub_settings_from_dict, load_hub_settings

log = logging.getLogger(__name__)
DEMO_PORT = 8443


def demo_settings(config: Config, port: int = DEMO_PORT) -> HubSettings:
    from app.hub.tls import make_tls_files

    folder = config.data_dir / "hub-demo"
    tls = make_tls_files(folder / "tls")
    secret = folder / "hub.secret"
    if not secret.exists():
        secret.touch(mode=0o600)
        secret.write_text(secrets.token_hex(32))
    raw: dict[str, Any] = {
        "server": {"listen": f"127.0.0.1:{port}",
                   "public_base_url": f"https://127.0.0.1:{port}",
                   "tls_certificate": str(tls.certificate), "tls_key": str(tls.key),
                   "secret_file": str(secret)},
        "database": {"url": f"sqlite:///{config.demo_store_path}"},
    }
    if config.trust_path.is_dir():
        raw["server"]["trust_dir"] = str(config.trust_path)
    settings = hub_settings_from_dict(raw, "the demo", base=folder)
    return settings


def load_settings(path: Path | None, config: Config, *, demo: bool) -> HubSettings:
    if demo:
        return demo_settings(config)
    assert path is not None
    return load_hub_settings(path)


def run(settings: HubSettings, *, sealer: Any = None, engine: Any = None,
        log_config: Any = None) -> None:
    """Serve until interrupted."""
    import uvicorn

    from app.hub.app import create_app, make_hub

    hub = make_hub(settings, engine, sealer=sealer)
    app = create_app(hub)
    ssl: dict[str, Any] = {}
    if settings.tls_certificate is not None:
        ssl = {"ssl_certfile": str(settings.tls_certificate),
               "ssl_keyfile": str(settings.tls_key)}
    else:
        log.warning("serving without TLS: put a TLS-terminating proxy in front")
    log.info("serving on %s:%s (public %s)", settings.host, settings.port,
             settings.public_base_url)
    proxies: dict[str, Any] = {"proxy_headers": False}
    if settings.trusted_proxies:
        proxies = {"proxy_headers": True,
                   "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=log_config,
                access_log=False, server_header=False, timeout_keep_alive=30,
                **proxies, **ssl)
