"""The application's way through an office, as one state machine.

``submitted → under scrutiny (claimed by one officer) → returned for clarification ⇄
resubmitted → approved → issued``, or ``rejected``; an issued certificate may later be
``superseded`` (by an in-lieu certificate) or ``cancelled``.

:func:`perform` is the only way a status changes. It checks who may act (role, office
mapping, claim holder) and what the action must carry (a query text, a reason), raises
:class:`WorkflowError` with the reason when the action is not allowed, and writes an
audit event for every transition it makes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session, object_session

from app.errors import UserFacingError
from app.models.agreements import trade_agreements
from app.models.applications import Application
from app.models.base import utcnow
from app.models.certificates import AuditEvent
from app.models.enums import Action, ApplicationKind, ApplicationStatus, Role
from app.models.exporters import Applicant
from app.models.legacy import is_legacy_certificate, legacy_refusal
from app.models.organisation import User

S = ApplicationStatus
MAX_TEXT = 2000


class Who(StrEnum):
    OFFICER = "officer"  # an active officer mapped to the application's office
    CLAIM_HOLDER = "claim holder"  # the officer who holds the claim
    APPLICANT = "applicant"  # an applicant user of the exporter
    OFFICER_OR_ADMIN = "officer or administrator"
    CLAIM_HOLDER_OR_ADMIN = "claim holder or administrator"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[ApplicationStatus]
    target: ApplicationStatus
    who: Who
    needs_text: str | None = None  # what the text is called when one is required


TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(Action.CLAIM, frozenset({S.SUBMITTED, S.RESUBMITTED}), S.UNDER_SCRUTINY,
                   Who.OFFICER),
        # an administrator releases the claims of an officer who left (deactivation)
        Transition(Action.RELEASE, frozenset({S.UNDER_SCRUTINY}), S.SUBMITTED,
                   Who.CLAIM_HOLDER_OR_ADMIN),
        Transition(Action.RETURN, frozenset({S.UNDER_SCRUTINY}), S.RETURNED, Who.CLAIM_HOLDER,
                   needs_text="a query for the exporter"),
        Transition(Action.RESUBMIT, frozenset({S.RETURNED}), S.RESUBMITTED, Who.APPLICANT),
        Transition(Action.APPROVE, frozenset({S.UNDER_SCRUTINY}), S.APPROVED, Who.CLAIM_HOLDER),
        Transition(Action.REJECT, frozenset({S.UNDER_SCRUTINY}), S.REJECTED, Who.CLAIM_HOLDER,
                   needs_text="a reason for the rejection"),
        Transition(Action.ISSUE, frozenset({S.APPROVED}), S.ISSUED, Who.OFFICER),
        Transition(Action.SUPERSEDE, frozenset({S.ISSUED}), S.SUPERSEDED, Who.OFFICER),
        Transition(Action.CANCEL, frozenset({S.ISSUED}), S.CANCELLED, Who.OFFICER_OR_ADMIN,
                   needs_text="a reason for the cancellation"),
    )
}


class WorkflowError(UserFacingError):
    """An action that is not allowed now; the message says why."""


def allowed_actions(application: Application, actor: User | Applicant) -> list[Action]:
    """The actions this actor could take on this application now (for enabling buttons)."""
    result = []
    for action, transition in TRANSITIONS.items():
        try:
            _check(application, actor, transition)
        except WorkflowError:
            continue
        result.append(action)
    return result


def perform(
    session: Session,
    application: Application,
    action: Action | str,
    actor: User | Applicant,
    *,
    text: str | None = None,
    now: dt.datetime | None = None,
) -> AuditEvent:
    """Make one transition, or raise WorkflowError and change nothing."""
    try:
        transition = TRANSITIONS[Action(action)]
    except ValueError:
        raise WorkflowError(f"'{action}' is not an action on an application") from None
    _check(application, actor, transition)
    clean_text = _check_text(transition, text)
    now = now or utcnow()
    if transition.action is Action.APPROVE:
        _check_origin(session, application, actor, clean_text, now)
    before = _snapshot(application)

    application.status = transition.target
    match transition.action:
        case Action.CLAIM:
            application.claimed_by_id, application.claimed_at = actor.id, now
            application.claimed_by = actor  # type: ignore[assignment]
        case Action.RELEASE:
            application.claimed_by_id = application.claimed_at = None
            application.claimed_by = None
        case Action.RETURN:
            application.query_text = clean_text
            application.claimed_by_id = application.claimed_at = None
            application.claimed_by = None
            application.decided_at = now
        case Action.RESUBMIT:
            application.waiting_since = now
        case Action.APPROVE:
            application.decided_at = now
        case Action.REJECT:
            application.rejection_reason = clean_text
            application.claimed_by_id = application.claimed_at = None
            application.claimed_by = None
            application.decided_at = now
        case Action.ISSUE | Action.SUPERSEDE | Action.CANCEL:
            application.claimed_by_id = application.claimed_at = None
            application.claimed_by = None

    is_user = isinstance(actor, User)
    event = AuditEvent(
        at=now,
        actor_id=actor.id if is_user else None,
        actor_label=f"{actor.full_name} <{actor.email}>" + ("" if is_user else " (applicant)"),
        action=f"application.{transition.action.value}",
        entity_type="application",
        entity_id=application.id,
        before=before,
        after=_snapshot(application),
        note=clean_text or "",
    )
    session.add(event)
    return event


def _check_origin(session: Session, application: Application, actor: User | Applicant,
                  reason: str | None, now: dt.datetime) -> None:
    """A preferential line whose claimed criterion the cost sheet does not meet is approved
    only with an override: the approval's text is its reason, recorded (before the
    approval, which the PostgreSQL store checks) as an ``application.origin_override``
    event with the failing lines' figures."""
    from app.models.origin_review import OVERRIDE_ACTION, review_application

    review = review_application(application)
    if review is None or not review.failing:
        return
    if not reason:
        raise WorkflowError(
            f"Application {application.number} does not meet the claimed origin criterion: "
            f"{review.failing_text()}. Approve it only with an override and a reason."
        )
    session.add(AuditEvent(
        at=now, actor_id=actor.id, actor_label=f"{actor.full_name} <{actor.email}>",
        action=OVERRIDE_ACTION, entity_type="application", entity_id=application.id,
        before=None, after=review.figures(), note=reason,
    ))
    session.flush()


def _snapshot(application: Application) -> dict[str, object]:
    return {
        "status": str(application.status),
        "claimed_by_id": application.claimed_by_id,
        "query_text": application.query_text,
        "rejection_reason": application.rejection_reason,
    }


def _check_text(transition: Transition, text: str | None) -> str | None:
    if transition.needs_text is None:
        return text.strip() if text and text.strip() else None
    clean = (text or "").strip()
    if not clean:
        raise WorkflowError(f"To {transition.action.label}, write {transition.needs_text}.")
    if len(clean) > MAX_TEXT:
        raise WorkflowError(
            f"The text for {transition.action.label} has {len(clean)} characters; "
            f"at most {MAX_TEXT} are allowed."
        )
    return clean


def _check(application: Application, actor: User | Applicant, transition: Transition) -> None:
    status = ApplicationStatus(application.status)
    action = transition.action.label
    holder = application.claimed_by_id
    if (
        transition.action is Action.CLAIM
        and status is S.UNDER_SCRUTINY
        and holder is not None
        and holder != getattr(actor, "id", None)
    ):
        name = application.claimed_by.full_name if application.claimed_by else f"user {holder}"
        raise WorkflowError(f"Application {application.number} is already claimed by {name}.")
    if status not in transition.sources:
        allowed = ", ".join(sorted(s.label.lower() for s in transition.sources))
        raise WorkflowError(
            f"Cannot {action} application {application.number}: it is "
            f"{status.label.lower()}; only applications that are {allowed} can be."
        )
    if transition.who is Who.APPLICANT:
        if not isinstance(actor, Applicant) or actor.exporter_id != application.exporter_id:
            raise WorkflowError(
                f"Only an applicant user of the exporter can {action} application "
                f"{application.number}."
            )
        return
    if not isinstance(actor, User):
        raise WorkflowError(f"An applicant cannot {action} application {application.number}.")
    if not actor.is_active:
        raise WorkflowError(
            f"{actor.full_name}'s account is {actor.status}; only active users can {action}."
        )
    if actor.role == Role.ADMINISTRATOR:
        admin_may = transition.who in (Who.OFFICER_OR_ADMIN, Who.CLAIM_HOLDER_OR_ADMIN)
        if not admin_may or actor.agency_id != application.office.agency_id:
            raise WorkflowError(
                f"Only an issuing officer of office {application.office.code} can {action} "
                f"application {application.number}."
            )
        return
    if not actor.is_mapped_to(application.office_id):
        raise WorkflowError(
            f"{actor.full_name} is not mapped to office {application.office.code}, which holds "
            f"application {application.number}."
        )
    if transition.who in (Who.CLAIM_HOLDER, Who.CLAIM_HOLDER_OR_ADMIN) and holder != actor.id:
        if holder is None:
            raise WorkflowError(f"Claim application {application.number} before you {action} it.")
        name = application.claimed_by.full_name if application.claimed_by else f"user {holder}"
        raise WorkflowError(
            f"Application {application.number} is claimed by {name}; only the claim holder "
            f"can {action} it."
        )
    if transition.action is Action.APPROVE:
        _check_ready_to_approve(application)


def _check_ready_to_approve(application: Application) -> None:
    number = application.number
    if not application.goods:
        raise WorkflowError(f"Application {number} has no goods lines; it cannot be approved.")
    if application.kind == ApplicationKind.PREFERENTIAL:
        agreement = trade_agreements().get(application.agreement_code or "")
        if agreement is None:
            raise WorkflowError(f"Application {number} names no known trade agreement.")
        if not agreement.covers(application.destination_country):
            raise WorkflowError(
                f"{agreement.name} does not cover the destination country "
                f"{application.destination_country}."
            )
        missing = [str(g.item_no) for g in application.goods if not g.origin_criterion]
        if missing:
            raise WorkflowError(
                f"Goods line(s) {', '.join(missing)} of application {number} have no origin "
                "criterion; a preferential certificate needs one for every line."
            )
    if application.kind == ApplicationKind.IN_LIEU and not application.original_certificate_number:
        raise WorkflowError(f"In-lieu application {number} does not name the original certificate.")
    if application.kind == ApplicationKind.IN_LIEU and is_legacy_certificate(
            application.original_certificate_number, application.original_certificate_date):
        raise WorkflowError(legacy_refusal(application.original_certificate_number, number))
    if application.kind == ApplicationKind.BACK_TO_BACK and not application.foreign_certificate_number:
        raise WorkflowError(
            f"Back-to-back application {number} does not name the foreign certificate it rests on."
        )
    if application.kind == ApplicationKind.BACK_TO_BACK:
        _check_back_to_back(application)


def _check_back_to_back(application: Application) -> None:
    """Non-preferential only, and no over-draw of the recorded foreign certificate (its
    balance less what other approved applications drew: app/services/back_to_back.py)."""
    if application.agreement_code or application.form_code != "NONPREF":
        raise WorkflowError(
            f"Back-to-back application {application.number} is non-preferential: it cannot go "
            f"out under a trade agreement ({application.agreement_code or 'none'}, form "
            f"{application.form_code}); its form is NONPREF."
        )
    session = object_session(application)
    if session is None:
        return
    from app.services.back_to_back import OverDraw, check_draw

    try:
        check_draw(session, application, at_approval=True)
    except OverDraw as exc:
        raise WorkflowError(str(exc)) from None
