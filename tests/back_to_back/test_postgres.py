"""Back-to-back on the central PostgreSQL store, through officers' own logins: the synced
desk's balance, the over-draw refused at approval (desk, push, the store's trigger) and at
issue (reserve, record), two desks issuing against one foreign certificate at once, and
what an officer's plain SQL cannot do."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from app.config import load_config
from app.errors import UserFacingError
from app.models.enums import Action
from app.services.central import SqlCentral
from app.services.central_issuing import IssueRefused
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.demo_foreign import CASHEW_CERTIFICATE, COPPER_CERTIFICATE, OFFICER
from app.store.local import LocalStore
from app.store.operations import Operation
from tests.store.conftest import CentralDb, officer_emails
from tests.store.test_hostile_officer import _connect, _owner, register_dsc

PDF = b"%PDF-1.7 a signed certificate"
DIGEST = hashlib.sha256(PDF).hexdigest()
CASHEW_OVER = ("whose balance is 8000 KGS (20000 certified, 12000 drawn by issued "
               "certificates).")


def _apps(db: CentralDb, certificate: str) -> list[tuple[int, str]]:
    with db.owner_engine().connect() as connection:
        return [(r.id, r.number) for r in connection.execute(text(
            "SELECT id, number FROM applications WHERE foreign_certificate_number = :c "
            "ORDER BY id"), {"c": certificate})]


def _user(db: CentralDb, email: str) -> int:
    return int(db.scalar("SELECT id FROM users WHERE email = :e", e=email))  # type: ignore[arg-type]


def _synced(db: CentralDb, tmp_path: Path, email: str = OFFICER) -> LocalDesk:
    config = load_config()
    local = LocalStore(tmp_path / f"local-{email}.sqlite")
    desk = LocalDesk(local, config, SyncService(local, SqlCentral(db.engine_for(email), config),
                                                email=email))
    desk.sign_in(email)
    return desk


def test_a_synced_desk_shows_the_balance_and_refuses_the_over_draw(central: CentralDb,
                                                                   tmp_path: Path) -> None:
    _issued, _approved, (fits, _n), (over, over_number) = _apps(central, COPPER_CERTIFICATE)
    desk = _synced(central, tmp_path)
    view = desk.detail(fits).foreign_balance
    assert view is not None and view.rows[0][3:] == ("100 MTS", "40 MTS", "35 MTS", "20 MTS",
                                                      "25 MTS")
    assert view.rows[1][3:] == ("5000 NOS", "2000 NOS", "0 NOS", "1000 NOS", "3000 NOS")
    assert desk.detail(over).foreign_balance.over_rows == frozenset({0})
    sentence = (f"Back-to-back application {over_number} draws 30 MTS of item 1 (Copper "
                f"cathodes, grade A, 99.99% Cu) of foreign certificate {COPPER_CERTIFICATE}, "
                "whose balance is 25 MTS (100 certified, 40 drawn by issued certificates, 35 by "
                "other approved applications).")
    with pytest.raises(UserFacingError) as refused:
        desk.act(over, Action.APPROVE)
    assert str(refused.value) == sentence
    # the central store decides a pushed approval the same way (a desk that skipped the check)
    link = SqlCentral(central.engine_for(OFFICER), load_config())
    version = int(central.scalar("SELECT version FROM applications WHERE id = :i", i=over))  # type: ignore[arg-type]
    [result] = link.push(_user(central, OFFICER), [Operation(
        "9b1c7a52-0000-4000-8000-000000000001", over, "approve", None, version,
        desk.detail(over).history[-1].at)])
    assert not result.applied and result.reason == sentence
    # and the store's trigger refuses the raw UPDATE through the officer's own login
    with _connect(central, _user(central, OFFICER)) as conn, \
            pytest.raises(psycopg.Error) as raw:
        conn.execute("UPDATE applications SET status = 'approved', version = version + 1, "
                     "decided_at = now() WHERE id = %s", (over,))
    assert raw.value.sqlstate == "ODREF" and raw.value.diag.message_primary == sentence
    assert central.scalar("SELECT status FROM applications WHERE id = :i", i=over) \
        == "under_scrutiny"
    desk.act(fits, Action.APPROVE)  # 20 of the 25 left
    desk.sync.sync_now()
    assert central.scalar("SELECT status FROM applications WHERE id = :i", i=fits) == "approved"
    assert desk.detail(over).foreign_balance.rows[0][5:] == ("55 MTS", "30 MTS", "5 MTS")


def test_reserve_refuses_an_over_draw_on_postgresql(central: CentralDb) -> None:
    (first, _n1), (second, number) = _apps(central, CASHEW_CERTIFICATE)
    user_id = _user(central, OFFICER)
    with _connect(central, user_id) as conn:
        fingerprint = register_dsc(conn, user_id, b"officer certificate DER")
    link = SqlCentral(central.engine_for(OFFICER), load_config())
    reservation = link.reserve(user_id, first, "desk-1")
    link.record(user_id, reservation, PDF, fingerprint)
    with pytest.raises(IssueRefused) as refused:
        link.reserve(user_id, second, "desk-1")
    assert str(refused.value) == (
        f"Back-to-back application {number} draws 12000 KGS of item 1 (Cashew kernels, "
        f"shelled, W320 grade, vacuum packed in tins) of foreign certificate "
        f"{CASHEW_CERTIFICATE}, {CASHEW_OVER}")
    assert central.scalar("SELECT count(*) FROM certificate_numbers WHERE application_id = :a",
                          a=second) == 0


def _two_officers(db: CentralDb) -> list[tuple[int, str]]:
    emails = officer_emails(db)["MUM"][:2]
    assert len(emails) == 2
    result = []
    for email in emails:
        user_id = _user(db, email)
        with _connect(db, user_id) as conn:
            result.append((user_id, register_dsc(conn, user_id, f"DER of {email}".encode())))
    return result


def _reserve(db: CentralDb, user_id: int, application_id: int) -> tuple[str, int]:
    with _connect(db, user_id) as conn:
        number, _at, version = conn.execute(
            "SELECT number, reserved_at, version FROM od_reserve_certificate_number(%s, %s)",
            (application_id, f"desk-{user_id}")).fetchone()
    return number, version


def test_two_desks_issuing_at_the_same_moment_issue_once(central: CentralDb) -> None:
    """Both reserved while nothing was issued (each fits alone); they record at once: the
    store queues them on the foreign certificate and the second sees the first."""
    apps = _apps(central, CASHEW_CERTIFICATE)
    officers = _two_officers(central)
    reserved = [_reserve(central, user_id, app_id)
                for (user_id, _fp), (app_id, _n) in zip(officers, apps, strict=True)]
    barrier = threading.Barrier(2)
    outcomes: dict[int, Any] = {}

    def record(k: int) -> None:
        (user_id, fingerprint), (app_id, _number), (number, version) = \
            officers[k], apps[k], reserved[k]
        try:
            with _connect(central, user_id) as conn:
                barrier.wait()
                conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                             (number, app_id, version, PDF, DIGEST, fingerprint))
                outcomes[k] = "issued"
        except psycopg.Error as exc:
            outcomes[k] = exc

    threads = [threading.Thread(target=record, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [0, 1] and list(outcomes.values()).count("issued") == 1
    [refused] = [o for o in outcomes.values() if isinstance(o, psycopg.Error)]
    [loser] = [k for k, o in outcomes.items() if o is refused]
    assert refused.sqlstate == "ODREF"
    assert refused.diag.message_primary == (
        f"Back-to-back application {apps[loser][1]} draws 12000 KGS of item 1 (Cashew kernels, "
        f"shelled, W320 grade, vacuum packed in tins) of foreign certificate "
        f"{CASHEW_CERTIFICATE}, {CASHEW_OVER}")
    assert central.scalar("SELECT count(*) FROM certificates WHERE application_id IN (:a, :b)",
                          a=apps[0][0], b=apps[1][0]) == 1
    assert central.scalar("SELECT status FROM applications WHERE id = :a",
                          a=apps[loser][0]) == "approved"


def test_the_second_desk_waits_on_the_foreign_certificate_then_is_refused(
        central: CentralDb) -> None:
    """The same, one step at a time: desk A has recorded (not committed); desk B's record
    waits on the foreign certificate's lock; A commits; B is refused."""
    apps = _apps(central, CASHEW_CERTIFICATE)
    officers = _two_officers(central)
    reserved = [_reserve(central, user_id, app_id)
                for (user_id, _fp), (app_id, _n) in zip(officers, apps, strict=True)]
    a_recorded, commit_a = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def desk_a() -> None:
        (user_id, fingerprint), (app_id, _n), (number, version) = \
            officers[0], apps[0], reserved[0]
        with _connect(central, user_id) as conn, conn.transaction():
            conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                         (number, app_id, version, PDF, DIGEST, fingerprint))
            a_recorded.set()
            commit_a.wait()

    thread_a = threading.Thread(target=desk_a)
    thread_a.start()
    a_recorded.wait()
    (user_id, fingerprint), (app_id, _n), (number, version) = officers[1], apps[1], reserved[1]
    conn_b = _connect(central, user_id)
    pid_b = conn_b.info.backend_pid

    def desk_b() -> None:
        try:
            conn_b.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                           (number, app_id, version, PDF, DIGEST, fingerprint))
            outcome["b"] = "issued"
        except psycopg.Error as exc:
            outcome["b"] = exc

    thread_b = threading.Thread(target=desk_b)
    thread_b.start()
    with _owner(central) as owner:  # until B waits on a lock (A's foreign certificate row)
        while owner.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                            (pid_b,)).fetchone()[0] != "Lock":
            owner.execute("SELECT pg_sleep(0.01)")
    commit_a.set()
    thread_a.join()
    thread_b.join()
    conn_b.close()
    refused = outcome["b"]
    assert isinstance(refused, psycopg.Error) and refused.sqlstate == "ODREF"
    assert refused.diag.message_primary.endswith(CASHEW_OVER)
    assert central.scalar("SELECT count(*) FROM certificates WHERE application_id = :a",
                          a=apps[0][0]) == 1
    assert central.scalar("SELECT count(*) FROM certificates WHERE application_id = :a",
                          a=apps[1][0]) == 0


def _digest(db: CentralDb) -> tuple[Any, ...]:
    with _owner(db) as conn:
        return tuple(conn.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
            f"FROM {table} t").fetchone()
            for table in ("foreign_certificates", "foreign_certificate_goods", "goods_lines",
                          "applications", "certificates"))


HOSTILE = [
    ("record a foreign certificate",
     "INSERT INTO foreign_certificates (exporter_id, number, country, issuer, issued_on, "
     "recorded_at) VALUES (1, 'FAKE-1', 'CN', 'x', current_date, now())", "42501"),
    ("raise a certified quantity",
     "UPDATE foreign_certificate_goods SET quantity = quantity * 10", "42501"),
    ("add a goods item", "INSERT INTO foreign_certificate_goods (foreign_certificate_id, "
     "item_no, description, hs_code, quantity, unit) SELECT id, 9, 'more', '080132', 1000, "
     "'KGS' FROM foreign_certificates LIMIT 1", "42501"),
    ("delete a foreign certificate", "DELETE FROM foreign_certificates", "42501"),
    ("move a draw to another item", "UPDATE goods_lines SET foreign_goods_id = NULL", "42501"),
    ("shrink a draw", "UPDATE goods_lines SET quantity = 1", "42501"),
    ("call the check with the store's rights",
     "SELECT od_back_to_back_check(1, false, false)", "42501"),
    ("put a back-to-back application on a preferential form",
     "UPDATE applications SET agreement_code = 'IUCEPA', form_code = 'IUCEPA' "
     "WHERE kind = 'back_to_back'", "42501"),
]


@pytest.mark.parametrize(("what", "statement", "sqlstate"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_an_officer_cannot_change_foreign_certificates_or_draws(
        central: CentralDb, what: str, statement: str, sqlstate: str) -> None:
    before = _digest(central)
    with _connect(central, _user(central, OFFICER)) as conn, \
            pytest.raises(psycopg.Error) as refused:
        conn.execute(statement)
    assert refused.value.sqlstate == sqlstate, (what, refused.value)
    assert _digest(central) == before


def test_an_officer_reads_only_the_foreign_certificates_of_visible_applications(
        central: CentralDb) -> None:
    emails = officer_emails(central)
    other = next(e for code, es in emails.items() if code != "MUM" for e in es
                 if e not in emails["MUM"])
    with _connect(central, _user(central, OFFICER)) as conn:
        mine = {r[0] for r in conn.execute("SELECT number FROM foreign_certificates")}
        drawn = conn.execute("SELECT count(*) FROM od_foreign_draws(ARRAY(SELECT id FROM "
                             "foreign_certificates))").fetchone()[0]
    assert {COPPER_CERTIFICATE, CASHEW_CERTIFICATE} <= mine and drawn > 0
    with _connect(central, _user(central, other)) as conn:
        theirs = {r[0] for r in conn.execute("SELECT number FROM foreign_certificates")}
        ids = [r[0] for r in _owner(central).execute(
            "SELECT id FROM foreign_certificates WHERE number = %s", (COPPER_CERTIFICATE,))]
        leaked = conn.execute("SELECT count(*) FROM od_foreign_draws(%s)", (ids,)).fetchone()[0]
    assert COPPER_CERTIFICATE not in theirs and leaked == 0


def test_the_store_keeps_back_to_back_non_preferential(central: CentralDb) -> None:
    with _owner(central) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("UPDATE applications SET agreement_code = 'IUCEPA', form_code = 'IUCEPA' "
                     "WHERE kind = 'back_to_back'")
    assert refused.value.sqlstate == "23514"  # check_violation, even for the owner
    with _owner(central) as conn, pytest.raises(psycopg.Error) as drawn:
        conn.execute("UPDATE goods_lines SET unit = 'KGS' WHERE foreign_goods_id IN (SELECT i.id "
                     "FROM foreign_certificate_goods i WHERE i.unit = 'MTS')")
    assert drawn.value.sqlstate == "ODREF" and "a line draws in the item's unit" in \
        drawn.value.diag.message_primary
