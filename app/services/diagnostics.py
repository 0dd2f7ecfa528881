"""What Help → About shows and Help → Copy diagnostics puts on the clipboard.

:func:`component_versions` names the versions of Origin Desk and what it stands on;
:func:`pkcs11_module_in_use` reads the PKCS#11 module's own description (on the token
thread); :func:`diagnostics_text` writes the report an officer pastes into a support
request: versions, platform, settings (the central store's kind and address with any
user name, password or secret parameter removed), the local store, the outbox, the log
file and the last sync. It never holds a PIN, a password, a key or a token: settings are
copied key by key from what is known to be harmless, and the text is redacted once more
at the end as a second line of defence.

Everything here may touch the disk or a PKCS#11 module: call it off the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.config import ENV_PREFIX, SETTINGS, Config

# query parameters of a store URL that may carry a secret: dropped from the report
_SECRET_PARAMETER_WORDS = ("pass", "secret", "key", "token", "pin", "cred", "auth")


@dataclass(frozen=True)
class Pkcs11ModuleInfo:
    """A PKCS#11 module as it describes itself (``C_GetInfo``)."""

    path: str
    description: str = ""
    manufacturer: str = ""
    library_version: str = ""
    cryptoki_version: str = ""
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"{self.path} ({self.error})"
        return (f"{self.path} — {self.description} by {self.manufacturer}, library "
                f"{self.library_version}, PKCS#11 {self.cryptoki_version}")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _pyside_version() -> str:
    try:
        import PySide6

        return str(PySide6.__version__)
    except ImportError:  # pragma: no cover - the desk always has Qt
        return "not installed"


def component_versions() -> list[tuple[str, str]]:
    """(component, version): Origin Desk, Python, Qt and PySide6, pyHanko, python-pkcs11,
    SQLAlchemy and a few more the desk stands on."""
    try:
        from PySide6 import QtCore

        qt = QtCore.qVersion()
    except ImportError:  # pragma: no cover - the desk always has Qt
        qt = "not installed"
    return [
        ("Origin Desk", _package_version("origin-desk")),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", qt),
        ("PySide6", _pyside_version()),
        ("pyHanko", _package_version("pyhanko")),
        ("python-pkcs11", _package_version("python-pkcs11")),
        ("SQLAlchemy", _package_version("SQLAlchemy")),
        ("cryptography", _package_version("cryptography")),
        ("reportlab", _package_version("reportlab")),
    ]


def module_path_in_use(config: Config) -> str | None:
    """The PKCS#11 module the desk signs with: the first configured module present on this
    machine (the embedded demo's SoftHSM2 among them)."""
    from app.signing.demo_token import softhsm_module

    for path in config.pkcs11_modules:
        if os.path.isfile(path):
            return path
    return softhsm_module() if config.is_embedded else None


def pkcs11_module_in_use(config: Config) -> Pkcs11ModuleInfo | None:
    """The module in use and its own description (loaded on the token thread); None when
    no configured module is present."""
    from app.signing.discovery import load_module
    from app.signing.token_thread import run_in_token_thread

    path = module_path_in_use(config)
    if path is None:
        return None

    def describe() -> Pkcs11ModuleInfo:
        lib = load_module(path)
        return Pkcs11ModuleInfo(
            path, str(lib.library_description).strip(), str(lib.manufacturer_id).strip(),
            ".".join(str(p) for p in lib.library_version),
            ".".join(str(p) for p in lib.cryptoki_version))

    try:
        return run_in_token_thread(describe)
    except Exception as exc:  # noqa: BLE001 - a broken module is reported, not raised
        return Pkcs11ModuleInfo(path, error=f"cannot be loaded: {type(exc).__name__}")


def safe_store_address(url: str) -> str:
    """The central store's address without user name, password or secret parameters:
    ``postgresql+psycopg://anita:pw@db/central?sslpassword=x&sslmode=require`` becomes
    ``postgresql+psycopg://db/central?sslmode=require``."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not shown: the address cannot be read)"
    host = parts.netloc.rsplit("@", 1)[-1]  # user name and password dropped
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not any(word in k.lower() for word in _SECRET_PARAMETER_WORDS)]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query), ""))


def store_kind(config: Config) -> str:
    if config.is_embedded:
        return "embedded demo (SQLite)"
    if config.uses_central_service:
        return "central service (HTTPS)"
    backend = config.central_url.split(":", 1)[0].split("+", 1)[0]
    return f"central {'PostgreSQL' if backend.startswith('postgres') else backend} store " \
        "(direct, the officer's own login)"


def _settings_lines(config: Config) -> list[str]:
    """Each setting's value, with the central store's address made safe; the names of the
    settings that come from the environment (never their values)."""
    lines = []
    for setting in SETTINGS:
        value: Any = getattr(config, setting.key)
        if setting.key == "central_url":
            value = safe_store_address(str(value)) or "(empty: the embedded demo)"
        elif setting.key == "timestamp_url":
            value = safe_store_address(str(value)) if value else ""
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"  {setting.key} = {value}")
    from_env = sorted(k for k in os.environ if k.startswith(ENV_PREFIX))
    lines.append("  from the environment: " + (", ".join(from_env) if from_env else "none"))
    return lines


def _local_time(moment: dt.datetime | None) -> str:
    if moment is None:
        return "none since this desk started"
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo("Asia/Kolkata"))
    return local.strftime("%d %b %Y %H:%M:%S IST")


def desk_lines(desk: Any) -> list[str]:
    """What the desk knows of its stores: the local copy and its outbox, the last sync."""
    from app.store.local import LOCAL_SCHEMA_VERSION

    lines = []
    user = getattr(desk, "user", None)
    lines.append(f"Signed in: {user.email} ({user.role})" if user else "Signed in: nobody")
    local = getattr(desk, "local", None)
    if local is None:
        lines.append("Local store: none (the embedded demo works on its store directly)")
        lines.append("Outbox: none (nothing is sent anywhere)")
        lines.append("Last sync: not applicable")
        return lines
    lines.append(f"Local store: {local.path} (SQLite, WAL, format {LOCAL_SCHEMA_VERSION})")
    counts: dict[str, int] = {}
    acknowledged = 0
    for entry in local.entries():
        counts[entry.state] = counts.get(entry.state, 0) + 1
        acknowledged += entry.state == "rejected" and entry.acknowledged
    lines.append(f"Outbox: {counts.get('pending', 0)} pending, {counts.get('rejected', 0)} not "
                 f"applied ({acknowledged} of them read), {counts.get('applied', 0)} applied")
    sync = getattr(desk, "sync", None)
    status = getattr(sync, "status", None)
    if status is None:
        lines.append("Last sync: no sync service")
    else:
        online = "online" if status.online else "offline"
        error = f"; last error: {status.last_error}" if status.last_error else ""
        lines.append(f"Last sync: {_local_time(status.last_sync)} ({online}{error})")
    return lines


def diagnostics_text(config: Config, desk: Any = None, *,
                     module: Pkcs11ModuleInfo | None | bool = True) -> str:
    """The report (see the module's doc). ``module``: the PKCS#11 module's description
    when already read, None for none, True to read it now."""
    from app.logs import log_file, redact

    if module is True:
        module = pkcs11_module_in_use(config)
    lines = ["Origin Desk diagnostics",
             f"Written: {_local_time(dt.datetime.now(dt.UTC))}", "", "Versions:"]
    lines += [f"  {name}: {value}" for name, value in component_versions()]
    lines += ["", f"Platform: {platform.platform()} ({platform.machine()})",
              f"Python executable: {sys.executable}",
              f"Qt platform: {os.environ.get('QT_QPA_PLATFORM', 'default')}", "",
              f"Central store: {store_kind(config)}",
              f"  address: {safe_store_address(config.central_url) or config.demo_store_path}",
              f"Data directory: {config.data_dir}", "Settings:"]
    lines += _settings_lines(config)
    lines.append("")
    lines.append("PKCS#11 module: " + (module.line() if isinstance(module, Pkcs11ModuleInfo)
                                       else "none of the configured modules is present"))
    lines += desk_lines(desk) if desk is not None else ["Signed in: nobody (no store open)"]
    current_log = log_file() or (config.log_dir / "origin-desk.log")
    lines.append(f"Log file: {current_log}")
    return redact("\n".join(lines)) + "\n"
