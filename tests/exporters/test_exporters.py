"""The exporter view's data and the duplicate-invoice warning: on the embedded demo, on a
desk synced with the demo store, and on a desk synced with PostgreSQL through the officer's
own login (every applicant user of the exporter reaches the local copy)."""

from __future__ import annotations

from pathlib import Path

from app.config import load_config
from app.models import ApplicationStatus
from app.services.desk import Desk
from tests.exporters.support import Scene, duplicate_invoice_scene, set_status

OFFICER = "anita.deshpande@igcc.org.in"  # MUM


def _check_warnings(desk: Desk, scene: Scene) -> None:
    first = desk.detail(scene.first)
    second = desk.detail(scene.second)
    numbers = {a: desk.detail(a).number for a in (scene.first, scene.second, scene.third)}
    [warning] = first.warnings
    assert numbers[scene.second] in warning and numbers[scene.third] in warning
    assert numbers[scene.first] not in warning
    [warning] = second.warnings
    assert numbers[scene.first] in warning and numbers[scene.third] in warning


def _check_overview(desk: Desk, scene: Scene) -> None:
    [hit] = [h for h in desk.search_exporters(scene.iec.lower()[:8]) if h.id == scene.exporter_id]
    assert hit.iec == scene.iec
    assert any(h.id == scene.exporter_id for h in desk.search_exporters(scene.name[2:9].upper()))
    overview = desk.exporter(scene.exporter_id)
    assert overview.iec == scene.iec and ("IEC", scene.iec) in overview.details
    idle = [a for a in overview.applicants if a.email == scene.idle_email]
    assert idle and idle[0].status == "no applications here"
    rows = {a.application_id: a for a in overview.applications}
    assert {scene.first, scene.second, scene.third} <= set(rows)
    assert all(a.office == scene.office_code or a.office in desk.user.office_codes  # type: ignore[union-attr]
               for a in overview.applications)
    flagged = {a.application_id for a in overview.applications if a.warning}
    assert {scene.first, scene.second, scene.third} <= flagged
    assert any(scene.invoice.casefold() in w.casefold() for w in overview.warnings)


def test_the_demo_desk(demo_engine) -> None:  # type: ignore[no-untyped-def]
    scene = duplicate_invoice_scene(demo_engine)
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER)
    _check_warnings(desk, scene)
    _check_overview(desk, scene)
    # a rejected application is no longer live: neither it nor the others name it
    set_status(demo_engine, scene.third, ApplicationStatus.REJECTED)
    third_number = desk.detail(scene.third).number
    assert desk.detail(scene.third).warnings == ()
    [warning] = desk.detail(scene.first).warnings
    assert third_number not in warning
    set_status(demo_engine, scene.second, ApplicationStatus.REJECTED)
    assert desk.detail(scene.first).warnings == ()
    overview = desk.exporter(scene.exporter_id)
    ours = scene.invoice.casefold()
    assert not any(ours in w.casefold() for w in overview.warnings)
    assert not any(a.warning for a in overview.applications
                   if a.application_id in (scene.first, scene.second, scene.third))


def test_a_desk_synced_with_the_demo_store(demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.services.central import SqlCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    scene = duplicate_invoice_scene(demo_engine)
    config = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config)))
    desk.sign_in(OFFICER)
    assert desk.sync.sync_now().online
    _check_warnings(desk, scene)
    _check_overview(desk, scene)
    set_status(demo_engine, scene.second, ApplicationStatus.REJECTED)
    set_status(demo_engine, scene.third, ApplicationStatus.REJECTED)
    assert desk.sync.sync_now().online
    assert desk.detail(scene.first).warnings == ()


def test_a_desk_synced_with_postgresql_through_the_officers_login(central, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.store.conftest import officer_emails
    from tests.store.helpers import local_desk

    scene = duplicate_invoice_scene(central.owner_engine())
    email = officer_emails(central)["MUM"][0]
    user_id = int(central.scalar("SELECT id FROM users WHERE email = :e", e=email))
    desk = local_desk(central, user_id, tmp_path / "local.sqlite")
    assert desk.sync.sync_now().online
    _check_warnings(desk, scene)
    _check_overview(desk, scene)
