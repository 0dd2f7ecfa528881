"""Issuing from a synced desk (local copy + sync) whose central store is the SQLite demo
store, and what an offline desk says; ``issue --out`` checks its folder before the PIN."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import load_config
from app.errors import UserFacingError
from app.models import Application, Certificate, CertificateNumber
from app.models.enums import ApplicationStatus
from app.services.central import SqlCentral
from app.services.offline_desk import LocalDesk
from app.services.queue_rows import Col
from app.services.sync import SyncService
from app.store.central import session_factory
from app.store.local import LocalStore
from tests.issuing.conftest import OFFICER_EMAIL, PIN


def _synced(demo_engine, tmp_path: Path, *, online: bool = True) -> LocalDesk:  # type: ignore[no-untyped-def]
    config = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    link = SqlCentral(demo_engine, config) if online else None
    desk = LocalDesk(local, config, SyncService(local, link))
    if not online:  # fill the copy first, then the line goes down
        LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config))).sign_in(
            OFFICER_EMAIL)
    desk.sign_in(OFFICER_EMAIL)
    return desk


def _numbers(demo_engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(demo_engine)() as s:
        return int(s.scalar(select(func.count()).select_from(CertificateNumber)) or 0)


def test_a_synced_desk_issues_through_the_central_store(rsa_token, demo_engine, approved,
                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    desk = _synced(demo_engine, tmp_path)
    ids = approved("preferential", 2)
    issued_here = []
    issuer = desk.issuer(on_issued=lambda issued, pdf: issued_here.append((issued, pdf)))
    outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    assert len(outcome.done) == 2 and not outcome.failed
    assert [i.application_id for i, _pdf in issued_here] == ids
    with session_factory(demo_engine)() as s:  # the central store holds them
        assert s.scalar(select(func.count()).select_from(Certificate)
                        .where(Certificate.application_id.in_(ids))) == 2
    for app_id in ids:  # and the local copy shows them at once
        assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "issued"
    pdf, _pages, draft = desk.preview_pdf(ids[0])  # fetched from the central store
    assert not draft and pdf == issued_here[0][1]
    result = desk.verifier().verify_pdf(pdf)
    assert result.valid and result.store_status == "valid"


def test_an_offline_desk_says_so_before_the_pin_and_reserves_nothing(
    qtbot, rsa_token, demo_engine, approved, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    from app.services.queue_rows import StatusFilter
    from app.views.issue_actions import issue_selected
    from app.views.main_window import DeskWindow

    desk = _synced(demo_engine, tmp_path, online=False)
    before = _numbers(demo_engine)
    with pytest.raises(UserFacingError, match="offline"):
        desk.issuer()
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.queue_loaded, timeout=20000):
        window.reload_queue()
    [app_id] = approved("non_preferential")
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    assert window.select_application(app_id)
    assert window.selected_row()[Col.ID] == app_id
    assert issue_selected(window) is None  # no PIN dialog, no batch
    assert "offline" in window.message.text().lower()
    assert _numbers(demo_engine) == before
    with session_factory(demo_engine)() as s:
        assert s.get(Application, app_id).status == ApplicationStatus.APPROVED


@pytest.mark.parametrize("target", ["file", "/proc/origin-desk"])
def test_issue_out_is_checked_before_the_pin(target, rsa_token, demo_engine, approved, tmp_path,
                                             monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    [app_id] = approved("non_preferential")
    with session_factory(demo_engine)() as s:
        number = s.scalar(select(Application.number).where(Application.id == app_id))
    if target == "file":
        target = str(tmp_path / "a-file")
        Path(target).write_text("not a folder")

    def no_pin() -> str:
        raise AssertionError("the PIN was asked although the output folder is unusable")

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: no_pin())
    before = _numbers(demo_engine)
    assert main(["issue", number, "--officer", OFFICER_EMAIL, "--out", target]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--out {target}" in err[0] and "Traceback" not in err[0]
    assert _numbers(demo_engine) == before


def test_a_synced_desk_looks_certificates_up_and_administers_on_the_central_store(
    rsa_token, demo_engine, approved, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    import hashlib

    from app.models import Office, User
    from app.models.enums import Role

    desk = _synced(demo_engine, tmp_path)
    [app_id] = approved("non_preferential")
    outcome = desk.issuer().run_batch([app_id], lambda info, warnings: PIN)
    [(_id, issued)] = outcome.done
    central = desk.central()
    by_number = central.certificate_status(number=issued.certificate_number)
    assert by_number is not None and by_number.status == "valid"
    pdf = central.certificate_pdf(issued.certificate_number)
    by_digest = central.certificate_status(pdf_sha256=hashlib.sha256(pdf).hexdigest())
    assert by_digest == by_number
    assert central.certificate_status(number="IGCC/1999/0000001") is None

    # an administrator's synced desk administers the central store, not its local copy
    with session_factory(demo_engine)() as s:
        admin_email = s.scalar(select(User.email).where(User.role == Role.ADMINISTRATOR))
        office_count = s.scalar(select(func.count()).select_from(Office))
    config = load_config()
    local = LocalStore(tmp_path / "admin-local.sqlite")
    admin_desk = LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config)))
    admin_desk.sign_in(admin_email)
    admin = admin_desk.admin()
    assert admin.engine is demo_engine
    assert len(admin.offices()) == office_count
