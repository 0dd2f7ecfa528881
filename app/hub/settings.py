"""The central service's configuration: one TOML file (``origin-desk serve --config``).

Example (docs/HUB.md explains each key)::

    [server]
    listen = "0.0.0.0:8443"
    public_base_url = "https://coo.example.gov.in"
    tls_certificate = "/etc/origin-desk/tls/fullchain.pem"
    tls_key = "/etc/origin-desk/tls/privkey.pem"
    secret_file = "/etc/origin-desk/hub.secret"   # same on every replica
    trusted_proxies = ["10.0.0.5/32"]             # load balancers (X-Forwarded-For)
    workers = 2                                   # processes: about one per core

    [database]
    url = "postgresql+psycopg://origin_desk_hub@db.internal:5432/origin_desk"
    password_file = "/etc/origin-desk/db.password"

    [sign_in]
    session_hours = 12
    max_failures = 5
    lockout_minutes = 15
    per_minute = 10           # attempts per account; six times that per client address

    [limits]
    max_body_bytes = 26214400
    verify_per_minute = 20
    api_per_minute = 300

    [esign]                      # the agency's eSign gateway (docs/ESIGN.md); absent: off
    esp_name = "eMudhra eSign"
    esp_url = "https://esp.example.in/esign/2.1/signdoc"
    asp_id = "IGCC-ASP-01"
    asp_key = "/etc/origin-desk/esign/asp.key"          # PEM, mode 0600, the service's user
    asp_certificate = "/etc/origin-desk/esign/asp.pem"
    esp_certificate = "/etc/origin-desk/esign/esp.pem"  # verifies the ESP's responses
    esign_ca = "/etc/origin-desk/esign/esign-ca.pem"    # issues the one-time certificates
    timestamp_window_minutes = 10
    request_timeout_seconds = 600

    [seal]                                          # the agency seal's PKCS#11 module
    module = "/usr/lib/softhsm/libsofthsm2.so"
    token_label = "agency-seal"
    pin_file = "/etc/origin-desk/seal.pin"

Secrets (the database password, the seal PIN, the service secret) are read from files or
environment variables named in the file, never written in it. A bad key gets one line
naming it, the file and what it expects.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.errors import UserFacingError

DEFAULT_PORT = 8443
KNOWN_KEYS: dict[str, set[str]] = {
    "server": {"listen", "public_base_url", "tls_certificate", "tls_key", "secret_file",
               "secret_env", "secret", "trust_dir", "metrics_from", "trusted_proxies",
               "workers"},
    "database": {"url", "password_file", "password_env", "password", "pool_size"},
    "sign_in": {"session_hours", "max_failures", "lockout_minutes", "per_minute"},
    "limits": {"max_body_bytes", "verify_per_minute", "api_per_minute"},
    "seal": set(),
    "esign": {"esp_name", "esp_url", "asp_id", "asp_key", "asp_certificate",
              "esp_certificate", "esign_ca", "timestamp_window_minutes",
              "request_timeout_seconds", "asp_key_module", "asp_key_token_label",
              "asp_key_label", "asp_key_pin_file", "asp_key_pin_env"},
}


class HubConfigError(UserFacingError):
    """The central service's configuration is wrong; the message names the key."""


@dataclass(frozen=True)
class EsignSettings:
    """The eSign gateway (``[esign]``): the ESP's URL and certificate, the ASP's id, key and
    certificate, the eSign CA that issues the one-time signer certificates."""

    esp_name: str
    esp_url: str
    asp_id: str
    asp_key_pem: bytes = field(repr=False)
    asp_certificate_pem: bytes
    esp_certificate_pem: bytes
    esign_ca_pem: bytes
    timestamp_window: dt.timedelta = dt.timedelta(minutes=10)
    request_timeout: dt.timedelta = dt.timedelta(minutes=10)
    # the ASP key in a PKCS#11 module instead of asp_key_pem (app.signing.esign.asp_key)
    asp_key_on_token: Any = None


@dataclass(frozen=True)
class HubSettings:
    host: str
    port: int
    public_base_url: str
    tls_certificate: Path | None
    tls_key: Path | None
    database_url: str
    database_password: str | None = field(default=None, repr=False)
    secret: bytes = field(default=b"", repr=False)
    session_life: dt.timedelta = dt.timedelta(hours=12)
    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    max_body_bytes: int = 25 * 1024 * 1024
    verify_per_minute: int = 20
    api_per_minute: int = 300
    seal: dict[str, Any] = field(default_factory=dict, repr=False)
    trust_dir: Path | None = None  # roots that officers' DSCs must chain to
    metrics_from: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    # load balancers or reverse proxies whose X-Forwarded-For is believed (client
    # addresses for rate limits and logs); empty: the connection's own address
    trusted_proxies: tuple[str, ...] = ()
    workers: int = 1  # processes (one per core is a good start)
    pool_size: int = 8  # database connections per process (and as many more in bursts)
    sign_in_per_minute: int = 10  # sign-in attempts per account (6 times that per address)
    esign: EsignSettings | None = None  # the eSign gateway; None: not offered
    source: str = ""
    demo: bool = False


def load_hub_settings(path: Path) -> HubSettings:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HubConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HubConfigError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise HubConfigError(f"{path}: not valid TOML ({exc})") from None
    return hub_settings_from_dict(raw, str(path), base=Path(path).parent)


def hub_settings_from_dict(raw: dict[str, Any], source: str, *,
                           base: Path | None = None) -> HubSettings:
    reader = _Reader(raw, source, base or Path.cwd())
    for key in raw:
        if key not in KNOWN_KEYS:
            raise HubConfigError(f"{source}: unknown section [{key}] (known: "
                                 + ", ".join(sorted(KNOWN_KEYS)) + ")")
        if key != "seal" and isinstance(raw[key], dict):  # the seal's keys: SealConfig
            for name in raw[key]:
                if name not in KNOWN_KEYS[key]:
                    raise HubConfigError(
                        f"{source}: [{key}] has an unknown key {name!r} (known: "
                        + ", ".join(sorted(KNOWN_KEYS[key])) + ")")
    host, port = reader.listen()
    public = reader.url("server", "public_base_url", schemes=("https", "http"))
    cert = reader.path("server", "tls_certificate", required=False)
    key = reader.path("server", "tls_key", required=False)
    if (cert is None) != (key is None):
        raise HubConfigError(f"{source}: [server] needs both tls_certificate and tls_key")
    secret = reader.secret("server", "secret")
    if secret is None or len(secret) < 32:
        raise HubConfigError(f"{source}: [server] secret_file (or secret_env) must give at "
                             "least 32 bytes, the same on every replica")
    url = reader.string("database", "url")
    if not url.startswith(("postgresql", "sqlite")):
        raise HubConfigError(f"{source}: [database] url must be a postgresql+psycopg:// URL")
    if "@" in url.split("//", 1)[-1].split("/", 1)[0] and ":" in \
            url.split("//", 1)[-1].split("@", 1)[0]:
        raise HubConfigError(f"{source}: [database] url must not hold a password; use "
                             "password_file or password_env")
    password = reader.secret("database", "password")
    return HubSettings(
        host=host, port=port, public_base_url=public.rstrip("/"), tls_certificate=cert,
        tls_key=key, database_url=url,
        database_password=password.decode("utf-8").strip() if password else None,
        secret=secret,
        session_life=dt.timedelta(hours=reader.number("sign_in", "session_hours", 12, 1, 168)),
        max_failures=reader.number("sign_in", "max_failures", 5, 1, 100),
        lockout=dt.timedelta(minutes=reader.number("sign_in", "lockout_minutes", 15, 1,
                                                   24 * 60)),
        max_body_bytes=reader.number("limits", "max_body_bytes", 25 * 1024 * 1024, 1024,
                                     1024 ** 3),
        verify_per_minute=reader.number("limits", "verify_per_minute", 20, 1, 100_000),
        api_per_minute=reader.number("limits", "api_per_minute", 300, 1, 1_000_000),
        seal=dict(raw.get("seal", {})), trust_dir=reader.folder("server", "trust_dir"),
        metrics_from=reader.networks("server", "metrics_from"),
        trusted_proxies=reader.networks("server", "trusted_proxies", default=()),
        workers=reader.number("server", "workers", 1, 1, 64),
        pool_size=reader.number("database", "pool_size", 8, 1, 200),
        sign_in_per_minute=reader.number("sign_in", "per_minute", 10, 1, 10_000),
        esign=_esign(reader) if "esign" in raw else None,
        source=source,
    )


def _esign(reader: _Reader) -> EsignSettings:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def pem_file(key: str) -> tuple[Path, bytes]:
        path = reader.path("esign", key, required=True)
        assert path is not None
        try:
            return path, path.read_bytes()
        except OSError as exc:
            raise reader._bad("esign", key, f"cannot be read ({exc.strerror})") from None

    def certificates(key: str) -> bytes:
        _path, data = pem_file(key)
        try:
            x509.load_pem_x509_certificates(data)
        except ValueError:
            raise reader._bad("esign", key, "must be a PEM certificate file") from None
        return data

    asp_certificate = certificates("asp_certificate")
    certificate = x509.load_pem_x509_certificates(asp_certificate)[0]
    on_token = reader._value("esign", "asp_key_module") is not None
    if on_token == (reader._value("esign", "asp_key") is not None):
        raise reader._bad("esign", "asp_key", "or asp_key_module: give exactly one (a key "
                          "file, or a PKCS#11 module with asp_key_token_label, asp_key_label "
                          "and asp_key_pin_file or asp_key_pin_env)")
    key_pem, key_on_token = b"", None
    if on_token:
        key_on_token = _asp_key_on_token(reader, asp_certificate)
        if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
            raise reader._bad("esign", "asp_certificate", "must hold an RSA key (eSign 2.1 "
                              "signs with RSA-SHA256)")
    else:
        key_path, key_pem = pem_file("asp_key")
        if os.name == "posix" and key_path.stat().st_mode & 0o077:
            raise reader._bad("esign", "asp_key", f"names {key_path}, which others can read: "
                              "make it mode 0600, owned by the service's user")
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise reader._bad("esign", "asp_key", "must be an unencrypted PEM RSA private key "
                              "(eSign 2.1 signs with RSA-SHA256)")
        if certificate.public_key().public_numbers() != key.public_key().public_numbers():
            raise reader._bad("esign", "asp_certificate", "is not the certificate of asp_key")
    asp_id = reader.string("esign", "asp_id")
    if len(asp_id) > 50:
        raise reader._bad("esign", "asp_id", "must be at most 50 characters")
    esp_name = reader._value("esign", "esp_name") or "eSign service provider"
    if not isinstance(esp_name, str) or len(esp_name) > 100:
        raise reader._bad("esign", "esp_name", "must be text of at most 100 characters")
    return EsignSettings(
        esp_name=esp_name.strip(), esp_url=reader.url("esign", "esp_url", schemes=("https",)),
        asp_id=asp_id, asp_key_pem=key_pem, asp_certificate_pem=asp_certificate,
        esp_certificate_pem=certificates("esp_certificate"),
        esign_ca_pem=certificates("esign_ca"),
        timestamp_window=dt.timedelta(minutes=reader.number(
            "esign", "timestamp_window_minutes", 10, 1, 60)),
        request_timeout=dt.timedelta(seconds=reader.number(
            "esign", "request_timeout_seconds", 600, 60, 3600)),
        asp_key_on_token=key_on_token,
    )


def _asp_key_on_token(reader: _Reader, certificate_pem: bytes) -> Any:
    import re

    from app.signing.esign.asp_key import AspKeyOnToken

    module = reader.string("esign", "asp_key_module")
    if not os.path.isfile(module):
        raise reader._bad("esign", "asp_key_module", f"names {module}, which is not a file "
                          "(the HSM's PKCS#11 library)")
    token_label = reader.string("esign", "asp_key_token_label")
    key_label = reader.string("esign", "asp_key_label")
    if len(token_label.encode()) > 32:
        raise reader._bad("esign", "asp_key_token_label", "must be at most 32 bytes")
    has_file = reader._value("esign", "asp_key_pin_file") is not None
    if has_file == (reader._value("esign", "asp_key_pin_env") is not None):
        raise reader._bad("esign", "asp_key_pin_file", "or asp_key_pin_env: give exactly one")
    pin_file = pin_env = None
    if has_file:
        pin_file = reader.path("esign", "asp_key_pin_file", required=True)
        assert pin_file is not None
        if os.name == "posix" and pin_file.stat().st_mode & 0o077:
            raise reader._bad("esign", "asp_key_pin_file", f"names {pin_file}, which others "
                              "can read: make it mode 0600, owned by the service's user")
    else:
        pin_env = reader.string("esign", "asp_key_pin_env")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", pin_env) or not os.environ.get(pin_env):
            raise reader._bad("esign", "asp_key_pin_env", "names an environment variable "
                              "that is not set")
    return AspKeyOnToken(module=module, token_label=token_label, key_label=key_label,
                         pin_file=pin_file, pin_env=pin_env, certificate_pem=certificate_pem)


class _Reader:
    def __init__(self, raw: dict[str, Any], source: str, base: Path) -> None:
        self.raw, self.source, self.base = raw, source, base

    def _value(self, section: str, key: str) -> Any:
        part = self.raw.get(section, {})
        if not isinstance(part, dict):
            raise HubConfigError(f"{self.source}: [{section}] must be a table")
        return part.get(key)

    def _bad(self, section: str, key: str, expects: str) -> HubConfigError:
        return HubConfigError(f"{self.source}: [{section}] {key} {expects}")

    def string(self, section: str, key: str) -> str:
        value = self._value(section, key)
        if not isinstance(value, str) or not value.strip():
            raise self._bad(section, key, "is required (text)")
        return value.strip()

    def listen(self) -> tuple[str, int]:
        value = self._value("server", "listen") or f"127.0.0.1:{DEFAULT_PORT}"
        if not isinstance(value, str) or ":" not in value:
            raise self._bad("server", "listen", "must be HOST:PORT, e.g. 0.0.0.0:8443")
        host, _, port = value.rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536 or not host:
            raise self._bad("server", "listen", f"{value!r} is not HOST:PORT")
        return host.strip("[]"), int(port)

    def url(self, section: str, key: str, schemes: tuple[str, ...]) -> str:
        value = self.string(section, key)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc or parts.query or parts.fragment:
            raise self._bad(section, key, f"must be a {'/'.join(schemes)} URL with no query, "
                            f"not {value!r}")
        return value

    def path(self, section: str, key: str, *, required: bool) -> Path | None:
        value = self._value(section, key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise self._bad(section, key, "must be a file path")
        path = Path(value).expanduser()
        path = path if path.is_absolute() else self.base / path
        if not path.is_file():
            raise self._bad(section, key, f"names {path}, which is not a file")
        return path

    def secret(self, section: str, key: str) -> bytes | None:
        file_ = self._value(section, f"{key}_file")
        env = self._value(section, f"{key}_env")
        if self._value(section, key) is not None:
            raise self._bad(section, key, f"must not be written in the file: use {key}_file "
                            f"or {key}_env")
        if file_ is not None:
            path = self.path(section, f"{key}_file", required=True)
            return path.read_bytes().strip()  # type: ignore[union-attr]
        if env is not None:
            if not isinstance(env, str) or env not in os.environ:
                raise self._bad(section, f"{key}_env", "names an environment variable that "
                                "is not set")
            return os.environ[env].encode("utf-8")
        return None

    def folder(self, section: str, key: str) -> Path | None:
        value = self._value(section, key)
        if value is None:
            return None
        path = Path(str(value)).expanduser()
        path = path if path.is_absolute() else self.base / path
        if not path.is_dir():
            raise self._bad(section, key, f"names {path}, which is not a folder")
        return path

    def networks(self, section: str, key: str,
                 default: tuple[str, ...] = ("127.0.0.1/32", "::1/128")) -> tuple[str, ...]:
        import ipaddress

        value = self._value(section, key)
        if value is None:
            return default
        if not isinstance(value, list):
            raise self._bad(section, key, "must be a list of networks, e.g. [\"10.0.0.0/8\"]")
        for item in value:
            try:
                ipaddress.ip_network(str(item), strict=False)
            except ValueError:
                raise self._bad(section, key, f"has {item!r}, which is not a network") from None
        return tuple(str(v) for v in value)

    def number(self, section: str, key: str, default: int, low: int, high: int) -> int:
        value = self._value(section, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._bad(section, key, f"must be a whole number from {low} to {high}")
        return value
