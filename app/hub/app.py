"""The central service's application: ``create_app(hub)``.

A :class:`Hub` holds what every request shares: the settings, the engine, the central
interface over the store (``SqlCentral``, with the agency seal when one is configured),
the sign-in policy and the metrics. Nothing else is kept between requests (sessions,
captchas and idempotency records live in the store), so several processes can serve
behind a load balancer.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine

from app.config import Config
from app.hub.errors import Forbidden, install_error_handlers
from app.hub.observability import BodyLimit, HubMetrics, install_observability
from app.hub.settings import HubSettings
from app.services.central import SqlCentral
from app.services.credentials import SignInPolicy
from app.services.seals import TRUST_LIST_PATH

log = logging.getLogger(__name__)


@dataclass
class Hub:
    settings: HubSettings
    engine: Engine
    central: SqlCentral
    policy: SignInPolicy
    metrics: HubMetrics = field(default_factory=HubMetrics)
    sealer: Any = None
    extras: dict[str, Any] = field(default_factory=dict)  # per-feature state (rate limits)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"


def make_hub(settings: HubSettings, engine: Engine | None = None, *, sealer: Any = None) -> Hub:
    from app.hub.database import hub_engine

    engine = engine or hub_engine(settings.database_url, settings.database_password,
                                  pool_size=settings.pool_size)
    config = Config(data_dir=Path("."),
                    trust_dir=str(settings.trust_dir) if settings.trust_dir else "")
    central = SqlCentral(engine, config, sealer=sealer)
    policy = SignInPolicy(max_failures=settings.max_failures, lockout=settings.lockout,
                          session_life=settings.session_life)
    return Hub(settings=settings, engine=engine, central=central, policy=policy,
               sealer=sealer)


def create_app(hub: Hub) -> FastAPI:
    app = FastAPI(
        title="Origin Desk central service",
        version="1",
        description=("Sync and issuing for Origin Desk desks, the intake API for exporters' "
                     "systems and customs agents, and public verification of Certificates "
                     "of Origin."),
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.hub = hub
    install_error_handlers(app)
    # added first, so inside the access log: a refused body is logged and counted too
    app.add_middleware(BodyLimit, limit=hub.settings.max_body_bytes)
    install_observability(app, hub.metrics)
    _health_routes(app, hub)
    for module in ROUTER_MODULES:
        router = _router(module)
        if router is not None:
            app.include_router(router)
    return app


# Feature modules that contribute an APIRouter named ``router``.
ROUTER_MODULES = (
    "app.hub.sign_in",
    "app.hub.desk_api",
    "app.hub.intake",
    "app.hub.verify_pages",
    "app.hub.esign",
)


def _router(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module).router
    except ModuleNotFoundError as exc:
        if exc.name == module:  # a feature not built into this release
            return None
        raise


def _health_routes(app: FastAPI, hub: Hub) -> None:
    networks = [ipaddress.ip_network(n, strict=False) for n in hub.settings.metrics_from]

    @app.get("/healthz", tags=["operations"], summary="The process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The store answers at a known schema")
    def readyz() -> JSONResponse:
        from app.hub.database import check_ready

        try:
            revision = check_ready(hub.engine)
        except Exception as exc:  # any failure means "do not send traffic here"
            log.warning("not ready: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "error": str(exc).splitlines()[0]
                                 [:200]}, status_code=503)
        return JSONResponse({"status": "ready", "revision": revision})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             include_in_schema=False)
    def metrics(request: Request) -> Response:
        client = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            address = None
        if address is None or not any(address in n for n in networks):
            raise Forbidden("Metrics are served to the monitoring network only.")
        return Response(generate_latest(hub.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    @app.get(TRUST_LIST_PATH, tags=["verification"],
             summary="The agencies' QR seal certificates (the trust list)")
    def trust_list() -> JSONResponse:
        from app.services.seals import seal_trust_list

        with hub.central.sessions() as session:
            document = seal_trust_list(session)
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})
