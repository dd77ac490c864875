"""One accounting object for a verification: every counter the display and summary show.

The stages report each CID once (:meth:`VerifyAccounting.done`); renderers
read only :meth:`~VerifyAccounting.snapshot`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._events import BadLineEvent, ChangedEvent, CidEvent, VerifyEvent, VerifySnapshot
from ._outcomes import Retrievable

__all__ = ["VerifyAccounting"]


class VerifyAccounting:
    """Counters for one run."""

    def __init__(self, emit: Callable[[VerifyEvent], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit or (lambda event: None)
        self._clock = clock
        self.started = clock()
        self.listing_done = False
        self.found = 0
        self.finished = 0
        self.in_flight = 0
        self.results: dict[str, int] = {}
        self.changed = 0
        self.bad_lines = 0
        self.bytes = 0

    def take(self) -> None:
        """The input gave a CID to check (or to skip as proven)."""
        self.found += 1

    def bad_line(self, event: BadLineEvent) -> None:
        """The input met an entry that is no CID."""
        self.bad_lines += 1
        self._emit(event)

    def changed_file(self, event: ChangedEvent) -> None:
        """A pushed file is no longer what was pushed."""
        self.changed += 1
        self._emit(event)

    def begin(self) -> None:
        """A worker took a CID."""
        self.in_flight += 1

    def end(self) -> None:
        """The worker let go of it."""
        self.in_flight -= 1

    def done(self, event: CidEvent) -> None:
        """A CID is done with: its result."""
        self.finished += 1
        self.results[event.result] = self.results.get(event.result, 0) + 1
        if isinstance(event.outcome, Retrievable):
            self.bytes += event.outcome.bytes
        self._emit(event)

    def snapshot(self) -> VerifySnapshot:
        """Everything at once."""
        elapsed = self._clock() - self.started
        get = self.results.get
        return VerifySnapshot(
            elapsed=elapsed, listing_done=self.listing_done, found=self.found,
            done=self.finished, in_flight=self.in_flight, retrievable=get("retrievable", 0),
            incomplete=get("incomplete", 0), corrupt=get("corrupt", 0),
            wrong_size=get("wrong-size", 0), unreachable=get("unreachable", 0),
            proven=get("proven", 0), changed=self.changed, bad_lines=self.bad_lines,
            bytes=self.bytes, rate=self.finished / elapsed if elapsed > 0 else 0.0,
        )
