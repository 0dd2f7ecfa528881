"""The ASP key in a PKCS#11 module (SoftHSM2 here, an HSM partition in production): the
gateway signs the eSign request on the token, the test ESP verifies it against the
registered ASP certificate, and the transaction ends signed. A wrong PIN or a missing key
makes the consent page say the gateway cannot sign, and nothing is sent to the ESP."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.esign.conftest import EsignHub, _serve
from tests.issuing.conftest import hsm  # noqa: F401 - the SoftHSM2 fixture
from tests.support.pki import SoftHsm
from tests.support.test_esp import EsignPki, EspServer

TOKEN = "ASP-HSM"
KEY_LABEL = "asp-2026"
PIN = "246810"


def _token_with_the_asp_key(hsm: SoftHsm, pki: EsignPki, folder: Path) -> Path:  # noqa: F811
    hsm.init_token(TOKEN, pin=PIN)
    key = folder / "asp-import.pem"
    key.write_bytes(pki.asp.key_pem)
    subprocess.run(["softhsm2-util", "--import", str(key), "--token", TOKEN, "--label",
                    KEY_LABEL, "--id", "a5", "--pin", PIN], env=hsm.env(), check=True,
                   capture_output=True)
    key.unlink()  # the key is on the token only
    pin = folder / "asp.pin"
    pin.touch(mode=0o600)
    os.chmod(pin, 0o600)
    pin.write_text(PIN + "\n")
    return pin


@pytest.fixture
def hsm_hub(tmp_path: Path, demo_engine: Engine, esign_pki: EsignPki, esp: EspServer,
            hsm: SoftHsm) -> Iterator[Any]:  # noqa: F811
    pin = _token_with_the_asp_key(hsm, esign_pki, tmp_path)
    served: list[EsignHub] = []

    def start(**override: Any) -> EsignHub:
        section = {"asp_key": None, "asp_key_module": hsm.module,
                   "asp_key_token_label": TOKEN, "asp_key_label": KEY_LABEL,
                   "asp_key_pin_file": str(pin), **override}
        hub = _serve(tmp_path, demo_engine, "sqlite:///unused", esign_pki, esp, demo_engine,
                     **section)
        served.append(hub)
        return hub

    yield start
    for hub in served:
        key = hub.hub.extras.get("esign_asp_key")
        if key is not None:
            key.close()
        hub.server.stop()


def _request(served: EsignHub) -> tuple[dict[str, str], dict[str, Any]]:
    auth = served.sign_in()
    application_id = served.approved_application()
    reservation = served.reserve(auth, application_id)
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    answer = served.request(auth, application_id, reservation["number"], digest)
    assert answer.status_code == 201, answer.text
    return auth, answer.json()


def test_the_request_is_signed_on_the_token(hsm_hub: Any) -> None:
    served = hsm_hub()
    assert served.hub.settings.esign.asp_key_pem == b""
    auth, request = _request(served)
    page, _xml = served.consent(request["consent_url"])
    assert page.status_code == 200, page.text
    assert served.state(auth, request["txn"]).json()["state"] == "signed"
    assert "PIN" not in repr(served.hub.extras["esign_asp_key"])


@pytest.mark.parametrize("override", [{"asp_key_label": "not-there"},
                                      {"asp_key_token_label": "NO-SUCH-TOKEN"}])
def test_a_key_the_token_does_not_hold_sends_nothing(hsm_hub: Any,
                                                     override: dict[str, str]) -> None:
    served = hsm_hub(**override)
    auth, request = _request(served)
    with served.client() as browser:
        page = browser.get(request["consent_url"])
    assert page.status_code == 503
    assert "cannot sign the request now" in page.text
    assert served.esp.esp.requests == []
    assert served.state(auth, request["txn"]).json() == {
        "state": "failed", "signer_name": "", "message": (
            "The agency's eSign gateway could not sign the request (its ASP key is "
            "unavailable); nothing was sent to the eSign service provider.")}
