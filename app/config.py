"""Settings: declared once, typed, read from ``config.toml`` and ``ORIGIN_DESK_<KEY>``.

The data directory is ``ORIGIN_DESK_HOME`` when set, otherwise the platform's user data
directory (platformdirs). ``config.toml`` in it is optional; every key can be overridden
by an environment variable named ``ORIGIN_DESK_`` + the key in upper case. A wrong value
raises :class:`ConfigError` naming the key, where it came from and what it expects.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "origin-desk"
ENV_PREFIX = "ORIGIN_DESK_"


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``ORIGIN_DESK_HOME`` when set, else the platform's user data directory (unchecked)."""
    environ = os.environ if environ is None else environ
    home = environ.get(ENV_PREFIX + "HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def check_data_dir(directory: Path, origin: str) -> None:
    """Refuse a data directory that is a file, or lies under a file (nothing is created)."""
    text = str(directory)
    if "\0" in text:
        raise ConfigError(f"{origin} contains a NUL character; expected a folder path")
    path = directory
    try:
        while not path.exists() and path != path.parent:
            path = path.parent
        if path.is_dir():
            return
    except OSError as exc:  # e.g. a path too long for the file system
        raise ConfigError(f"{origin} {text!r} cannot be used: {exc.strerror or exc}") from None
    if path == directory:
        raise ConfigError(f"{origin} is {text!r}, which is a file, not a folder")
    raise ConfigError(f"{origin} is {text!r}, but {path} is a file, not a folder")


def prepare_data_dir(directory: Path) -> None:
    """Create the data directory when missing; refuse (ConfigError) one that cannot be
    created or written to, naming it (its logs, stores and token live there)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"the data directory {directory} cannot be created: {exc.strerror or exc}; "
            f"set {ENV_PREFIX}HOME to a folder of yours"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(
            f"the data directory {directory} is not writable; set {ENV_PREFIX}HOME to a "
            "folder of yours"
        )


_URL_PASSWORD = re.compile(r"(^|://)([^/@:\s]*:)[^/\s]*@")


def redact_url(text: str) -> str:
    """``text`` with the password of a ``user:password@host`` URL replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1\2***@", text)


def _default_pkcs11_modules() -> list[str]:
    """SoftHSM2, OpenSC and the usual install paths of common Indian DSC token drivers."""
    if os.name == "nt":
        return [
            r"C:\Windows\System32\eps2003csp11v2.dll",  # ePass2003
            r"C:\Windows\System32\eps2003csp11.dll",
            r"C:\Windows\System32\SignatureP11.dll",  # ProxKey / Watchdata
            r"C:\Windows\System32\WDPKCS.dll",  # Watchdata
            r"C:\Windows\System32\CryptoIDA_pkcs11.dll",  # mToken CryptoID
            r"C:\Windows\System32\opensc-pkcs11.dll",
            r"C:\SoftHSM2\lib\softhsm2-x64.dll",
        ]
    return [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/WatchData/ProxKey/lib/libwdpkcs_SignatureP11.so",  # ProxKey
        "/usr/lib/libcastle.so.1.0.0",  # ePass2003
        "/usr/local/lib/libcastle.so.1.0.0",
        "/opt/Trust Key/libtrustkeyp11.so",
        "/usr/lib/libcryptoid_pkcs11.so",  # mToken CryptoID
        "/usr/lib/libeTPkcs11.so",  # SafeNet eToken
    ]


# --- parsers: each takes the raw value (str from env, or the TOML value) -----------------


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a text value")
    return value


def _as_int(minimum: int, maximum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        wanted = f"a whole number from {minimum} to {maximum}"
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(wanted)
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise ValueError(wanted)  # 2.5, inf and nan are not whole numbers
        try:
            number = int(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(wanted) from None
        if not minimum <= number <= maximum:
            raise ValueError(f"a whole number from {minimum} to {maximum}")
        return number

    return parse


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str | int) or isinstance(value, int) and value not in (0, 1):
        raise ValueError("true or false")
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def _as_path_list(value: Any) -> list[str]:
    if isinstance(value, str):
        parts = [p for p in value.split(os.pathsep) if p]
    elif isinstance(value, list) and all(isinstance(p, str) for p in value):
        parts = list(value)
    else:
        raise ValueError(f"a list of file paths (in the environment: separated by '{os.pathsep}')")
    if any("\0" in p for p in parts):
        raise ValueError("file paths without NUL characters")
    return parts


def _as_optional_path(value: Any) -> str:
    if not isinstance(value, str) or "\0" in value:
        raise ValueError("a folder path")
    return value


def _as_url(value: Any) -> str:
    text = _as_str(value).strip()
    wanted = ("the central service's https:// address, or a SQLAlchemy URL such as "
              "postgresql+psycopg://user@host/db (or empty)")
    if text and ("://" not in text or any(c.isspace() or c == "\0" for c in text)):
        raise ValueError(wanted)
    if text.lower().startswith("http://"):
        raise ValueError("an https:// address: the central service is reached over TLS only")
    if text.lower().startswith("https://"):
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            raise ValueError(wanted) from None
        if not parts.hostname or parts.query or parts.fragment or parts.username:
            raise ValueError("an https:// address with a host and no user, query or fragment")
    return text


def _as_optional_file(value: Any) -> str:
    if not isinstance(value, str) or "\0" in value:
        raise ValueError("a file path (or empty)")
    if value and not Path(value).expanduser().is_file():
        raise ValueError(f"an existing file; {value} is not one")
    return value


def _as_http_url(value: Any) -> str:
    text = _as_str(value).strip()
    if not text:
        return text
    from urllib.parse import urlsplit

    wanted = "an http:// or https:// address such as http://timestamp.example.com (or empty)"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError(wanted) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(
            c.isspace() or c == "\0" for c in text):
        raise ValueError(wanted)
    return text


def _as_log_level(value: Any) -> str:
    text = _as_str(value).upper()
    if text not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
    return text


@dataclass(frozen=True)
class Setting:
    key: str
    default: Callable[[], Any]
    parse: Callable[[Any], Any]
    description: str

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.key.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("central_url", lambda: "", _as_url,
            "SQLAlchemy URL of the central store; empty means the embedded demo store"),
    Setting("central_ca_file", lambda: "", _as_optional_file,
            "CA certificate (PEM) the central service's TLS certificate must chain to; "
            "empty means the system's trust store"),
    Setting("pkcs11_modules", _default_pkcs11_modules, _as_path_list,
            "PKCS#11 modules to look for tokens in"),
    Setting("token_label", lambda: "", _as_str,
            "label of the token to sign with when several are present"),
    Setting("trust_dir", lambda: "", _as_optional_path,
            "folder of trusted root certificates (PEM or DER); empty means <data>/trust"),
    Setting("timestamp_url", lambda: "", _as_http_url,
            "RFC 3161 timestamp server; when set, signatures are PAdES B-LTA, else B-B"),
    Setting("waiting_limit_hours", lambda: 24, _as_int(1, 24 * 30),
            "hours after which a waiting application is flagged in the queue"),
    Setting("sync_interval_seconds", lambda: 60, _as_int(5, 3600),
            "seconds between background syncs with the central store"),
    Setting("document_cache_mb", lambda: 200, _as_int(1, 100_000),
            "megabytes of supporting documents a synced desk keeps for offline review "
            "(least recently opened go first)"),
    Setting("offline", lambda: False, _as_bool, "work without contacting the central store"),
    Setting("log_level", lambda: "INFO", _as_log_level, "level of the rotating log file"),
)
SETTINGS_BY_KEY: Mapping[str, Setting] = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    data_dir: Path
    central_url: str = ""
    central_ca_file: str = ""
    pkcs11_modules: list[str] = field(default_factory=list)
    token_label: str = ""
    trust_dir: str = ""
    timestamp_url: str = ""
    waiting_limit_hours: int = 24
    sync_interval_seconds: int = 60
    document_cache_mb: int = 200
    offline: bool = False
    log_level: str = "INFO"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def demo_store_path(self) -> Path:
        return self.data_dir / "demo-central.sqlite"

    @property
    def local_store_path(self) -> Path:
        return self.data_dir / "local.sqlite"

    @property
    def trust_path(self) -> Path:
        return Path(self.trust_dir).expanduser() if self.trust_dir else self.data_dir / "trust"

    @property
    def is_embedded(self) -> bool:
        return not self.central_url

    @property
    def uses_central_service(self) -> bool:
        """The central store is reached through the central service (HTTPS)."""
        return self.central_url.lower().startswith("https://")


def system_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The machine-wide settings file IT departments deploy (read before the user's own):
    ``ORIGIN_DESK_SYSTEM_CONFIG`` when set; otherwise ``/etc/origin-desk/config.toml``,
    ``%ProgramData%\\Origin Desk\\config.toml`` on Windows, ``/Library/Application
    Support/Origin Desk/config.toml`` on macOS."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_PREFIX + "SYSTEM_CONFIG"):
        return Path(environ[ENV_PREFIX + "SYSTEM_CONFIG"]).expanduser()
    if os.name == "nt":
        return Path(environ.get("PROGRAMDATA", r"C:\ProgramData")) / "Origin Desk" / "config.toml"
    if os.uname().sysname == "Darwin":
        return Path("/Library/Application Support/Origin Desk/config.toml")
    return Path("/etc/origin-desk/config.toml")


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read the machine-wide settings file, then the user's ``config.toml``, then the
    environment (each overrides the one before); raise ConfigError on any wrong value."""
    environ = os.environ if environ is None else environ
    directory = data_dir(environ)
    origin = (f"environment variable {ENV_PREFIX}HOME" if environ.get(ENV_PREFIX + "HOME")
              else "the data directory")
    check_data_dir(directory, origin)
    system_file = system_config_path(environ)
    system_values = _read_file(system_file)
    file_values = _read_file(directory / "config.toml")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.env_name in environ:
            raw, origin = environ[setting.env_name], f"environment variable {setting.env_name}"
        elif setting.key in file_values:
            raw, origin = file_values[setting.key], f"'{setting.key}' in {directory / 'config.toml'}"
        elif setting.key in system_values:
            raw, origin = system_values[setting.key], f"'{setting.key}' in {system_file}"
        else:
            values[setting.key] = setting.default()
            continue
        try:
            values[setting.key] = setting.parse(raw)
        except ValueError as exc:
            shown = redact_url(raw) if isinstance(raw, str) else raw
            raise ConfigError(f"{origin} is {shown!r}; expected {exc}") from None
    return Config(data_dir=directory, **values)


MAX_CONFIG_BYTES = 1024 * 1024
"""A settings file larger than this (1 MB) is refused: it cannot be a hand-written file."""


def _read_file(path: Path) -> dict[str, Any]:
    try:
        if not path.exists():
            return {}
        if not path.is_file():
            raise ConfigError(f"{path} is not a file; expected the settings file (TOML)")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KB; "
                          "expected a short settings file (TOML)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
    import tomllib  # only when there is a file to read

    try:
        content = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path} is not valid TOML: nested too deeply") from None
    unknown = sorted(set(content) - set(SETTINGS_BY_KEY))
    if unknown:
        known = ", ".join(SETTINGS_BY_KEY)
        raise ConfigError(f"{path} has unknown key(s) {', '.join(unknown)}; known keys: {known}")
    return content
