"""A desk synced through the central service with an eSign gateway beside the test ESP:
the fixture ``gateway`` (the service on the demo store, with the agency's seal, which an
eSign issue needs for the QR code, and ``[esign]`` pointing at the test ESP), a signed-in
:func:`synced_desk`, and :class:`Browser`, the officer's browser as tests drive it from
the consent URL the desk hands over. Built from tests/esign/conftest.py's pieces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from app.config import load_config
from app.services.central_http import HttpCentral
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.local import LocalStore
from tests.esign.conftest import EsignHub, esign_pki, esp  # noqa: F401 - fixtures
from tests.hub.conftest import PASSWORD, hub_settings, set_password
from tests.issuing.conftest import OFFICER_EMAIL
from tests.issuing.test_seal import seal, seal_config, sealer  # noqa: F401 - fixtures
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401
from tests.support.hub_server import HubServer, free_port
from tests.support.test_esp import ASP_ID, ESP_NAME, EsignPki, EspServer


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the machine's real keyring: an in-memory one stands in."""
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def serve_sealed(tmp_path: Path, demo_engine: Any, pki: EsignPki, esp_server: EspServer,
                 sealer_: Any, *, timeout_seconds: int = 600) -> EsignHub:
    """The central service on the demo store with the agency's seal (eSign cannot sign the
    QR payload itself) and ``[esign]`` pointing at the test ESP."""
    from app.hub.app import make_hub

    port = free_port()
    files = pki.write(tmp_path / "esign")
    settings = hub_settings(
        tmp_path, "sqlite:///unused",  # the TLS files of the ESP too: one test CA
        server={"listen": f"127.0.0.1:{port}", "public_base_url": f"https://127.0.0.1:{port}"},
        esign={"esp_name": ESP_NAME, "esp_url": esp_server.signdoc_url, "asp_id": ASP_ID,
               **files, "timestamp_window_minutes": 10,
               "request_timeout_seconds": timeout_seconds})
    hub = make_hub(settings, demo_engine, sealer=sealer_)
    server = HubServer(hub, port, settings.tls_certificate.parent / "ca.pem").start()
    return EsignHub(hub=hub, server=server, esp=esp_server, engine=demo_engine)


@pytest.fixture
def gateway(tmp_path: Path, demo_engine: Any, esign_pki: EsignPki, esp: EspServer,  # noqa: F811
            seal: Any, sealer: Any) -> Iterator[EsignHub]:  # noqa: F811
    served = serve_sealed(tmp_path, demo_engine, esign_pki, esp, sealer)
    try:
        yield served
    finally:
        served.server.stop()


def synced_desk(served: EsignHub, tmp_path: Path) -> LocalDesk:
    """A desk whose central store is the service (HttpCentral over TLS), signed in and
    synced, with the eSign CA in its trust folder (a verifier trusts the ESP's CA)."""
    set_password(served.engine, OFFICER_EMAIL)
    settings = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(served.url, ca_file=str(served.server.ca),
                       ask_password=lambda prompt: PASSWORD)
    desk = LocalDesk(local, settings, SyncService(local, link))
    desk.sign_in(OFFICER_EMAIL)
    assert desk.sync.sync_now().online
    return desk


def trust_esign_ca(pki: EsignPki) -> None:
    folder = load_config().trust_path
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test-esign-ca.pem").write_bytes(pki.ca.public_bytes(serialization.Encoding.PEM))


class Browser:
    """The officer's browser, as the test drives it: given the consent URL, it goes
    through consent, OTP and back (``how`` changes what it does at the ESP)."""

    def __init__(self, served: EsignHub, how: str = "consent") -> None:
        self.served, self.how = served, how
        self.urls: list[str] = []
        self.last_page = ""

    def __call__(self, request: Any) -> None:
        self.urls.append(request.consent_url)
        if self.how == "away":  # the officer never comes back
            return
        if self.how == "tampered":
            page, _msg = self.served.consent(request.consent_url,
                                             tamper=lambda m: m.replace("SHA256", "SHA256 "))
        elif self.how == "replayed":
            page = self._replayed(request.consent_url)
        else:
            page, _msg = self.served.consent(request.consent_url)
        self.last_page = page.text

    def _replayed(self, consent_url: str) -> Any:
        """The same signed request posted to the ESP twice: the second answer (ESP-910,
        duplicate transaction) is what goes back to the gateway."""
        from tests.support.test_esp import read_form

        with self.served.client() as browser:
            form = read_form(browser.get(consent_url).text)
            browser.post(form.action, data=form.fields)  # the OTP page: transaction seen
            again = read_form(browser.post(form.action, data=form.fields).text)
            return browser.post(again.action, data=again.fields)




@pytest.fixture
def pg_gateway(tmp_path: Path, central: CentralDb, esign_pki: EsignPki,  # noqa: F811
               esp: EspServer, sealer: Any) -> Iterator[EsignHub]:  # noqa: F811
    """The same on a throwaway PostgreSQL, the service through its own login role (the
    record rule is then od_record_issue's), with the agency's seal made in that store."""
    from app.hub.app import make_hub
    from app.hub.database import hub_engine
    from app.services.seals import create_seal
    from app.store.roles import grant_hub_role

    owner = central.owner_engine()
    with owner.begin() as connection:
        grant_hub_role(connection, "od_hub_service")
    create_seal(owner, sealer, "IGCC")
    url = central.server.url(central.name, user="od_hub_service")
    engine = hub_engine(url, None, pool_size=4)
    port = free_port()
    files = esign_pki.write(tmp_path / "esign")
    settings = hub_settings(
        tmp_path, url,
        server={"listen": f"127.0.0.1:{port}", "public_base_url": f"https://127.0.0.1:{port}"},
        esign={"esp_name": ESP_NAME, "esp_url": esp.signdoc_url, "asp_id": ASP_ID, **files,
               "timestamp_window_minutes": 10, "request_timeout_seconds": 600})
    hub = make_hub(settings, engine, sealer=sealer)
    hub.extras["central"] = central
    server = HubServer(hub, port, settings.tls_certificate.parent / "ca.pem").start()
    try:
        yield EsignHub(hub=hub, server=server, esp=esp, engine=owner)
    finally:
        server.stop()
        engine.dispose()
