"""A desk killed between reserving a number and recording the issue: when it starts again it
releases its own reservation at once (no 15-minute wait) and issues the application."""

from __future__ import annotations

import io
import sys

from sqlalchemy import select

from app.models import Application, Certificate, CertificateNumber
from app.models.enums import ApplicationStatus
from app.store.central import session_factory
from tests.issuing.conftest import OFFICER_EMAIL, PIN
from tests.support.killed_desk import kill_desk_at_marker

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
    reserved = kill_desk_at_marker(CHILD, tmp_path / "reserved", number, OFFICER_EMAIL,
                                   PIN)
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
