"""Who is asking: the officer behind a request's session token.

``Depends(signed_in)`` reads ``Authorization: Bearer <token>``, checks the session in the
store (as the service itself) and gives the officer with the identity the service acts as
for them (``app.hub.database.acting_for``). The handler then runs its store work inside
``with officer.acting():``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.hub.app import Hub
from app.hub.database import Acting, acting_for, acting_identity
from app.services.credentials import SessionInvalid, SessionUser, session_user


@dataclass(frozen=True)
class Officer:
    user: SessionUser
    identity: Acting | None
    token: str

    @property
    def user_id(self) -> int:
        return self.user.user_id

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        with acting_for(self.identity):
            yield


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionInvalid("Sign in first: this request carries no session token.")
    return token.strip()


def signed_in(request: Request) -> Officer:
    hub = hub_of(request)
    token = bearer_token(request)
    with acting_for(None), hub.central.sessions() as session:
        user = session_user(session, token)
    identity = _identity(hub, user)
    request.state.user_id = user.user_id
    return Officer(user=user, identity=identity, token=token)


IDENTITY_LIFE = 300.0  # seconds a replica trusts its cached login mapping of a user


def _identity(hub: Hub, user: SessionUser) -> Acting | None:
    import time

    cache: dict[tuple[int, str], tuple[float, Acting | None]] = hub.extras.setdefault(
        "acting", {})
    key = (user.user_id, user.role)
    now = time.monotonic()
    cached = cache.get(key)
    if cached is None or now - cached[0] > IDENTITY_LIFE:
        cached = (now, acting_identity(hub.engine, user.user_id, user.role))
        cache[key] = cached
    return cached[1]


CurrentOfficer = Annotated[Officer, Depends(signed_in)]
