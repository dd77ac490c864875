"""One accounting object for a run: every counter the display and summary show.

Stages report what happens to each file, as rclone's transfers report
``Done(err)``: :meth:`Accounting.found` when the walk takes it,
:meth:`~Accounting.begin` / :meth:`~Accounting.sent` / :meth:`~Accounting.end`
while a worker holds it, and :meth:`~Accounting.file_done` once with its
outcome, which is counted here and passed on to the run's event subscriber.
No stage touches a counter itself. Renderers only read
:meth:`Accounting.snapshot`. Bytes sent may go backwards: the client rewinds
its progress when a retried upload starts over, so the totals never lie.

A file named to :meth:`~Accounting.begin` is followed while in flight: its bytes
sent count towards the run's progress as they go (a large file moves the bar
during its upload), and the largest few are shown by name.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass

from .events import FileEvent, FileOutcome, PushEvent
from .job_tally import JobTally
from .rate import RateMeter
from .snapshot import TRANSFERS_SHOWN, Snapshot, Transfer

__all__ = ["PUSH_COUNTS", "TRANSFERS_SHOWN", "Accounting"]

#: A push's own counts in its snapshot (:attr:`Snapshot.counts`), each an attribute here.
PUSH_COUNTS = ("uploaded", "unchanged", "held", "deduplicated", "skipped", "gone",
               "would_send", "would_send_bytes")

#: Which counter each outcome adds to (a dry run's ``hashed``: a file it would send).
_COUNTERS: dict[FileOutcome, str] = {
    "hashed": "would_send",
    "uploaded": "uploaded", "recovered": "uploaded", "deduplicated": "deduplicated",
    "failed": "failed", "pinned": "pinned", "unchanged": "unchanged", "skipped": "skipped",
    "held": "held", "gone": "gone",
}


@dataclass(slots=True)
class _InFlight:
    size: int
    started: float
    sent: int = 0


class Accounting(JobTally):
    """Counters for one run; cheap enough to call per chunk."""

    def __init__(
        self,
        emit: Callable[[PushEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit or (lambda event: None)
        self._clock = clock
        self.started = clock()
        self.walk_done = False
        self.stopping = False
        self.files_found = 0
        self.bytes_found = 0
        self.files_done = 0
        self.bytes_done = 0
        self.bytes_sent = 0
        self.in_flight = 0
        self.uploaded = 0
        self.unchanged = 0
        self.held = 0
        self.deduplicated = 0
        #: A dry run's files that a real run would send, and their bytes.
        self.would_send = 0
        self.would_send_bytes = 0
        self.failed = 0
        self.skipped = 0
        self.gone = 0
        self._meter = RateMeter()
        self._moving: dict[str, _InFlight] = {}

    def found(self, size: int) -> None:
        """The walk took a file of ``size`` bytes."""
        self.files_found += 1
        self.bytes_found += size

    def sent(self, delta: int, name: str | None = None) -> None:
        """Upload progress: ``delta`` bytes of file ``name`` sent (negative on a rewind).

        A rewind (a failed or abandoned attempt) takes the bytes back from the
        file's progress, not from ``bytes_sent``: they did cross the wire.
        """
        if not self.bytes_sent:
            self._meter.start(self._clock(), self.bytes_sent)
        if delta > 0:
            self.bytes_sent += delta
        moving = self._moving.get(name) if name is not None else None
        if moving is not None:
            moving.sent += delta

    def cannot_finish(self, name: str, seconds: float) -> bool:
        """Whether upload ``name`` will not be done in ``seconds`` at the pace it has had.

        False while there is no pace to judge by (nothing sent yet, or for
        under a second): a stop's grace is given to what may still make it.
        """
        moving = self._moving.get(name)
        if moving is None or moving.sent <= 0:
            return False
        elapsed = self._clock() - moving.started
        if elapsed < 1.0:
            return False
        return (moving.size - moving.sent) * elapsed / moving.sent > seconds

    def stop_asked(self) -> None:
        """The run was asked to stop: the walk ends where it is, nothing new starts."""
        self.stopping = True

    def walk_finished(self) -> None:
        """Every file there is has been found."""
        self.walk_done = True

    def begin(self, name: str | None = None, size: int = 0) -> None:
        """A worker took a file; named, its bytes are followed until it is done."""
        self.in_flight += 1
        if name is not None:
            self._moving[name] = _InFlight(size, self._clock())

    def end(self, name: str | None = None) -> None:
        """The worker let go of the file (whatever became of it)."""
        self.in_flight -= 1
        if name is not None:
            self._moving.pop(name, None)

    def _count(self, event: FileEvent) -> None:
        counter = _COUNTERS.get(event.outcome)
        if counter is not None:
            setattr(self, counter, getattr(self, counter) + 1)
        self._emit(event)

    def file_done(self, event: FileEvent) -> None:
        """A found file needs no more work from the upload stage: its outcome."""
        self.files_done += 1
        self.bytes_done += event.size
        if event.outcome == "hashed":
            self.would_send_bytes += event.size
        # Its bytes now count as done: no longer also as moving.
        self._moving.pop(event.path, None)
        self._count(event)

    def not_taken(self, event: FileEvent) -> None:
        """A path the walk reported but no stage takes (skipped, or unreadable)."""
        self._count(event)

    def snapshot(self) -> Snapshot:
        """Everything at once, with rates."""
        now = self._clock()
        elapsed = now - self.started
        self._meter.update(now, self.bytes_sent)
        largest = heapq.nlargest(TRANSFERS_SHOWN, self._moving.items(),
                                 key=lambda item: item[1].size)
        return Snapshot(
            kind="push", elapsed=elapsed, source_done=self.walk_done, stopping=self.stopping,
            found=self.files_found, done=self.files_done, in_flight=self.in_flight,
            pinned=self.pinned, failed=self.failed, retries=self.retries,
            waiting_jobs=self.waiting_jobs, failing_jobs=self.failing_jobs,
            gives_up_in=self.gives_up_in, bytes_found=self.bytes_found,
            bytes_done=self.bytes_done, bytes_sent=self.bytes_sent,
            bytes_moving=sum(m.sent for m in self._moving.values()), rate=self._meter.rate,
            items_rate=self.files_done / elapsed if elapsed > 0 else 0.0,
            transfers=tuple(Transfer(name, m.size, m.sent) for name, m in largest),
            counts={name: getattr(self, name) for name in PUSH_COUNTS},
        )
