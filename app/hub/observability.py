"""Access logs (one JSON line per request), Prometheus metrics, and the body-size limit.

The access log names method, route, status, duration, client address and a request id
(also returned as ``X-Request-Id``); never a header, a query string, a body, a token or a
password. Metrics are labelled by route template (``/desk/v1/certificates/{number}``), so
their number stays bounded whatever clients send.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.hub.errors import TooLarge, refusal

access_log = logging.getLogger("app.hub.access")


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("origin_desk_hub_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "origin_desk_hub_request_seconds", "Time to answer a request", ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry)
        self.in_flight = Gauge("origin_desk_hub_requests_in_flight",
                               "Requests being answered", registry=self.registry)
        self.sign_ins = Counter("origin_desk_hub_sign_ins_total", "Officer sign-ins",
                                ["outcome"], registry=self.registry)
        self.issued = Counter("origin_desk_hub_certificates_recorded_total",
                              "Certificates recorded through the service",
                              registry=self.registry)
        self.verifications = Counter("origin_desk_hub_verifications_total",
                                     "Public verification look-ups", ["outcome"],
                                     registry=self.registry)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


def install_observability(app: FastAPI, metrics: HubMetrics) -> None:
    @app.middleware("http")
    async def _observe(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        request_id = secrets.token_hex(8)
        request.state.request_id = request_id
        metrics.in_flight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-Id"] = request_id
            return response
        finally:
            metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route(request)
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(route).observe(elapsed)
            access_log.info(json.dumps({
                "request_id": request_id, "method": request.method, "route": route,
                "status": status, "ms": round(elapsed * 1000, 1),
                "client": request.client.host if request.client else "",
                "user": getattr(request.state, "user_id", None),
            }))



class BodyLimit:
    """Refuse (413) a request body past ``limit`` bytes, declared or streamed (chunked).

    A declared length past the limit is refused before anything is read. A body without a
    declared length is read here first, up to the limit, and handed on in one piece, so
    that the refusal never depends on how a route parses its body."""

    def __init__(self, app, limit: int) -> None:  # type: ignore[no-untyped-def]
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                return await self._refuse(scope, receive, send)
            return await self.app(scope, receive, send)
        if headers.get(b"transfer-encoding") is None:
            return await self.app(scope, receive, send)
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return await self._refuse(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay():  # type: ignore[no-untyped-def]
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send):  # type: ignore[no-untyped-def]
        response = refusal(TooLarge(
            f"The request body is larger than this service accepts ({self.limit:,} bytes)."))
        await response(scope, receive, send)
