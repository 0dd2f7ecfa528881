"""The application state machine: who may do what, what each action must carry, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import Applicant, Application, AuditEvent, User, UserStatus
from app.models.workflow import TRANSITIONS, Action, WorkflowError, allowed_actions, perform


def _officer(session: Session, email: str) -> User:
    return session.scalars(
        select(User).options(selectinload(User.offices)).where(User.email == email)
    ).one()


def _first(session: Session, status: str, office_code: str | None = None, kind: str | None = None) -> Application:
    statement = select(Application).where(Application.status == status).order_by(Application.id)
    apps = session.scalars(statement).all()
    for app in apps:
        if (office_code is None or app.office.code == office_code) and (kind is None or app.kind == kind):
            return app
    raise AssertionError(f"no {status} application")


@pytest.fixture
def session(demo_engine):  # type: ignore[no-untyped-def]
    with Session(demo_engine) as s:
        yield s


ANITA = "anita.deshpande@igcc.org.in"  # MUM
RAHUL = "rahul.menon@igcc.org.in"  # MUM and DEL
FARHAN = "farhan.qureshi@igcc.org.in"  # DEL


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_claim_return_resubmit_claim_approve_issue_path(session: Session) -> None:
    app = _first(session, "submitted", "MUM", "non_preferential")
    anita = _officer(session, ANITA)
    before = audit_count(session)
    perform(session, app, Action.CLAIM, anita)
    assert app.status == "under_scrutiny" and app.claimed_by_id == anita.id
    perform(session, app, Action.RETURN, anita, text="Please attach the signed invoice.")
    assert app.status == "returned" and app.query_text == "Please attach the signed invoice."
    assert app.claimed_by_id is None
    applicant = session.scalars(select(Applicant).where(Applicant.exporter_id == app.exporter_id)).first()
    perform(session, app, Action.RESUBMIT, applicant)
    assert app.status == "resubmitted"
    perform(session, app, Action.CLAIM, anita)
    perform(session, app, Action.APPROVE, anita)
    assert app.status == "approved"
    perform(session, app, Action.ISSUE, anita)
    assert app.status == "issued"
    session.flush()
    assert audit_count(session) == before + 6
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == app.id).order_by(AuditEvent.id.desc())
    ).all()
    assert events[0].action == "application.issue"
    assert events[0].before["status"] == "approved" and events[0].after["status"] == "issued"
    assert events[0].actor_id == anita.id


def test_officer_of_another_office_cannot_claim(session: Session) -> None:
    app = _first(session, "submitted", "CHE")
    farhan = _officer(session, FARHAN)
    with pytest.raises(WorkflowError, match="not mapped to office CHE"):
        perform(session, app, Action.CLAIM, farhan)
    assert app.status == "submitted"


def test_only_the_claim_holder_decides(session: Session) -> None:
    app = _first(session, "submitted", "MUM")
    anita, rahul = _officer(session, ANITA), _officer(session, RAHUL)
    perform(session, app, Action.CLAIM, anita)
    with pytest.raises(WorkflowError, match="already claimed by Anita Deshpande"):
        perform(session, app, Action.CLAIM, rahul)
    with pytest.raises(WorkflowError, match="only the claim holder"):
        perform(session, app, Action.APPROVE, rahul)
    assert app.status == "under_scrutiny" and app.claimed_by_id == anita.id


def test_return_and_reject_need_their_text(session: Session) -> None:
    app = _first(session, "submitted", "MUM")
    anita = _officer(session, ANITA)
    perform(session, app, Action.CLAIM, anita)
    before = audit_count(session)
    with pytest.raises(WorkflowError, match="write a query for the exporter"):
        perform(session, app, Action.RETURN, anita, text="   ")
    with pytest.raises(WorkflowError, match="write a reason for the rejection"):
        perform(session, app, Action.REJECT, anita)
    with pytest.raises(WorkflowError, match="at most 2000"):
        perform(session, app, Action.REJECT, anita, text="x" * 2001)
    session.flush()
    assert audit_count(session) == before and app.status == "under_scrutiny"
    perform(session, app, Action.REJECT, anita, text="Duplicate of an issued certificate.")
    assert app.status == "rejected" and app.rejection_reason == "Duplicate of an issued certificate."


def test_forbidden_transitions_say_why(session: Session) -> None:
    app = _first(session, "issued", "MUM")
    anita = _officer(session, ANITA)
    with pytest.raises(WorkflowError, match="it is issued; only applications that are .* can be"):
        perform(session, app, Action.APPROVE, anita)
    with pytest.raises(WorkflowError, match="not an action"):
        perform(session, app, "teleport", anita)


def test_deactivated_officer_cannot_act(session: Session) -> None:
    app = _first(session, "submitted", "MUM")
    anita = _officer(session, ANITA)
    anita.status = UserStatus.DEACTIVATED
    with pytest.raises(WorkflowError, match="deactivated"):
        perform(session, app, Action.CLAIM, anita)


def test_administrator_may_cancel_but_not_claim(session: Session) -> None:
    admin = _officer(session, "admin@igcc.org.in")
    app = _first(session, "submitted", "MUM")
    with pytest.raises(WorkflowError, match="Only an issuing officer"):
        perform(session, app, Action.CLAIM, admin)
    issued = _first(session, "issued", "DEL")
    perform(session, issued, Action.CANCEL, admin, text="Issued against a wrong invoice.")
    assert issued.status == "cancelled"


def test_preferential_approval_needs_origin_criteria(session: Session) -> None:
    app = _first(session, "submitted", "MUM", "preferential")
    anita = _officer(session, ANITA)
    perform(session, app, Action.CLAIM, anita)
    app.goods[0].origin_criterion = None
    with pytest.raises(WorkflowError, match="no origin criterion"):
        perform(session, app, Action.APPROVE, anita)
    assert app.status == "under_scrutiny"


def test_allowed_actions_match_the_table(session: Session) -> None:
    app = _first(session, "submitted", "MUM")
    anita = _officer(session, ANITA)
    assert allowed_actions(app, anita) == [Action.CLAIM]
    perform(session, app, Action.CLAIM, anita)
    assert set(allowed_actions(app, anita)) == {Action.RELEASE, Action.RETURN, Action.APPROVE, Action.REJECT}
    assert all(t.action == a for a, t in TRANSITIONS.items())
