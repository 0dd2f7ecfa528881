"""The intake API for real: uvicorn with TLS in front of a throwaway PostgreSQL, reached
through the service's own login role (which acts as itself for intake), with httpx over
TLS verified against the test CA. Keys are issued by the administrator's own login; what
was filed is read back by the office's officers through their own logins. Then the
service's role with plain SQL: the store's policies and guards hold it to the key it
serves, and officers still cannot resubmit."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text

from tests.hub.intake_support import (
    ADMIN,
    KINDS,
    PDF,
    PNG,
    auth,
    exporter_facts,
    filing,
    issue_key,
    officers,
    snapshot,
)

DENIED = "42501"


@pytest.fixture
def owner(pg_hub: Any) -> Engine:
    return pg_hub.extras["central"].owner_engine()  # type: ignore[no-any-return]


@pytest.fixture
def facts(owner: Engine) -> Any:
    return exporter_facts(owner)


@pytest.fixture
def issued(pg_hub: Any, facts: Any) -> Any:
    """A key for the exporter, issued through the administrator's own PostgreSQL login."""
    return issue_key(pg_hub.extras["central"].engine_for(ADMIN), facts.iec, label="ERP")


@pytest.fixture
def api(pg_hub: Any, serve: Any) -> Any:
    server = serve(pg_hub)
    with httpx.Client(base_url=server.url, verify=_tls(server), timeout=30) as client:
        yield client


def _tls(server: Any) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca))


def officer_desk(pg_hub: Any, email: str, tmp_path: Path) -> Any:
    """An embedded desk on the officer's own PostgreSQL login."""
    from app.config import Config
    from app.services.desk import Desk

    desk = Desk(pg_hub.extras["central"].engine_for(email), Config(data_dir=tmp_path))
    desk.sign_in(email)
    return desk


def queue_of(desk: Any) -> dict[str, tuple[int, str]]:
    from app.services.queue_rows import Col

    return {row[Col.NUMBER]: (row[Col.ID], str(row[Col.STATUS])) for row in desk.queue(None)}


def returned_application(pg_hub: Any, api: Any, owner: Engine, facts: Any, key: str,
                         tmp_path: Path) -> int:
    """An application filed through the API that the office returned with a query."""
    number = api.post("/api/v1/applications", json=filing("non_preferential", facts),
                      headers=auth(key)).json()["number"]
    desk = officer_desk(pg_hub, officers(owner, facts.office_code)[0], tmp_path)
    app_id = queue_of(desk)[number][0]
    desk.act(app_id, "claim")
    desk.act(app_id, "return", text="Which port of loading?")
    return app_id


def test_each_kind_filed_over_tls_reaches_the_office_queue(
        pg_hub: Any, api: Any, owner: Engine, facts: Any, issued: Any,
        tmp_path: Path) -> None:
    numbers = {}
    for kind in KINDS:
        response = api.post("/api/v1/applications", json=filing(kind, facts),
                            headers={**auth(issued.key), "Idempotency-Key": f"file-{kind}"})
        assert response.status_code == 201, response.text
        assert response.json()["office"]["code"] == facts.office_code
        numbers[kind] = response.json()["number"]
        again = api.post("/api/v1/applications", json=filing(kind, facts),
                         headers={**auth(issued.key), "Idempotency-Key": f"file-{kind}"})
        assert again.json() == response.json() and again.headers["idempotent-replayed"]
    mapped, other = officers(owner, facts.office_code)
    queue = queue_of(officer_desk(pg_hub, mapped, tmp_path))
    for kind, number in numbers.items():
        assert queue[number][1] == "submitted", kind
        status = api.get(f"/api/v1/applications/{number}", headers={"X-API-Key": issued.key})
        assert status.status_code == 200 and status.json()["kind"] == kind
    assert not set(numbers.values()) & set(queue_of(officer_desk(pg_hub, other, tmp_path)))
    with owner.connect() as connection:
        rows = connection.execute(text(
            "SELECT a.number, a.kind, a.version, count(g.id) AS lines, "
            "(SELECT count(*) FROM cost_sheet_materials m JOIN cost_sheets s "
            " ON s.id = m.cost_sheet_id WHERE s.application_id = a.id) AS materials, "
            "(SELECT e.actor_label FROM audit_events e WHERE e.entity_type = 'application' "
            " AND e.entity_id = a.id AND e.action = 'application.submit') AS label "
            "FROM applications a JOIN goods_lines g ON g.application_id = a.id "
            "WHERE a.number = ANY(:n) GROUP BY a.id ORDER BY a.id"),
            {"n": list(numbers.values())}).all()
    assert [(r.kind, r.version, r.lines) for r in rows] == [(k, 1, 2) for k in KINDS]
    assert [r.materials for r in rows] == [0, 2, 0, 0]
    assert all(f"(applicant, API key odk_{issued.row.prefix})" in r.label for r in rows)
    last_used = pg_hub.extras["central"].scalar(
        "SELECT last_used_at FROM api_keys WHERE prefix = :p", p=issued.row.prefix)
    assert last_used is not None


def test_resubmission_and_documents_over_tls(pg_hub: Any, api: Any, owner: Engine,
                                             facts: Any, issued: Any, tmp_path: Path) -> None:
    number = api.post("/api/v1/applications", json=filing("preferential", facts),
                      headers=auth(issued.key)).json()["number"]
    upload = api.post(f"/api/v1/applications/{number}/documents", headers=auth(issued.key),
                      files={"file": ("invoice.pdf", PDF, "application/pdf")},
                      data={"kind": "invoice"})
    assert upload.status_code == 201, upload.text
    officer, _ = officers(owner, facts.office_code)
    desk = officer_desk(pg_hub, officer, tmp_path)
    app_id = queue_of(desk)[number][0]
    desk.act(app_id, "claim")
    # under scrutiny: no documents, no resubmission (and nothing changes)
    before = snapshot(owner)
    assert api.post(f"/api/v1/applications/{number}/documents", headers=auth(issued.key),
                    files={"file": ("late.png", PNG, "image/png")}).status_code == 409
    assert api.put(f"/api/v1/applications/{number}/resubmission", headers=auth(issued.key),
                   json=filing("preferential", facts)).status_code == 409
    assert snapshot(owner) == before
    desk.act(app_id, "return", text="Attach the bill of lading; correct the invoice number.")
    corrected = filing("preferential", facts, invoice_number="EXP/26-27/0042-R")
    corrected["goods"] = corrected["goods"][:1] + corrected["goods"]
    response = api.put(f"/api/v1/applications/{number}/resubmission", json=corrected,
                       headers=auth(issued.key))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resubmitted" and response.json()["goods_lines"] == 3
    assert response.json()["query"].startswith("Attach the bill of lading")
    assert api.post(f"/api/v1/applications/{number}/documents", headers=auth(issued.key),
                    files={"file": ("bl.png", PNG, "image/png")},
                    data={"kind": "bill_of_lading"}).status_code == 201
    assert queue_of(desk)[number][1] == "resubmitted"
    detail = desk.detail(app_id)
    assert len(detail.goods) == 3
    desk.act(app_id, "claim")
    with owner.connect() as connection:
        actions = connection.execute(text(
            "SELECT action, actor_id IS NULL FROM audit_events WHERE entity_type = "
            "'application' AND entity_id = :i ORDER BY id"), {"i": app_id}).all()
    assert [tuple(a) for a in actions] == [
        ("application.submit", True), ("application.document", True),
        ("application.claim", False), ("application.return", False),
        ("application.resubmit", True), ("application.document", True),
        ("application.claim", False)]


def test_hostile_requests_over_tls_change_nothing(pg_hub: Any, api: Any, owner: Engine,
                                                  facts: Any, issued: Any) -> None:
    other = exporter_facts(owner, not_id=facts.id)
    other_key = issue_key(pg_hub.extras["central"].engine_for(ADMIN), other.iec).key
    revoked = issue_key(pg_hub.extras["central"].engine_for(ADMIN), facts.iec)
    from app.services.admin import AgencyAdmin

    administrator = AgencyAdmin.for_email(pg_hub.extras["central"].engine_for(ADMIN), ADMIN)
    administrator.api_keys().revoke(revoked.row.prefix)
    assert [e.action for e in administrator.audit_log()[:2]] == ["api_key.revoke",
                                                                 "api_key.issue"]
    assert [k.active for k in administrator.api_keys().list_keys()] == [False, True, True]
    number = api.post("/api/v1/applications", json=filing("non_preferential", facts),
                      headers={**auth(issued.key), "Idempotency-Key": "k-1"}).json()["number"]
    before = snapshot(owner)
    body = filing("non_preferential", facts)
    cases = [
        (401, "POST", "/api/v1/applications", {"json": body}),
        (401, "POST", "/api/v1/applications", {"json": body, "headers": auth(revoked.key)}),
        (404, "GET", f"/api/v1/applications/{number}", {"headers": auth(other_key)}),
        (404, "PUT", f"/api/v1/applications/{number}/resubmission",
         {"json": filing("non_preferential", other), "headers": auth(other_key)}),
        (404, "POST", f"/api/v1/applications/{number}/documents",
         {"headers": auth(other_key), "files": {"file": ("a.pdf", PDF, "application/pdf")}}),
        (413, "POST", "/api/v1/applications",
         {"content": b"{" + b" " * (26 * 1024 * 1024) + b"}",
          "headers": {**auth(issued.key), "Content-Type": "application/json"}}),
        (422, "POST", "/api/v1/applications",
         {"content": b'{"kind": ', "headers": {**auth(issued.key),
                                                "Content-Type": "application/json"}}),
        (422, "POST", f"/api/v1/applications/{number}/documents",
         {"headers": auth(issued.key), "files": {"file": ("a.pdf", PNG, "application/pdf")}}),
        (415, "POST", f"/api/v1/applications/{number}/documents",
         {"headers": auth(issued.key), "files": {"file": ("a.pdf", b"MZ...", "x/y")}}),
        (422, "POST", f"/api/v1/applications/{number}/documents",
         {"headers": auth(issued.key),
          "files": {"file": ("../../../etc/cron.d/x.pdf", PDF, "application/pdf")}}),
        (422, "POST", "/api/v1/applications",
         {"json": filing("non_preferential", facts, invoice_number="OTHER"),
          "headers": {**auth(issued.key), "Idempotency-Key": "k-1"}}),
    ]
    for status, method, url, kwargs in cases:
        response = api.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        assert snapshot(owner) == before, (method, url)


def test_a_flood_is_refused_429(pg_hub: Any, serve: Any, issued: Any) -> None:
    from app.hub.rate_limit import RateLimiter

    pg_hub.extras["intake_rate_limit"] = RateLimiter(3)
    server = serve(pg_hub)
    with httpx.Client(base_url=server.url, verify=_tls(server)) as client:
        codes = [client.get("/api/v1/applications/APP-1999-999999",
                            headers=auth(issued.key)).status_code for _ in range(6)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429, 429]


# --- the service's own role with plain SQL ----------------------------------------------------

def _hub_sql(pg_hub: Any) -> psycopg.Connection:
    central = pg_hub.extras["central"]
    return psycopg.connect(host="127.0.0.1", port=central.server.port, user="od_hub_service",
                           dbname=central.name)


def _refused(connection: psycopg.Connection, sql: str, *params: Any) -> None:
    with pytest.raises(psycopg.Error) as caught:
        connection.execute(sql, params)
    connection.rollback()
    assert caught.value.sqlstate == DENIED, (sql, caught.value)


def _changes_nothing(connection: psycopg.Connection, sql: str, *params: Any) -> None:
    """Refused (insufficient privilege), or no row is the caller's to change."""
    try:
        cursor = connection.execute(sql, params)
    except psycopg.Error as exc:
        connection.rollback()
        assert exc.sqlstate == DENIED, (sql, exc)
        return
    connection.rollback()
    assert cursor.rowcount == 0, sql


def _serving(connection: psycopg.Connection, prefix: str) -> None:
    connection.execute("SELECT set_config('od.intake_key', %s, true)", (prefix,))


def test_the_service_role_is_held_to_the_key_it_serves(pg_hub: Any, api: Any, owner: Engine,
                                                       facts: Any, issued: Any,
                                                       tmp_path: Path) -> None:
    other = exporter_facts(owner, not_id=facts.id)
    returned = returned_application(pg_hub, api, owner, facts, issued.key, tmp_path)
    number = api.post("/api/v1/applications", json=filing("non_preferential", facts),
                      headers=auth(issued.key)).json()["number"]
    with owner.connect() as connection:
        mine = connection.execute(text("SELECT id FROM applications WHERE number = :n"),
                                  {"n": number}).scalar()
        theirs, their_status = connection.execute(text(
            "SELECT id, status FROM applications WHERE exporter_id = :e ORDER BY id LIMIT 1"),
            {"e": other.id}).one()
        taken_up = connection.execute(text(
            "SELECT id FROM applications WHERE exporter_id = :e AND status NOT IN "
            "('submitted', 'returned') LIMIT 1"), {"e": facts.id}).scalar()
    assert returned is not None and taken_up is not None
    before = snapshot(owner)
    with _hub_sql(pg_hub) as conn:
        # serving no key: it sees no application at all
        assert conn.execute("SELECT count(*) FROM applications").fetchone() == (0,)
        conn.rollback()
        _serving(conn, issued.row.prefix)
        # it sees its exporter's applications only
        seen = conn.execute("SELECT DISTINCT exporter_id FROM applications").fetchall()
        assert seen == [(facts.id,)]
        assert conn.execute("SELECT count(*) FROM applications WHERE id = %s",
                            (theirs,)).fetchone() == (0,)
        # offices (and their gateway secrets) stay unread; their names come by function
        assert conn.execute("SELECT count(*) FROM offices").fetchone() == (0,)
        assert conn.execute("SELECT code FROM od_intake_office(%s)", (
            conn.execute("SELECT office_id FROM applications WHERE id = %s",
                         (mine,)).fetchone()[0],)).fetchone() == (facts.office_code,)
        conn.rollback()
        steps = [
            # another exporter's application, or a filing already decided
            ("INSERT INTO applications (number, kind, status, office_id, exporter_id, "
             "applicant_id, form_code, consignee_name, consignee_address, consignee_country, "
             "destination_country, origin_country, transport_mode, vessel_or_flight, "
             "port_of_loading, port_of_discharge, invoice_number, invoice_date, remarks, "
             "declaration_place, submitted_at, waiting_since, hs_codes, total_fob, currency, "
             "version, change_seq, updated_at) SELECT 'X-1', 'non_preferential', %s, "
             "office_id, exporter_id, applicant_id, form_code, consignee_name, "
             "consignee_address, consignee_country, destination_country, origin_country, "
             "transport_mode, '', port_of_loading, port_of_discharge, invoice_number, "
             "invoice_date, '', '', now(), now(), '', 0, 'USD', 1, 0, now() FROM applications "
             "WHERE id = %s", ("approved", mine)),
            # its exporter's submitted application: no data change, no status change
            ("UPDATE applications SET consignee_name = 'Changed' WHERE id = %s", (mine,)),
            ("UPDATE applications SET status = 'approved' WHERE id = %s", (mine,)),
            # a returned one: only to resubmitted, version + 1, nothing fixed changes
            ("UPDATE applications SET status = 'resubmitted', version = version + 1, "
             "office_id = office_id %% 3 + 1 WHERE id = %s", (returned,)),
            ("UPDATE applications SET status = 'approved', version = version + 1 "
             "WHERE id = %s", (returned,)),
            # goods lines of an application an officer has taken up; deleting them from
            # one that is not returned
            ("INSERT INTO goods_lines (application_id, item_no, description, hs_code, "
             "quantity, unit, gross_weight_kg, package_count, package_kind, marks, fob_value) "
             "SELECT %s, 99, 'x', '520512', 1, 'KGS', 1, 1, 'box', '', 1", (taken_up,)),
            ("INSERT INTO supporting_documents (application_id, kind, file_name, media_type, "
             "size_bytes, sha256, uploaded_at) VALUES (%s, 'other', 'x.pdf', "
             "'application/pdf', 1, 'x', now())", (taken_up,)),
            ("DELETE FROM goods_lines WHERE application_id = %s", (mine,)),
            ("INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, "
             "entity_id, note) VALUES (now(), NULL, 'x', 'application.approve', "
             "'application', %s, '')", (mine,)),
            ("INSERT INTO api_keys (prefix, key_sha256, exporter_id, office_id, label, "
             "created_by_id, created_at) VALUES ('deadbeef', 'x', %s, 1, '', 1, now())",
             (other.id,)),
            ("UPDATE api_keys SET revoked_at = NULL WHERE revoked_at IS NOT NULL", ()),
            ("UPDATE api_keys SET exporter_id = %s", (other.id,)),
            ("DELETE FROM idempotency_records", ()),
            ("DELETE FROM applications WHERE id = %s", (mine,)),
        ]
        for sql, params in steps:
            _serving(conn, issued.row.prefix)
            _changes_nothing(conn, sql, *params)
        # a document of another exporter's application: not even visible (policy refusal)
        _serving(conn, issued.row.prefix)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("INSERT INTO supporting_documents (application_id, kind, file_name, "
                         "media_type, size_bytes, sha256, uploaded_at) VALUES "
                         "(%s, 'other', 'x.pdf', 'application/pdf', 1, 'x', now())", (theirs,))
        conn.rollback()
        assert caught.value.sqlstate in (DENIED, "23503")
        del their_status
    assert snapshot(owner) == before


def test_officers_still_cannot_resubmit_or_file(pg_hub: Any, api: Any, owner: Engine,
                                                facts: Any, issued: Any,
                                                tmp_path: Path) -> None:
    central = pg_hub.extras["central"]
    officer, _ = officers(owner, facts.office_code)
    returned = returned_application(pg_hub, api, owner, facts, issued.key, tmp_path)
    role = str(central.scalar("SELECT l.role_name FROM db_logins l JOIN users u "
                              "ON u.id = l.user_id WHERE u.email = :e", e=officer))
    before = snapshot(owner)
    with psycopg.connect(host="127.0.0.1", port=central.server.port, user=role,
                         dbname=central.name) as conn:
        conn.execute("SELECT set_config('od.intake_key', %s, true)", ("whatever",))
        _refused(conn, "UPDATE applications SET status = 'resubmitted', version = version + 1 "
                 "WHERE id = %s", returned)
        _refused(conn, "SELECT * FROM api_keys")
        _refused(conn, "SELECT * FROM idempotency_records")
        _refused(conn, "SELECT od_intake_exporter_id()")
        _refused(conn, "UPDATE applications SET consignee_name = 'Changed', status = "
                 "'resubmitted', version = version + 1 WHERE id = %s", returned)
        _refused(conn, "INSERT INTO goods_lines (application_id, item_no, description, "
                 "hs_code, quantity, unit, gross_weight_kg, package_count, package_kind, marks, "
                 "fob_value) SELECT %s, 99, 'x', '520512', 1, 'KGS', 1, 1, 'box', '', 1",
                 returned)
    assert snapshot(owner) == before


def test_a_retry_racing_the_first_request_files_once(pg_hub: Any, serve: Any, owner: Engine,
                                                     facts: Any, issued: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server = serve(pg_hub)
    before = pg_hub.extras["central"].scalar("SELECT count(*) FROM applications")

    def send(_i: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, verify=_tls(server), timeout=30) as client:
            return client.post("/api/v1/applications", json=filing("preferential", facts),
                               headers={**auth(issued.key), "Idempotency-Key": "race-1"})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["number"] for a in answers}) == 1
    assert pg_hub.extras["central"].scalar("SELECT count(*) FROM applications") == before + 1
