"""One accounting object for a ``pin`` run: every counter the display and summary show.

Stages report each CID's outcome once (:meth:`PinAccounting.done`); the
poller reports through :meth:`~PinAccounting.jobs` (it is a
:class:`~bulkpin.journal.JobCounters`). Renderers read only
:meth:`~PinAccounting.snapshot`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..push.cid_counters import CidCounters
from .events import MigrateEvent, PinEvent, PinSnapshot

__all__ = ["PinAccounting"]


class PinAccounting(CidCounters[MigrateEvent]):
    """Counters for one run."""

    def __init__(self, emit: Callable[[MigrateEvent], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(emit, clock)
        self.pinned = 0
        self.retries = 0
        self.waiting_jobs = 0
        #: Failed jobs the service may still retry, and the seconds until the first
        #: of them is given up on (--wait-timeout).
        self.failing_jobs = 0
        self.gives_up_in: float | None = None

    def retry(self) -> None:
        """A CID will be requested again after a pause."""
        self.retries += 1

    def done(self, event: PinEvent) -> None:
        """A CID needs no more from the request stage: its outcome."""
        self.finish(event.outcome, event)

    def jobs(self, *, pinned: int, waiting: int, failing: int = 0,
             gives_up_in: float | None = None) -> None:
        """The poller's report: CIDs pinned in the journal, jobs not yet final."""
        self.pinned = pinned
        self.waiting_jobs = waiting
        self.failing_jobs = failing
        self.gives_up_in = gives_up_in

    def snapshot(self) -> PinSnapshot:
        """Everything at once."""
        elapsed = self.elapsed()
        get = self.outcomes.get
        return PinSnapshot(
            elapsed=elapsed, listing_done=self.listing_done, found=self.found,
            done=self.finished, in_flight=self.in_flight, requested=get("requested", 0),
            recovered=get("recovered", 0), held=get("held", 0),
            unchanged=get("unchanged", 0), pinned=self.pinned, failed=get("failed", 0),
            bad_lines=self.bad_lines, retries=self.retries, waiting_jobs=self.waiting_jobs,
            failing_jobs=self.failing_jobs, gives_up_in=self.gives_up_in,
            rate=self.rate(elapsed),
        )
