"""``--rate-limit N/min``: a token bucket per account.

Each account may burst up to N requests, refilled at N per minute; a request
that finds the bucket empty is answered 429 with the whole seconds until a
token is back in ``Retry-After``.
"""

from __future__ import annotations

import math
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by account id; ``clock`` returns seconds (monotonic)."""

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self._capacity = max(per_minute, 1.0)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}

    def acquire(self, key: int) -> float:
        """Take a token: 0.0 if allowed, else the seconds until one is available."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._rate

    @staticmethod
    def retry_after(wait: float) -> int:
        """``Retry-After`` header value for a wait in seconds (at least 1)."""
        return max(1, math.ceil(wait))
