"""A desk killed mid-issue: ``code`` runs in a child process (its own session) with
``marker``, the application number and the officer's e-mail as arguments and the PIN on
stdin; once the child has written ``marker`` (at the point it pauses, inside the issue),
the whole process group is killed with SIGKILL. Returns the marker's text."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kill_desk_at_marker(code: str, marker: Path, number: str, email: str, pin: str) -> str:
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(marker), number, email],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=ROOT, env=dict(os.environ), start_new_session=True,
    )
    try:
        assert child.stdin is not None
        child.stdin.write((pin + "\n").encode())
        child.stdin.close()
        deadline = time.monotonic() + 60  # bounded: the child pauses once it wrote the marker
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), child.stderr.read().decode() if child.stderr else ""
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the desk dies: no chance to clean anything up
        child.wait(10)
    return marker.read_text()
