"""Logging to a rotating file in the user's data directory.

Never log a PIN, a password or a private key: the filter below blanks anything that
looks like ``pin=...``/``password=...`` as a second line of defence, not the first.
"""

from __future__ import annotations

import logging
import logging.handlers
import re

from app.config import Config, load_config

_SECRET = re.compile(r"(?i)\b(pin|password|passwd|secret|private[_ ]key)\b(\s*[=:]\s*)(\S+)")
_configured = False


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(r"\1\2***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(config: Config | None = None) -> None:
    """Configure the root logger once: rotating file at <data>/logs/origin-desk.log."""
    global _configured
    if _configured:
        return
    config = config or load_config()
    config.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        config.log_dir / "origin-desk.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(config.log_level)
    _configured = True
