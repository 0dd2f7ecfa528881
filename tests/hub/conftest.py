"""The central service under test: on the seeded demo store (SQLite) through Starlette's
test client, and for real: uvicorn with TLS from a test CA on 127.0.0.1, in front of a
throwaway PostgreSQL through the service's own login role."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401

PASSWORD = "correct horse battery staple"


def hub_settings(tmp_path: Path, database_url: str = "sqlite:///unused", **extra: Any) -> Any:
    from app.hub.settings import hub_settings_from_dict
    from app.hub.tls import make_tls_files

    tls = make_tls_files(tmp_path / "tls")
    secret = tmp_path / "hub.secret"
    if not secret.exists():
        secret.write_text(secrets.token_hex(32))
    raw: dict[str, Any] = {
        "server": {"listen": "127.0.0.1:8443", "public_base_url": "https://127.0.0.1:8443",
                   "tls_certificate": str(tls.certificate), "tls_key": str(tls.key),
                   "secret_file": str(secret)},
        "database": {"url": database_url},
    }
    for section, values in extra.items():
        raw.setdefault(section, {}).update(values)
    return hub_settings_from_dict(raw, "test settings")


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class HubServer:
    """uvicorn serving the real application with TLS on 127.0.0.1, in a thread."""

    hub: Any
    port: int
    ca: Path
    server: Any = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> HubServer:
        import uvicorn

        from app.hub.app import create_app

        settings = self.hub.settings
        config = uvicorn.Config(create_app(self.hub), host="127.0.0.1", port=self.port,
                                ssl_certfile=str(settings.tls_certificate),
                                ssl_keyfile=str(settings.tls_key), log_config=None,
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the central service did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=20)


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
