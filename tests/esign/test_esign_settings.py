"""The ``[esign]`` settings: absent, eSign is not offered; each bad key gets one line naming
it (the ASP key readable by others, not RSA, a certificate that is not the key's, an ESP
URL that is not https)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from app.hub.settings import HubConfigError
from tests.support.hub_server import hub_settings_for
from tests.support.test_esp import ASP_ID, EsignPki


def _settings(tmp_path: Path, pki: EsignPki, **override: Any) -> Any:
    files = pki.write(tmp_path / "esign")
    section = {"esp_url": "https://127.0.0.1:9/esign/2.1/signdoc", "asp_id": ASP_ID, **files,
               **override}
    return hub_settings_for(tmp_path, esign=section)


def test_absent_means_not_offered(tmp_path: Path) -> None:
    assert hub_settings_for(tmp_path).esign is None


def test_a_good_section(tmp_path: Path, esign_pki: EsignPki) -> None:
    settings = _settings(tmp_path, esign_pki, esp_name="Test ESP", timestamp_window_minutes=5)
    assert settings.esign is not None
    assert (settings.esign.asp_id, settings.esign.esp_name) == (ASP_ID, "Test ESP")
    assert settings.esign.timestamp_window.total_seconds() == 300
    assert "asp_key_pem" not in repr(settings.esign)


def test_an_asp_key_others_can_read_is_refused(tmp_path: Path, esign_pki: EsignPki) -> None:
    files = esign_pki.write(tmp_path / "esign")
    os.chmod(files["asp_key"], 0o644)
    with pytest.raises(HubConfigError) as caught:
        hub_settings_for(tmp_path, esign={"esp_url": "https://127.0.0.1:9/x", "asp_id": ASP_ID,
                                          **files})
    assert str(caught.value) == (
        f"test settings: [esign] asp_key names {files['asp_key']}, which others can read: make "
        "it mode 0600, owned by the service's user")


@pytest.mark.parametrize(("override", "expected"), [
    ({"esp_url": "http://esp.example/x"}, "[esign] esp_url must be a https URL"),
    ({"asp_certificate": "esp"}, "[esign] asp_certificate is not the certificate of asp_key"),
    ({"asp_id": ""}, "[esign] asp_id is required (text)"),
    ({"esp_certificate": "missing.pem"}, "[esign] esp_certificate names"),
    ({"timestamp_window_minutes": 0}, "[esign] timestamp_window_minutes must be a whole "
                                      "number from 1 to 60"),
    ({"colour": "blue"}, "[esign] has an unknown key 'colour'"),
])
def test_each_bad_key_is_named(tmp_path: Path, esign_pki: EsignPki, override: dict[str, Any],
                               expected: str) -> None:
    if override.get("asp_certificate") == "esp":
        override = {"asp_certificate": str(esign_pki.write(tmp_path / "esign")
                                           ["esp_certificate"])}
    with pytest.raises(HubConfigError) as caught:
        _settings(tmp_path, esign_pki, **override)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_asp_key_on_a_token_is_checked_too(tmp_path: Path, esign_pki: EsignPki) -> None:
    from tests.support.pki import softhsm_module

    files = esign_pki.write(tmp_path / "esign")
    module = softhsm_module()
    token = {"asp_key_module": module, "asp_key_token_label": "ASP", "asp_key_label": "asp"}
    base = {"esp_url": "https://127.0.0.1:9/x", "asp_id": ASP_ID, **files}

    def refused(section: dict[str, Any]) -> str:
        with pytest.raises(HubConfigError) as caught:
            hub_settings_for(tmp_path, esign=section)
        return str(caught.value)

    both = refused({**base, **token, "asp_key_pin_env": "HOME"})
    assert "[esign] asp_key or asp_key_module: give exactly one" in both
    without_key = {k: v for k, v in base.items() if k != "asp_key"}
    assert "asp_key_pin_file or asp_key_pin_env: give exactly one" in refused(
        {**without_key, **token})
    assert "asp_key_pin_env names an environment variable that is not set" in refused(
        {**without_key, **token, "asp_key_pin_env": "OD_TEST_NO_SUCH_VARIABLE"})
    assert "asp_key_module names /nowhere/p11.so, which is not a file" in refused(
        {**without_key, **token, "asp_key_module": "/nowhere/p11.so",
         "asp_key_pin_env": "HOME"})
    settings = hub_settings_for(tmp_path, esign={**without_key, **token,
                                                 "asp_key_pin_env": "HOME"})
    assert settings.esign.asp_key_pem == b""
    assert settings.esign.asp_key_on_token.token_label == "ASP"
