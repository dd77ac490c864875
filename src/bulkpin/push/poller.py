"""The poll stage: batched ``pinJobs`` queries until every job is final.

Never one request per file. A round asks for the account's jobs by status, a
page of up to 1000 at a time: first the usually short lists of ``queued``,
``pinning`` and ``failed`` jobs, then, only for CIDs absent from those, the
``pinned`` jobs newest first, stopping as soon as every such CID is found. So a
round costs a handful of requests per thousand files, whatever the account's
size. Rounds back off while nothing changes and speed up again when jobs move.

A ``failed`` job is not final at once: Decoo retries failed jobs for a while,
so a file is failed only after its job has stayed failed for the run's
``wait_timeout``, and a failed file whose job later turns ``pinned`` is pinned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..client import MAX_PAGE_SIZE, DecooClient, JobStatus, PinJob
from .accounting import Accounting
from .crashpoints import crash_point
from .journal import Journal

log = logging.getLogger(__name__)

#: Best first: when a CID has several jobs, the best one speaks for it.
_RANK = {JobStatus.PINNED: 0, JobStatus.PINNING: 1, JobStatus.QUEUED: 2, JobStatus.FAILED: 3}


@dataclass(frozen=True, slots=True)
class RoundResult:
    """What one polling round learnt."""

    requests: int
    pinned: int
    failed: int
    waiting: int
    missing: int


class Poller:
    """Follows the jobs of a journal's uploaded files."""

    def __init__(
        self,
        client: DecooClient,
        journal: Journal,
        accounting: Accounting,
        *,
        wait_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.journal = journal
        self.acct = accounting
        self.wait_timeout = wait_timeout
        self._clock = clock
        self.requests = 0
        self.rounds = 0
        # When each waiting CID was first seen with no job at all.
        self._missing_since: dict[str, float] = {}

    async def _collect(self, status: JobStatus, wanted: set[str], found: dict[str, PinJob],
                       stop_when_done: bool) -> None:
        # Our own paging (not client.pin_jobs) so every request is counted and a
        # pinned scan can stop at the first page that completes the set.
        offset = 0
        while True:
            page = await self.client.pin_jobs_page(
                status=status, sort="DESC", offset=offset, limit=MAX_PAGE_SIZE
            )
            self.requests += 1
            crash_point("polling")
            for job in page.jobs:
                if job.cid in wanted:
                    best = found.get(job.cid)
                    if best is None or _RANK[job.status] < _RANK[best.status]:
                        found[job.cid] = job
            offset += len(page.jobs)
            if not page.jobs or offset >= page.count:
                return
            if stop_when_done and wanted <= found.keys():
                return

    async def poll_once(self) -> RoundResult:
        """One round over every waiting CID; applies what it learns to the journal."""
        self.rounds += 1
        before = self.requests
        waiting = self.journal.waiting_cids()
        revivable = self.journal.failed_job_cids()
        wanted = waiting | revivable
        if not wanted:
            self.acct.waiting_jobs = 0
            return RoundResult(0, 0, 0, 0, 0)
        found: dict[str, PinJob] = {}
        for status in (JobStatus.QUEUED, JobStatus.PINNING, JobStatus.FAILED):
            await self._collect(status, wanted, found, stop_when_done=False)
        # Absent from the non-final lists, or failed there: maybe pinned meanwhile.
        unresolved = {
            cid for cid in wanted if cid not in found or found[cid].status is JobStatus.FAILED
        }
        if unresolved:
            pinned: dict[str, PinJob] = {}
            await self._collect(JobStatus.PINNED, unresolved, pinned, stop_when_done=True)
            found.update(pinned)
        now = self._clock()
        pinned_n = failed_n = missing = 0
        for cid in wanted:
            job = found.get(cid)
            if job is None:
                missing += 1
                self._missing_since.setdefault(cid, now)
                continue
            self._missing_since.pop(cid, None)
            failed = job.status is JobStatus.FAILED
            error = "the service reports the pin job failed" if failed else None
            changed = self.journal.set_job_status(cid, job.status.value, job.id, error)
            if job.status is JobStatus.PINNED:
                pinned_n += changed
            elif job.status is JobStatus.FAILED:
                failed_n += 1
        # Jobs failed for longer than the patience, and uploads the service never
        # made a job for, end failed; both stay revivable by a later pinned job.
        self.journal.give_up_failed_jobs(now - self.wait_timeout)
        for cid, since in list(self._missing_since.items()):
            if now - since > self.wait_timeout:
                self.journal.fail_cid(cid, "the service has no pin job for this upload")
                del self._missing_since[cid]
        self.journal.commit()
        self.acct.pinned = self.journal.counts()["pinned"]
        self.acct.waiting_jobs = len(self.journal.waiting_cids())
        return RoundResult(self.requests - before, pinned_n, failed_n,
                           self.acct.waiting_jobs, missing)
