"""The central service for tests and benchmarks, pytest-free.

- :func:`hub_settings_for`: settings with a fresh test TLS CA and secret in a folder.
- :class:`HubServer`: uvicorn serving the real application with TLS on 127.0.0.1 in a
  thread of this process (tests).
- :class:`HubProcess`: ``origin-desk serve --config FILE`` in a child process (benchmarks:
  the service gets its own interpreter, as in production).
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_config(folder: Path, database_url: str, port: int = 8443,
               **sections: dict[str, Any]) -> dict[str, Any]:
    """The raw configuration (as the TOML file holds it) for a test service."""
    from app.hub.tls import make_tls_files

    tls = make_tls_files(folder / "tls")
    secret = folder / "hub.secret"
    if not secret.exists():
        secret.write_text(secrets.token_hex(32))
    raw: dict[str, Any] = {
        "server": {"listen": f"127.0.0.1:{port}", "public_base_url": f"https://127.0.0.1:{port}",
                   "tls_certificate": str(tls.certificate), "tls_key": str(tls.key),
                   "secret_file": str(secret)},
        "database": {"url": database_url},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return raw


def hub_settings_for(folder: Path, database_url: str = "sqlite:///unused",
                     **sections: dict[str, Any]) -> Any:
    from app.hub.settings import hub_settings_from_dict

    return hub_settings_from_dict(hub_config(folder, database_url, **sections), "test settings")


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


@dataclass
class HubProcess:
    """``origin-desk serve --config FILE`` in a child process, until ``stop()``."""

    folder: Path
    raw: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.raw["server"]["listen"].rpartition(":")[2])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.folder / "tls" / "ca.pem"

    def start(self) -> HubProcess:
        config = self.folder / "hub.toml"
        config.write_text(_toml(self.raw))
        home = self.folder / "home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "ORIGIN_DESK_HOME": str(home), **self.env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "serve.log", "wb"),  # noqa: SIM115
            env=env)
        deadline = time.monotonic() + 60
        with httpx.Client(verify=ssl.create_default_context(cafile=str(self.ca))) as client:
            while True:
                try:
                    if client.get(self.url + "/readyz").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the central service did not start: "
                                       + (self.folder / "serve.log").read_text()[-2000:])
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _toml(raw: dict[str, Any]) -> str:
    lines = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, list):
                lines.append(f"{key} = [" + ", ".join(f'"{v}"' for v in value) + "]")
            else:
                lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines)
