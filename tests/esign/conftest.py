"""The eSign gateway beside the test ESP, both served with TLS on 127.0.0.1.

Fixtures (importable by other test folders: ``from tests.esign.conftest import ...``):

- ``esign_pki`` (session): the ASP's key, the ESP's key, the test eSign CA, a stranger's
  key.
- ``esp``: the test ESP (``tests/support/test_esp.py``) served on a free port; its
  ``.esp`` holds the switches and what it saw.
- ``esign_hub``: the central service on the seeded demo store (SQLite) with ``[esign]``
  pointing at ``esp``, served on a free port: an :class:`EsignHub`.
- ``pg_esign_hub``: the same on a throwaway PostgreSQL through the service's own role.

An :class:`EsignHub` signs officers in, reserves numbers and drives the officer's browser
(httpx) through consent, the ESP's OTP page and back to the gateway.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.hub.conftest import PASSWORD, hub_settings, set_password
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401
from tests.support.hub_server import HubServer, free_port
from tests.support.test_esp import (
    ASP_ID,
    ESP_NAME,
    OTP,
    EsignPki,
    EspServer,
    TestEsp,
    read_form,
)

OFFICER_EMAIL = "anita.deshpande@igcc.org.in"  # a MUM officer of the demo store


@pytest.fixture(scope="session")
def esign_pki() -> EsignPki:
    return EsignPki.make()


def _tls(folder: Path) -> Any:
    from app.hub.tls import make_tls_files

    return make_tls_files(folder / "tls")  # the service's TLS files (hub_config's own)


@pytest.fixture
def esp(tmp_path: Path, esign_pki: EsignPki) -> Iterator[EspServer]:
    tls = _tls(tmp_path)
    server = EspServer(TestEsp(esign_pki), free_port(), tls.certificate, tls.key).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class EsignHub:
    hub: Any
    server: HubServer
    esp: EspServer
    engine: Engine  # the store as its owner (SQLite: the demo engine)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> httpx.Client:
        """An HTTPS client (the desk's, or the officer's browser) trusting the test CA."""
        return httpx.Client(verify=ssl.create_default_context(cafile=str(self.server.ca)),
                            timeout=60)

    def sign_in(self, email: str = OFFICER_EMAIL) -> dict[str, str]:
        set_password(self.engine, email)
        with self.client() as client:
            answer = client.post(self.url + "/desk/v1/sign-in",
                                 json={"email": email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def approved_application(self, email: str = OFFICER_EMAIL, skip: int = 0) -> int:
        """An approved non-preferential or preferential application of the officer's
        offices that the office's e-wallet can pay."""
        with self.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT a.id FROM applications a JOIN officer_offices m ON m.office_id = "
                "a.office_id JOIN users u ON u.id = m.user_id WHERE u.email = :e AND "
                "a.status = 'approved' AND a.kind IN ('preferential', 'non_preferential') "
                "ORDER BY a.id LIMIT 1 OFFSET :s"), {"e": email, "s": skip}).first()
        assert row is not None
        return int(row[0])

    def reserve(self, auth: dict[str, str], application_id: int) -> dict[str, Any]:
        with self.client() as client:
            answer = client.post(self.url + "/desk/v1/reserve", headers=auth,
                                 json={"application_id": application_id,
                                       "desk_session": "esign-test"})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def request(self, auth: dict[str, str], application_id: int, number: str,
                digest: str) -> httpx.Response:
        with self.client() as client:
            return client.post(self.url + "/desk/v1/esign/requests", headers=auth, json={
                "application_id": application_id, "certificate_number": number,
                "digest_sha256": digest, "document_name": f"{number.replace('/', '-')}.pdf"})

    def state(self, auth: dict[str, str], txn: str) -> httpx.Response:
        with self.client() as client:
            return client.get(self.url + f"/desk/v1/esign/requests/{txn}", headers=auth)

    def consent(self, consent_url: str, otp: str = OTP, *,
                tamper: Any = None) -> tuple[httpx.Response, str]:
        """The officer's browser: the consent page, its form to the ESP, the OTP, and the
        ESP's auto-posted answer to the gateway. The gateway's last page and the ESP's
        response XML it was given."""
        with self.client() as browser:
            page = browser.get(consent_url)
            assert page.status_code == 200, page.text
            form = read_form(page.text)
            fields = dict(form.fields)
            if tamper is not None:
                fields["msg"] = tamper(fields["msg"])
            at_esp = browser.post(form.action, data=fields)
            form = read_form(at_esp.text)
            if form.action.endswith("/otp"):
                at_esp = browser.post(urljoin(str(at_esp.url), form.action),
                                      data={**form.fields, "otp": otp})
                form = read_form(at_esp.text)
            return browser.post(form.action, data=form.fields), form.fields["msg"]


def _serve(tmp_path: Path, engine: Engine, database_url: str, pki: EsignPki,
           esp: EspServer, owner: Engine, hub_engine: Engine | None = None,
           **esign: Any) -> EsignHub:
    """The gateway served on a free port; ``esign`` overrides keys of its ``[esign]``
    (a key given as None is left out)."""
    from app.hub.app import make_hub

    port = free_port()
    files = pki.write(tmp_path / "esign")
    section = {"esp_name": ESP_NAME, "esp_url": esp.signdoc_url, "asp_id": ASP_ID, **files,
               "timestamp_window_minutes": 10, "request_timeout_seconds": 600, **esign}
    settings = hub_settings(
        tmp_path, database_url,
        server={"listen": f"127.0.0.1:{port}", "public_base_url": f"https://127.0.0.1:{port}"},
        esign={k: v for k, v in section.items() if v is not None})
    hub = make_hub(settings, hub_engine or engine)
    server = HubServer(hub, port, settings.tls_certificate.parent / "ca.pem").start()
    return EsignHub(hub=hub, server=server, esp=esp, engine=owner)


@pytest.fixture
def esign_hub(tmp_path: Path, demo_engine: Engine, esign_pki: EsignPki,
              esp: EspServer) -> Iterator[EsignHub]:
    """The gateway on the seeded demo store (SQLite), beside the test ESP."""
    served = _serve(tmp_path, demo_engine, "sqlite:///unused", esign_pki, esp, demo_engine)
    try:
        yield served
    finally:
        served.server.stop()


@pytest.fixture
def pg_esign_hub(tmp_path: Path, central: CentralDb, esign_pki: EsignPki,  # noqa: F811
                 esp: EspServer) -> Iterator[EsignHub]:
    """The gateway on a throwaway PostgreSQL through the service's own role."""
    from app.hub.database import hub_engine
    from app.store.roles import grant_hub_role

    with central.owner_engine().begin() as connection:
        grant_hub_role(connection, "od_hub_service")
    url = central.server.url(central.name, user="od_hub_service")
    engine = hub_engine(url, None, pool_size=4)
    served = _serve(tmp_path, engine, url, esign_pki, esp, central.owner_engine(), engine)
    served.hub.extras["central"] = central
    try:
        yield served
    finally:
        served.server.stop()
        engine.dispose()
