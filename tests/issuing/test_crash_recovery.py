"""A desk killed between reserving a number and recording the issue: when it starts again it
releases its own reservation at once (no 15-minute wait) and issues the application."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from app.models import Application, Certificate, CertificateNumber
from app.models.enums import ApplicationStatus
from app.store.central import session_factory
from tests.issuing.conftest import OFFICER_EMAIL, PIN

ROOT = Path(__file__).resolve().parents[2]

# the issue command, made to stop dead after the reservation: it touches MARKER and sleeps
CHILD = """
import sys, time
from pathlib import Path
import app.services.issuing as issuing

def hang(self, reservation, token):
    Path(sys.argv[1]).write_text(reservation.number)
    time.sleep(120)

issuing.Issuer._render_and_sign = hang
from app.cli import main
sys.exit(main(["issue", sys.argv[2], "--officer", sys.argv[3]]))
"""


def test_a_killed_desk_releases_its_reservation_when_it_starts_again(
    rsa_token, demo_engine, approved, tmp_path, monkeypatch, capsys  # type: ignore[no-untyped-def]
) -> None:
    from app.cli import main

    [app_id] = approved("non_preferential")
    with session_factory(demo_engine)() as s:
        number = s.scalar(select(Application.number).where(Application.id == app_id))
    marker = tmp_path / "reserved"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), number, OFFICER_EMAIL],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=ROOT, env=dict(os.environ), start_new_session=True,
    )
    try:
        assert child.stdin is not None
        child.stdin.write((PIN + "\n").encode())
        child.stdin.close()
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), child.stderr.read().decode() if child.stderr else ""
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the desk dies: no chance to void anything
        child.wait(10)
    reserved = marker.read_text()
    with session_factory(demo_engine)() as s:
        row = s.scalars(select(CertificateNumber).where(CertificateNumber.number == reserved)).one()
        assert row.state == "reserved" and row.desk_session
        assert s.get(Application, app_id).status == ApplicationStatus.APPROVED

    # the same desk starts again (its data directory names the dead run): released at once
    monkeypatch.setattr(sys, "stdin", io.StringIO(PIN + "\n"))
    assert main(["issue", number, "--officer", OFFICER_EMAIL]) == 0
    assert "\tissued\t" in capsys.readouterr().out
    with session_factory(demo_engine)() as s:
        old = s.scalars(select(CertificateNumber).where(CertificateNumber.number == reserved)).one()
        assert old.state == "void" and "abandoned" in (old.void_reason or "")
        certificate = s.scalars(select(Certificate).where(Certificate.application_id == app_id)).one()
        assert certificate.number != reserved
        assert s.get(Application, app_id).status == ApplicationStatus.ISSUED
