"""An officer with ``psql`` and their own login: nothing beyond the desk's rules (0004).

Each hostile attempt runs through the officer's own PostgreSQL login with plain SQL and must
be refused *and* leave every table as it was (a checksum of each table, read as the owner,
before and after). Then what the desk does go through: reserve, record and void through the
store's functions, an administrator's DSC revocation and wallet top-up, the sync push.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models.certificates import certificate_fee
from app.models.organisation import Office
from app.store.numbers import unexplained_gaps
from app.store.operations import Operation, apply_operations
from tests.store.conftest import CentralDb
from tests.support.postgres import PostgresServer

ADMIN, ANITA, RAHUL, FARHAN, SANDEEP = 1, 2, 3, 4, 6  # Anita: MUM; Rahul: MUM+DEL; ...: CHE
MUM, DEL, CHE = 1, 2, 3
DENIED = "42501"  # insufficient_privilege: privileges, policies, the triggers
ABANDONED = "reservation abandoned: the desk that reserved it stopped before issuing"
TABLES = ("offices", "users", "officer_offices", "applications", "goods_lines", "cost_sheets",
          "cost_sheet_materials", "certificates", "certificate_numbers",
          "certificate_number_counters", "wallet_entries", "dsc_registrations", "audit_events",
          "applied_operations", "db_logins")


def _connect(db: CentralDb, user_id: int) -> psycopg.Connection:
    role = str(db.scalar("SELECT role_name FROM db_logins WHERE user_id = :u", u=user_id))
    return psycopg.connect(host="127.0.0.1", port=db.server.port, user=role, dbname=db.name,
                           autocommit=True)


def _owner(db: CentralDb) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=db.server.port, user="postgres",
                           dbname=db.name, autocommit=True)


def snapshot(db: CentralDb) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of all its rows, read as the owner."""
    with _owner(db) as conn:
        return {table: conn.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
            f"FROM {table} t").fetchone() for table in TABLES}


def one(db: CentralDb, sql: str, *params: Any) -> Any:
    with _owner(db) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else (row[0] if len(row) == 1 else row)


def register_dsc(conn: psycopg.Connection, user_id: int, der: bytes) -> str:
    """A DSC row as the desk's registration writes it (as the officer, with its audit event)."""
    fingerprint = hashlib.sha256(der).hexdigest()
    dsc_id = conn.execute(
        "INSERT INTO dsc_registrations (user_id, fingerprint_sha256, key_id, subject, issuer, "
        "serial_hex, not_before, not_after, certificate_der, registered_at) VALUES "
        "(%s, %s, %s, 'CN=Officer', 'CN=Test CA', '1', now() - interval '1 day', "
        "now() + interval '1 year', %s, now()) RETURNING id",
        (user_id, fingerprint, fingerprint[:16], der)).fetchone()[0]
    conn.execute("INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, "
                 "entity_id, note) VALUES (now(), %s, 'x', 'dsc.registered', "
                 "'dsc_registration', %s, '')", (user_id, dsc_id))
    return fingerprint


@dataclass
class Scene:
    """What the attempts aim at (all ids of the seeded template, found by query)."""

    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@pytest.fixture
def scene(central: CentralDb) -> Scene:
    v: dict[str, Any] = {"anita": ANITA, "rahul": RAHUL, "admin": ADMIN}
    approved_mum = [r for (r,) in _rows(central, "SELECT id FROM applications WHERE office_id = "
                                        "%s AND status = 'approved' ORDER BY id", MUM)]
    approved_che = [r for (r,) in _rows(central, "SELECT id FROM applications WHERE office_id = "
                                        "%s AND status = 'approved' ORDER BY id", CHE)]
    v["approved"], v["approved_b"], v["approved_c"] = approved_mum[0], approved_mum[2], \
        approved_mum[3]
    v["issued"] = one(central, "SELECT min(id) FROM applications WHERE office_id = %s AND "
                      "status = 'issued'", MUM)
    v["certificate"] = one(central, "SELECT number FROM certificates WHERE application_id = %s",
                           v["issued"])
    v["submitted"] = one(central, "SELECT min(id) FROM applications WHERE office_id = %s AND "
                         "status = 'submitted'", MUM)
    v["scrutiny_rahul"] = one(central, "SELECT min(id) FROM applications WHERE office_id = %s "
                              "AND status = 'under_scrutiny' AND claimed_by_id = %s", MUM, RAHUL)
    v["scrutiny_anita"] = one(central, "SELECT min(id) FROM applications WHERE office_id = %s "
                              "AND status = 'under_scrutiny' AND claimed_by_id = %s", MUM, ANITA)
    v["other_office_app"] = one(central, "SELECT min(id) FROM applications WHERE office_id = %s",
                                DEL)
    with _connect(central, ANITA) as anita:
        v["fingerprint"] = register_dsc(anita, ANITA, b"anita's DSC certificate")
        v["revoked_fingerprint"] = register_dsc(anita, ANITA, b"anita's lost token")
        v["number"], _at, v["version"] = anita.execute(
            "SELECT * FROM od_reserve_certificate_number(%s, 'desk-anita')",
            (v["approved"],)).fetchone()
    with _connect(central, RAHUL) as rahul:
        v["rahul_fingerprint"] = register_dsc(rahul, RAHUL, b"rahul's DSC certificate")
        v["rahul_number"] = rahul.execute(
            "SELECT number FROM od_reserve_certificate_number(%s, 'desk-rahul')",
            (v["approved_b"],)).fetchone()[0]
    with _connect(central, SANDEEP) as sandeep:
        v["che_number"] = sandeep.execute(
            "SELECT number FROM od_reserve_certificate_number(%s, 'desk-sandeep')",
            (approved_che[0],)).fetchone()[0]
    with _owner(central) as owner:
        owner.execute("UPDATE dsc_registrations SET revoked_at = now() "
                      "WHERE fingerprint_sha256 = %s", (v["revoked_fingerprint"],))
    v["revoked_dsc"] = one(central, "SELECT id FROM dsc_registrations WHERE fingerprint_sha256 "
                           "= %s", v["revoked_fingerprint"])
    v["pdf"] = b"%PDF-1.7 a signed certificate"
    v["pdf_sha"] = hashlib.sha256(v["pdf"]).hexdigest()
    v["year"] = int(one(central, "SELECT year FROM certificate_numbers WHERE number = %s",
                        v["number"]))
    assert all(value is not None for value in v.values()), v
    return Scene(v)


def _rows(db: CentralDb, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with _owner(db) as conn:
        return conn.execute(sql, params).fetchall()


# -- the hostile attempts --------------------------------------------------------------------
# (id, who, statements, SQLSTATE expected from the last one); %(name)s come from the scene
INSERT_NUMBER = ("INSERT INTO certificate_numbers (number, agency_id, year, serial, "
                 "application_id, reserved_at, state) VALUES ('IGCC/2026/9999999', 1, 2026, "
                 "9999999, %(approved_c)s, now(), 'reserved')")
AUDIT = ("INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id, "
         "note) VALUES (now(), %(anita)s, 'Anita', {action}, {entity_type}, {entity_id}, '')")
ATTEMPTS: list[tuple[str, int, list[str], str]] = [
    # the escapes of the brief
    ("read merchant_id", ANITA, ["SELECT merchant_id FROM offices"], DENIED),
    ("read checksum_key", ANITA, ["SELECT checksum_key FROM offices WHERE id = 1"], DENIED),
    ("read offices whole (*)", ANITA, ["SELECT * FROM offices"], DENIED),
    ("read offices as a row value", ANITA, ["SELECT to_jsonb(o) FROM offices o"], DENIED),
    ("filter offices on the secret", ANITA,
     ["SELECT id FROM offices WHERE checksum_key LIKE 'A%%'"], DENIED),
    ("void another office's number", ANITA,
     ["UPDATE certificate_numbers SET state = 'void', void_reason = 'x' "
      "WHERE number = %(che_number)s"], DENIED),
    ("insert a certificate number", ANITA, [INSERT_NUMBER], DENIED),
    ("upsert the number counter", ANITA,
     ["INSERT INTO certificate_number_counters (agency_id, year, last_serial) VALUES "
      "(1, %(year)s, 1) ON CONFLICT (agency_id, year) DO UPDATE SET last_serial = 1"], DENIED),
    ("clear revoked_at of an own DSC", ANITA,
     ["UPDATE dsc_registrations SET revoked_at = NULL WHERE id = %(revoked_dsc)s"], DENIED),
    ("issue by updating the status", ANITA,
     ["UPDATE applications SET status = 'issued', version = version + 1 "
      "WHERE id = %(approved_c)s"], DENIED),
    ("issue by updating the status alone", ANITA,
     ["UPDATE applications SET status = 'issued' WHERE id = %(approved_c)s"], DENIED),
    ("top up the e-wallet", ANITA,
     ["INSERT INTO wallet_entries (office_id, kind, amount, reference, at) VALUES "
      "(1, 'top_up', 100000, 'gift', now())"], DENIED),
    # more of our own
    ("cancel a certificate", ANITA,
     ["UPDATE certificates SET status = 'cancelled', cancel_reason = 'x' "
      "WHERE number = %(certificate)s"], DENIED),
    ("replace a certificate's PDF", ANITA,
     ["UPDATE certificates SET pdf = 'forged', pdf_sha256 = 'x' "
      "WHERE number = %(certificate)s"], DENIED),
    ("insert a certificate", ANITA,
     ["INSERT INTO certificates (number, application_id, office_id, issued_by_id, issued_at, "
      "status, signer_fingerprint, pdf_sha256) VALUES (%(number)s, %(approved)s, 1, "
      "%(anita)s, now(), 'valid', '', '')"], DENIED),
    ("delete a wallet entry", ANITA, ["DELETE FROM wallet_entries WHERE office_id = 1"], DENIED),
    ("truncate the wallet", ANITA, ["TRUNCATE wallet_entries"], DENIED),
    ("bump the counter directly", ANITA,
     ["UPDATE certificate_number_counters SET last_serial = last_serial + 5"], DENIED),
    ("move the id sequence", ANITA, ["SELECT setval('certificates_id_seq', 1)"], DENIED),
    ("claim for another officer", ANITA,
     ["UPDATE applications SET status = 'under_scrutiny', claimed_by_id = %(rahul)s, "
      "claimed_at = now(), version = version + 1 WHERE id = %(submitted)s"], DENIED),
    ("take over someone else's claim", ANITA,
     ["UPDATE applications SET claimed_by_id = %(anita)s WHERE id = %(scrutiny_rahul)s"],
     DENIED),
    ("approve an application claimed by someone else", ANITA,
     ["UPDATE applications SET status = 'approved', decided_at = now(), "
      "version = version + 1 WHERE id = %(scrutiny_rahul)s"], DENIED),
    ("approve without scrutiny", ANITA,
     ["UPDATE applications SET status = 'approved', decided_at = now(), "
      "version = version + 1 WHERE id = %(submitted)s"], DENIED),
    ("reject without a reason", ANITA,
     ["UPDATE applications SET status = 'rejected', claimed_by_id = NULL, claimed_at = NULL, "
      "decided_at = now(), version = version + 1 WHERE id = %(scrutiny_anita)s"], DENIED),
    ("cancel an issued application", ANITA,
     ["UPDATE applications SET status = 'cancelled', version = version + 1 "
      "WHERE id = %(issued)s"], DENIED),
    ("move an application to another office", RAHUL,  # Rahul serves both: RLS would pass
     ["UPDATE applications SET office_id = 2 WHERE id = %(submitted)s"], DENIED),
    ("edit an application's data", ANITA,
     ["UPDATE applications SET consignee_name = 'Someone else' WHERE id = %(scrutiny_anita)s"],
     DENIED),
    ("turn back an application's version", ANITA,
     ["UPDATE applications SET version = version - 1 WHERE id = %(approved)s"], DENIED),
    ("edit a goods line", ANITA,
     ["UPDATE goods_lines SET description = 'x' WHERE application_id = %(scrutiny_anita)s"],
     DENIED),
    ("record with a mismatching sha256", ANITA,
     ["SELECT * FROM od_record_issue(%(number)s, %(approved)s, %(version)s, %(pdf)s, "
      "repeat('0', 64), %(fingerprint)s)"], "ODREF"),
    ("record with a revoked DSC", ANITA,
     ["SELECT * FROM od_record_issue(%(number)s, %(approved)s, %(version)s, %(pdf)s, "
      "%(pdf_sha)s, %(revoked_fingerprint)s)"], "ODREF"),
    ("record with someone else's DSC", ANITA,
     ["SELECT * FROM od_record_issue(%(number)s, %(approved)s, %(version)s, %(pdf)s, "
      "%(pdf_sha)s, %(rahul_fingerprint)s)"], "ODREF"),
    ("record someone else's reservation", ANITA,
     ["SELECT * FROM od_record_issue(%(rahul_number)s, %(approved_b)s, 1, %(pdf)s, "
      "%(pdf_sha)s, %(fingerprint)s)"], "ODREF"),
    ("record a number for another application", ANITA,
     ["SELECT * FROM od_record_issue(%(number)s, %(approved_c)s, 1, %(pdf)s, %(pdf_sha)s, "
      "%(fingerprint)s)"], "ODREF"),
    ("record at an old version", ANITA,
     ["SELECT * FROM od_record_issue(%(number)s, %(approved)s, 0, %(pdf)s, %(pdf_sha)s, "
      "%(fingerprint)s)"], "ODCON"),
    ("void someone else's reservation", ANITA,
     ["SELECT od_void_certificate_number(%(rahul_number)s, 'not needed')"], "ODREF"),
    ("void a number never allocated", ANITA,
     ["SELECT od_void_certificate_number('NO/2026/0000001', 'x')"], "ODREF"),
    ("void an issued number", ANITA,
     ["SELECT od_void_certificate_number(%(certificate)s, 'x')"], "ODREF"),
    ("void without a reason", ANITA,
     ["SELECT od_void_certificate_number(%(number)s, '   ')"], "ODREF"),
    ("reserve in an office not served", ANITA,
     ["SELECT * FROM od_reserve_certificate_number(%(other_office_app)s, 's')"], "ODREF"),
    ("reserve a second number for one application", ANITA,
     ["SELECT * FROM od_reserve_certificate_number(%(approved)s, 's')"], "ODREF"),
    ("reserve for a submitted application", ANITA,
     ["SELECT * FROM od_reserve_certificate_number(%(submitted)s, 's')"], "ODREF"),
    ("reserve as the administrator", ADMIN,
     ["SELECT * FROM od_reserve_certificate_number(%(approved_c)s, 's')"], "ODREF"),
    ("call an internal helper", ANITA, ["SELECT od_issuing_officer(1, 'x')"], DENIED),
    ("insert an audit event for a certificate", ANITA,
     [AUDIT.format(action="'certificate.issued'", entity_type="'certificate'", entity_id="1")],
     DENIED),
    ("insert an issue event for an application", ANITA,
     [AUDIT.format(action="'application.issue'", entity_type="'application'",
                   entity_id="%(approved)s")], DENIED),
    ("insert an audit event about a user", ANITA,
     [AUDIT.format(action="'user.activate'", entity_type="'user'", entity_id="8")], DENIED),
    ("insert an event about someone else's DSC", RAHUL,
     [AUDIT.format(action="'dsc.revoked'", entity_type="'dsc_registration'",
                   entity_id="%(revoked_dsc)s")], DENIED),
    ("rewrite the audit trail", ANITA, ["UPDATE audit_events SET note = 'x'"], DENIED),
    ("delete the audit trail", ANITA, ["DELETE FROM audit_events"], DENIED),
    ("register a DSC for someone else", ANITA,
     ["INSERT INTO dsc_registrations (user_id, fingerprint_sha256, key_id, subject, issuer, "
      "serial_hex, not_before, not_after, certificate_der, registered_at) VALUES (%(rahul)s, "
      "encode(sha256('x'), 'hex'), 'k', 's', 'i', '1', now(), now() + interval '1 year', 'x', "
      "now())"], DENIED),
    ("register a DSC under a false fingerprint", ANITA,
     ["INSERT INTO dsc_registrations (user_id, fingerprint_sha256, key_id, subject, issuer, "
      "serial_hex, not_before, not_after, certificate_der, registered_at) VALUES (%(anita)s, "
      "encode(sha256('a real one'), 'hex'), 'k', 's', 'i', '1', now(), "
      "now() + interval '1 year', 'another certificate', now())"], DENIED),
    ("register a DSC already revoked", ANITA,
     ["INSERT INTO dsc_registrations (user_id, fingerprint_sha256, key_id, subject, issuer, "
      "serial_hex, not_before, not_after, certificate_der, registered_at, revoked_at) VALUES "
      "(%(anita)s, encode(sha256('z'), 'hex'), 'k', 's', 'i', '1', now(), now() + "
      "interval '1 year', 'z', now(), now() + interval '10 years')"], DENIED),
    ("delete an own DSC", ANITA,
     ["DELETE FROM dsc_registrations WHERE user_id = %(anita)s"], DENIED),
    ("read the secret through a temporary view", ANITA,
     ["CREATE TEMP VIEW gateway AS SELECT checksum_key FROM offices",
      "SELECT * FROM gateway"], DENIED),
    ("read the secret through a function", ANITA,
     ["CREATE FUNCTION pg_temp.gateway() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER "
      "AS 'SELECT checksum_key::text FROM public.offices'",
      "SELECT pg_temp.gateway()"], DENIED),
    ("create a view in the schema", ANITA,
     ["CREATE VIEW public.gateway AS SELECT id FROM offices"], DENIED),
    ("SET ROLE to the administrators' group", ANITA,
     ["SET ROLE origin_desk_admin"], DENIED),
    ("SET ROLE to the owner", ANITA, ["SET ROLE postgres"], DENIED),
    ("SET SESSION AUTHORIZATION to the administrator", ANITA,
     ["SET SESSION AUTHORIZATION od_admin_1"], DENIED),
    ("read the logins", ANITA, ["SELECT * FROM db_logins"], DENIED),
    ("an administrator's negative top-up", ADMIN,
     ["INSERT INTO wallet_entries (office_id, kind, amount, reference, at) VALUES "
      "(1, 'top_up', -500, 'x', now())"], DENIED),
    ("an administrator's fee line", ADMIN,
     ["INSERT INTO wallet_entries (office_id, kind, amount, reference, at) VALUES "
      "(1, 'fee', 500, 'x', now())"], DENIED),
    ("an administrator changes a DSC's fingerprint", ADMIN,
     ["UPDATE dsc_registrations SET fingerprint_sha256 = %(rahul_fingerprint)s "
      "WHERE id = %(revoked_dsc)s"], DENIED),
    ("an administrator approves", ADMIN,
     ["UPDATE applications SET status = 'approved', decided_at = now(), "
      "version = version + 1 WHERE id = %(scrutiny_anita)s"], DENIED),
]


@pytest.mark.parametrize(("who", "statements", "sqlstate"),
                         [a[1:] for a in ATTEMPTS], ids=[a[0] for a in ATTEMPTS])
def test_a_hostile_attempt_is_refused_and_changes_nothing(
    central: CentralDb, scene: Scene, who: int, statements: list[str], sqlstate: str
) -> None:
    before = snapshot(central)
    with _connect(central, who) as conn:
        for statement in statements[:-1]:
            conn.execute(statement, scene.values)
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(statements[-1], scene.values)
        assert refused.value.sqlstate == sqlstate, refused.value
        if sqlstate in ("ODREF", "ODCON"):  # one sentence for the officer
            message = refused.value.diag.message_primary or ""
            assert message.endswith(".") and "\n" not in message, message
    assert snapshot(central) == before


def test_refusals_name_the_application(central: CentralDb, scene: Scene) -> None:
    number = one(central, "SELECT number FROM applications WHERE id = %s", scene["approved"])
    with _connect(central, ANITA) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, repeat('0', 64), %s)",
                     (scene["number"], scene["approved"], scene["version"], scene["pdf"],
                      scene["fingerprint"]))
    assert refused.value.diag.message_primary == (
        f"The signed PDF of application {number} does not match its SHA-256 digest; it was "
        "not issued.")


def test_an_officers_own_writes_through_plain_sql_pass_and_a_forged_actor_is_replaced(
    central: CentralDb, scene: Scene
) -> None:
    """Rows change as the workflow says (the desk's claim, in plain SQL); the audit actor is
    the login's whatever the client wrote; offices without the secrets can be read."""
    with _connect(central, ANITA) as conn:
        assert conn.execute(
            "UPDATE applications SET status = 'under_scrutiny', claimed_by_id = %s, "
            "claimed_at = now(), version = version + 1 WHERE id = %s",
            (ANITA, scene["submitted"])).rowcount == 1
        event = conn.execute(
            "INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, "
            "entity_id, note) VALUES (now(), %s, 'Vikram Sethi <admin@igcc.org.in>', "
            "'application.note', 'application', %s, 'looks fine') RETURNING id",
            (ADMIN, scene["submitted"])).fetchone()[0]
        assert conn.execute("SELECT code, ewallet_enabled FROM offices WHERE id = 1"
                            ).fetchone() == ("MUM", True)
        assert conn.execute("UPDATE offices SET ewallet_enabled = false").rowcount == 0
    assert one(central, "SELECT actor_id, actor_label FROM audit_events WHERE id = %s",
               event) == (ANITA, "Anita Deshpande <anita.deshpande@igcc.org.in>")
    assert one(central, "SELECT status, claimed_by_id FROM applications WHERE id = %s",
               scene["submitted"]) == ("under_scrutiny", ANITA)


def test_office_loads_in_the_orm_skip_the_gateway_secrets(central: CentralDb) -> None:
    with Session(central.engine_for(str(one(central, "SELECT email FROM users WHERE id = %s",
                                                ANITA)))) as session:
        office = session.scalars(select(Office).where(Office.id == MUM)).one()
        assert office.code == "MUM"
        with pytest.raises(Exception, match="permission denied"):
            _ = office.checksum_key
    with Session(central.engine_for(str(one(central, "SELECT email FROM users WHERE id = %s",
                                                ADMIN)))) as session:
        office = session.scalars(select(Office).where(Office.id == MUM)).one()
        assert office.checksum_key and office.merchant_id.startswith("IGCC")


# -- what the desk does, through the functions ------------------------------------------------

def test_an_officer_reserves_records_and_voids_through_the_functions(
    central: CentralDb, scene: Scene
) -> None:
    app_id, number = scene["approved"], scene["number"]
    app_number, kind, office_id = one(
        central, "SELECT number, kind, office_id FROM applications WHERE id = %s", app_id)
    reserved_at = one(central, "SELECT reserved_at FROM certificate_numbers WHERE number = %s",
                      number)
    assert one(central, "SELECT state, reserved_by_id, desk_session FROM certificate_numbers "
               "WHERE number = %s", number) == ("reserved", ANITA, "desk-anita")
    assert number == f"IGCC/{scene['year']}/{int(number.rsplit('/', 1)[1]):07d}"
    with _connect(central, ANITA) as conn:
        certificate_id, issued_at, superseded = conn.execute(
            "SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
            (number, app_id, scene["version"], scene["pdf"], scene["pdf_sha"].upper(),
             scene["fingerprint"].upper())).fetchone()
    assert issued_at == reserved_at and superseded is None
    certificate = one(central, "SELECT number, application_id, office_id, issued_by_id, "
                      "issued_at, status, signer_fingerprint, pdf_sha256, pdf FROM certificates "
                      "WHERE id = %s", certificate_id)
    assert certificate == (number, app_id, office_id, ANITA, reserved_at, "valid",
                           scene["fingerprint"], scene["pdf_sha"], scene["pdf"])
    assert one(central, "SELECT state FROM certificate_numbers WHERE number = %s",
               number) == "issued"
    assert one(central, "SELECT status, claimed_by_id, claimed_at, version FROM applications "
               "WHERE id = %s", app_id) == ("issued", None, None, scene["version"] + 1)
    fee = one(central, "SELECT kind, amount, reference, at FROM wallet_entries "
              "WHERE certificate_number = %s", number)
    assert fee == ("fee", -certificate_fee(kind == "preferential"), app_number, reserved_at)
    label = "Anita Deshpande <anita.deshpande@igcc.org.in>"
    issue = one(central, "SELECT at, actor_id, actor_label, before::jsonb, after::jsonb, note "
                "FROM audit_events WHERE action = 'application.issue' AND entity_id = %s", app_id)
    assert issue == (reserved_at, ANITA, label,
                     {"status": "approved", "claimed_by_id": ANITA, "query_text": None,
                      "rejection_reason": None},
                     {"status": "issued", "claimed_by_id": None, "query_text": None,
                      "rejection_reason": None}, "")
    issued = one(central, "SELECT at, actor_id, actor_label, entity_type, after::jsonb "
                 "FROM audit_events WHERE action = 'certificate.issued' AND entity_id = %s",
                 certificate_id)
    assert issued == (reserved_at, ANITA, label, "certificate",
                      {"number": number, "application": app_number,
                       "pdf_sha256": scene["pdf_sha"], "signer_sha256": scene["fingerprint"],
                       "signed_with": "dsc", "esign_txn": None, "supersedes": None})
    # another reservation, voided with its reason; an issued number cannot be voided
    with _connect(central, ANITA) as conn:
        second = conn.execute("SELECT number FROM od_reserve_certificate_number(%s, 'desk-2')",
                              (scene["approved_c"],)).fetchone()[0]
        conn.execute("SELECT od_void_certificate_number(%s, %s)",
                     (second, "  the token was pulled out  "))
    assert one(central, "SELECT state, void_reason FROM certificate_numbers WHERE number = %s",
               second) == ("void", "the token was pulled out")
    assert int(second.rsplit("/", 1)[1]) > int(number.rsplit("/", 1)[1])


def test_release_voids_the_desk_sessions_and_the_stale_reservations(
    central: CentralDb, scene: Scene
) -> None:
    with _owner(central) as owner:  # Sandeep's reservation (another office) is 20 minutes old
        owner.execute("UPDATE certificate_numbers SET reserved_at = now() - interval "
                      "'20 minutes' WHERE number = %s", (scene["che_number"],))
    with _connect(central, ANITA) as conn:
        assert [r[0] for r in conn.execute("SELECT * FROM od_release_reservations('other')")] \
            == [scene["che_number"]]
        assert [r[0] for r in conn.execute(
            "SELECT * FROM od_release_reservations('desk-anita')")] == [scene["number"]]
    assert one(central, "SELECT state, void_reason FROM certificate_numbers WHERE number = %s",
               scene["number"]) == ("void", ABANDONED)
    # Rahul's fresh reservation of another desk session stays
    assert one(central, "SELECT state FROM certificate_numbers WHERE number = %s",
               scene["rahul_number"]) == "reserved"
    # the administrator may void any reservation of the agency
    with _connect(central, ADMIN) as conn:
        conn.execute("SELECT od_void_certificate_number(%s, 'desk gone')",
                     (scene["rahul_number"],))
    assert one(central, "SELECT state FROM certificate_numbers WHERE number = %s",
               scene["rahul_number"]) == "void"


def test_a_concurrent_change_while_signing_is_reported_as_such(
    central: CentralDb, scene: Scene
) -> None:
    with _owner(central) as owner:  # another desk released and re-approved it meanwhile
        owner.execute("UPDATE applications SET version = version + 2 WHERE id = %s",
                      (scene["approved"],))
    before = snapshot(central)
    with _connect(central, ANITA) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                     (scene["number"], scene["approved"], scene["version"], scene["pdf"],
                      scene["pdf_sha"], scene["fingerprint"]))
    assert refused.value.sqlstate == "ODCON"
    assert "changed at another desk" in str(refused.value)
    assert snapshot(central) == before


def test_an_in_lieu_issue_supersedes_the_original(central: CentralDb, scene: Scene) -> None:
    app_id, original = one(central, "SELECT id, original_certificate_number FROM applications "
                           "WHERE kind = 'in_lieu' AND status = 'approved' AND office_id = %s",
                           DEL)
    original_app = one(central, "SELECT application_id FROM certificates WHERE number = %s",
                       original)
    with _owner(central) as owner:  # the original: valid and issued
        owner.execute("UPDATE certificates SET status = 'valid', superseded_by_number = NULL "
                      "WHERE number = %s", (original,))
        owner.execute("UPDATE applications SET status = 'issued' WHERE id = %s", (original_app,))
    version = one(central, "SELECT version FROM applications WHERE id = %s", original_app)
    with _connect(central, RAHUL) as conn:  # Rahul serves DEL
        number, _at, app_version = conn.execute(
            "SELECT * FROM od_reserve_certificate_number(%s, 'desk-rahul')", (app_id,)).fetchone()
        _id, _issued_at, superseded = conn.execute(
            "SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
            (number, app_id, app_version, scene["pdf"], scene["pdf_sha"],
             scene["rahul_fingerprint"])).fetchone()
    assert superseded == original
    assert one(central, "SELECT status, superseded_by_number FROM certificates "
               "WHERE number = %s", original) == ("superseded", number)
    assert one(central, "SELECT status, version FROM applications WHERE id = %s",
               original_app) == ("superseded", version + 1)
    assert one(central, "SELECT actor_id, note FROM audit_events WHERE action = "
               "'application.supersede' AND entity_id = %s ORDER BY id DESC LIMIT 1",
               original_app) == (
        RAHUL, f"superseded by in-lieu certificate {number}")
    assert one(central, "SELECT after::jsonb ->> 'supersedes' FROM audit_events WHERE "
               "action = 'certificate.issued' AND after::jsonb ->> 'number' = %s",
               number) == original
    # the original cannot be replaced twice
    with _owner(central) as owner:
        owner.execute("UPDATE applications SET original_certificate_number = %s, "
                      "status = 'approved' WHERE id = %s", (original, scene["approved_c"]))
        owner.execute("UPDATE applications SET kind = 'in_lieu' WHERE id = %s",
                      (scene["approved_c"],))
    with _connect(central, ANITA) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT * FROM od_reserve_certificate_number(%s, 's')",
                     (scene["approved_c"],))
    assert refused.value.sqlstate == "ODREF" and f"already replaced by {number}" in str(
        refused.value)


def test_concurrent_reservations_give_unique_numbers_without_gaps(central: CentralDb) -> None:
    officers = {MUM: ANITA, DEL: FARHAN, CHE: SANDEEP}
    work = {user: [r for (r,) in _rows(central, "SELECT id FROM applications WHERE office_id = "
                                       "%s AND status = 'approved' AND kind <> 'in_lieu' "
                                       "ORDER BY id", office)]
            for office, user in officers.items()}
    barrier = threading.Barrier(len(work))
    numbers: list[str] = []
    errors: list[BaseException] = []

    def reserve(user: int, app_ids: list[int]) -> None:
        try:
            with _connect(central, user) as conn:
                barrier.wait()
                for k, app_id in enumerate(app_ids):
                    with conn.transaction() as transaction:
                        number = conn.execute(
                            "SELECT number FROM od_reserve_certificate_number(%s, 'run')",
                            (app_id,)).fetchone()[0]
                        if k % 3 == 2:  # the desk failed inside the transaction
                            raise psycopg.Rollback(transaction)
                    if k % 3 == 2:
                        continue
                    numbers.append(number)
                    if k % 3 == 1:
                        conn.execute("SELECT od_void_certificate_number(%s, 'token removed')",
                                     (number,))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reserve, args=item) for item in work.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(numbers) == len(set(numbers)) > 6
    with Session(central.owner_engine()) as session:
        for year in {int(n.split("/")[1]) for n in numbers}:
            assert unexplained_gaps(session, 1, year) == []
        assert session.execute(text("SELECT count(*) FROM certificate_numbers WHERE "
                                    "reserved_by_id IS NOT NULL")).scalar() == len(numbers)


def test_an_administrator_revokes_and_restores_a_dsc_and_tops_up(
    central: CentralDb, scene: Scene
) -> None:
    dsc = one(central, "SELECT id FROM dsc_registrations WHERE fingerprint_sha256 = %s",
              scene["fingerprint"])
    with _connect(central, ADMIN) as conn:
        assert conn.execute("UPDATE dsc_registrations SET revoked_at = now() WHERE id = %s",
                            (dsc,)).rowcount == 1
        conn.execute("INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, "
                     "entity_id, note) VALUES (now(), NULL, '', 'dsc.revoked', "
                     "'dsc_registration', %s, 'token lost')", (dsc,))
    with _connect(central, ANITA) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                     (scene["number"], scene["approved"], scene["version"], scene["pdf"],
                      scene["pdf_sha"], scene["fingerprint"]))
    assert refused.value.sqlstate == "ODREF" and "revoked" in str(refused.value)
    with _connect(central, ADMIN) as conn:
        assert conn.execute("UPDATE dsc_registrations SET revoked_at = NULL WHERE id = %s",
                            (dsc,)).rowcount == 1
        top_up = conn.execute(
            "INSERT INTO wallet_entries (office_id, kind, amount, reference, at) VALUES "
            "(%s, 'top_up', 25000, 'NEFT 4411', now()) RETURNING id", (CHE,)).fetchone()[0]
    assert one(central, "SELECT kind, amount FROM wallet_entries WHERE id = %s", top_up) == (
        "top_up", Decimal("25000.000"))
    assert one(central, "SELECT actor_id FROM audit_events WHERE action = 'dsc.revoked'") == ADMIN
    with _connect(central, ANITA) as conn:
        conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                     (scene["number"], scene["approved"], scene["version"], scene["pdf"],
                      scene["pdf_sha"], scene["fingerprint"]))
    assert one(central, "SELECT state FROM certificate_numbers WHERE number = %s",
               scene["number"]) == "issued"


def test_the_officers_sync_push_still_claims_and_approves(central: CentralDb) -> None:
    app_id = int(one(central, "SELECT min(id) FROM applications a WHERE office_id = %s AND "
                     "status = 'submitted' AND kind = 'non_preferential' AND EXISTS (SELECT 1 "
                     "FROM goods_lines g WHERE g.application_id = a.id)", MUM))
    version = int(one(central, "SELECT version FROM applications WHERE id = %s", app_id))
    now = dt.datetime.now(dt.UTC)
    email = str(one(central, "SELECT email FROM users WHERE id = %s", ANITA))
    operations = [
        Operation("00000000-0000-4000-8000-000000000001", app_id, "claim", None, version, now),
        Operation("00000000-0000-4000-8000-000000000002", app_id, "note", "checked", None, now),
        Operation("00000000-0000-4000-8000-000000000003", app_id, "approve", None, version + 1,
                  now),
    ]
    with Session(central.engine_for(email)) as session, session.begin():
        results = apply_operations(session, ANITA, operations)
    assert [r.outcome for r in results] == ["applied"] * 3, results
    assert one(central, "SELECT status, claimed_by_id, version FROM applications WHERE id = %s",
               app_id) == ("approved", ANITA, version + 2)
    assert [r[0] for r in _rows(central, "SELECT action FROM audit_events WHERE entity_id = %s "
                                "AND entity_type = 'application' AND actor_id = %s ORDER BY id",
                                app_id, ANITA)] == [
        "application.claim", "application.note", "application.approve"]


def test_the_revision_goes_down_and_up_again(pg_server: PostgresServer, tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from app.store.central import sqlite_engine
    from app.store.schema import alembic_config, head_revision, upgrade

    pg_server.create_database("rules_round_trip")
    engines = [create_engine(pg_server.url("rules_round_trip")),
               sqlite_engine(tmp_path / "central.sqlite")]
    try:
        for engine in engines:
            upgrade(engine)
            with engine.connect() as connection:
                command.downgrade(alembic_config(connection), "0003_row_security")
                connection.commit()
                columns = {c["name"] for c in inspect(connection).get_columns(
                    "certificate_numbers")}
                assert "reserved_by_id" not in columns and "desk_session" not in columns
            assert upgrade(engine) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()
        pg_server.drop_database("rules_round_trip")
