"""``origin-desk serve --config FILE`` as an agency runs it: a child process with TLS that
answers health, readiness, metrics and the OpenAPI document, logs one JSON line per
request to standard error (never a token or a password), and refuses a bad configuration
with one line."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

from tests.hub.conftest import PASSWORD, set_password
from tests.support.hub_server import HubProcess, free_port, hub_config


def test_serve_answers_and_logs_without_secrets(tmp_path: Path, demo_store: Path,
                                                demo_engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with demo_engine.connect() as connection:
        email = connection.execute(text(
            "SELECT email FROM users WHERE role = 'officer' AND status = 'active' "
            "ORDER BY id LIMIT 1")).scalar_one()
    set_password(demo_engine, email)
    hub = HubProcess(tmp_path / "hub", hub_config(tmp_path / "hub", f"sqlite:///{demo_store}",
                                                  free_port(), server={"workers": 2}))
    hub.start()
    try:
        with httpx.Client(base_url=hub.url, verify=ssl.create_default_context(cafile=str(hub.ca))) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz").json()
            assert ready["status"] == "ready" and ready["revision"]
            assert client.get("/openapi.json").json()["info"]["title"].startswith("Origin")
            assert client.get("/docs").status_code == 200
            token = client.post("/desk/v1/sign-in", json={"email": email, "password":
                                                          PASSWORD}).json()["token"]
            assert client.get("/desk/v1/hello", headers={"Authorization": f"Bearer {token}"}
                              ).status_code == 200
            metrics = client.get("/metrics")
            assert metrics.status_code == 200  # from 127.0.0.1, the default metrics_from
            assert 'origin_desk_hub_requests_total{method="GET",route="/readyz"' in metrics.text
    finally:
        hub.stop()
    log = (tmp_path / "hub" / "serve.log").read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    routes = {line["route"] for line in lines}
    assert {"/healthz", "/readyz", "/desk/v1/sign-in", "/desk/v1/hello"} <= routes
    hello = next(line for line in lines if line["route"] == "/desk/v1/hello")
    assert hello["status"] == 200 and hello["user"] and hello["request_id"]
    assert token not in log and PASSWORD not in log


def test_a_bad_configuration_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[server]\nlisten = "0.0.0.0:99999"\n')
    done = subprocess.run([sys.executable, "-m", "app", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60,
                          env={"ORIGIN_DESK_HOME": str(tmp_path / "home"),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"origin-desk: {config}: [server] listen '0.0.0.0:99999' is not HOST:PORT"]
    assert "Traceback" not in done.stdout + done.stderr


def test_the_seal_pin_file_is_read_beside_the_configuration(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.config import Config
    from app.hub.serve import open_sealer
    from app.hub.settings import load_hub_settings
    from tests.support.hub_server import _toml
    from tests.support.pki import softhsm_module

    folder = tmp_path / "etc"
    raw = hub_config(folder, "sqlite:///unused.sqlite")
    raw["seal"] = {"module": softhsm_module(), "token_label": "od-seal", "pin_file": "seal.pin"}
    (folder / "seal.pin").write_text("1234\n")
    (folder / "seal.pin").chmod(0o600)
    (folder / "hub.toml").write_text(_toml(raw))
    monkeypatch.chdir(tmp_path)  # not the configuration's folder
    settings = load_hub_settings(folder / "hub.toml")
    sealer = open_sealer(settings, Config(data_dir=tmp_path), demo=False)
    assert sealer.config.pin_file == folder / "seal.pin"
    assert sealer.public_base_url == "https://127.0.0.1:8443"
