"""Officers sign in to the central service: passwords, lockout, sessions, DSC proof."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from tests.hub.conftest import PASSWORD, set_password


def _officer(engine: Any) -> str:
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT email FROM users WHERE role = 'officer' AND status = 'active' "
            "ORDER BY id LIMIT 1")).scalar_one()


def sign_in(client: Any, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/desk/v1/sign-in", json={"email": email, "password": password,
                                                 **extra})


def test_an_officer_signs_in_and_the_token_opens_the_desk_api(client, demo_engine) -> None:
    email = _officer(demo_engine)
    set_password(demo_engine, email)
    answer = sign_in(client, email)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    hello = client.get("/desk/v1/hello", headers={"Authorization": f"Bearer {token}"})
    assert hello.status_code == 200, hello.text
    assert hello.json()["email"] == email and hello.json()["office_ids"]
    # the store keeps only the token's digest
    from app.store.hub_tables import hub_sessions

    with demo_engine.connect() as connection:
        stored = connection.execute(select(hub_sessions.c.token_sha256)).scalars().all()
    assert token not in stored and len(stored) == 1


def test_no_token_or_a_revoked_token_is_refused(client, demo_engine) -> None:
    email = _officer(demo_engine)
    set_password(demo_engine, email)
    assert client.get("/desk/v1/hello").status_code == 401
    assert client.get("/desk/v1/hello", headers={"Authorization": "Bearer nonsense"}
                      ).status_code == 401
    token = sign_in(client, email).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/desk/v1/sign-out", headers=auth).status_code == 200
    refused = client.get("/desk/v1/hello", headers=auth)
    assert refused.status_code == 401 and "sign in again" in refused.json()["error"]


def test_an_expired_token_is_refused(client, demo_engine) -> None:
    email = _officer(demo_engine)
    set_password(demo_engine, email)
    token = sign_in(client, email).json()["token"]
    with demo_engine.begin() as connection:
        connection.execute(text("UPDATE hub_sessions SET expires_at = '2020-01-01 00:00:00'"))
    refused = client.get("/desk/v1/hello", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and "expired" in refused.json()["error"]


def test_the_initial_password_must_be_changed(client, demo_engine) -> None:
    email = _officer(demo_engine)
    set_password(demo_engine, email, "initial password 1", initial=True)
    first = sign_in(client, email, "initial password 1")
    assert first.status_code == 403 and first.json()["kind"] == "PasswordChangeRequired"
    short = sign_in(client, email, "initial password 1", new_password="short")
    assert short.status_code == 422
    changed = sign_in(client, email, "initial password 1", new_password=PASSWORD)
    assert changed.status_code == 200
    assert sign_in(client, email, "initial password 1").status_code == 401
    assert sign_in(client, email).status_code == 200


def test_wrong_passwords_lock_the_account(client, demo_engine, demo_hub) -> None:
    email = _officer(demo_engine)
    set_password(demo_engine, email)
    for _ in range(demo_hub.policy.max_failures - 1):
        answer = sign_in(client, email, "wrong password!!")
        assert answer.status_code == 401
        assert answer.json()["error"] == "Wrong e-mail address or password."
    locked = sign_in(client, email, "wrong password!!")
    assert locked.status_code == 401 and "locked" in locked.json()["error"]
    # now even the right password is refused until the lock ends
    again = sign_in(client, email)
    assert again.status_code == 401 and "locked" in again.json()["error"]
    # an unknown address is refused with the same words as a wrong password
    unknown = sign_in(client, "nobody@example.org", "whatever password")
    assert unknown.json()["error"] == "Wrong e-mail address or password."


def test_bad_bodies_are_refused_with_422(client) -> None:
    malformed = client.post("/desk/v1/sign-in", content=b"{not json",
                            headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422
    missing = client.post("/desk/v1/sign-in", json={"email": "a@b.c"})
    assert missing.status_code == 422 and "password" in missing.json()["error"]


def test_sign_in_attempts_are_rationed_per_account(tmp_path, demo_engine) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.hub.app import create_app, make_hub
    from tests.hub.conftest import hub_settings

    email = _officer(demo_engine)
    set_password(demo_engine, email)
    hub = make_hub(hub_settings(tmp_path, sign_in={"per_minute": 3, "max_failures": 100}),
                   demo_engine)
    with TestClient(create_app(hub), base_url="https://testserver") as client:
        answers = [sign_in(client, email, "a wrong password").status_code for _ in range(3)]
        assert answers == [401, 401, 401]
        flood = sign_in(client, email)  # even the right password waits now
        assert flood.status_code == 429 and int(flood.headers["Retry-After"]) > 0
    from app.store.hub_tables import user_credentials

    with demo_engine.connect() as connection:
        failed = connection.execute(select(user_credentials.c.failed_attempts)).scalar()
    assert failed == 3  # the refused attempt was not even checked


def test_unknown_configuration_keys_are_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from app.hub.settings import HubConfigError
    from tests.hub.conftest import hub_settings

    with pytest.raises(HubConfigError, match=r"\[server\] has an unknown key 'lisen'"):
        hub_settings(tmp_path, server={"lisen": "0.0.0.0:443"})
    with pytest.raises(HubConfigError, match=r"secret must not be written in the file"):
        hub_settings(tmp_path, server={"secret": "x" * 40})
