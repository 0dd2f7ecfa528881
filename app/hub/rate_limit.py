"""A small in-process rate limit: one token bucket per key (a client address, an API key).

Each key may spend ``burst`` requests at once and earns ``per_minute`` back per minute,
evenly. ``check(key)`` spends one token or raises :class:`~app.hub.errors.TooManyRequests`
(answered 429 with a ``Retry-After`` header in whole seconds). The limiter is shared by the
intake API and the public verification page; each keeps its own instance, so the two
budgets never mix.

Limits are per process: with several replicas each one counts on its own, which bounds a
flood without needing shared state. Buckets that have filled up again are forgotten, so
the table stays as small as the set of clients active in the last minute or so.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from app.hub.errors import TooManyRequests

_SWEEP_EVERY = 1024  # checks between sweeps of full (idle) buckets


class RateLimiter:
    """Token buckets keyed by string; thread-safe."""

    def __init__(self, per_minute: int, burst: int | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        self.per_minute = per_minute
        self.burst = burst if burst is not None else per_minute
        self._rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._checks = 0

    def check(self, key: str) -> None:
        """Spend one request for ``key``; raise TooManyRequests when none is left."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens(key, now)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self._rate))
                exc = TooManyRequests(
                    f"Too many requests: at most {self.per_minute} a minute; "
                    f"try again in {wait} s.")
                exc.retry_after = wait  # type: ignore[attr-defined]
                raise exc
            self._buckets[key] = (tokens - 1.0, now)
            self._checks += 1
            if self._checks % _SWEEP_EVERY == 0:
                self._sweep(now)

    def remaining(self, key: str) -> int:
        """Whole requests ``key`` may still make now (for headers and tests)."""
        with self._lock:
            return int(self._tokens(key, self._clock()))

    def reset(self, key: str | None = None) -> None:
        """Forget one key's bucket, or all of them."""
        with self._lock:
            if key is None:
                self._buckets.clear()
            else:
                self._buckets.pop(key, None)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + max(0.0, now - at) * self._rate)

    def _sweep(self, now: float) -> None:
        full = [k for k in self._buckets if self._tokens(k, now) >= self.burst]
        for key in full:
            del self._buckets[key]
