"""Outbox operations and how the central store decides them.

An operation is one thing an officer did on an application while the central store may
not have been listening: a claim, a release, a query (return for clarification), an
approval, a rejection, or a note. It carries an id made on the desk (uuid4), so that
pushing it again (after a lost answer, a killed connection, a restart) finds the outcome
recorded in ``applied_operations`` instead of applying it twice.

The central store decides: the application row is locked, the version the officer saw
must still be the version in the store (optimistic check), and ``workflow.perform`` checks
who may do what (one claim holder at a time). What is refused is recorded as rejected with
the reason, in the same transaction as everything else of the batch.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, joinedload, selectinload

from app.errors import UserFacingError
from app.models.applications import Application, CostSheet
from app.models.base import utcnow
from app.models.certificates import AuditEvent
from app.models.enums import Action, Role
from app.models.organisation import User
from app.models.workflow import MAX_TEXT, allowed_actions, perform
from app.store.central_tables import applied_operations

log = logging.getLogger(__name__)
NOTE = "note"
OFFLINE_ACTIONS = (Action.CLAIM.value, Action.RELEASE.value, Action.RETURN.value,
                   Action.APPROVE.value, Action.REJECT.value, NOTE)
APPLIED, REJECTED = "applied", "rejected"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    application_id: int
    action: str
    text: str | None
    expected_version: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class OperationResult:
    operation_id: str
    outcome: str  # applied | rejected
    reason: str = ""
    version_after: int | None = None

    @property
    def applied(self) -> bool:
        return self.outcome == APPLIED


class Refused(UserFacingError):
    """The central store refuses an operation; the message is the reason shown."""


def apply_operations(
    session: Session, user_id: int, operations: Sequence[Operation], *, careful: bool = False
) -> list[OperationResult]:
    """Decide a batch of operations in the session's transaction (the caller commits).

    Operations already recorded get their recorded outcome. An operation on an application
    whose earlier operation of this batch was refused is refused too. With ``careful``,
    each operation runs in a savepoint and an unexpected error refuses that operation
    only (used when a batch failed for a reason other than the connection)."""
    recorded = {
        row.operation_id: OperationResult(row.operation_id, row.outcome, row.reason,
                                          row.version_after)
        for row in session.execute(
            select(applied_operations).where(
                applied_operations.c.operation_id.in_([op.operation_id for op in operations])
            )
        )
    }
    actor = session.scalars(
        select(User).options(selectinload(User.offices)).where(User.id == user_id)
    ).first()
    fresh = [op for op in operations if op.operation_id not in recorded]
    apps = {} if careful or actor is None else _lock_applications(session, fresh)
    results: list[OperationResult] = []
    new_rows: list[dict[str, object]] = []
    refused: dict[int, tuple[str, str]] = {}  # application id -> (action, reason)
    dirty: set[int] = set()  # applications changed since the last flush
    now = utcnow()
    for op in operations:
        if op.operation_id in recorded:
            result = recorded[op.operation_id]
        elif op.application_id in refused:
            action, reason = refused[op.application_id]
            result = OperationResult(op.operation_id, REJECTED,
                                     f"Not applied: the earlier {action} of this application "
                                     f"was not applied ({reason})")
        else:
            if op.application_id in dirty:  # one version step per operation
                session.flush()
                dirty.clear()
            if careful:
                result = _decide(session, actor, op, careful)
            else:
                try:
                    result = _apply_one(session, actor, op, apps)
                except Refused as exc:
                    result = OperationResult(op.operation_id, REJECTED, str(exc))
            if result.applied and op.action != NOTE:
                dirty.add(op.application_id)
            new_rows.append({
                "operation_id": op.operation_id, "user_id": user_id,
                "application_id": op.application_id, "action": op.action[:20],
                "outcome": result.outcome, "reason": result.reason[:4000],
                "version_after": None, "received_at": now,
            })
        if not result.applied:
            refused.setdefault(op.application_id, (op.action, result.reason))
        results.append(result)
    session.flush()
    if new_rows:
        for row, op in zip(new_rows, [o for o in operations if o.operation_id not in recorded],
                           strict=True):
            app = apps.get(op.application_id) or session.get(Application, op.application_id)
            if row["outcome"] == APPLIED and app is not None:
                row["version_after"] = app.version
        session.execute(insert(applied_operations), new_rows)
        # the version each applied operation left (after the flush that counted it)
        after = {r["operation_id"]: r["version_after"] for r in new_rows}
        results = [replace(r, version_after=after[r.operation_id])
                   if r.operation_id in after and r.applied else r for r in results]
    return results


def _lock_applications(session: Session, operations: Sequence[Operation]) -> dict[int, Application]:
    """Lock (in id order, so concurrent pushes cannot deadlock) and load the batch's
    applications with what the workflow checks need, in one query (plus the goods)."""
    ids = sorted({op.application_id for op in operations})
    if not ids:
        return {}
    options = [joinedload(Application.office), joinedload(Application.claimed_by)]
    if any(op.action == Action.APPROVE for op in operations):
        options += [selectinload(Application.goods),  # the origin check reads the cost sheet
                    selectinload(Application.cost_sheet).selectinload(CostSheet.materials)]
    rows = session.scalars(
        select(Application).options(*options).where(Application.id.in_(ids))
        .order_by(Application.id).with_for_update(of=Application)
        .execution_options(populate_existing=True)
    ).unique().all()
    return {app.id: app for app in rows}


def _decide(session: Session, actor: User | None, op: Operation, careful: bool) -> OperationResult:
    """One operation in a savepoint: an unexpected database error refuses it alone."""
    del careful
    try:
        with session.begin_nested():
            result = _apply_one(session, actor, op, None)
            session.flush()
            return result
    except Refused as exc:
        return OperationResult(op.operation_id, REJECTED, str(exc))
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.warning("operation %s refused by a database error", op.operation_id, exc_info=exc)
        return OperationResult(op.operation_id, REJECTED,
                               f"The central store could not apply it ({type(exc.orig).__name__}).")
    except UserFacingError as exc:
        return OperationResult(op.operation_id, REJECTED, str(exc))


def _apply_one(session: Session, actor: User | None, op: Operation,
               apps: dict[int, Application] | None) -> OperationResult:
    if actor is None:
        raise Refused("Your user is not in the central store (or not visible to your login).")
    if op.action not in OFFLINE_ACTIONS:
        raise Refused(f"'{op.action}' cannot be queued offline.")
    if apps is None:
        apps = _lock_applications(session, [op])
    app = apps.get(op.application_id)
    if app is None:
        raise Refused(f"Application #{op.application_id} is not in your offices' queues any more.")
    if op.action == NOTE:
        _add_note(session, app, actor, op)
        return OperationResult(op.operation_id, APPLIED, "", app.version)
    if op.expected_version is not None and app.version != op.expected_version:
        if Action(op.action) not in allowed_actions(app, actor):
            try:  # say why it is not allowed now (claimed by someone else, ...)
                perform(session, app, op.action, actor, text=op.text, now=op.created_at)
            except UserFacingError as exc:
                raise Refused(str(exc)) from None
            raise AssertionError("perform accepted an action allowed_actions refused")
        raise Refused(
            f"Application {app.number} changed on the central store after you saw it "
            f"(version {app.version}, you saw {op.expected_version}); the central store's copy "
            "wins. Check it and act again."
        )
    try:
        perform(session, app, op.action, actor, text=op.text, now=op.created_at)
    except UserFacingError as exc:
        raise Refused(str(exc)) from None
    return OperationResult(op.operation_id, APPLIED, "", app.version)


def _add_note(session: Session, app: Application, actor: User, op: Operation) -> None:
    text = (op.text or "").strip()
    if not text:
        raise Refused("A note needs a text.")
    if len(text) > MAX_TEXT:
        raise Refused(f"The note has {len(text)} characters; at most {MAX_TEXT} are allowed.")
    may = (actor.role == Role.ADMINISTRATOR and actor.agency_id == app.office.agency_id) or (
        actor.is_active and actor.is_mapped_to(app.office_id))
    if not may:
        raise Refused(f"{actor.full_name} is not mapped to office {app.office.code}.")
    session.add(AuditEvent(
        at=op.created_at, actor_id=actor.id, actor_label=f"{actor.full_name} <{actor.email}>",
        action="application.note", entity_type="application", entity_id=app.id,
        before=None, after=None, note=text,
    ))
    session.flush()
