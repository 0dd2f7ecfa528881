"""One helper for work off the GUI thread: run a function on the thread pool and hand its
result (or its exception) back to the GUI thread through a signal.

    task = run_task(lambda: desk.queue(ids), on_done=model.set_rows, on_error=window.show_error)
    task.cancel()  # the officer moved on: the result, when it comes, is dropped

The GUI thread only draws: SQL, rendering, signing, sync, image work and HTTP go through
here. The function may accept two keywords, both optional:

- ``progress``: a callable taking a message (``str``) or a :class:`TaskProgress`; every
  report reaches ``on_progress`` on the GUI thread as a :class:`TaskProgress`.
- ``cancel``: the task's :class:`CancelToken`, to poll in long loops
  (``cancel.raise_if_cancelled()``) or to hand on as a ``threading.Event``
  (``cancel.event``).

A cancelled task's result (or error) is dropped; so is the result of a task whose
``owner`` widget is gone, and a task whose owner is destroyed is cancelled.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)
_running: set[Task] = set()


@dataclass(frozen=True)
class TaskProgress:
    """How far a task is: a message, and when countable ``done`` of ``total``."""

    message: str
    done: int | None = None
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.done is None or not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)


class TaskCancelled(Exception):  # noqa: N818 - reads as what happened
    """Raised inside a task by :meth:`CancelToken.raise_if_cancelled`; not an error."""


class CancelToken:
    """Set once by whoever cancels; polled by the task (any thread)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def cancel(self) -> None:
        self.event.set()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def raise_if_cancelled(self) -> None:
        if self.event.is_set():
            raise TaskCancelled


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(object)


class Task(QRunnable):
    """A function on the pool; :meth:`cancel` drops its result (and tells the function)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.token = CancelToken()
        self.relay = _Relay()
        parameters = inspect.signature(fn).parameters
        self.wants_progress = "progress" in parameters
        self.wants_cancel = "cancel" in parameters

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def cancel(self) -> None:
        """Ask the task to stop; its result, when it comes, is dropped."""
        self.token.cancel()

    def report(self, progress: str | TaskProgress) -> None:
        """The function's ``progress`` callable (any thread)."""
        if self.token.cancelled:
            return
        if not isinstance(progress, TaskProgress):
            progress = TaskProgress(str(progress))
        self.relay.progress.emit(progress)

    def run(self) -> None:
        if self.token.cancelled:  # cancelled while it waited for a thread
            self.relay.failed.emit(TaskCancelled())
            return
        kwargs: dict[str, Any] = {}
        if self.wants_progress:
            kwargs["progress"] = self.report
        if self.wants_cancel:
            kwargs["cancel"] = self.token
        try:
            result = self.fn(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            self.relay.failed.emit(exc)
        else:
            self.relay.done.emit(result)


def run_task(
    fn: Callable[..., Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[TaskProgress], None] | None = None,
    owner: QObject | None = None,
) -> Task:
    """Run ``fn`` on the pool. When ``owner`` (a widget) is gone by the time the result
    arrives, the callbacks are skipped: nobody is left to show it."""
    task = Task(fn)
    _running.add(task)
    watch = None
    if owner is not None:  # a closed window cancels its tasks
        watch = owner.destroyed.connect(lambda *_: task.cancel())

    def owner_gone() -> bool:
        return owner is not None and not shiboken6.isValid(owner)

    def settle() -> bool:
        """Forget the task; True when its outcome is still wanted."""
        _running.discard(task)
        if watch is not None and not owner_gone():
            owner.disconnect(watch)  # type: ignore[union-attr]
        return not (task.cancelled or owner_gone())

    def finished_ok(result: object) -> None:
        if settle() and on_done is not None:
            on_done(result)

    def finished_bad(exc: BaseException) -> None:
        wanted = settle()
        if isinstance(exc, TaskCancelled) or task.cancelled:
            log.debug("a cancelled background task ended (%r)", exc)
        elif not wanted:
            log.info("result of a background task dropped: its window is closed", exc_info=exc)
        elif on_error is not None:
            on_error(exc)
        else:
            log.error("background task failed", exc_info=exc)

    def progressed(progress: TaskProgress) -> None:
        if on_progress is not None and not (task.cancelled or owner_gone()):
            on_progress(progress)

    task.relay.done.connect(finished_ok)
    task.relay.failed.connect(finished_bad)
    task.relay.progress.connect(progressed)
    QThreadPool.globalInstance().start(task)
    return task


def running_tasks() -> int:
    return len(_running)


def wait_for_tasks(timeout_ms: int = 10_000) -> bool:
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
