"""One helper for work off the GUI thread: run a function on the thread pool and hand its
result (or its exception) back to the GUI thread through a signal.

    run_task(lambda: desk.queue(ids), on_done=model.set_rows, on_error=window.show_error)

Progress: the function may accept a ``progress`` keyword (a callable taking a message);
messages arrive on the GUI thread through ``on_progress``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)
_running: set[Task] = set()


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(str)


class Task(QRunnable):
    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.relay = _Relay()
        self.wants_progress = "progress" in inspect.signature(fn).parameters

    def run(self) -> None:
        try:
            if self.wants_progress:
                result = self.fn(progress=self.relay.progress.emit)
            else:
                result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            self.relay.failed.emit(exc)
        else:
            self.relay.done.emit(result)


def run_task(
    fn: Callable[..., Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
    owner: QObject | None = None,
) -> Task:
    """Run ``fn`` on the pool. When ``owner`` (a widget) is gone by the time the result
    arrives, the callbacks are skipped: nobody is left to show it."""
    task = Task(fn)
    _running.add(task)

    def owner_gone() -> bool:
        return owner is not None and not shiboken6.isValid(owner)

    def finished_ok(result: object) -> None:
        _running.discard(task)
        if on_done is not None and not owner_gone():
            on_done(result)

    def finished_bad(exc: BaseException) -> None:
        _running.discard(task)
        if owner_gone():
            log.info("result of a background task dropped: its window is closed", exc_info=exc)
        elif on_error is not None:
            on_error(exc)
        else:
            log.error("background task failed", exc_info=exc)

    task.relay.done.connect(finished_ok)
    task.relay.failed.connect(finished_bad)
    if on_progress is not None:
        task.relay.progress.connect(on_progress)
    QThreadPool.globalInstance().start(task)
    return task


def running_tasks() -> int:
    return len(_running)


def wait_for_tasks(timeout_ms: int = 10_000) -> bool:
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
