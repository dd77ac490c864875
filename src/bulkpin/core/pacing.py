"""Pacing a run: its rate limits, its memory bound, and its patience with an outage.

- :class:`TokenBucket`: uploads started per second, file bytes sent per second
  (:func:`wire_bucket`, paid piece by piece as bytes go to the socket);
- :class:`ByteSemaphore`: bytes of file contents held in memory across workers;
- :class:`Outage`: how long the service has been failing, against ``--patience``.

Concurrency (requests in flight) is bounded by the worker count: the bounds are
separate on purpose. Clocks and sleeps are injected so tests take no time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

from .errors import ExitStatus, RunAborted

__all__ = ["ByteSemaphore", "Outage", "TokenBucket", "wire_bucket"]

#: Seconds of ``--bwlimit`` the wire may take at once: short enough that any
#: one-second window stays near the limit, long enough to absorb the pauses
#: of a single upload's reads.
WIRE_BURST_SECONDS = 0.25

#: The smallest burst, in bytes: below it the pieces an upload sends would
#: each wait, and a low limit would crawl on timer granularity.
WIRE_MIN_BURST = 64 * 1024


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


def wire_bucket(
    rate: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> TokenBucket:
    """The one bucket every upload of a run pays into, byte by byte, for ``--bwlimit``.

    Shared by all uploads, so the limit holds for the run whatever the number
    of files in flight or their sizes; paid per piece as the body is handed to
    the socket (the client's ``throttle`` hook), never per file up front.
    """
    return TokenBucket(rate, burst=max(rate * WIRE_BURST_SECONDS, WIRE_MIN_BURST),
                       clock=clock, sleep=sleep)


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


class Outage:
    """Tracks how long the service has been failing, against the run's patience."""

    def __init__(self, patience: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.patience = patience
        self._clock = clock
        self._failing_since: float | None = None

    def success(self) -> None:
        """Any answer from the service ends an outage."""
        self._failing_since = None

    def failure(self, exc: BaseException) -> None:
        """A request failed for a reason that may pass (connection, 5xx, 429...).

        Raises :class:`RunAborted` (exit 3, resumable) once the service has been
        failing for longer than the patience: the one place that rule lives.
        """
        if self._failing_since is None:
            self._failing_since = self._clock()
        if self.expired:
            raise RunAborted(
                f"the service has been unreachable for over {self.patience:g} s"
                f" (last error: {exc})", ExitStatus.INTERRUPTED,
            ) from exc

    @property
    def failing(self) -> bool:
        """Whether the last answer, if any, was a failure."""
        return self._failing_since is not None

    @property
    def left(self) -> float | None:
        """Seconds of patience left in this outage (None: no outage)."""
        if self._failing_since is None:
            return None
        return max(0.0, self.patience - (self._clock() - self._failing_since))

    @property
    def expired(self) -> bool:
        """Whether the service has failed for longer than the patience."""
        return (
            self._failing_since is not None
            and self._clock() - self._failing_since > self.patience
        )
