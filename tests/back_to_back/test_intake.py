"""The intake API and back-to-back filings: the foreign certificate recorded with the first
filing and referred to afterwards, different data for a recorded certificate refused in one
line, each line drawing from an item in its unit, never preferential; on the demo store and
on PostgreSQL (the service as itself, held to its key's exporter by the store)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from tests.hub.intake_support import auth, exporter_facts, filing, goods_line, issue_key, snapshot

FOREIGN = "CN2026418812345"  # intake_support's back-to-back filing


@pytest.fixture
def facts(demo_engine: Engine) -> Any:
    return exporter_facts(demo_engine)


@pytest.fixture
def key(demo_engine: Engine, facts: Any) -> str:
    return str(issue_key(demo_engine, facts.iec, label="ERP").key)


def _recorded(engine: Engine, number: str = FOREIGN) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT f.id, i.item_no, i.description, i.quantity, i.unit FROM foreign_certificates f "
            "JOIN foreign_certificate_goods i ON i.foreign_certificate_id = f.id "
            "WHERE f.number = :n ORDER BY i.item_no"), {"n": number})]


def _draws(engine: Engine, number: str) -> list[tuple[int, int | None]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT g.item_no, i.item_no FROM goods_lines g JOIN applications a "
            "ON a.id = g.application_id LEFT JOIN foreign_certificate_goods i "
            "ON i.id = g.foreign_goods_id WHERE a.number = :n ORDER BY g.item_no"), {"n": number})]


def _once_then_referred(client: Any, engine: Engine, facts: Any, key: str) -> None:
    first = client.post("/api/v1/applications", json=filing("back_to_back", facts),
                        headers=auth(key))
    assert first.status_code == 201, first.text
    recorded = _recorded(engine)
    assert [r[1:] for r in recorded] == [
        (1, "Cotton yarn, combed, 40s count, on cones", recorded[0][3], "KGS"),
        (2, "Cotton yarn, carded, 20s count", recorded[1][3], "KGS")]
    assert [Decimal(str(r[3])) for r in recorded] == [Decimal(50000), Decimal(30000)]
    assert _draws(engine, first.json()["number"]) == [(1, 1), (2, 2)]
    # the second filing on the same certificate refers to it: no goods, one item per line
    second_body = filing("back_to_back", facts)
    del second_body["foreign_certificate_goods"]
    second_body["goods"] = [goods_line(quantity="8000", foreign_item=2,
                                       description="Cotton yarn, carded, 20s count",
                                       hs_code="520511")]
    second = client.post("/api/v1/applications", json=second_body, headers=auth(key))
    assert second.status_code == 201, second.text
    assert _recorded(engine) == recorded  # recorded once
    assert _draws(engine, second.json()["number"]) == [(1, 2)]
    # the same data again is fine too
    third = client.post("/api/v1/applications", json=filing("back_to_back", facts),
                        headers=auth(key))
    assert third.status_code == 201 and _recorded(engine) == recorded
    # different data for the recorded number: refused in one line, nothing changed
    before = snapshot(engine)
    changed = filing("back_to_back", facts)
    changed["foreign_certificate_goods"][0]["quantity"] = "90000"
    refused = client.post("/api/v1/applications", json=changed, headers=auth(key))
    assert refused.status_code == 422
    [problem] = refused.json()["problems"]
    assert problem == {"field": "foreign_certificate_number", "problem": (
        f"foreign certificate {FOREIGN} of CN is recorded for IEC {facts.iec} with another "
        "goods; expected the recorded data (or leave foreign_certificate_goods out to draw on "
        "it)")}
    other_issuer = filing("back_to_back", facts, foreign_certificate_issuer="Someone else")
    answer = client.post("/api/v1/applications", json=other_issuer, headers=auth(key))
    assert answer.status_code == 422 and "with another issuer" in answer.text
    assert snapshot(engine) == before


def test_the_foreign_certificate_is_recorded_once_then_referred_to(
        client: Any, demo_engine: Engine, facts: Any, key: str) -> None:
    _once_then_referred(client, demo_engine, facts, key)


@pytest.mark.parametrize(("change", "field", "says"), [
    (lambda b: b.pop("foreign_certificate_goods"), "foreign_certificate_goods",
     f"required: foreign certificate {FOREIGN} of CN is not recorded"),
    (lambda b: b["goods"][0].update(unit="MTS"), "goods.0.unit",
     f"expected KGS, the unit of item 1 of foreign certificate {FOREIGN}; got MTS"),
    (lambda b: b["goods"][0].pop("foreign_item"), "goods.0.foreign_item",
     "required: expected the number of the foreign certificate's goods item this line "
     "draws from, 1 to 2"),
    (lambda b: b["goods"][0].update(foreign_item=3), "goods.0.foreign_item",
     "expected the number of the foreign certificate's goods item this line draws from, "
     "1 to 2"),
    (lambda b: b["goods"][0].update(quantity="60000"), "goods",
     f"the lines draw 60000 KGS of item 1 of foreign certificate {FOREIGN}, which certifies "
     "only 50000"),
    (lambda b: b.update(agreement_code="IUCEPA"), "agreement_code",
     "expected nothing: only a preferential application names a trade agreement"),
    (lambda b: b["foreign_certificate_goods"][0].update(unit="XYZ"),
     "foreign_certificate_goods.0.unit", "expected a customs unit quantity code"),
])
def test_a_bad_back_to_back_filing_is_refused_naming_the_field(
        client: Any, demo_engine: Engine, facts: Any, key: str, change: Any, field: str,
        says: str) -> None:
    body = filing("back_to_back", facts)
    change(body)
    before = snapshot(demo_engine)
    answer = client.post("/api/v1/applications", json=body, headers=auth(key))
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert any(p["field"] == field and p["problem"].startswith(says) for p in problems), problems
    assert snapshot(demo_engine) == before and _recorded(demo_engine) == []


def test_other_kinds_draw_from_no_foreign_certificate(client: Any, demo_engine: Engine,
                                                      facts: Any, key: str) -> None:
    body = filing("non_preferential", facts)
    body["foreign_certificate_goods"] = [{"description": "x", "hs_code": "520512",
                                          "quantity": "1", "unit": "KGS"}]
    body["goods"][0]["foreign_item"] = 1
    answer = client.post("/api/v1/applications", json=body, headers=auth(key))
    assert answer.status_code == 422
    fields = {p["field"] for p in answer.json()["problems"]}
    assert fields == {"foreign_certificate_goods", "goods.0.foreign_item"}


# --- PostgreSQL: the service as itself ---------------------------------------------------------

@pytest.fixture
def pg_client(pg_hub: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    with TestClient(create_app(pg_hub), base_url="https://testserver") as test_client:
        yield test_client


def test_on_postgresql_the_service_records_once_and_is_held_to_its_exporter(
        pg_hub: Any, pg_client: Any) -> None:
    central = pg_hub.extras["central"]
    owner = central.owner_engine()
    facts = exporter_facts(owner)
    issued = issue_key(owner, facts.iec, label="ERP")
    _once_then_referred(pg_client, owner, facts, str(issued.key))
    [(certificate_id, *_rest), *_] = _recorded(owner)
    before = snapshot(owner)
    with psycopg.connect(host="127.0.0.1", port=central.server.port, user="od_hub_service",
                         dbname=central.name) as conn:
        conn.execute("SELECT set_config('od.intake_key', %s, true)", (issued.row.prefix,))
        # goods only with their certificate, in the transaction that records it
        with pytest.raises(psycopg.Error) as late:
            conn.execute("INSERT INTO foreign_certificate_goods (foreign_certificate_id, "
                         "item_no, description, hs_code, quantity, unit) VALUES "
                         "(%s, 3, 'more yarn', '520512', 99999, 'KGS')", (certificate_id,))
        assert late.value.sqlstate == "42501"
        conn.rollback()
        conn.execute("SELECT set_config('od.intake_key', %s, true)", (issued.row.prefix,))
        with pytest.raises(psycopg.Error) as changed:
            conn.execute("UPDATE foreign_certificate_goods SET quantity = 1")
        assert changed.value.sqlstate == "42501"
        conn.rollback()
        conn.execute("SELECT set_config('od.intake_key', %s, true)", (issued.row.prefix,))
        with pytest.raises(psycopg.Error) as theirs:  # another exporter's certificate
            conn.execute("INSERT INTO foreign_certificates (exporter_id, number, country, "
                         "issuer, issued_on, recorded_at) VALUES (%s, 'X-1', 'CN', 'x', "
                         "current_date, now())", (facts.id + 1,))
        assert theirs.value.sqlstate == "42501"
        conn.rollback()
    assert snapshot(owner) == before
    with owner.connect() as connection, pytest.raises(Exception) as preferential:
        connection.execute(text("UPDATE applications SET agreement_code = 'IUCEPA', "
                                "form_code = 'IUCEPA' WHERE kind = 'back_to_back'"))
    assert getattr(preferential.value.orig, "sqlstate", None) == "23514"


def test_a_filing_that_loses_the_race_to_record_is_refused_409(
        client: Any, demo_engine: Engine, facts: Any, key: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.services.intake import FilingCheck

    assert client.post("/api/v1/applications", json=filing("back_to_back", facts),
                       headers=auth(key)).status_code == 201
    looked = FilingCheck.foreign_certificate

    def not_seen_yet(self: Any, *args: Any) -> Any:  # as if checked before the other commit
        found = looked(self, *args)
        found.certificate_id, found.goods = None, filing("back_to_back", facts)[
            "foreign_certificate_goods"]
        for item in found.goods:
            item["quantity"] = Decimal(item["quantity"])
        return found

    monkeypatch.setattr(FilingCheck, "foreign_certificate", not_seen_yet)
    before = snapshot(demo_engine)
    answer = client.post("/api/v1/applications", json=filing("back_to_back", facts),
                         headers=auth(key))
    assert answer.status_code == 409 and answer.json()["error"] == (
        "The foreign certificate was recorded meanwhile by another filing; file again (it then "
        "draws on the recorded one).")
    assert snapshot(demo_engine) == before
