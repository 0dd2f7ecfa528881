"""Fixtures for the administration tests: the demo agency's administrator, a second
agency in the same store (to prove administrators stay within their own), synthetic
stamp and signature scans, and bad files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import Agency, AuditEvent, Office, Role, User, UserStatus
from app.services.admin import AgencyAdmin
from bench.imaging_synthetic import ScanSpec, make_scan

ADMIN = "admin@igcc.org.in"
PENDING = "tarun.bose@igcc.org.in"
ANITA = "anita.deshpande@igcc.org.in"  # officer, MUM only


@pytest.fixture
def admin(demo_engine: Engine) -> AgencyAdmin:
    return AgencyAdmin.for_email(demo_engine, ADMIN)


@pytest.fixture
def other_agency(demo_engine: Engine) -> dict[str, int]:
    """A second agency with one office, one administrator and one officer."""
    with Session(demo_engine) as s, s.begin():
        agency = Agency(code="WCC", name="Western Chamber of Commerce",
                        email_domains=["wcc.org.in"])
        office = Office(agency=agency, code="PUN", name="Pune Office", place="Pune",
                        merchant_id="WCCPUN1", checksum_key="Wq2#kLm9@xYz4!pQ")
        boss = User(agency=agency, email="admin@wcc.org.in", full_name="Kiran Patil",
                    role=Role.ADMINISTRATOR, status=UserStatus.ACTIVE)
        officer = User(agency=agency, email="neha.joshi@wcc.org.in", full_name="Neha Joshi",
                       role=Role.OFFICER, status=UserStatus.ACTIVE, offices=[office])
        s.add_all([agency, office, boss, officer])
        s.flush()
        return {"agency": agency.id, "office": office.id, "admin": boss.id,
                "officer": officer.id}


def user_id(engine: Engine, email: str) -> int:
    with Session(engine) as s:
        return s.scalars(select(User.id).where(User.email == email)).one()


def office_id(engine: Engine, code: str, agency_id: int = 1) -> int:
    with Session(engine) as s:
        return s.scalars(select(Office.id).where(Office.code == code,
                                                 Office.agency_id == agency_id)).one()


def load_office(engine: Engine, code: str) -> Office:
    from sqlalchemy.orm import undefer

    with Session(engine) as s:  # the gateway secrets are deferred: loaded here, for the checks
        return s.scalars(select(Office).options(undefer(Office.merchant_id),
                                                undefer(Office.checksum_key))
                         .where(Office.code == code, Office.agency_id == 1)).one()


def load_user(engine: Engine, email: str) -> User:
    from sqlalchemy.orm import selectinload

    with Session(engine) as s:
        return s.scalars(select(User).options(selectinload(User.offices))
                         .where(User.email == email)).one()


def audit_events(engine: Engine, action: str | None = None) -> list[AuditEvent]:
    with Session(engine) as s:
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            statement = statement.where(AuditEvent.action == action)
        return list(s.scalars(statement))


@pytest.fixture(scope="session")
def stamp_scan_bytes() -> bytes:
    return make_scan(ScanSpec("stamp", "violet", "yellowed", seed=3)).jpeg


@pytest.fixture
def stamp_scan(tmp_path: Path, stamp_scan_bytes: bytes) -> Path:
    path = tmp_path / "stamp-photo.jpg"
    path.write_bytes(stamp_scan_bytes)
    return path


@pytest.fixture
def signature_scan(tmp_path: Path) -> Path:
    path = tmp_path / "signature-scan.jpg"
    path.write_bytes(make_scan(ScanSpec("signature", "blue", "white", seed=6)).jpeg)
    return path


def bad_files(folder: Path, good_jpeg: bytes) -> dict[str, Path]:
    """Files an administrator might pick that must be refused."""
    from PIL import Image

    files = {
        "text": ("notes.png", b"Stamp of the Mumbai office: see attached.\n"),
        "empty": ("empty.jpg", b""),
        "truncated": ("truncated.jpg", good_jpeg[: len(good_jpeg) // 3]),
        "svg": ("stamp.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" '
                             b'height="10"><circle r="4"/></svg>'),
    }
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 Mpx: over the pixel limit
    files["bomb"] = ("huge.png", bomb.getvalue())
    paths = {}
    for key, (name, data) in files.items():
        path = folder / name
        path.write_bytes(data)
        paths[key] = path
    return paths
