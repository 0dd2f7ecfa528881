"""Sync: initial and incremental pull, claims decided centrally, offline review."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from app.models.enums import Action
from app.services.queue_rows import Col, filter_rows
from tests.store.conftest import CentralDb
from tests.store.helpers import (
    central_audit,
    first_submitted,
    local_desk,
    sync_service,
    unreachable_link,
)

MUM, DEL = 1, 2


def test_initial_then_incremental_pull_follows_the_central_store(
    central: CentralDb, tmp_path: Path
) -> None:
    service = sync_service(central, 4, tmp_path / "local.sqlite")  # officer of DEL only
    report = service.sync_now()
    expected = central.scalar("SELECT count(*) FROM applications WHERE office_id = :o", o=DEL)
    assert report.online and report.pulled_applications == expected
    lines = central.scalar("SELECT count(*) FROM goods_lines g JOIN applications a ON "
                           "a.id = g.application_id WHERE a.office_id = :o", o=DEL)
    with service.local.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM goods_lines")).scalar() == lines
        assert connection.execute(text(
            "SELECT count(*) FROM applications WHERE office_id <> 2")).scalar() == 0
        assert connection.execute(text("SELECT max(checksum_key) FROM offices")).scalar() == ""
    assert service.sync_now().pulled_applications == 0
    # a change on the central store (an exporter corrects a goods line) comes over
    app_id = first_submitted(central, DEL)
    with central.owner_engine().begin() as connection:
        connection.execute(text("UPDATE goods_lines SET description = 'Corrected text' "
                                "WHERE application_id = :a AND item_no = 1"), {"a": app_id})
        connection.execute(text("UPDATE applications SET office_id = 3 WHERE id = "
                                "(SELECT max(id) FROM applications WHERE office_id = 2)"))
    report = service.sync_now()
    assert report.pulled_applications == 1 and report.removed == 1
    with service.local.engine.connect() as connection:
        assert connection.execute(text(
            "SELECT description FROM goods_lines WHERE application_id = :a AND item_no = 1"),
            {"a": app_id}).scalar() == "Corrected text"
        assert connection.execute(text("SELECT count(*) FROM applications")).scalar() == expected - 1
    assert (tmp_path / "local.sqlite").stat().st_mode & 0o777 == 0o600


def test_two_clients_claim_the_same_application_and_exactly_one_wins(
    central: CentralDb, tmp_path: Path
) -> None:
    desks = [local_desk(central, user_id, tmp_path / f"desk{user_id}.sqlite") for user_id in (3, 4)]
    app_id = first_submitted(central, DEL)
    for desk in desks:  # both saw it unclaimed; both claim while not talking to the store
        desk.config = desk.config.__class__(**{**desk.config.__dict__, "offline": True})
        desk.act(app_id, Action.CLAIM)
        assert desk.pending_for(app_id)
    barrier = threading.Barrier(2)
    reports = []

    def push(desk) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        reports.append(desk.sync.sync_now())

    threads = [threading.Thread(target=push, args=(desk,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.applied for r in reports) == [0, 1]
    assert sorted(r.rejected for r in reports) == [0, 1]
    assert central_audit(central, app_id, "claim") == 1
    winner = central.scalar("SELECT claimed_by_id FROM applications WHERE id = :a", a=app_id)
    loser = next(d for d in desks if d.user and d.user.id != winner)
    rejected = loser.sync.rejected()
    assert len(rejected) == 1 and rejected[0].application_id == app_id
    assert "claimed" in rejected[0].reason or "changed" in rejected[0].reason
    for desk in desks:  # the central store's claim holder shows on both desks
        desk.sync.sync_now()
        row = desk.queue_row(app_id)
        assert row is not None and row[Col.STATUS] == "under_scrutiny"
        assert row[Col.CLAIMED_BY] == central.scalar(
            "SELECT full_name FROM users WHERE id = :u", u=winner)
    # the refusal is kept (history) after the officer has read it
    loser.sync.acknowledge([rejected[0].operation_id])
    assert loser.sync.rejected() == []
    assert len(loser.sync.rejected(include_acknowledged=True)) == 1


def test_offline_review_then_decisions_reach_the_central_store_once(
    central: CentralDb, tmp_path: Path
) -> None:
    desk = local_desk(central, 4, tmp_path / "desk.sqlite")
    assert desk.sync is not None
    online_link = desk.sync.link
    desk.sync.link = unreachable_link(central)  # the connection is gone
    rows = desk.queue(None)
    assert rows and {r[Col.OFFICE] for r in rows} == {"DEL"}
    iec = rows[0][Col.IEC]
    assert all(iec in r[Col.HAYSTACK].upper() for r in filter_rows(rows, iec.lower()))
    first, second = first_submitted(central, DEL), first_submitted(central, DEL, skip=1)
    desk.act(first, Action.CLAIM)
    desk.act(first, Action.RETURN, text="Please upload the signed invoice.")
    desk.act(second, Action.CLAIM)
    desk.add_note(second, "Called the exporter; documents follow by courier.")
    assert desk.sync.status.online is False
    assert "offline" in desk.store_label and "4 pending" in desk.store_label
    detail = desk.detail(first)
    assert detail.status == "returned"
    assert any(title == "Pending sync" for title, _lines in detail.sections)
    assert central.scalar("SELECT status FROM applications WHERE id = :a", a=first) == "submitted"

    desk.sync.link = online_link  # the connection returns
    report = desk.sync.sync_now()
    assert report.online and (report.pushed, report.applied, report.rejected) == (4, 4, 0)
    assert central.scalar("SELECT status FROM applications WHERE id = :a", a=first) == "returned"
    assert central.scalar("SELECT query_text FROM applications WHERE id = :a",
                          a=first) == "Please upload the signed invoice."
    assert central.scalar("SELECT status FROM applications WHERE id = :a",
                          a=second) == "under_scrutiny"
    for app_id, action in ((first, "claim"), (first, "return"), (second, "claim"),
                           (second, "note")):
        assert central_audit(central, app_id, action) == 1
    assert desk.sync.sync_now().pushed == 0
    assert central_audit(central, first, "claim") == 1
    assert central.scalar("SELECT count(*) FROM applied_operations") == 4
    with desk.local.engine.connect() as connection:  # optimistic rows replaced by central ones
        assert connection.execute(text("SELECT count(*) FROM audit_events WHERE id < 0")
                                  ).scalar() == 0
    assert desk.store_label == "online"


def test_a_refused_action_is_raised_at_once_when_online(central: CentralDb, tmp_path: Path) -> None:
    import pytest

    from app.errors import UserFacingError

    desk = local_desk(central, 4, tmp_path / "desk.sqlite")
    app_id = first_submitted(central, DEL)
    with central.owner_engine().begin() as connection:  # someone changed it centrally
        connection.execute(text("UPDATE applications SET remarks = 'edited', version = version + 1"
                                " WHERE id = :a"), {"a": app_id})
    with pytest.raises(UserFacingError, match="changed on the central store"):
        desk.act(app_id, Action.CLAIM)
    detail = desk.detail(app_id)  # central copy back, refusal shown
    assert detail.status == "submitted"
    assert desk.sync is not None and len(desk.sync.rejected()) == 1
