"""The desk working from the local store, so that review goes on without a connection.

:class:`LocalDesk` is a :class:`~app.services.desk.Desk` whose engine is the local store:
the queue, search and detail read the copy that sync keeps. An action is checked with the
same workflow rules against that copy, applied to it at once (so the officer sees it) and
queued in the outbox in the same local transaction; the optimistic audit row carries the
negative of its outbox id and shows as *pending* until the central store decides. When a
sync service is attached and the desk is not set to offline, the action is pushed at once:
if the central store refuses it, the reason is raised (and stays in the outbox's rejected
list); if the connection is gone, it simply stays pending.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy import delete, func, select

from app.config import Config
from app.errors import UserFacingError
from app.models import AuditEvent
from app.models.base import utcnow
from app.models.enums import Action, Role
from app.models.origin_review import OVERRIDE_ACTION
from app.models.workflow import MAX_TEXT, perform
from app.services.desk import ApplicationDetail, Desk, OfficerInfo, _load_application
from app.services.sync import SyncService
from app.store.link import CentralUnavailable
from app.store.local import LocalStore, OutboxEntry
from app.store.operations import NOTE, REJECTED

log = logging.getLogger(__name__)
ACTION_LABELS = {NOTE: "Note", **{a.value: a.label.capitalize() for a in Action}}


class LocalDesk(Desk):
    """A desk on the local store, with an outbox and (optionally) a sync service."""

    def __init__(self, local: LocalStore, config: Config, sync: SyncService | None = None) -> None:
        super().__init__(local.engine, config, central=None)
        self.local = local
        self.sync = sync

    # --- the central store's services -------------------------------------------------------

    def central(self) -> Any:
        """The central store's interface; offline, CentralUnavailable (before any PIN)."""
        link = self.sync.link if self.sync is not None else None
        if link is None or self.config.offline:
            raise CentralUnavailable(
                "This desk is offline: issuing, DSC registration, verification against the "
                "central store and administration need a connection to the central store. "
                "Your reviews go on and are sent when you are back online."
            )
        return link

    def _session_link(self) -> Any:
        return self.sync.link if self.sync is not None else None

    def after_issue(self, application_ids: list[int]) -> None:
        """Bring the issued certificates into the local copy at once."""
        if self.sync is not None and application_ids:
            self.sync.refresh(application_ids)

    def documents(self) -> Any:
        """As the embedded desk, with the local store's document cache: a document opened
        once opens again offline."""
        from app.services.documents import MB, DocumentCache, SupportingDocuments

        cache = DocumentCache(self.local.engine, self.config.document_cache_mb * MB)
        return SupportingDocuments(self.engine, self.central, cache)

    def preview_pdf(self, application_id: int) -> tuple[bytes, int, bool]:
        """As the embedded desk; an issued certificate's signed PDF (not kept in the copy)
        is fetched from the central store when online."""
        from sqlalchemy import select

        from app.models import Certificate

        with self.sessions() as session:
            number = session.scalar(select(Certificate.number).where(
                Certificate.application_id == application_id, Certificate.pdf.is_(None)))
        if number is not None and not self.config.offline and self.sync and self.sync.link:
            pdf = self.central().certificate_pdf(number)
            if pdf:
                return pdf, 0, False
        return super().preview_pdf(application_id)

    @property
    def online(self) -> bool:
        return bool(self.sync and not self.config.offline and self.sync.status.online)

    @property
    def store_label(self) -> str:
        pending = len(self.local.pending(self.user.id if self.user else None))
        state = "online" if self.online else "offline"
        return f"{state} — {pending} pending" if pending else state

    # --- who ----------------------------------------------------------------------------------

    def sign_in(self, email: str) -> OfficerInfo:
        """Sign in from the local copy; when online, sync first (the first start fills it)."""
        if self.sync is not None and not self.config.offline:
            self.sync.set_user(email)
            self.sync.sync_now()
        return super().sign_in(email)

    # --- actions --------------------------------------------------------------------------------

    def act(
        self, application_id: int, action: Action | str, *, text: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        """Take the action on the local copy and queue it; push it at once when online."""
        action = Action(action)
        with self.sessions() as session, session.begin():
            app, actor = self._load_for_action(session, application_id, expected_version)
            entry_id, operation_id = LocalStore.enqueue(
                session.connection(), user_id=actor.id, application_id=app.id,
                application_number=app.number, action=action.value, text=text,
                expected_version=app.version,
            )
            last_event = session.scalar(select(func.max(AuditEvent.id))) or 0
            event = perform(session, app, action, actor, text=text)
            event.id = -entry_id  # optimistic: replaced by the central row after sync
            # an origin override is recorded by the central store (it recomputes the
            # verdict); its row comes back with the next pull
            session.execute(delete(AuditEvent).where(
                AuditEvent.action == OVERRIDE_ACTION, AuditEvent.id > last_event))
        log.info("%s %s queued (%s)", action, application_id, operation_id)
        self._push_now(operation_id)

    def add_note(self, application_id: int, text: str) -> None:
        """A note on the application's history (no change of status), queued like actions."""
        clean = (text or "").strip()
        if not clean:
            raise UserFacingError("Write the note first.")
        if len(clean) > MAX_TEXT:
            raise UserFacingError(f"The note has {len(clean)} characters; at most {MAX_TEXT}.")
        with self.sessions() as session, session.begin():
            app = _load_application(session, application_id)
            actor = self._actor(session)
            if actor is None:
                raise UserFacingError("Sign in before writing notes.")
            if actor.role != Role.ADMINISTRATOR and not actor.is_mapped_to(app.office_id):
                raise UserFacingError(f"{actor.full_name} is not mapped to office "
                                      f"{app.office.code}.")
            entry_id, operation_id = LocalStore.enqueue(
                session.connection(), user_id=actor.id, application_id=app.id,
                application_number=app.number, action=NOTE, text=clean, expected_version=None,
            )
            session.add(AuditEvent(
                id=-entry_id, at=utcnow(), actor_id=actor.id,
                actor_label=f"{actor.full_name} <{actor.email}>", action="application.note",
                entity_type="application", entity_id=app.id, note=clean,
            ))
        self._push_now(operation_id)

    def _push_now(self, operation_id: str) -> None:
        if self.sync is None or self.config.offline:
            return
        report = self.sync.sync_now()
        if not report.online:
            return  # stays pending; sent when the connection returns
        entry = next((e for e in report.rejections if e.operation_id == operation_id), None)
        if entry is not None:
            decided = next((e for e in self.local.rejected(include_acknowledged=True)
                            if e.operation_id == operation_id), entry)
            raise UserFacingError(
                f"The central store did not accept your {ACTION_LABELS.get(entry.action, entry.action)}"
                f" of {entry.application_number}: {decided.reason}"
            )

    # --- what is pending -------------------------------------------------------------------------

    def pending_for(self, application_id: int) -> list[OutboxEntry]:
        user_id = self.user.id if self.user else None
        return [e for e in self.local.pending(user_id) if e.application_id == application_id]

    def pending_application_ids(self) -> set[int]:
        user_id = self.user.id if self.user else None
        return {e.application_id for e in self.local.pending(user_id)}

    def detail(self, application_id: int) -> ApplicationDetail:
        """The detail, with a "Pending sync" section listing what is not decided yet."""
        detail = super().detail(application_id)
        user_id = self.user.id if self.user else None
        entries = [e for e in self.local.entries(user_id=user_id, include_acknowledged=False)
                   if e.application_id == application_id and e.state in ("pending", REJECTED)]
        if not entries:
            return detail
        lines = []
        for e in entries:
            when = e.created_at.astimezone().strftime("%d %b %Y %H:%M")
            state = ("waiting to be sent" if e.state == "pending"
                     else f"NOT APPLIED: {e.reason}")
            lines.append((ACTION_LABELS.get(e.action, e.action), f"{when} — {state}"))
        return dataclasses.replace(detail, sections=[*detail.sections, ("Pending sync", lines)])

    def users(self) -> list[OfficerInfo]:
        """Users from the local copy; before the first sync, from the central store."""
        users = super().users()
        if users or self.sync is None or self.sync.link is None or self.config.offline:
            return users
        engine = getattr(self.sync.link, "engine", None)
        if engine is None:
            return users
        return Desk(engine, self.config).users()

