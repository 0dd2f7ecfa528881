"""The embedded demo's signing token is made behind the sign-in: in a child process (its
key generation does not hold the window's interpreter), then registered in-process, and
signing waits until it is there."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.config import load_config
from app.models import DscRegistration, User


def test_the_demo_token_is_made_in_a_child_process_then_registered(
    demo_engine: Engine, data_home: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    from app.services.desk import Desk
    from app.services.opening import prepare_embedded_signing
    from app.signing import demo_token

    monkeypatch.setenv("SOFTHSM2_CONF", "/nonexistent")  # restored after the test
    config = load_config()
    children: list[bool] = []
    real = demo_token.prepare_in_child_process

    def child(cfg):  # type: ignore[no-untyped-def]
        made = real(cfg)
        children.append(made)
        return made

    monkeypatch.setattr(demo_token, "prepare_in_child_process", child)
    desk = Desk(demo_engine, config)
    kit = prepare_embedded_signing(desk)
    assert children == [True]  # the keys and certificates were made by the child
    assert kit is not None and not kit.created and len(kit.officers) == 6
    assert (data_home / "demo-token" / "demo.json").exists()
    with Session(demo_engine) as session:
        registered = session.scalars(select(User.email).join(
            DscRegistration, DscRegistration.user_id == User.id)).all()
    assert set(kit.officers) <= set(registered)
    assert prepare_embedded_signing(desk) is not None and children == [True]  # once


def test_signing_waits_for_a_background_preparation() -> None:
    from app.signing import demo_token

    demo_token.begin_background_preparation()
    try:
        assert demo_token.demo_token_preparing()
        assert not demo_token.wait_for_demo_token(timeout=0.05)
        waited = threading.Event()
        waiter = threading.Thread(target=lambda: (demo_token.wait_for_demo_token(),
                                                  waited.set()))
        waiter.start()
        assert not waited.wait(0.1)
    finally:
        demo_token.end_background_preparation()
    waiter.join(5)
    assert waited.is_set() and not demo_token.demo_token_preparing()
