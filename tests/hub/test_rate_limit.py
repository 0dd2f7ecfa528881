"""The in-process rate limiter shared by the intake API and the verification page."""

from __future__ import annotations

import threading

import pytest

from app.hub.errors import TooManyRequests, status_for
from app.hub.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_refused_then_refilled_evenly() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("203.0.113.7")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("203.0.113.7")
    assert status_for(refused.value) == 429
    assert refused.value.retry_after == 1  # type: ignore[attr-defined]
    clock.now += 1.0  # 60 a minute: one a second
    limiter.check("203.0.113.7")
    with pytest.raises(TooManyRequests):
        limiter.check("203.0.113.7")


def test_keys_do_not_share_a_budget_and_burst_defaults_to_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(5, clock=clock)
    for _ in range(5):
        limiter.check("a")
    with pytest.raises(TooManyRequests):
        limiter.check("a")
    limiter.check("b")
    assert limiter.remaining("b") == 4
    limiter.reset("a")
    limiter.check("a")


def test_never_more_than_the_burst_after_a_long_idle() -> None:
    clock = Clock()
    limiter = RateLimiter(600, burst=2, clock=clock)
    clock.now += 3600
    assert limiter.remaining("k") == 2


def test_thread_safe_exactly_the_burst_passes() -> None:
    limiter = RateLimiter(1, burst=50)
    passed: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(20):
            try:
                limiter.check("shared")
            except TooManyRequests:
                continue
            with lock:
                passed.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(passed) == 50


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(10, burst=0)
