"""One accounting object for a ``pin`` run: every counter the display and summary show.

Stages report each CID's outcome once (:meth:`PinAccounting.done`); the
poller reports through :meth:`~PinAccounting.jobs` (it is a
:class:`~bulkpin.core.job_tally.JobTally`). Renderers read only
:meth:`~PinAccounting.snapshot`.
"""

from __future__ import annotations

from ..core.cid_counters import CidCounters
from ..core.job_tally import JobTally
from ..core.snapshot import Snapshot
from .events import MigrateEvent, PinEvent

__all__ = ["PinAccounting"]


class PinAccounting(CidCounters[MigrateEvent], JobTally):
    """Counters for one run."""

    def done(self, event: PinEvent) -> None:
        """A CID needs no more from the request stage: its outcome."""
        self.finish(event.outcome, event)

    def snapshot(self) -> Snapshot:
        """Everything at once."""
        return self.snapshot_of(
            "pin", ("requested", "recovered", "held", "unchanged"), pinned=self.pinned,
            failed=self.outcomes.get("failed", 0), retries=self.retries,
            waiting_jobs=self.waiting_jobs, failing_jobs=self.failing_jobs,
            gives_up_in=self.gives_up_in,
        )
