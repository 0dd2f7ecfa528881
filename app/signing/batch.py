"""Issue a batch of certificates with one token session: pure Python, no Qt, no SQL.

The unit of work is the caller's: ``issue_one(item, session) -> result`` allocates the
number, renders, signs (``session.sign_pdf``/``session.sign_raw``) and records, all in one
transaction of its own. The engine only runs those units in order and decides what
happens when one fails:

* a token, session or PIN error (:class:`~app.signing.errors.TokenError`, or a raw
  python-pkcs11 exception, which is mapped) stops the batch at once: the item that was being
  issued is *left* (its transaction rolled back, so never half issued), every item before
  it is *done*, every item after it is *left*;
* a cancel request (``cancel.set()``) stops the batch before the next item;
* any other :class:`~app.errors.UserFacingError` from one item marks that item *failed*
  (with its message) and the batch goes on;
* an unexpected exception (a bug) stops the batch too, with the exception recorded.

``run`` always returns a :class:`BatchOutcome`; it never raises for an item's failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from app.errors import UserFacingError
from app.signing.errors import TokenError, from_pkcs11

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class SigningSession(Protocol):
    """What ``issue_one`` may use; :class:`~app.signing.token_session.TokenSession` is one."""

    @property
    def certificate_der(self) -> bytes: ...

    @property
    def key_algorithm(self) -> str: ...

    def sign_pdf(self, pdf_bytes: bytes, *, field_name: str, page: int,
                 box: Sequence[float], stamp_png: bytes | None = None,
                 stamp_text: str = "") -> bytes: ...

    def sign_raw(self, data: bytes) -> bytes: ...


class BatchStatus(Enum):
    COMPLETED = "completed"  # every item done or failed on its own
    STOPPED = "stopped"  # a token/session/PIN error stopped it
    CANCELLED = "cancelled"  # the officer cancelled
    CRASHED = "crashed"  # an unexpected error stopped it


@dataclass(frozen=True)
class Progress:
    done: int
    failed: int
    total: int
    current: Any = None  # the item just finished (or None at start)

    @property
    def finished(self) -> int:
        return self.done + self.failed


@dataclass
class BatchOutcome(Generic[ItemT, ResultT]):
    status: BatchStatus
    done: list[tuple[ItemT, ResultT]] = field(default_factory=list)
    failed: list[tuple[ItemT, str]] = field(default_factory=list)
    left: list[ItemT] = field(default_factory=list)
    message: str = ""
    error: BaseException | None = None

    @property
    def done_items(self) -> list[ItemT]:
        return [item for item, _ in self.done]

    def summary(self) -> str:
        text = f"{len(self.done)} issued, {len(self.failed)} failed, {len(self.left)} left"
        return f"{text}: {self.message}" if self.message else text


class IssueBatch(Generic[ItemT, ResultT]):
    """Run ``issue_one`` over ``items`` with one open session; see the module docstring."""

    def __init__(
        self,
        items: Sequence[ItemT],
        issue_one: Callable[[ItemT, Any], ResultT],
        *,
        cancel: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.items = list(items)
        self.issue_one = issue_one
        self.cancel = cancel or threading.Event()
        self.on_progress = on_progress

    def run(self, session: Any) -> BatchOutcome[ItemT, ResultT]:
        outcome: BatchOutcome[ItemT, ResultT] = BatchOutcome(BatchStatus.COMPLETED)
        total = len(self.items)
        self._report(Progress(0, 0, total))
        for index, item in enumerate(self.items):
            if self.cancel.is_set():
                outcome.status = BatchStatus.CANCELLED
                outcome.left = self.items[index:]
                outcome.message = "Cancelled by the officer."
                break
            try:
                result = self.issue_one(item, session)
            except TokenError as exc:
                return self._stop(outcome, index, exc, BatchStatus.STOPPED, str(exc))
            except UserFacingError as exc:
                mapped = from_pkcs11(exc)
                if isinstance(mapped, TokenError):
                    return self._stop(outcome, index, mapped, BatchStatus.STOPPED, str(mapped))
                log.info("item %d of %d failed: %s", index + 1, total, exc)
                outcome.failed.append((item, str(exc)))
            except Exception as exc:
                mapped = from_pkcs11(exc)
                if mapped is not None:
                    status = (BatchStatus.STOPPED if isinstance(mapped, TokenError)
                              else BatchStatus.CRASHED)
                    return self._stop(outcome, index, mapped, status, str(mapped))
                log.exception("item %d of %d crashed the batch", index + 1, total)
                return self._stop(
                    outcome, index, exc, BatchStatus.CRASHED,
                    f"Unexpected error ({type(exc).__name__}: {exc}); the batch was stopped.",
                )
            else:
                outcome.done.append((item, result))
            self._report(Progress(len(outcome.done), len(outcome.failed), total, item))
        log.info("batch %s: %s", outcome.status.value, outcome.summary())
        return outcome

    def run_with(self, open_session: Callable[[], Any]) -> BatchOutcome[ItemT, ResultT]:
        """Open the session (asks the PIN once), run, and close it whatever happens.

        Errors while opening (no token, wrong PIN, refused certificate, cancelled PIN
        prompt) propagate: nothing was issued.
        """
        session = open_session()
        try:
            return self.run(session)
        finally:
            close = getattr(session, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # the token may be gone; the outcome matters more
                    log.debug("closing the session after the batch: %s", type(exc).__name__)

    def _stop(
        self,
        outcome: BatchOutcome[ItemT, ResultT],
        index: int,
        error: BaseException,
        status: BatchStatus,
        message: str,
    ) -> BatchOutcome[ItemT, ResultT]:
        outcome.status = status
        outcome.left = self.items[index:]
        outcome.error = error
        outcome.message = message
        log.warning("batch stopped at item %d of %d: %s", index + 1, len(self.items), message)
        return outcome

    def _report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)
