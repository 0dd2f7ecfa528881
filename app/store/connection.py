"""Connection settings of the central store: the URL from the configuration, the password
from the OS keyring or a prompt (never from a file), TLS parameters passed through.

TLS goes in the URL's query, as libpq spells it:
``postgresql+psycopg://od_anita_2@db.example.in/origin?sslmode=verify-full&sslrootcert=/etc/origin/ca.pem``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.config import redact_url
from app.errors import UserFacingError

log = logging.getLogger(__name__)
KEYRING_SERVICE = "origin-desk"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SSL_FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl")
CONNECT_TIMEOUT_SECONDS = 5

AskPassword = Callable[[str], "str | None"]


class ConnectionSettingsError(UserFacingError):
    """The central store's URL or password cannot be used."""


def parse_url(raw: str) -> URL:
    """The configured URL, checked: a known database, no password in it, TLS files present."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError, TypeError):  # ValueError: a port that is not a number
        raise ConnectionSettingsError(
            f"central_url {redact_url(str(raw))!r} is not a SQLAlchemy URL; expected e.g. "
            "postgresql+psycopg://user@host:5432/database"
        ) from None
    if url.port is not None and not 0 < url.port < 65536:
        raise ConnectionSettingsError(
            f"central_url names the port {url.port}; a port is a number from 1 to 65535."
        )
    repeated = sorted(key for key, value in url.query.items() if not isinstance(value, str))
    if repeated:
        raise ConnectionSettingsError(
            f"central_url gives {', '.join(repeated)} more than once; give each option once."
        )
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise ConnectionSettingsError(
            f"central_url names the database '{backend}'; Origin Desk works with PostgreSQL "
            "(postgresql+psycopg://...) or a SQLite file (sqlite:///path)."
        )
    if backend == "postgresql":
        if url.get_driver_name() != "psycopg":
            url = url.set(drivername="postgresql+psycopg")
        if url.password:
            raise ConnectionSettingsError(
                "central_url contains a password; passwords never go in a settings file. Remove "
                "it from the URL and store it with 'origin-desk db password' (OS keyring)."
            )
        mode = url.query.get("sslmode")
        if mode is not None and mode not in SSL_MODES:
            raise ConnectionSettingsError(
                f"sslmode={mode!r} in central_url is not known; use one of {', '.join(SSL_MODES)}."
            )
        for key in SSL_FILES:
            value = url.query.get(key)
            if isinstance(value, str) and not Path(value).expanduser().is_file():
                raise ConnectionSettingsError(
                    f"{key}={value} in central_url: no such file. Check the path."
                )
    return url


def keyring_key(url: URL) -> str:
    return f"{url.username or ''}@{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def stored_password(url: URL) -> str | None:
    """The password kept in the OS keyring for this user and server, if any."""
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, keyring_key(url))
        except KeyringError as exc:
            log.info("no usable OS keyring: %s", exc)
            return None
    except Exception as exc:  # noqa: BLE001 - a broken keyring backend must not stop sign-in
        log.warning("the OS keyring failed: %s", type(exc).__name__)
        return None


def remember_password(url: URL, password: str) -> None:
    """Keep the password in the OS keyring (raises a clear error when there is none)."""
    import keyring
    from keyring.errors import KeyringError

    if not password:
        raise ConnectionSettingsError("An empty password cannot be stored.")
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_key(url), password)
    except KeyringError as exc:
        raise ConnectionSettingsError(
            f"The OS keyring could not store the password ({exc}). Install or unlock a keyring "
            "(GNOME Keyring, KWallet, Windows Credential Manager, macOS Keychain)."
        ) from None


def forget_password(url: URL) -> bool:
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, keyring_key(url))
    except (PasswordDeleteError, KeyringError):
        return False
    return True


def url_with_password(raw: str, ask_password: AskPassword | None = None) -> URL:
    """The URL to connect with: its password from the keyring, else from ``ask_password``
    (a prompt; it gets a text naming the user and server). Without either, no password
    (trust, certificate or peer authentication)."""
    url = parse_url(raw)
    if url.get_backend_name() != "postgresql":
        return url
    password = stored_password(url)
    if password is None and ask_password is not None:
        password = ask_password(f"Password for {url.username or 'you'} on {url.host or 'localhost'}"
                                f"/{url.database or ''}")
    return url.set(password=password) if password else url


# PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost; row-level
# security and the SECURITY DEFINER rules make small look-ups look costly, so a 6 ms query
# spent 200 ms compiling (the foreign certificates' goods in every pull, the approvals'
# origin and balance triggers). Desk and service queries are short: no JIT for them.
NO_JIT = "-c jit=off"


def engine_options(url: URL) -> dict[str, object]:
    """Engine options for a central store: a short connect timeout (offline is noticed in
    seconds), a ping before reusing a pooled connection (a restarted server is survived)."""
    if url.get_backend_name() != "postgresql":
        return {}
    return {
        "pool_pre_ping": True,
        "pool_size": 4,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                         "application_name": "origin-desk", "options": NO_JIT},
    }
