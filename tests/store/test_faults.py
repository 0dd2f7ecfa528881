"""A sync survives a killed backend, a lost answer and a server restart: nothing lost,
nothing applied twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from app.models.enums import Action
from app.store.link import CentralUnavailable
from tests.store.conftest import CentralDb
from tests.store.helpers import central_audit, first_submitted, local_desk

DEL = 2


def _queue_offline_claims(desk, central: CentralDb, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    desk.config = desk.config.__class__(**{**desk.config.__dict__, "offline": True})
    apps = [first_submitted(central, DEL, skip=k) for k in range(count)]
    for app_id in apps:
        desk.act(app_id, Action.CLAIM)
    return apps


def _applied_once(central: CentralDb, apps: list[int]) -> None:
    for app_id in apps:
        assert central_audit(central, app_id, "claim") == 1
        assert central.scalar("SELECT status FROM applications WHERE id = :a",
                              a=app_id) == "under_scrutiny"
    assert central.scalar("SELECT count(*) FROM applied_operations") == len(apps)


def test_a_lost_answer_is_asked_again_and_applies_once(central: CentralDb, tmp_path: Path) -> None:
    desk = local_desk(central, 4, tmp_path / "desk.sqlite")
    apps = _queue_offline_claims(desk, central, 5)

    def answer_lost(_operation_ids: list[str]) -> None:
        central.server.terminate_backends(central.name, user=central.logins[desk.user.email])
        raise CentralUnavailable("connection lost after the central store committed")

    desk.sync.after_push_batch = answer_lost
    report = desk.sync.sync_now()
    assert not report.online
    assert len(desk.sync.pending()) == 5  # the desk does not know: still pending
    _applied_once(central, apps)  # ... but the central store has them
    desk.sync.after_push_batch = None
    report = desk.sync.sync_now()
    assert report.online and (report.pushed, report.applied) == (5, 5)
    assert desk.sync.pending() == []
    _applied_once(central, apps)


def test_a_backend_killed_in_the_middle_of_a_push(central: CentralDb, tmp_path: Path) -> None:
    desk = local_desk(central, 4, tmp_path / "desk.sqlite")
    apps = _queue_offline_claims(desk, central, 6)
    role = central.logins[desk.user.email]
    with central.owner_engine().begin() as connection:  # hold the push inside its transaction
        connection.execute(text(
            "CREATE FUNCTION slow_record() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$"))
        connection.execute(text(
            "CREATE TRIGGER slow_record BEFORE INSERT ON applied_operations "
            "FOR EACH STATEMENT EXECUTE FUNCTION slow_record()"))
    killed = threading.Event()

    def kill_when_sleeping() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed.is_set():
            rows = central.server.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE usename = '{role}' AND wait_event = 'PgSleep'")
            if rows:
                killed.set()
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_sleeping)
    killer.start()
    report = desk.sync.sync_now()
    killer.join()
    assert killed.is_set() and not report.online
    assert central.scalar("SELECT count(*) FROM applied_operations") == 0  # rolled back
    assert central.scalar("SELECT count(*) FROM applications WHERE status = 'under_scrutiny' "
                          "AND id = ANY(:ids)", ids=apps) == 0
    with central.owner_engine().begin() as connection:
        connection.execute(text("DROP TRIGGER slow_record ON applied_operations"))
    report = desk.sync.sync_now()
    assert report.online and report.applied == 6
    _applied_once(central, apps)


def test_a_backend_killed_in_the_middle_of_a_pull(central: CentralDb, tmp_path: Path) -> None:
    from tests.store.helpers import sync_service

    service = sync_service(central, 4, tmp_path / "local.sqlite")
    role = central.logins[str(service.email)]

    def kill_after_applications(message: str) -> None:
        if message.startswith("Received") and message.endswith("applications"):
            central.server.terminate_backends(central.name, user=role)

    report = service.sync_now(kill_after_applications)
    assert not report.online
    assert service.local.cursors() == {}  # nothing half-written
    with service.local.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM applications")).scalar() == 0
    report = service.sync_now()
    assert report.online
    expected = central.scalar("SELECT count(*) FROM applications WHERE office_id = :o", o=DEL)
    with service.local.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM applications")).scalar() == expected


def test_a_server_restart_is_survived(central: CentralDb, tmp_path: Path) -> None:
    desk = local_desk(central, 4, tmp_path / "desk.sqlite")
    apps = _queue_offline_claims(desk, central, 3)
    central.server.restart()  # the pooled connections of every engine die
    report = desk.sync.sync_now()
    assert report.online and report.applied == 3
    _applied_once(central, apps)
    assert desk.sync.sync_now().pushed == 0
    _applied_once(central, apps)
