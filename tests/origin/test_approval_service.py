"""The origin check of an approval through the central service (``/desk/v1/push``): on the
demo store and on PostgreSQL through the service's role acting for the officer. The
service recomputes from its own store; the approval's text is the override reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.hub.conftest import (  # noqa: F401 - fixtures
    PASSWORD,
    central,
    client,
    demo_hub,
    pg_hub,
    pg_server,
    pg_template,
    set_password,
)
from tests.origin.approval_support import ANITA, REASON, shape, submitted_preferential

_ids = iter(range(1, 10_000))


def _token(client: Any) -> dict[str, str]:  # noqa: F811
    answer = client.post("/desk/v1/sign-in", json={"email": ANITA, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _push(client: Any, auth: dict[str, str], app_id: int, action: str,  # noqa: F811
          version: int, reason: str | None = None) -> dict[str, Any]:
    answer = client.post("/desk/v1/push", headers=auth, json={"operations": [{
        "operation_id": f"00000000-0000-4000-8000-{next(_ids):012d}", "application_id": app_id,
        "action": action, "text": reason, "expected_version": version,
        "created_at": "2026-11-30T10:00:00+00:00"}]})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]


def _row(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).first()


def _scenario(client: Any, engine: Engine) -> None:  # noqa: F811
    set_password(engine, ANITA)
    auth = _token(client)
    # a destination outside the agreement, then a line without criterion: refused outright
    for case, words in (({"destination": "US"}, "does not cover the destination country US"),
                        ({"criterion": None}, "have no origin criterion")):
        app_id = submitted_preferential(engine)
        shape(engine, app_id, vnm="1000.00", **case)  # type: ignore[arg-type]
        version = _row(engine, "SELECT version FROM applications WHERE id = :i", i=app_id)[0]
        assert _push(client, auth, app_id, "claim", version)["outcome"] == "applied"
        refused = _push(client, auth, app_id, "approve", version + 1, REASON)
        assert refused["outcome"] == "rejected" and words in refused["reason"]
        # out of the way of the next pick
        assert _push(client, auth, app_id, "reject", version + 1, "test")["outcome"] == "applied"
    # a criterion not met: refused without a reason, approved with one, audited
    app_id = submitted_preferential(engine)
    shape(engine, app_id, vnm="66000.00")
    version = _row(engine, "SELECT version FROM applications WHERE id = :i", i=app_id)[0]
    assert _push(client, auth, app_id, "claim", version)["outcome"] == "applied"
    refused = _push(client, auth, app_id, "approve", version + 1)
    assert refused["outcome"] == "rejected"
    assert "line 1 (RVC): NOT MET: build-down 34.000 %" in refused["reason"]
    assert _push(client, auth, app_id, "approve", version + 1, REASON)["outcome"] == "applied"
    status = _row(engine, "SELECT status FROM applications WHERE id = :i", i=app_id)[0]
    override = _row(engine, "SELECT u.email, e.note FROM audit_events e JOIN users u ON "
                    "u.id = e.actor_id WHERE e.entity_id = :i AND e.entity_type = 'application' "
                    "AND e.action = 'application.origin_override'", i=app_id)
    assert status == "approved" and tuple(override) == (ANITA, REASON)


def test_the_service_on_the_demo_store(client, demo_engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _scenario(client, demo_engine)


@pytest.mark.usefixtures("central")
def test_the_service_on_postgresql_acting_for_the_officer(pg_hub) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    owner = pg_hub.extras["central"].owner_engine()
    with TestClient(create_app(pg_hub), base_url="https://testserver") as test_client:
        _scenario(test_client, owner)
