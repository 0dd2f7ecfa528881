"""Settings from config.toml and ORIGIN_DESK_* variables, and their error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import SETTINGS, ConfigError, load_config


def test_defaults_without_a_file(data_home: Path) -> None:
    config = load_config()
    assert config.data_dir == data_home
    assert config.is_embedded and config.waiting_limit_hours == 24
    assert "/usr/lib/softhsm/libsofthsm2.so" in config.pkcs11_modules
    assert config.trust_path == data_home / "trust"


def test_file_then_environment(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (data_home / "config.toml").write_text(
        'central_url = "postgresql+psycopg://anita@db.igcc.example/central"\n'
        'waiting_limit_hours = 8\npkcs11_modules = ["/opt/a.so", "/opt/b.so"]\n'
    )
    config = load_config()
    assert config.central_url.startswith("postgresql+psycopg://") and not config.is_embedded
    assert config.waiting_limit_hours == 8 and config.pkcs11_modules == ["/opt/a.so", "/opt/b.so"]
    monkeypatch.setenv("ORIGIN_DESK_WAITING_LIMIT_HOURS", "12")
    monkeypatch.setenv("ORIGIN_DESK_PKCS11_MODULES", "/x/one.so:/x/two.so")
    monkeypatch.setenv("ORIGIN_DESK_TRUST_DIR", "/etc/origin-desk/trust")
    config = load_config()
    assert config.waiting_limit_hours == 12
    assert config.pkcs11_modules == ["/x/one.so", "/x/two.so"]
    assert config.trust_path == Path("/etc/origin-desk/trust")


def test_every_setting_has_an_environment_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        assert setting.env_name == "ORIGIN_DESK_" + setting.key.upper()
        assert setting.description


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("WAITING_LIMIT_HOURS", "soon", "ORIGIN_DESK_WAITING_LIMIT_HOURS is 'soon'; expected a whole number from 1 to 720"),
        ("OFFLINE", "maybe", "expected true or false"),
        ("CENTRAL_URL", "db.example.org", "or a SQLAlchemy URL"),
        ("CENTRAL_URL", "http://hub.example.org", "over TLS only"),
        ("CENTRAL_URL", "https://user@hub.example.org", "no user, query or fragment"),
        ("CENTRAL_CA_FILE", "/no/such/ca.pem", "an existing file"),
        ("LOG_LEVEL", "LOUD", "expected one of DEBUG"),
        ("SYNC_INTERVAL_SECONDS", "1", "from 5 to 3600"),
    ],
)
def test_wrong_environment_values_name_the_key(monkeypatch: pytest.MonkeyPatch, key: str, value: str, expected: str) -> None:
    monkeypatch.setenv("ORIGIN_DESK_" + key, value)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_config()


def test_wrong_file_values_name_the_key_and_file(data_home: Path) -> None:
    (data_home / "config.toml").write_text('waiting_limit_hours = "two"\n')
    with pytest.raises(ConfigError, match=r"'waiting_limit_hours' in .*config.toml is 'two'"):
        load_config()
    (data_home / "config.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown key\\(s\\) colour"):
        load_config()
    (data_home / "config.toml").write_text("this is [not toml\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config()


def test_log_file_rotates_in_the_data_directory_and_hides_secrets(data_home: Path) -> None:
    import logging

    from app.logs import RedactSecrets

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login with pin=123456 ok", None, None)
    RedactSecrets().filter(record)
    assert "123456" not in record.getMessage()


def test_the_machine_wide_settings_file_is_read_before_the_users_and_the_environment(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "etc" / "config.toml"
    system.parent.mkdir()
    agency_ca, own_ca = tmp_path / "etc" / "agency-ca.pem", tmp_path / "own-ca.pem"
    agency_ca.write_text("-----BEGIN CERTIFICATE-----\n")
    own_ca.write_text("-----BEGIN CERTIFICATE-----\n")
    system.write_text('central_url = "https://central.igcc.example"\n'
                      f'central_ca_file = "{agency_ca}"\n'
                      "sync_interval_seconds = 120\n", encoding="utf-8")
    monkeypatch.setenv("ORIGIN_DESK_SYSTEM_CONFIG", str(system))
    config = load_config()
    assert config.central_url == "https://central.igcc.example"
    assert config.central_ca_file == str(agency_ca)
    assert config.sync_interval_seconds == 120

    (data_home / "config.toml").write_text("sync_interval_seconds = 30\n", encoding="utf-8")
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(own_ca))
    config = load_config()
    assert config.sync_interval_seconds == 30  # the user's file over the machine's
    assert config.central_ca_file == str(own_ca)  # the environment over both
    assert config.central_url == "https://central.igcc.example"


def test_a_wrong_machine_wide_setting_names_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "config.toml"
    system.write_text("sync_interval_seconds = -5\ncolour = 'red'\n", encoding="utf-8")
    monkeypatch.setenv("ORIGIN_DESK_SYSTEM_CONFIG", str(system))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config()
    system.write_text("sync_interval_seconds = -5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"'sync_interval_seconds' in {system}"):
        load_config()
