"""Hostile requests to the desks' API, each refused with the right status and nothing
changed: another agency's application, a forged issue time, an oversized body, malformed
JSON, out-of-range values; on the demo store and through the service's role on
PostgreSQL (where row-level security is the second wall)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.hub.conftest import PASSWORD, set_password


def _first(engine: Any, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).first()


def _token(client: Any, email: str) -> dict[str, str]:
    answer = client.post("/desk/v1/sign-in", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _officer_and_foreign_application(engine: Any) -> tuple[str, Any]:
    officer = _first(engine, "SELECT u.email, u.agency_id FROM users u JOIN officer_offices m "
                     "ON m.user_id = u.id WHERE u.role = 'officer' AND u.status = 'active' "
                     "ORDER BY u.id LIMIT 1")
    foreign = _first(engine, "SELECT a.id, a.number, a.status, a.version FROM applications a "
                     "JOIN offices o ON o.id = a.office_id WHERE o.id NOT IN (SELECT office_id "
                     "FROM officer_offices m JOIN users u ON u.id = m.user_id WHERE "
                     "u.email = :e) AND a.status = 'approved' ORDER BY a.id LIMIT 1",
                     e=officer.email)
    assert foreign is not None
    return officer.email, foreign


def _snapshot(engine: Any) -> tuple[Any, ...]:
    return tuple(_first(engine, sql) for sql in (
        "SELECT count(*), coalesce(sum(version), 0) FROM applications",
        "SELECT count(*) FROM certificate_numbers",
        "SELECT count(*) FROM certificates",
        "SELECT count(*) FROM applied_operations",
        "SELECT count(*) FROM audit_events"))


def _hostile(client: Any, auth: dict[str, str], foreign: Any) -> None:
    # the application of an office the officer does not serve
    reserve = client.post("/desk/v1/reserve", headers=auth,
                          json={"application_id": foreign.id, "desk_session": "x"})
    assert reserve.status_code == 409, reserve.text
    claim = client.post("/desk/v1/push", headers=auth, json={"operations": [{
        "operation_id": "00000000-0000-4000-8000-000000000001", "application_id": foreign.id,
        "action": "claim", "text": None, "expected_version": foreign.version,
        "created_at": "2026-11-30T10:00:00+00:00"}]})
    assert claim.status_code == 200 and claim.json()["results"][0]["outcome"] == "rejected"
    pulled = client.post("/desk/v1/pull", headers=auth, json={"filter": {
        "office_ids": [], "cursors": {}, "force_ids": [foreign.id]}})
    assert pulled.status_code == 200
    apps = next(t for t in pulled.json()["tables"] if t["name"] == "applications")
    assert apps["rows"] == []
    states = client.post("/desk/v1/application-states", headers=auth,
                         json={"numbers": [foreign.number]})
    assert states.status_code == 200
    assert all(s["served"] is False for s in states.json()["states"])
    # malformed and oversized bodies, wrong types
    bad_json = client.post("/desk/v1/push", headers={**auth, "Content-Type":
                                                     "application/json"}, content=b"{oops")
    assert bad_json.status_code == 422 and "not valid JSON" in bad_json.json()["error"]
    wrong = client.post("/desk/v1/reserve", headers=auth,
                        json={"application_id": "1; DROP TABLE applications", "desk_session": 1})
    assert wrong.status_code == 422 and "application_id" in wrong.json()["error"]
    huge = client.post("/desk/v1/push", headers={**auth, "Content-Type": "application/json"},
                       content=b"[" + b"0," * (13 * 1024 * 1024) + b"0]")
    assert huge.status_code == 413
    status = client.get("/desk/v1/certificates/status", headers=auth,
                        params={"sha256": "not-hex"})
    assert status.status_code == 422


def test_hostile_desk_requests_on_the_demo_store(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    email, foreign = _officer_and_foreign_application(demo_engine)
    set_password(demo_engine, email)
    auth = _token(client, email)
    before = _snapshot(demo_engine)
    _hostile(client, auth, foreign)
    after = _snapshot(demo_engine)
    assert after[:3] == before[:3] and after[4] == before[4]
    assert after[3][0] == before[3][0] + 1  # the refused claim is recorded as refused


def test_hostile_desk_requests_through_the_services_role_on_postgresql(pg_hub) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    central = pg_hub.extras["central"]
    owner = central.owner_engine()
    email, foreign = _officer_and_foreign_application(owner)
    set_password(owner, email)
    with TestClient(create_app(pg_hub), base_url="https://testserver") as client:
        auth = _token(client, email)
        before = _snapshot(owner)
        _hostile(client, auth, foreign)
        after = _snapshot(owner)
    assert after[:3] == before[:3] and after[4] == before[4]


def test_an_oversized_chunked_body_is_refused_before_any_route_reads_it(client) -> None:  # type: ignore[no-untyped-def]
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(30):
            yield b" " * (1024 * 1024)

    answer = client.post("/desk/v1/sign-in", content=chunks(),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["kind"] == "TooLarge"
    small = client.post("/desk/v1/sign-in", content=iter([b'{"email": "a@b.c", ',
                                                          b'"password": "x"}']),
                        headers={"Content-Type": "application/json"})
    assert small.status_code == 401  # a small chunked body reaches the route whole


def test_only_an_administrator_keeps_an_extended_file_and_only_a_real_extension(
    client, demo_engine  # type: ignore[no-untyped-def]
) -> None:
    import base64

    email, _foreign = _officer_and_foreign_application(demo_engine)
    admin = _first(demo_engine, "SELECT u.email FROM users u JOIN users o ON "
                   "o.agency_id = u.agency_id WHERE u.role = 'administrator' AND "
                   "u.status = 'active' AND o.email = :e ORDER BY u.id", e=email).email
    row = _first(demo_engine, "SELECT c.number, c.pdf FROM certificates c JOIN offices f ON "
                 "f.id = c.office_id JOIN users u ON u.agency_id = f.agency_id WHERE "
                 "u.email = :e ORDER BY c.pdf IS NULL, c.id LIMIT 1", e=admin)
    for who in (email, admin):
        set_password(demo_engine, who)
    forged = (row.pdf or b"%PDF-1.7\n") + b"\n% not a document timestamp\n"
    body = {"number": row.number, "pdf": base64.b64encode(forged).decode()}
    as_officer = client.post("/desk/v1/certificates/extend", headers=_token(client, email),
                             json=body)
    assert as_officer.status_code == 403
    as_admin = client.post("/desk/v1/certificates/extend", headers=_token(client, admin),
                           json=body)
    assert as_admin.status_code == 409 and as_admin.json()["kind"] == "ExtensionRefused"
    assert _first(demo_engine, "SELECT pdf FROM certificates WHERE number = :n",
                  n=row.number).pdf == row.pdf


def test_the_stores_extend_function_admits_administrators_and_real_extensions_only(
    central  # type: ignore[no-untyped-def]
) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError

    owner = central.owner_engine()
    with owner.begin() as connection:  # a stored file to extend
        row = connection.execute(text(
            "SELECT c.number, a.agency_id FROM certificates c JOIN offices a ON "
            "a.id = c.office_id ORDER BY c.id LIMIT 1")).one()
        connection.execute(text("UPDATE certificates SET pdf = :p WHERE number = :n"),
                           {"p": b"%PDF-1.7 issued", "n": row.number})
    admin = _first(owner, "SELECT email FROM users WHERE role = 'administrator' AND "
                   "status = 'active' AND agency_id = :a ORDER BY id", a=row.agency_id).email
    officer = _first(owner, "SELECT email FROM users WHERE role = 'officer' AND "
                     "status = 'active' AND agency_id = :a ORDER BY id", a=row.agency_id).email
    call = text("SELECT od_extend_certificate(:n, :p)")
    with central.engine_for(officer).connect() as connection, pytest.raises(DBAPIError):
        connection.execute(call, {"n": row.number, "p": b"%PDF-1.7 issued /DocTimeStamp"})
    for forged, says in ((b"%PDF-1.6 rewritten /DocTimeStamp", "does not"),
                         (b"%PDF-1.7 issued and more", "no document timestamp")):
        with central.engine_for(admin).connect() as connection, \
                pytest.raises(DBAPIError, match=says):
            connection.execute(call, {"n": row.number, "p": forged})
    with central.engine_for(admin).begin() as connection:
        connection.execute(call, {"n": row.number,
                                  "p": b"%PDF-1.7 issued\n/Type /DocTimeStamp"})
    stored = _first(owner, "SELECT pdf FROM certificates WHERE number = :n", n=row.number)
    assert bytes(stored.pdf).endswith(b"/DocTimeStamp")
