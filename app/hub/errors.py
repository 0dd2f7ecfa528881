"""How the service answers a refusal: a status code and one JSON line the desk (or an
exporter's system) can show as it is, ``{"error": "...", "kind": "..."}``.

``kind`` names the refusal's class so that the desk's HTTP link raises the same exception
a direct store would (``IssueRefused``, ``ConcurrentIssue``, ``SyncRefused``, ...).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.errors import UserFacingError

log = logging.getLogger(__name__)

# exception class name -> HTTP status (the first match along the class's MRO wins)
STATUS = {
    "SessionInvalid": 401,
    "SignInRefused": 401,
    "PasswordChangeRequired": 403,
    "Forbidden": 403,
    "NotFound": 404,
    "ConcurrentIssue": 409,
    "IssueRefused": 409,
    "ExtensionRefused": 409,
    "Refused": 409,
    "WireError": 422,
    "PasswordRejected": 422,
    "TooLarge": 413,
    "TooManyRequests": 429,
    "CentralUnavailable": 503,
    "SyncRefused": 403,
    # the intake API (app.services.api_keys, app.services.intake)
    "ApiKeyRefused": 401,
    "IntakeNotFound": 404,
    "IntakeRefused": 409,
    "UnsupportedDocument": 415,
    "IntakeInvalid": 422,
    "IdempotencyKeyReused": 422,
    "DocumentTooLarge": 413,
    # trade events (app.services.trade_events)
    "TradeEventRefused": 403,
    "TradeEventInvalid": 422,
}


class Forbidden(UserFacingError):
    """The signed-in user may not do this."""


class NotFound(UserFacingError):
    """No such thing (or none this caller may see)."""


class TooLarge(UserFacingError):
    """The request body is larger than the service accepts."""


class TooManyRequests(UserFacingError):
    """The client sent more requests than its rate allows."""


def status_for(exc: BaseException) -> int:
    for klass in type(exc).__mro__:
        if klass.__name__ in STATUS:
            return STATUS[klass.__name__]
    return 400


def refusal(exc: UserFacingError, status: int | None = None) -> JSONResponse:
    code = status or status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    if code == 429:
        headers = {"Retry-After": str(getattr(exc, "retry_after", 60))}
    body: dict[str, object] = {"error": str(exc), "kind": type(exc).__name__}
    problems = getattr(exc, "problems", None)  # field problems: as the 422 handler's
    if isinstance(problems, list | tuple) and problems:
        body["problems"] = [{"field": str(getattr(p, "field", "")),
                             "problem": str(getattr(p, "problem", p))} for p in problems]
    return JSONResponse(body, status_code=code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UserFacingError)
    async def _user_facing(_request: Request, exc: UserFacingError) -> JSONResponse:
        return refusal(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                     "problem": e.get("msg", "invalid")} for e in exc.errors()]
        first = problems[0] if problems else {"field": "", "problem": "invalid"}
        return JSONResponse({"error": f"{first['field'] or 'body'}: {first['problem']}",
                             "kind": "ValidationError", "problems": problems},
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path,
                  exc_info=exc)
        return JSONResponse({"error": "The service failed unexpectedly; it is logged.",
                             "kind": "InternalError"}, status_code=500)
