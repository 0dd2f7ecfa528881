"""The central service under test: on the seeded demo store (SQLite) through Starlette's
test client, and for real: uvicorn with TLS from a test CA on 127.0.0.1, in front of a
throwaway PostgreSQL through the service's own login role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401
from tests.support.hub_server import HubServer, free_port, hub_settings_for

PASSWORD = "correct horse battery staple"


def hub_settings(tmp_path: Path, database_url: str = "sqlite:///unused", **extra: Any) -> Any:
    extra.setdefault("sign_in", {"per_minute": 1000})  # tests sign in often; one tests the limit
    return hub_settings_for(tmp_path, database_url, **extra)


def set_password(engine: Engine, email: str, password: str = PASSWORD, *,
                 initial: bool = False) -> int:
    """Give the user a password at the service (as an administrator would); their id."""
    from sqlalchemy.orm import Session

    from app.models import User
    from app.services.credentials import set_password as set_

    with Session(engine) as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
        assert user_id is not None, email
        set_(session, user_id, password, initial=initial)
        session.commit()
    return user_id


@pytest.fixture
def demo_hub(tmp_path: Path, demo_engine: Engine) -> Any:
    """The service on the seeded demo store (no seal)."""
    from app.hub.app import make_hub

    return make_hub(hub_settings(tmp_path), demo_engine)


@pytest.fixture
def client(demo_hub: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    with TestClient(create_app(demo_hub), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def pg_hub(tmp_path: Path, central: CentralDb) -> Iterator[Any]:  # noqa: F811
    """The service on a throwaway PostgreSQL, through its own login role."""
    from app.hub.app import make_hub
    from app.hub.database import hub_engine
    from app.store.roles import grant_hub_role

    with central.owner_engine().begin() as connection:
        grant_hub_role(connection, "od_hub_service")
    url = central.server.url(central.name, user="od_hub_service")
    engine = hub_engine(url, None, pool_size=4)
    hub = make_hub(hub_settings(tmp_path, url), engine)
    hub.extras["central"] = central
    try:
        yield hub
    finally:
        engine.dispose()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(hub)`` starts uvicorn with TLS for ``hub``; stopped after the test."""
    started: list[HubServer] = []

    def start(hub: Any) -> HubServer:
        server = HubServer(hub, free_port(), hub.settings.tls_certificate.parent / "ca.pem")
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()
