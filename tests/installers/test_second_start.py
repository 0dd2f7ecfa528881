"""Two real starts of the desk program for one user: the second hands its PDF to the first
(which verifies it) and exits; ``--open`` with a file that is not there is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.documents.renderer import render_certificate
from app.documents.samples import sample_certificate


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORIGIN_DESK_")}
    env.update(QT_QPA_PLATFORM="offscreen", ORIGIN_DESK_HOME=str(home),
               ORIGIN_DESK_SYSTEM_CONFIG=str(home / "none.toml"))
    return env


def _wait_for(predicate, what: str, seconds: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_a_second_start_hands_its_pdf_to_the_running_desk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pdf = tmp_path / "received.pdf"
    pdf.write_bytes(render_certificate(sample_certificate(issued=False)).pdf)
    log = home / "logs" / "origin-desk.log"
    first = subprocess.Popen([sys.executable, "-m", "app"], env=_env(home),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        # the lock is taken and the socket listens before the window shows; the log opens
        # after it, on the worker that opens the store
        _wait_for(lambda: (home / "desk.lock").exists() and log.exists()
                  or first.poll() is not None, "the first desk")
        assert first.poll() is None, first.communicate()
        second = subprocess.run([sys.executable, "-m", "app", "--open", str(pdf)],
                                env=_env(home), capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == ("Origin Desk is already running: its window was "
                                         "brought forward with the PDF.")
        _wait_for(lambda: "verifying a PDF opened with the desk" in
                  log.read_text(encoding="utf-8"), "the first desk to verify the PDF")
        assert first.poll() is None  # the first desk still runs
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.communicate(timeout=60)


def test_open_names_a_missing_file_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "app", "--open", str(tmp_path / "nope.pdf")],
                         env=_env(tmp_path / "home"), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == (f"origin-desk: {tmp_path / 'nope.pdf'}: no such file to open "
                                  "(--open takes a certificate PDF)")
