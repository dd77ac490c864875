"""What the poller (:class:`~.poll.Poller`) needs of a journal and of a run's counters.

The poller's rounds (``pinJobs`` by status, a page of 1,000 at a time) are the
same whatever made the jobs: ``push``'s uploads (:class:`~.files.Journal`,
items keyed by path) or ``pin``'s ``pinByHash`` requests
(:class:`~.pins.PinJournal`, items keyed by CID), rows of one items table with
one set of transitions (:mod:`.jobs`). These protocols are the whole of what a
round reads and writes, so both journals share one poller.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["JobBook", "JobCounters"]


class JobBook(Protocol):
    """The rows whose pin jobs are followed, by CID."""

    def waiting_cids(self) -> set[str]:
        """CIDs sent whose job is not yet known to be final."""
        ...

    def failed_job_cids(self) -> set[str]:
        """CIDs failed because of their job, which a late ``pinned`` would revive."""
        ...

    def set_job_status(self, cid: str, status: str, job_id: str | None,
                       error: str | None) -> int:
        """Apply a polled job status; how many rows it changed."""
        ...

    def hinted_cids(self) -> set[str]:
        """CIDs waiting on a job the account had before the journal sent them."""
        ...

    def revive_hinted(self, cid: str) -> list[int]:
        """Such a job failed: its rows go back to be sent; their ids."""
        ...

    def drop_hints(self, cid: str) -> None:
        """Such a job ended pinned: its rows hold the CID now."""
        ...

    def give_up_failed_jobs(self, older_than: float) -> int:
        """Rows whose job stayed failed since before ``older_than`` become failed."""
        ...

    def fail_cid(self, cid: str, error: str) -> int:
        """Rows sent with this CID end failed (revivable by a later ``pinned``)."""
        ...

    def commit(self) -> None:
        """Commit what the round wrote."""
        ...

    def counts(self) -> dict[str, int]:
        """Rows per state; ``"pinned"`` at least."""
        ...


class JobCounters(Protocol):
    """The counters a round reports to."""

    waiting_jobs: int

    def jobs(self, *, pinned: int, waiting: int, failing: int = 0,
             gives_up_in: float | None = None) -> None:
        """Rows pinned in the journal, jobs still not final; of those, ``failing`` are
        failed jobs the service may still retry, the first given up on in ``gives_up_in`` s."""
        ...
