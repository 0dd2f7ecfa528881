"""The intake API on the seeded demo store (SQLite) through the test client: each kind
filed and seen by the right office's officer, status, resubmission after a query,
documents, idempotency, and every hostile request refused with nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.hub.conftest import hub_settings
from tests.hub.intake_support import (
    JPEG,
    KINDS,
    PDF,
    PNG,
    auth,
    days_ago,
    exporter_facts,
    filing,
    goods_line,
    issue_key,
    officers,
    snapshot,
)


@pytest.fixture
def facts(demo_engine: Engine) -> Any:
    return exporter_facts(demo_engine)


@pytest.fixture
def key(demo_engine: Engine, facts: Any) -> str:
    return str(issue_key(demo_engine, facts.iec, label="ERP").key)


def officer_queue(engine: Engine, tmp_path: Path, email: str) -> dict[str, tuple[int, str]]:
    """Number -> (id, status) of each application in an officer's queue (embedded desk)."""
    from app.config import Config
    from app.services.desk import Desk
    from app.services.queue_rows import Col

    desk = Desk(engine, Config(data_dir=tmp_path))
    desk.sign_in(email)
    return {row[Col.NUMBER]: (row[Col.ID], str(row[Col.STATUS])) for row in desk.queue(None)}


# --- the happy paths --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_filed_into_the_office_queue(kind: str, client: Any, demo_engine: Engine,
                                                  facts: Any, key: str,
                                                  tmp_path: Path) -> None:
    response = client.post("/api/v1/applications", json=filing(kind, facts), headers=auth(key))
    assert response.status_code == 201, response.text
    body = response.json()
    number = body["number"]
    assert body["status"] == "submitted" and body["kind"] == kind
    assert body["office"]["code"] == facts.office_code and body["iec"] == facts.iec
    assert response.headers["location"] == f"/api/v1/applications/{number}"
    assert body["goods_lines"] == 2

    mapped, other = officers(demo_engine, facts.office_code)
    queue = officer_queue(demo_engine, tmp_path, mapped)
    assert number in queue and queue[number][1] == "submitted"
    assert number not in officer_queue(demo_engine, tmp_path, other)

    with Session(demo_engine) as session:
        from app.models import Application

        app = session.scalars(select(Application).where(Application.number == number)).one()
        assert [g.item_no for g in app.goods] == [1, 2]
        if kind != "preferential":
            assert app.goods[1].hs_code == "520511"  # given as 5205.11
        assert app.applicant.email == facts.applicant_email
        assert app.version == 1 and app.claimed_by_id is None
        events = session.execute(text(
            "SELECT action, actor_id, actor_label FROM audit_events WHERE entity_type = "
            "'application' AND entity_id = :i"), {"i": app.id}).all()
        assert [(e.action, e.actor_id) for e in events] == [("application.submit", None)]
        assert f"API key odk_{key.split('_')[1]}" in events[0].actor_label
        if kind == "preferential":
            assert app.agreement_code == "IUCEPA" and app.form_code == "IUCEPA"
            assert [g.origin_criterion for g in app.goods] == ["WO", "RVC 46%"]
            assert app.cost_sheet is not None and len(app.cost_sheet.materials) == 2
        elif kind == "in_lieu":
            assert app.original_certificate_number == facts.original_certificate
            assert app.original_certificate_date is not None
        elif kind == "back_to_back":
            assert app.origin_country == "CN" and app.foreign_certificate_number
        else:
            assert app.origin_country == "IN" and app.form_code == "NONPREF"

    status = client.get(f"/api/v1/applications/{number}", headers={"X-API-Key": key})
    assert status.status_code == 200 and status.json() == body


def test_query_answered_by_resubmission_goes_back_to_the_queue(
        client: Any, demo_engine: Engine, facts: Any, key: str, tmp_path: Path) -> None:
    from app.config import Config
    from app.services.desk import Desk

    number = client.post("/api/v1/applications", json=filing("preferential", facts),
                         headers=auth(key)).json()["number"]
    # before any query, a resubmission is refused and changes nothing
    before = snapshot(demo_engine)
    early = client.put(f"/api/v1/applications/{number}/resubmission",
                       json=filing("preferential", facts), headers=auth(key))
    assert early.status_code == 409 and "returned with a query" in early.json()["error"]
    assert snapshot(demo_engine) == before

    officer, _ = officers(demo_engine, facts.office_code)
    desk = Desk(demo_engine, Config(data_dir=tmp_path))
    desk.sign_in(officer)
    app_id = officer_queue(demo_engine, tmp_path, officer)[number][0]
    desk.act(app_id, "claim")
    desk.act(app_id, "return", text="Please give the RVC of item 2 from the cost sheet.")
    returned = client.get(f"/api/v1/applications/{number}", headers=auth(key)).json()
    assert returned["status"] == "returned"
    assert returned["query"] == "Please give the RVC of item 2 from the cost sheet."

    corrected = filing("preferential", facts, invoice_number="EXP/26-27/0042-A")
    corrected["goods"] = corrected["goods"][1:]  # one line now
    answer = client.put(f"/api/v1/applications/{number}/resubmission", json=corrected,
                        headers={**auth(key), "Idempotency-Key": "resubmit-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "resubmitted" and answer.json()["goods_lines"] == 1
    queue = officer_queue(demo_engine, tmp_path, officer)
    assert queue[number][1] == "resubmitted"
    with Session(demo_engine) as session:
        row = session.execute(text(
            "SELECT invoice_number, version, query_text, total_fob FROM applications "
            "WHERE number = :n"), {"n": number}).one()
        assert row.invoice_number == "EXP/26-27/0042-A" and row.version == 4
        assert row.query_text.startswith("Please give the RVC")
        actions = session.execute(text(
            "SELECT action FROM audit_events WHERE entity_type = 'application' AND entity_id "
            "= :i ORDER BY id"), {"i": app_id}).scalars().all()
    assert actions == ["application.submit", "application.claim", "application.return",
                       "application.resubmit"]
    # the retried resubmission is answered again and changes nothing
    before = snapshot(demo_engine)
    again = client.put(f"/api/v1/applications/{number}/resubmission", json=corrected,
                       headers={**auth(key), "Idempotency-Key": "resubmit-1"})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == answer.json() and snapshot(demo_engine) == before
    # the officer can take it up again
    desk.act(app_id, "claim")


def test_documents_pdf_jpeg_png(client: Any, demo_engine: Engine, facts: Any, key: str) -> None:
    number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                         headers=auth(key)).json()["number"]
    for name, content, kind, media in (("invoice.PDF", PDF, "invoice", "application/pdf"),
                                       ("packing list.jpeg", JPEG, "packing_list",
                                        "image/jpeg"),
                                       ("bl-scan.png", PNG, "bill_of_lading", "image/png")):
        response = client.post(f"/api/v1/applications/{number}/documents", headers=auth(key),
                               files={"file": (name, content, "application/octet-stream")},
                               data={"kind": kind})
        assert response.status_code == 201, response.text
        assert response.json()["media_type"] == media and response.json()["file_name"] == name
    status = client.get(f"/api/v1/applications/{number}", headers=auth(key)).json()
    assert [d["kind"] for d in status["documents"]] == ["invoice", "packing_list",
                                                       "bill_of_lading"]
    with demo_engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT d.content FROM supporting_documents d JOIN applications a "
            "ON a.id = d.application_id WHERE a.number = :n ORDER BY d.id"),
            {"n": number}).scalars().all()
    assert stored == [PDF, JPEG, PNG]


def test_filing_is_idempotent(client: Any, demo_engine: Engine, facts: Any, key: str) -> None:
    headers = {**auth(key), "Idempotency-Key": "8a7f1c52-0c1e-4d7e-9a35-2f7d1c9a0b11"}
    first = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                        headers=headers)
    assert first.status_code == 201
    before = snapshot(demo_engine)
    # the same request again (keys in another order): the same answer, nothing filed twice
    reordered = dict(reversed(list(filing("non_preferential", facts).items())))
    second = client.post("/api/v1/applications", json=reordered, headers=headers)
    assert second.status_code == 201 and second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert snapshot(demo_engine) == before


def test_domain_errors_name_each_field_and_what_it_expects(client: Any, demo_engine: Engine,
                                                           facts: Any, key: str) -> None:
    before = snapshot(demo_engine)
    bad = filing("preferential", facts, destination_country="US", applicant_email="x@y.in",
                 invoice_date=days_ago(-3))
    bad["goods"][0] = goods_line(hs_code="7701", unit="KG", quantity="-1", fob_value="1.234",
                                 origin_criterion="RVC 12%")
    bad["cost_sheet"]["materials"][0]["origin_country"] = None
    bad["cost_sheet"]["materials"][0]["originating"] = True
    response = client.post("/api/v1/applications", json=bad, headers=auth(key))
    assert response.status_code == 422
    problems = {p["field"]: p["problem"] for p in response.json()["problems"]}
    assert response.json()["kind"] == "IntakeInvalid"
    assert set(problems) == {
        "applicant_email", "invoice_date", "destination_country", "goods.0.hs_code",
        "goods.0.quantity", "goods.0.unit", "goods.0.fob_value", "goods.0.origin_criterion",
        "cost_sheet.materials.0.origin_country"}
    assert "6 or 8 digits" in problems["goods.0.hs_code"]
    assert "partner country of India-UAE" in problems["destination_country"] or \
        "partner country" in problems["destination_country"]
    assert "from 40% to 100%" in problems["goods.0.origin_criterion"]
    assert "not an applicant user of IEC" in problems["applicant_email"]
    # the wrong kind's fields, and another exporter's certificate for in-lieu
    other = exporter_facts(demo_engine, not_id=facts.id)
    mixed = filing("non_preferential", facts, agreement_code="AIFTA",
                   foreign_certificate_number="X1")
    mixed["goods"][0]["origin_criterion"] = "WO"
    problems = {p["field"] for p in client.post("/api/v1/applications", json=mixed,
                                                headers=auth(key)).json()["problems"]}
    assert problems == {"agreement_code", "foreign_certificate_number",
                        "goods.0.origin_criterion"}
    stolen = filing("in_lieu", facts, original_certificate_number=other.original_certificate)
    response = client.post("/api/v1/applications", json=stolen, headers=auth(key))
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "original_certificate_number"
    # the schema itself: missing and unknown fields, wrong types (FastAPI's 422, same shape)
    response = client.post("/api/v1/applications", json={"kind": "preferential", "goods": [],
                                                         "surprise": 1}, headers=auth(key))
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert {"surprise", "consignee_name", "goods", "invoice_date"} <= fields
    assert snapshot(demo_engine) == before


def test_openapi_documents_the_schema(client: Any) -> None:
    document = client.get("/openapi.json").json()
    schema = document["components"]["schemas"]["ApplicationIn"]
    assert "goods" in schema["required"] and schema["examples"]
    line = document["components"]["schemas"]["GoodsLineIn"]["properties"]["hs_code"]
    assert "6 digits" in line["description"] and line["examples"] == ["10063020"]
    post = document["paths"]["/api/v1/applications"]["post"]
    assert {"201", "401", "422", "429"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "multipart/form-data" in document["paths"][
        "/api/v1/applications/{number}/documents"]["post"]["requestBody"]["content"]


# --- hostile requests: each refused, nothing changed ----------------------------------------

def refused(client: Any, engine: Engine, status: int, method: str, url: str,
            **kwargs: Any) -> dict[str, Any]:
    before = snapshot(engine)
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    assert snapshot(engine) == before
    return response.json()  # type: ignore[no-any-return]


def test_no_key_malformed_or_unknown_key(client: Any, demo_engine: Engine, facts: Any,
                                         key: str) -> None:
    body = filing("non_preferential", facts)
    answer = refused(client, demo_engine, 401, "POST", "/api/v1/applications", json=body)
    assert answer["kind"] == "ApiKeyRefused" and "no API key" in answer["error"]
    refused(client, demo_engine, 401, "GET", "/api/v1/applications/APP-2026-000001")
    refused(client, demo_engine, 401, "POST", "/api/v1/applications", json=body,
            headers={"Authorization": "Basic " + key})
    refused(client, demo_engine, 401, "POST", "/api/v1/applications", json=body,
            headers=auth("odk_nothex!_" + "a" * 43))
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    answer = refused(client, demo_engine, 401, "POST", "/api/v1/applications", json=body,
                     headers=auth(forged))
    assert key not in str(answer) and forged not in str(answer)


def test_a_revoked_key(client: Any, demo_engine: Engine, facts: Any) -> None:
    from app.services.admin import AgencyAdmin
    from tests.hub.intake_support import ADMIN

    issued = issue_key(demo_engine, facts.iec)
    number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                         headers=auth(issued.key)).json()["number"]
    AgencyAdmin.for_email(demo_engine, ADMIN).api_keys().revoke(issued.row.prefix)
    answer = refused(client, demo_engine, 401, "POST", "/api/v1/applications",
                     json=filing("non_preferential", facts), headers=auth(issued.key))
    assert "revoked" in answer["error"]
    refused(client, demo_engine, 401, "GET", f"/api/v1/applications/{number}",
            headers=auth(issued.key))
    refused(client, demo_engine, 401, "POST", f"/api/v1/applications/{number}/documents",
            headers=auth(issued.key), files={"file": ("a.pdf", PDF, "application/pdf")})


def test_another_exporters_key_sees_and_changes_nothing(client: Any, demo_engine: Engine,
                                                       facts: Any, key: str) -> None:
    other = exporter_facts(demo_engine, not_id=facts.id)
    other_key = issue_key(demo_engine, other.iec).key
    mine = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                       headers=auth(key)).json()["number"]
    with demo_engine.connect() as connection:  # one of mine the office returned
        returned = connection.execute(text(
            "SELECT number FROM applications WHERE exporter_id = :e AND status = 'returned' "
            "ORDER BY id LIMIT 1"), {"e": facts.id}).scalar()
    targets = [mine] + ([returned] if returned else [])
    for number in targets:
        answer = refused(client, demo_engine, 404, "GET", f"/api/v1/applications/{number}",
                         headers=auth(other_key))
        assert answer["kind"] == "IntakeNotFound" and other.iec in answer["error"]
        refused(client, demo_engine, 404, "PUT", f"/api/v1/applications/{number}/resubmission",
                json=filing("non_preferential", other), headers=auth(other_key))
        refused(client, demo_engine, 404, "POST", f"/api/v1/applications/{number}/documents",
                headers=auth(other_key), files={"file": ("a.pdf", PDF, "application/pdf")})
    # and it cannot file in my name: my applicant is not one of its users
    answer = refused(client, demo_engine, 422, "POST", "/api/v1/applications",
                     json=filing("non_preferential", facts), headers=auth(other_key))
    assert answer["problems"][0]["field"] == "applicant_email"


def test_an_oversized_body(demo_engine: Engine, facts: Any, key: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app, make_hub

    hub = make_hub(hub_settings(tmp_path, limits={"max_body_bytes": 64 * 1024}), demo_engine)
    big = filing("non_preferential", facts, remarks="x" * 2000)
    big["goods"] = [goods_line(description="y" * 2000) for _ in range(40)]  # ~ 100 KB
    with TestClient(create_app(hub), base_url="https://testserver") as client:
        answer = refused(client, demo_engine, 413, "POST", "/api/v1/applications", json=big,
                         headers=auth(key))
        assert answer["kind"] == "TooLarge"

        def chunks() -> Any:  # no Content-Length: counted as it streams
            for _ in range(100):
                yield b"x" * 1024

        refused(client, demo_engine, 413, "POST", "/api/v1/applications", content=chunks(),
                headers={**auth(key), "Content-Type": "application/json"})
        number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                             headers=auth(key)).json()["number"]
        refused(client, demo_engine, 413, "POST", f"/api/v1/applications/{number}/documents",
                headers=auth(key), files={"file": ("big.pdf", PDF + b"0" * 100_000,
                                                   "application/pdf")})


def test_a_document_past_the_document_limit(client: Any, demo_engine: Engine, facts: Any,
                                            key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.hub.intake
    import app.services.intake

    number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                         headers=auth(key)).json()["number"]
    monkeypatch.setattr(app.hub.intake, "MAX_DOCUMENT_BYTES", 1000)
    monkeypatch.setattr(app.services.intake, "MAX_DOCUMENT_BYTES", 1000)
    refused(client, demo_engine, 413, "POST", f"/api/v1/applications/{number}/documents",
            headers=auth(key), files={"file": ("big.pdf", PDF + b"0" * 2000,
                                               "application/pdf")})


def test_malformed_json(client: Any, demo_engine: Engine, key: str) -> None:
    for raw in (b'{"kind": "preferential",', b"\xff\xfe not json", b"[1, 2]", b""):
        answer = refused(client, demo_engine, 422, "POST", "/api/v1/applications",
                         content=raw, headers={**auth(key),
                                               "Content-Type": "application/json"})
        assert answer["kind"] == "ValidationError" and answer["problems"]


@pytest.mark.parametrize(("name", "content", "status", "says"), [
    ("invoice.pdf", PNG, 422, "the name says PDF but the content is PNG"),
    ("photo.png", PDF, 422, "the name says PNG but the content is PDF"),
    ("scan.jpg", PNG, 422, "the name says JPEG but the content is PNG"),
    ("invoice.pdf", b"MZ\x90\x00 an executable", 415, "not a PDF, JPEG or PNG"),
    ("invoice.exe", PDF, 415, "ending in .pdf"),
    ("invoice.pdf", b"", 422, "empty"),
])
def test_a_document_that_is_not_what_its_name_says(name: str, content: bytes, status: int,
                                                   says: str, client: Any,
                                                   demo_engine: Engine, facts: Any,
                                                   key: str) -> None:
    number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                         headers=auth(key)).json()["number"]
    answer = refused(client, demo_engine, status, "POST",
                     f"/api/v1/applications/{number}/documents", headers=auth(key),
                     files={"file": (name, content, "application/pdf")},
                     data={"kind": "invoice"})
    assert says in answer["error"]


@pytest.mark.parametrize("name", [
    "../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "docs/invoice.pdf",
    "/etc/invoice.pdf", "invoice..pdf", "in\x1bvoice.pdf", "in\u202evoice.pdf",
    ".hidden.pdf", "x" * 201 + ".pdf",
])
def test_a_path_traversal_document_name(name: str, client: Any, demo_engine: Engine,
                                        facts: Any, key: str) -> None:
    number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                         headers=auth(key)).json()["number"]
    answer = refused(client, demo_engine, 422, "POST",
                     f"/api/v1/applications/{number}/documents", headers=auth(key),
                     files={"file": (name, PDF, "application/pdf")})
    assert answer["problems"][0]["field"] == "file"


def test_a_replayed_idempotency_key_with_another_body(client: Any, demo_engine: Engine,
                                                      facts: Any, key: str) -> None:
    headers = {**auth(key), "Idempotency-Key": "order-4711"}
    first = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                        headers=headers)
    assert first.status_code == 201
    answer = refused(client, demo_engine, 422, "POST", "/api/v1/applications",
                     json=filing("non_preferential", facts, invoice_number="OTHER/1"),
                     headers=headers)
    assert answer["kind"] == "IdempotencyKeyReused"
    # another route with the same key is another request too
    refused(client, demo_engine, 422, "POST",
            f"/api/v1/applications/{first.json()['number']}/documents", headers=headers,
            files={"file": ("a.pdf", PDF, "application/pdf")})
    refused(client, demo_engine, 422, "POST", "/api/v1/applications",
            json=filing("non_preferential", facts),
            headers={**auth(key), "Idempotency-Key": "has spaces"})


def test_a_flood_past_the_rate_limit(demo_engine: Engine, facts: Any, key: str,
                                     tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app, make_hub

    hub = make_hub(hub_settings(tmp_path, limits={"api_per_minute": 5}), demo_engine)
    with TestClient(create_app(hub), base_url="https://testserver") as client:
        number = client.post("/api/v1/applications", json=filing("non_preferential", facts),
                             headers=auth(key)).json()["number"]
        for _ in range(4):
            assert client.get(f"/api/v1/applications/{number}",
                              headers=auth(key)).status_code == 200
        before = snapshot(demo_engine)
        flood = [client.post("/api/v1/applications", json=filing("non_preferential", facts),
                             headers=auth(key)) for _ in range(5)]
        assert {r.status_code for r in flood} == {429}
        assert int(flood[0].headers["retry-after"]) >= 1
        assert flood[0].json()["kind"] == "TooManyRequests"
        # without a key the same address is counted too (before any key is looked at)
        assert client.get(f"/api/v1/applications/{number}").status_code == 429
        assert snapshot(demo_engine) == before


def test_the_rate_is_counted_per_key_across_addresses(demo_engine: Engine, facts: Any,
                                                      key: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app, make_hub

    hub = make_hub(hub_settings(tmp_path, limits={"api_per_minute": 3}), demo_engine)
    other_key = issue_key(demo_engine, exporter_facts(demo_engine, not_id=facts.id).iec).key
    app = create_app(hub)
    url = "/api/v1/applications/APP-1999-999999"
    with TestClient(app, base_url="https://testserver", client=("203.0.113.7", 1)) as first, \
            TestClient(app, base_url="https://testserver", client=("198.51.100.9", 1)) as second:
        assert [first.get(url, headers=auth(key)).status_code for _ in range(2)] == [404, 404]
        assert second.get(url, headers=auth(key)).status_code == 404  # the key's third
        refused = second.get(url, headers=auth(key))
        assert refused.status_code == 429  # the key's budget, not the address's
        assert second.get(url, headers=auth(other_key)).status_code == 404


def test_a_retry_that_loses_the_race_gets_the_recorded_answer(
        client: Any, demo_engine: Engine, facts: Any, key: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.services.intake import Intake

    headers = {**auth(key), "Idempotency-Key": "race-2"}
    first = client.post("/api/v1/applications", json=filing("back_to_back", facts),
                        headers=headers)
    recorded = Intake._recorded
    looked: list[str] = []

    def not_yet(self: Any, holder: Any, idempotency_key: str, digest: str) -> Any:
        looked.append(idempotency_key)  # the first look comes before the other commit
        return None if len(looked) == 1 else recorded(self, holder, idempotency_key, digest)

    monkeypatch.setattr(Intake, "_recorded", not_yet)
    before = snapshot(demo_engine)
    second = client.post("/api/v1/applications", json=filing("back_to_back", facts),
                         headers=headers)
    assert second.status_code == 201 and second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true" and len(looked) == 2
    assert snapshot(demo_engine) == before
