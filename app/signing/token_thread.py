"""The one thread that talks to PKCS#11 modules.

python-pkcs11 calls ``C_Initialize(NULL)``, which tells the module that the application will
not call it from several threads at once. Every module call in ``app.signing`` therefore
runs on this single worker (Electrum's ``@runs_in_hwd_thread`` pattern): callers on any
thread (a GUI worker, the CLI, a test) hand it a function and wait for the answer.
A call made from the token thread itself runs directly, so helpers can nest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_thread_ident: int | None = None


def _remember_ident() -> None:
    global _thread_ident
    _thread_ident = threading.get_ident()


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="token", initializer=_remember_ident
            )
        return _executor


def on_token_thread() -> bool:
    return _thread_ident is not None and threading.get_ident() == _thread_ident


def run_in_token_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn`` on the token thread and return its result (or raise its exception)."""
    if on_token_thread():
        return fn(*args, **kwargs)
    return _get_executor().submit(fn, *args, **kwargs).result()
