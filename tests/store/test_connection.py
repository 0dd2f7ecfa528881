"""Connection settings: the password from the OS keyring or a prompt, never a file; TLS
parameters pass through the URL; the local store's file and format."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from app.store.connection import (
    ConnectionSettingsError,
    keyring_key,
    parse_url,
    remember_password,
    url_with_password,
)
from app.store.local import LocalStore, LocalStoreError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():  # type: ignore[no-untyped-def]
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


URL = "postgresql://od_anita_2@db.example.in:5433/origin"


def test_the_password_comes_from_the_keyring_then_a_prompt(memory_keyring) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    url = url_with_password(URL, lambda prompt: asked.append(prompt) or "typed")
    assert url.password == "typed" and asked and "od_anita_2" in asked[0]
    assert url.drivername == "postgresql+psycopg"
    remember_password(parse_url(URL), "from-keyring")
    assert memory_keyring.items == {("origin-desk", keyring_key(parse_url(URL))): "from-keyring"}
    url = url_with_password(URL, lambda prompt: pytest.fail("must not ask"))
    assert url.password == "from-keyring"


def test_no_password_in_a_settings_url_and_tls_passes_through(tmp_path: Path) -> None:
    with pytest.raises(ConnectionSettingsError, match="never go in a settings file"):
        parse_url("postgresql://u:secret@h/db")
    with pytest.raises(ConnectionSettingsError, match="sslmode"):
        parse_url("postgresql://u@h/db?sslmode=sometimes")
    with pytest.raises(ConnectionSettingsError, match="no such file"):
        parse_url(f"postgresql://u@h/db?sslmode=verify-full&sslrootcert={tmp_path}/none.pem")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    url = parse_url(f"postgresql://u@h/db?sslmode=verify-full&sslrootcert={ca}")
    assert url.query == {"sslmode": "verify-full", "sslrootcert": str(ca)}
    with pytest.raises(ConnectionSettingsError, match="PostgreSQL"):
        parse_url("mysql://u@h/db")


def test_the_local_store_is_private_wal_and_refuses_a_newer_format(tmp_path: Path) -> None:
    path = tmp_path / "local.sqlite"
    store = LocalStore(path)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(LocalStoreError, match="Update Origin Desk"):
        LocalStore(path)


def test_an_old_cache_is_rebuilt_but_the_outbox_kept(tmp_path: Path) -> None:
    path = tmp_path / "local.sqlite"
    store = LocalStore(path)
    with store.engine.begin() as connection:
        LocalStore.enqueue(connection, user_id=2, application_id=7, application_number="APP-7",
                           action="claim", text=None, expected_version=1)
    store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 0")
        raw.execute("INSERT INTO agencies (id, code, name, email_domains) VALUES (1, 'X', 'X', '[]')")
    store = LocalStore(path)
    assert [e.application_number for e in store.pending()] == ["APP-7"]
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM agencies").scalar() == 0
    store.close()
