"""One accounting object for a run: every counter the display and summary show.

Stages report to it (found, bytes sent, done, failed...); renderers only read
:meth:`Accounting.snapshot`. Bytes sent may go backwards: the client rewinds
its progress when a retried upload starts over, so the rate never lies.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds of history behind the transfer rate shown.
RATE_WINDOW = 10.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of a run at one instant."""

    elapsed: float
    walk_done: bool
    files_found: int
    bytes_found: int
    files_done: int
    bytes_done: int
    bytes_sent: int
    in_flight: int
    uploaded: int
    pinned: int
    unchanged: int
    deduplicated: int
    failed: int
    skipped: int
    retries: int
    waiting_jobs: int
    rate: float  # bytes per second over the last RATE_WINDOW seconds
    files_rate: float  # files done per second since the start

    @property
    def eta(self) -> float | None:
        """Seconds until every byte found so far is sent, if the rate holds."""
        left = self.bytes_found - self.bytes_done
        if self.rate <= 0 or left <= 0:
            return None
        return left / self.rate


class Accounting:
    """Counters for one run; cheap enough to call per chunk."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.walk_done = False
        self.files_found = 0
        self.bytes_found = 0
        self.files_done = 0
        self.bytes_done = 0
        self.bytes_sent = 0
        self.in_flight = 0
        self.uploaded = 0
        self.pinned = 0
        self.unchanged = 0
        self.deduplicated = 0
        self.failed = 0
        self.skipped = 0
        self.retries = 0
        self.waiting_jobs = 0
        self._samples: deque[tuple[float, int]] = deque()

    def found(self, size: int) -> None:
        """The walk took a file of ``size`` bytes."""
        self.files_found += 1
        self.bytes_found += size

    def sent(self, delta: int) -> None:
        """Upload progress: ``delta`` bytes sent (negative when an attempt rewinds)."""
        self.bytes_sent += delta
        now = self._clock()
        self._samples.append((now, self.bytes_sent))
        while self._samples and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()

    def done(self, size: int) -> None:
        """A file needs no more work from the upload stage."""
        self.files_done += 1
        self.bytes_done += size

    def snapshot(self) -> Snapshot:
        """Everything at once, with rates."""
        now = self._clock()
        elapsed = now - self.started
        rate = 0.0
        if len(self._samples) >= 2:
            (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
            if t1 > t0:
                rate = max(0.0, (b1 - b0) / (now - t0))
        return Snapshot(
            elapsed=elapsed, walk_done=self.walk_done, files_found=self.files_found,
            bytes_found=self.bytes_found, files_done=self.files_done,
            bytes_done=self.bytes_done, bytes_sent=self.bytes_sent, in_flight=self.in_flight,
            uploaded=self.uploaded, pinned=self.pinned, unchanged=self.unchanged,
            deduplicated=self.deduplicated, failed=self.failed, skipped=self.skipped,
            retries=self.retries, waiting_jobs=self.waiting_jobs, rate=rate,
            files_rate=self.files_done / elapsed if elapsed > 0 else 0.0,
        )
