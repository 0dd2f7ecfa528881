"""Row-level security: through each user's own login role, with plain SQL."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from app.cli import main
from tests.store.conftest import CentralDb

MUM, DEL, CHE = 1, 2, 3


def _connect(db: CentralDb, role: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=db.server.port, user=role, dbname=db.name,
                           autocommit=True)


def _role_of(db: CentralDb, user_id: int) -> str:
    return str(db.scalar("SELECT role_name FROM db_logins WHERE user_id = :u", u=user_id))


def test_an_officer_sees_and_changes_only_the_mapped_offices(central: CentralDb) -> None:
    mumbai_only = _role_of(central, 2)
    other_app = central.scalar("SELECT min(id) FROM applications WHERE office_id = :o", o=DEL)
    own_app = central.scalar("SELECT min(id) FROM applications WHERE office_id = :o", o=MUM)
    with _connect(central, mumbai_only) as conn:
        offices = {r[0] for r in conn.execute("SELECT DISTINCT office_id FROM applications")}
        assert offices == {MUM}
        assert conn.execute("SELECT count(*) FROM applications WHERE id = %s",
                            (other_app,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM goods_lines WHERE application_id = %s",
                            (other_app,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM audit_events WHERE entity_id = %s "
                            "AND entity_type = 'application'", (other_app,)).fetchone()[0] == 0
        changed = conn.execute("UPDATE applications SET remarks = 'x' WHERE id = %s",
                               (other_app,)).rowcount
        assert changed == 0
        # goods lines are the exporter's: no desk writes them (0004_central_rules)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE goods_lines SET marks = 'x' WHERE application_id = %s",
                         (other_app,))
        # moving an own application into another office is refused by WITH CHECK
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE applications SET office_id = %s WHERE id = %s", (DEL, own_app))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, "
                "entity_id, note) VALUES (now(), 2, 'x', 'application.note', 'application', %s, "
                "'')", (other_app,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM db_logins")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM applications WHERE id = %s", (own_app,))
        # their own office's rows they may change
        assert conn.execute("UPDATE applications SET remarks = remarks WHERE id = %s",
                            (own_app,)).rowcount == 1
        # only administrators write offices
        assert conn.execute("UPDATE offices SET name = name").rowcount == 0
    assert central.scalar("SELECT remarks FROM applications WHERE id = :i", i=other_app) != "x"


def test_an_officer_of_two_offices_sees_both(central: CentralDb) -> None:
    with _connect(central, _role_of(central, 3)) as conn:
        offices = {r[0] for r in conn.execute("SELECT DISTINCT office_id FROM applications")}
    assert offices == {MUM, DEL}


def test_an_administrator_manages_their_own_agency_only(central: CentralDb) -> None:
    with central.owner_engine().begin() as connection:
        connection.execute(text(
            "INSERT INTO agencies (id, code, name, email_domains) VALUES (2, 'XCC', 'Other', '[]')"))
        connection.execute(text(
            "INSERT INTO offices (id, agency_id, code, name, place, address, contact_email, "
            "contact_phone, ewallet_enabled, merchant_id, checksum_key) VALUES "
            "(9, 2, 'XXX', 'Elsewhere', 'Pune', '', '', '', true, '', '')"))
        connection.execute(text("UPDATE applications SET office_id = 9 WHERE id = 1"))
    with _connect(central, _role_of(central, 1)) as conn:
        offices = {r[0] for r in conn.execute("SELECT DISTINCT office_id FROM applications")}
        assert offices == {MUM, DEL, CHE}
        assert conn.execute("SELECT count(*) FROM offices WHERE agency_id = 2").fetchone()[0] == 0
        assert conn.execute("UPDATE offices SET name = 'Renamed' WHERE id = 9").rowcount == 0
        assert conn.execute("UPDATE offices SET contact_phone = '+91 1' WHERE id = 1").rowcount == 1
        assert conn.execute("UPDATE applications SET remarks = 'x' WHERE id = 1").rowcount == 0
    with _connect(central, _role_of(central, 2)) as conn:  # officers do not write offices
        assert conn.execute("UPDATE offices SET contact_phone = 'x' WHERE id = 1").rowcount == 0


def test_the_verifier_reads_certificate_status_by_number_only(
    central: CentralDb, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "grant", "--url", central.url, "--verifier", "portal_verify"]) == 0
    assert "portal_verify" in capsys.readouterr().out
    number = central.scalar("SELECT min(number) FROM certificates")
    with _connect(central, "portal_verify") as conn:
        row = conn.execute("SELECT number, status, agency_code FROM od_certificate_status(%s)",
                           (number,)).fetchone()
        assert row[0] == number and row[2] == "IGCC"
        assert conn.execute("SELECT count(*) FROM od_certificate_status('NO/SUCH/1')"
                            ).fetchone()[0] == 0
        for table in ("certificates", "applications", "users", "certificate_numbers"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")


def test_db_grant_and_revoke_through_the_command_line(
    central: CentralDb, capsys: pytest.CaptureFixture[str]
) -> None:
    email = str(central.scalar("SELECT email FROM users WHERE id = 4"))
    try:
        assert main(["db", "revoke", "--url", central.url, email]) == 0
        assert "dropped" in capsys.readouterr().out
        with pytest.raises(psycopg.OperationalError):
            _connect(central, central.logins[email]).close()
        assert main(["db", "grant", "--url", central.url, email, "--role", "od_desk_four"]) == 0
        assert "od_desk_four created (origin_desk_officer)" in capsys.readouterr().out
        with _connect(central, "od_desk_four") as conn:
            assert conn.execute("SELECT od_user_id()").fetchone()[0] == 4
    finally:  # roles are cluster-wide: give the other tests' databases their login back
        main(["db", "revoke", "--url", central.url, email])
        assert main(["db", "grant", "--url", central.url, email,
                     "--role", central.logins[email]]) == 0
    pending = str(central.scalar("SELECT email FROM users WHERE status = 'pending'"))
    assert main(["db", "grant", "--url", central.url, pending]) == 2
    assert "activate it" in capsys.readouterr().err
