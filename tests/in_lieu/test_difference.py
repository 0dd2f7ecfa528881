"""The in-lieu difference: every printed field and goods line of the in-lieu application
against the original certificate's application, what changed marked old -> new; on the
embedded demo, on a desk synced with the demo store and on a desk synced with PostgreSQL
through the officer's own login."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from app.config import load_config
from app.services.desk import Desk
from tests.in_lieu.support import NEW_CONSIGNEE, InLieu, make_in_lieu

OFFICER = "anita.deshpande@igcc.org.in"  # MUM


def _expect(diff, made: InLieu) -> None:  # type: ignore[no-untyped-def]
    assert diff is not None and not diff.note, diff
    assert diff.original_number == made.original_number
    assert [c.label for c in diff.changed_fields] == ["Consignee"]
    assert diff.changed_fields[0].new == NEW_CONSIGNEE
    [line] = diff.changed_goods
    assert line.item_no == made.changed_item and [c.label for c in line.changes] == ["Quantity"]
    [change] = line.changes
    assert change.old.split()[0] != change.new.split()[0]
    assert Decimal(change.new.split()[0].replace(",", "")) == made.new_quantity
    assert all(g.state == "unchanged" for g in diff.goods if g.item_no != made.changed_item)


def test_the_difference_on_the_embedded_demo(demo_engine) -> None:  # type: ignore[no-untyped-def]
    made = make_in_lieu(demo_engine, officer_email=OFFICER)
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER)
    detail = desk.detail(made.application_id)
    _expect(detail.in_lieu, made)
    assert desk.detail(made.original_application_id).in_lieu is None


def test_the_difference_on_a_desk_synced_with_the_demo_store(demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.services.central import SqlCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    made = make_in_lieu(demo_engine, officer_email=OFFICER)
    config = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config)))
    desk.sign_in(OFFICER)
    assert desk.sync.sync_now().online
    _expect(desk.detail(made.application_id).in_lieu, made)


def test_a_legacy_original_is_named_not_compared(demo_engine) -> None:  # type: ignore[no-untyped-def]
    made = make_in_lieu(demo_engine, officer_email=OFFICER, original_number="CO/MUM/2024/58123")
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER)
    diff = desk.detail(made.application_id).in_lieu
    assert diff is not None and not diff.fields and "legacy eCoO 1.0" in diff.note
    assert "Trade Notice No. 23/2024-25, paragraph 4.I" in diff.note


def test_the_difference_on_a_desk_synced_with_postgresql(central, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.store.conftest import officer_emails
    from tests.store.helpers import local_desk

    email = officer_emails(central)["MUM"][0]
    made = make_in_lieu(central.owner_engine(), officer_email=email)
    user_id = int(central.scalar("SELECT id FROM users WHERE email = :e", e=email))
    desk = local_desk(central, user_id, tmp_path / "local.sqlite")
    assert desk.sync.sync_now().online
    _expect(desk.detail(made.application_id).in_lieu, made)
