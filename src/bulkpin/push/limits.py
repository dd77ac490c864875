"""Rate limits for a run: uploads started per second and file bytes sent per second.

A token bucket each; the clock and sleep are injected so tests take no time.
Concurrency (requests in flight) and memory are bounded elsewhere, by the
worker count and a byte semaphore: the three bounds are separate on purpose.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio


class TokenBucket:
    """At most ``rate`` tokens per second on average, bursts up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = anyio.Lock()

    async def take(self, amount: float = 1.0) -> None:
        """Take ``amount`` tokens, waiting while the bucket is in debt.

        Tokens are taken at once and the caller sleeps off any debt, so a take
        larger than the burst is paced rather than refused, and waiting callers
        are served in order (the lock is held while sleeping).
        """
        async with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= amount
            if self._tokens < 0:
                await self._sleep(-self._tokens / self.rate)


class ByteSemaphore:
    """Bounds the bytes of file contents held in memory across all workers."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._free = capacity
        self._changed = anyio.Event()

    async def acquire(self, amount: int) -> int:
        """Reserve ``amount`` bytes (capped at the capacity, so any file fits alone)."""
        amount = min(amount, self.capacity)
        while self._free < amount:
            await self._changed.wait()
        self._free -= amount
        return amount

    def release(self, amount: int) -> None:
        """Give back what :meth:`acquire` returned."""
        self._free += amount
        self._changed.set()
        self._changed = anyio.Event()
