"""Logging to a rotating file in the user's data directory.

Never log a PIN, a password, a key or a token: the formatter below blanks anything that
looks like ``pin=...``/``password=...``/``key: ...`` and the password of a
``user:password@host`` URL, in the message and in a traceback, as a second line of
defence, not the first.

When ``<data>/logs`` cannot be created or written (the data directory is read-only, or a
file stands where the folder should be), the log goes to a private folder in the
system's temporary directory instead; when that fails too, nothing is logged to a file.
Logging never stops the program.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import tempfile
from pathlib import Path

from app.config import Config, ConfigError, data_dir, load_config, redact_url

LOG_NAME = "origin-desk.log"
_SECRET = re.compile(
    r"(?i)\b(pin|password|passwd|passphrase|secret|private[_ ]key|checksum[_ ]key|api[_ ]key"
    r"|token[_ ]pin|so[_ ]pin|access[_ ]token|auth[_ ]token)\b(\s*[=:]\s*)(\S+)"
)
_handler: logging.Handler | None = None
_log_file: Path | None = None


def redact(text: str) -> str:
    """``text`` with secrets that follow a telling name, and URL passwords, blanked."""
    return redact_url(_SECRET.sub(r"\1\2***", text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted record: the message and any traceback under it."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_file() -> Path | None:
    """The file the log is written to, or None when no file could be opened."""
    return _log_file


def setup_logging(config: Config | None = None) -> Path | None:
    """Send the root logger to a rotating file at <data>/logs/origin-desk.log (2 MB x 5).

    Called again with another data directory, the log moves there. Returns the log file,
    or None when no file could be opened (see the module's description); never raises.
    """
    global _handler, _log_file
    level = "INFO"
    if config is None:
        try:
            config = load_config()
        except ConfigError:
            config = None
    if config is not None:
        level = config.log_level
        wanted = config.log_dir
    else:
        try:
            wanted = data_dir() / "logs"
        except (OSError, ValueError, RuntimeError):  # no usable home directory at all
            wanted = None
    root = logging.getLogger()
    root.setLevel(level)
    logging.captureWarnings(True)  # library warnings go to the log, not the terminal
    logging.raiseExceptions = False  # a record that cannot be written is dropped, silently
    if _handler is not None and _log_file is not None and wanted is not None \
            and _log_file.parent == wanted:
        return _log_file
    handler, path = None, None
    for folder in (wanted, _fallback_dir()):
        if folder is None:
            continue
        handler = _open_handler(folder)
        if handler is not None:
            path = folder / LOG_NAME
            break
    if handler is None and _handler is not None:
        return _log_file  # keep logging where we were
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    _handler, _log_file = handler, path
    if handler is not None:
        root.addHandler(handler)
        if path is not None and wanted is not None and path.parent != wanted:
            logging.getLogger(__name__).warning(
                "the log folder %s cannot be used; logging to %s", wanted, path)
    return _log_file


def _open_handler(folder: Path) -> logging.Handler | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / LOG_NAME, maxBytes=2_000_000, backupCount=5, encoding="utf-8",
            errors="backslashreplace",  # e.g. a file name that is not UTF-8
        )
    except (OSError, ValueError):
        return None
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    return handler


def _fallback_dir() -> Path | None:
    """A folder of this user's own in the temporary directory (not a shared or linked one)."""
    try:
        uid = os.getuid() if hasattr(os, "getuid") else None
        folder = Path(tempfile.gettempdir()) / f"origin-desk-{uid if uid is not None else 'user'}"
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(info.st_mode):
        return None
    if uid is not None and (info.st_uid != uid or info.st_mode & 0o077):
        return None  # someone else's folder, or open to others: do not write there
    return folder
