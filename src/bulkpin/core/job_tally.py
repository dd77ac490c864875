"""The counters of following jobs, the same in every run that sends items to an account.

The poller reports each round to :meth:`JobTally.jobs` (a
:class:`~bulkpin.journal.JobCounters`), the movers each pause before a retry to
:meth:`~JobTally.retry`; ``push``'s and ``pin``'s accountings are both one.
"""

from __future__ import annotations

__all__ = ["JobTally"]


class JobTally:
    """Items pinned, jobs not final, retries; class-level zeros until counted."""

    #: Items the journal calls pinned.
    pinned: int = 0
    retries: int = 0
    waiting_jobs: int = 0
    #: Failed jobs the service may still retry, and the seconds until the first
    #: of them is given up on (--wait-timeout).
    failing_jobs: int = 0
    gives_up_in: float | None = None

    def retry(self) -> None:
        """An item will be tried again after a pause."""
        self.retries += 1

    def jobs(self, *, pinned: int, waiting: int, failing: int = 0,
             gives_up_in: float | None = None) -> None:
        """The poller's report: items pinned in the journal, jobs still not final."""
        self.pinned = pinned
        self.waiting_jobs = waiting
        self.failing_jobs = failing
        self.gives_up_in = gives_up_in
