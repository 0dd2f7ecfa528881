"""An in-lieu request against a certificate of the legacy system (eCoO 1.0) is refused with
the transition rule quoted: at intake (422), at approval, and at reservation on the SQLite
store, on PostgreSQL through the officer's own login and through the central service."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import load_config
from app.errors import UserFacingError
from app.models import Application, CertificateNumber
from app.models.enums import Action, ApplicationStatus
from app.models.workflow import WorkflowError
from app.services.central import SqlCentral
from app.services.central_issuing import IssueRefused
from app.services.desk import Desk
from app.store.central import session_factory
from tests.in_lieu.support import make_in_lieu
from tests.in_lieu.test_legacy_rule import LEGACY, QUOTE

OFFICER = "anita.deshpande@igcc.org.in"  # MUM


def _numbers(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(CertificateNumber)) or 0)


def test_intake_refuses_it_with_the_rule(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    from tests.hub.intake_support import auth, exporter_facts, filing, issue_key, snapshot

    facts = exporter_facts(demo_engine)
    key = issue_key(demo_engine, facts.iec).key
    before = snapshot(demo_engine)
    for number, date in ((LEGACY, None), ("IGCC/2024/0000007", "2024-11-30")):
        body = filing("in_lieu", facts, original_certificate_number=number)
        if date:
            body["original_certificate_date"] = date
        answer = client.post("/api/v1/applications", json=body, headers=auth(key))
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["problems"]
        assert problem["field"] == "original_certificate_number"
        assert QUOTE in problem["problem"] and "legacy eCoO 1.0" in problem["problem"]
    assert snapshot(demo_engine) == before


def test_approval_refuses_it_with_the_rule(demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    made = make_in_lieu(demo_engine, officer_email=OFFICER, original_number=LEGACY,
                        status=ApplicationStatus.UNDER_SCRUTINY)
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER)
    assert "approve" not in desk.detail(made.application_id).allowed
    with pytest.raises(WorkflowError, match="legacy eCoO 1.0") as refused:
        desk.act(made.application_id, Action.APPROVE)
    assert QUOTE in str(refused.value)
    # a synced desk refuses it on its own copy, before anything is queued
    config = load_config()
    local = LocalStore(tmp_path / "local.sqlite")
    synced = LocalDesk(local, config, SyncService(local, SqlCentral(demo_engine, config)))
    synced.sign_in(OFFICER)
    with pytest.raises(WorkflowError, match="legacy eCoO 1.0"):
        synced.act(made.application_id, Action.APPROVE)
    assert not synced.pending_for(made.application_id)
    with session_factory(demo_engine)() as s:
        assert s.get(Application, made.application_id).status == ApplicationStatus.UNDER_SCRUTINY


def test_the_sqlite_store_refuses_to_reserve_for_it(demo_engine) -> None:  # type: ignore[no-untyped-def]
    from app.services.dsc import user_id_for_email

    made = make_in_lieu(demo_engine, officer_email=OFFICER, original_number=LEGACY)
    before = _numbers(demo_engine)
    central = SqlCentral(demo_engine, load_config())
    with pytest.raises(IssueRefused, match="legacy eCoO 1.0") as refused:
        central.reserve(user_id_for_email(demo_engine, OFFICER), made.application_id, "desk")
    assert QUOTE in str(refused.value) and made.number in str(refused.value)
    assert _numbers(demo_engine) == before


def test_the_service_refuses_to_reserve_for_it(demo_hub, serve, demo_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.services.central_http import HttpCentral
    from app.services.dsc import user_id_for_email
    from tests.hub.conftest import PASSWORD, set_password

    made = make_in_lieu(demo_engine, officer_email=OFFICER, original_number=LEGACY)
    set_password(demo_engine, OFFICER)
    server = serve(demo_hub)
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda p: PASSWORD)
    link.hello(OFFICER)
    before = _numbers(demo_engine)
    with pytest.raises(UserFacingError, match="legacy eCoO 1.0") as refused:
        link.reserve(user_id_for_email(demo_engine, OFFICER), made.application_id, "desk")
    assert QUOTE in str(refused.value)
    assert _numbers(demo_engine) == before
