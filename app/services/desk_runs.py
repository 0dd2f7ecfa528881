"""Which runs of this desk may hold certificate number reservations.

Each run of the desk (the window or an ``issue`` command) that issues gets an id, written
as a small file in the data directory together with its process id. A reservation on the
central store names the run that made it. When the desk starts again after a crash, the
runs whose process is gone are *ended*: their reservations are released at once (voided
with the reason), instead of waiting for the stale limit that applies to other desks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class DeskRuns:
    """The runs of the desk whose data directory is ``folder``'s parent."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._current: str | None = None

    @staticmethod
    def anonymous() -> str:
        """A run id for a caller that keeps no record of its runs (stale limit only)."""
        return f"run-{uuid.uuid4().hex[:20]}"

    @property
    def current(self) -> str:
        """This run's id (recorded on first use)."""
        if self._current is None:
            host = "".join(c for c in socket.gethostname() if c.isalnum())[:16] or "desk"
            run = f"{host}-{uuid.uuid4().hex[:20]}"
            try:
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                (self.folder / run).write_text(str(os.getpid()))
            except OSError as exc:  # the stale limit still releases its reservations
                log.warning("cannot record this desk run in %s: %s", self.folder, exc)
            self._current = run
        return self._current

    def ended(self) -> list[str]:
        """Recorded runs of this desk whose process is gone."""
        result = []
        with contextlib.suppress(OSError):
            for entry in sorted(self.folder.iterdir()):
                if entry.name == self._current or not entry.is_file():
                    continue
                try:
                    pid = int(entry.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if not _alive(pid):
                    result.append(entry.name)
        return result

    def forget(self, runs: list[str]) -> None:
        for run in runs:
            with contextlib.suppress(OSError):
                (self.folder / run).unlink()
