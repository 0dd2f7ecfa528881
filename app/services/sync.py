"""Sync between the desk's local store and the central store.

One sync: ``hello`` (who am I, which offices, is the schema one I know), **push** the
outbox in order, in batches (each batch decided in one central transaction; operation ids
make a retried batch apply once), then **pull** what changed since the per-office cursors
(plus the applications the push touched, so that a refused optimistic change is replaced
by the central store's copy). The central store wins on application data; refused
operations stay in the outbox as *rejected*, with the reason, until the officer has seen
them (and after, as history): nothing is dropped.

Thread-safe: one sync at a time (the background timer and "Sync now" share a lock). No Qt
here: ``app/views/sync_ui.py`` runs it on the task pool.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import UserFacingError
from app.models.base import utcnow
from app.store.link import CentralInfo, CentralUnavailable, SyncLink
from app.store.local import LocalStore, OutboxEntry
from app.store.pull_sql import ApplicationFilter

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
PUSH_BATCH = 200


@dataclass(frozen=True)
class SyncReport:
    online: bool
    started_at: dt.datetime
    finished_at: dt.datetime
    pushed: int = 0
    applied: int = 0
    rejected: int = 0
    pulled_applications: int = 0
    pulled_rows: int = 0
    removed: int = 0
    pending: int = 0
    error: str = ""
    rejections: tuple[OutboxEntry, ...] = ()

    @property
    def summary(self) -> str:
        if not self.online:
            return f"Offline: {self.error}" if self.error else "Offline"
        parts = [f"{self.pulled_applications:,} applications updated"]
        if self.pushed:
            parts.append(f"{self.applied} of {self.pushed} actions applied")
        if self.rejected:
            parts.append(f"{self.rejected} could not be applied")
        if self.pending:
            parts.append(f"{self.pending} still pending")
        return "Synced: " + ", ".join(parts)


@dataclass
class SyncStatus:
    """What the online/offline indicator shows."""

    online: bool | None = None  # None: not tried yet
    last_sync: dt.datetime | None = None
    last_error: str = ""
    pending: int = 0
    rejected: int = 0
    listeners: list[Callable[[SyncStatus], None]] = field(default_factory=list, repr=False)


class SyncService:
    """The desk's sync with the central store (push the outbox, pull the changes)."""

    def __init__(self, local: LocalStore, link: SyncLink | None, *,
                 email: str | None = None) -> None:
        self.local = local
        self.link = link
        self.email = email
        self.info: CentralInfo | None = None
        self.status = SyncStatus()
        self._lock = threading.Lock()
        # test hook: called after a pushed batch was decided centrally, before it is
        # recorded locally (where a lost answer would strike)
        self.after_push_batch: Callable[[list[str]], None] | None = None
        self._refresh_counts()

    @property
    def user_id(self) -> int | None:
        return self.info.user_id if self.info else None

    def set_user(self, email: str) -> None:
        """The signed-in user (on PostgreSQL the login decides; the e-mail must match)."""
        if self.email != email:
            self.email, self.info = email, None

    # --- status ----------------------------------------------------------------------------

    def _refresh_counts(self) -> None:
        user_id = self.user_id
        self.status.pending = len(self.local.pending(user_id))
        self.status.rejected = len(self.local.rejected(user_id))

    def _set_online(self, online: bool, error: str = "") -> None:
        self.status.online = online
        self.status.last_error = error
        if online:
            self.status.last_sync = utcnow()
        self._refresh_counts()
        for listener in list(self.status.listeners):
            try:
                listener(self.status)
            except Exception:  # noqa: BLE001 - a broken listener must not break sync
                log.exception("sync status listener failed")

    def pending(self) -> list[OutboxEntry]:
        return self.local.pending(self.user_id)

    def rejected(self, include_acknowledged: bool = False) -> list[OutboxEntry]:
        return self.local.rejected(self.user_id, include_acknowledged=include_acknowledged)

    def acknowledge(self, operation_ids: list[str]) -> None:
        self.local.acknowledge(operation_ids)
        self._refresh_counts()

    # --- sync ------------------------------------------------------------------------------

    def connect(self) -> CentralInfo:
        """Say hello to the central store and bind the local store to this user."""
        if self.link is None:
            raise CentralUnavailable("No central store is configured for this desk.")
        info = self.link.hello(self.email)
        self.local.adopt(info)
        self.info = info
        self.email = info.email
        return info

    def sync_now(self, progress: Progress | None = None) -> SyncReport:
        """Push the outbox, then pull; never raises for a lost connection (the report and
        the status say offline)."""
        with self._lock:
            return self._sync(progress or (lambda _message: None))

    def refresh(self, application_ids: list[int]) -> None:
        """Pull these applications now (and whatever else changed): after an issue through
        the central interface, so that the local copy shows it at once."""
        with self._lock:
            try:
                info = self.info or self.connect()
                self._pull(info, set(application_ids), lambda _message: None)
            except CentralUnavailable as exc:
                log.info("refresh: offline (%s)", exc)
                self._set_online(False, str(exc))
                return
            self._set_online(True)

    def _sync(self, progress: Progress) -> SyncReport:
        started = utcnow()
        counts = {"pushed": 0, "applied": 0, "rejected": 0}
        rejections: list[OutboxEntry] = []
        try:
            progress("Connecting to the central store…")
            info = self.connect()
            touched = self._push(info, progress, counts, rejections)
            progress("Receiving changes…")
            outcome = self._pull(info, touched, progress)
        except CentralUnavailable as exc:
            log.info("sync: offline (%s)", exc)
            self._set_online(False, str(exc))
            return SyncReport(online=False, started_at=started, finished_at=utcnow(),
                              error=str(exc), pending=self.status.pending,
                              rejections=tuple(rejections), **counts)
        except UserFacingError as exc:
            self._set_online(False, str(exc))
            raise
        self._set_online(True)
        report = SyncReport(
            online=True, started_at=started, finished_at=utcnow(),
            pulled_applications=outcome[0], pulled_rows=outcome[1], removed=outcome[2],
            pending=self.status.pending, rejections=tuple(rejections), **counts,
        )
        progress(report.summary)
        log.info("sync: %s", report.summary)
        return report

    def _push(self, info: CentralInfo, progress: Progress, counts: dict[str, int],
              rejections: list[OutboxEntry]) -> set[int]:
        assert self.link is not None
        entries = self.local.pending(info.user_id)
        touched: set[int] = set()
        if not entries:
            return touched
        refused: dict[int, str] = {}
        total = len(entries)
        for start in range(0, total, PUSH_BATCH):
            batch = []
            for entry in entries[start:start + PUSH_BATCH]:
                touched.add(entry.application_id)
                if entry.application_id in refused:  # never sent: its predecessor failed
                    self.local.refuse_unsent(entry, refused[entry.application_id])
                    counts["rejected"] += 1
                    rejections.append(entry)
                    continue
                batch.append(entry)
            if not batch:
                continue
            progress(f"Sending actions {start + 1:,}–{start + len(batch):,} of {total:,}…")
            self.local.mark_attempt([e.operation_id for e in batch])
            results = self.link.push(info.user_id, [e.operation() for e in batch])
            if self.after_push_batch is not None:
                self.after_push_batch([r.operation_id for r in results])
            self.local.record_results(results, batch)
            by_id = {e.operation_id: e for e in batch}
            for result in results:
                counts["pushed"] += 1
                if result.applied:
                    counts["applied"] += 1
                else:
                    counts["rejected"] += 1
                    entry = by_id[result.operation_id]
                    rejections.append(entry)
                    refused.setdefault(
                        entry.application_id,
                        f"Not sent: the earlier {entry.action} of {entry.application_number} "
                        f"was not applied ({result.reason})")
        return touched

    def _pull(self, info: CentralInfo, touched: set[int],
              progress: Progress) -> tuple[int, int, int]:
        assert self.link is not None
        cursors = self.local.cursors()
        filter_ = ApplicationFilter(info.office_ids, cursors, tuple(sorted(touched)))
        batch = self.link.pull(info, filter_, progress)
        outcome = self.local.apply_pull(info, batch)
        removed = outcome.removed
        local_counts = self.local.office_counts(info.office_ids)
        if any(local_counts.get(o, 0) != batch.office_counts.get(o, 0) for o in info.office_ids):
            # some applications left these offices (or were deleted) on the central store
            removed += self.local.remove_missing(self.link.application_ids(info.office_ids))
        return outcome.applications, outcome.rows, removed
