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


CONFIG_ENV = "ORIGIN_DESK_HUB_CONFIG"  # the file each worker process reads


def open_sealer(settings: HubSettings, config: Config, *, demo: bool) -> Any:
    """The agency seal the service seals QR payloads with (None: desks' tokens sign them)."""
    from app.signing.seal import Sealer

    if demo:
        from app.signing.demo_seal import demo_sealer

        sealer = demo_sealer(config)
        if sealer is None or sealer.public_base_url == settings.public_base_url:
            return sealer
        # serve --demo --port N: the QR codes name the address actually served
        raw = {**sealer.config.to_dict(), "public_base_url": settings.public_base_url}
        sealer.close()
        return Sealer.from_dict(raw)
    if not settings.seal:
        log.warning("no [seal] configured: QR codes are signed by the officers' tokens")
        return None
    raw = dict(settings.seal)
    raw.setdefault("public_base_url", settings.public_base_url)
    folder = Path(settings.source).parent if settings.source else Path.cwd()
    if isinstance(raw.get("pin_file"), str) and not Path(raw["pin_file"]).is_absolute():
        raw["pin_file"] = str(folder / raw["pin_file"])  # like [server] paths: by the file
    return Sealer.from_dict(raw)


def app_from_environment() -> Any:
    """The application of one worker process (``[server] workers`` > 1): the settings file
    named in ``ORIGIN_DESK_HUB_CONFIG``, its own engine and seal session."""
    import os

    from app.config import load_config
    from app.hub.app import create_app, make_hub
    from app.logs import setup_logging

    config = load_config()
    setup_logging(config)
    log_to_stderr()
    settings = load_hub_settings(Path(os.environ[CONFIG_ENV]))
    return create_app(make_hub(settings, sealer=open_sealer(settings, config, demo=False)))


def log_to_stderr() -> None:
    """A service logs to standard error too (journald, container logs): the access log as
    one JSON object per line, the rest as level and message."""
    import sys

    from app.logs import RedactSecrets

    access = logging.StreamHandler(sys.stderr)
    access.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("app.hub.access").addHandler(access)
    service = logging.StreamHandler(sys.stderr)
    service.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    service.addFilter(lambda record: record.name != "app.hub.access")
    for handler in (access, service):
        handler.addFilter(RedactSecrets())
    for name in ("app", "uvicorn.error"):
        logging.getLogger(name).addHandler(service)


def run(settings: HubSettings, *, sealer: Any = None, engine: Any = None,
        log_config: Any = None, config_file: Path | None = None) -> None:
    """Serve until interrupted: in this process, or in ``settings.workers`` processes
    (each reads ``config_file`` and opens its own engine and seal session)."""
    import os

    import uvicorn

    from app.hub.app import create_app, make_hub

    ssl: dict[str, Any] = {}
    if settings.tls_certificate is not None:
        ssl = {"ssl_certfile": str(settings.tls_certificate),
               "ssl_keyfile": str(settings.tls_key)}
    else:
        log.warning("serving without TLS: put a TLS-terminating proxy in front")
    log.info("serving on %s:%s (public %s)", settings.host, settings.port,
             settings.public_base_url)
    options: dict[str, Any] = {"proxy_headers": False}
    if settings.trusted_proxies:
        options = {"proxy_headers": True,
                   "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
    options.update(host=settings.host, port=settings.port, log_config=log_config,
                   access_log=False, server_header=False, timeout_keep_alive=30, **ssl)
    if settings.workers > 1 and config_file is not None:
        os.environ[CONFIG_ENV] = str(Path(config_file).resolve())
        uvicorn.run("app.hub.serve:app_from_environment", factory=True,
                    workers=settings.workers, **options)
        return
    uvicorn.run(create_app(make_hub(settings, engine, sealer=sealer)), **options)
