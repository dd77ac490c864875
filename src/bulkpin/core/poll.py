"""The poll stage: batched ``pinJobs`` queries until every job is final.

Never one request per file. A round asks for the account's jobs by status, a
page of up to 1000 at a time: first the usually short lists of ``queued``,
``pinning`` and ``failed`` jobs, then, only for CIDs absent from those, the
``pinned`` jobs newest first, stopping as soon as every such CID is found. So a
round costs a handful of requests per thousand files, whatever the account's
size. :meth:`Poller.follow` is the schedule, shared by ``push`` and
``status --wait``: rounds back off while nothing changes and speed up again
when jobs move; an outage counts against the run's patience.

A ``failed`` job is not final at once: Decoo retries failed jobs for a while,
so a file is failed only after its job has stayed failed for the run's
``wait_timeout``, and a failed file whose job later turns ``pinned`` is pinned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from ..client import (
    MAX_PAGE_SIZE,
    DecooClient,
    DecooError,
    Fate,
    JobStatus,
    PinJob,
    classify_item,
    job_rank,
)
from ..journal import JOURNAL_ERRORS, JobBook, JobCounters
from .crashpoints import crash_point
from .errors import ExitStatus, RunAborted
from .pacing import Outage

__all__ = ["PollSchedule", "Poller", "RoundResult", "first_of"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoundResult:
    """What one polling round learnt."""

    requests: int
    pinned: int
    #: Jobs newly seen failed in this round (not those already known failed).
    failed: int
    waiting: int
    missing: int


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """When to poll and when to give up."""

    #: Keep polling after the uploads end until every job is final.
    wait: bool = True
    #: Seconds with no job becoming final (after the uploads end) before giving up.
    wait_timeout: float = 600.0
    #: First and longest pause between rounds.
    interval: float = 1.0
    max_interval: float = 30.0


class Poller:
    """Follows the jobs of a journal's uploaded files (or pinByHash requests)."""

    def __init__(
        self,
        client: DecooClient,
        journal: JobBook,
        accounting: JobCounters,
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
        # CIDs whose job was already seen failed, and when first: a failed job
        # seen again is no news (counting it as progress kept the rounds from
        # backing off), and the display says how long it may still be retried.
        self._seen_failed: dict[str, float] = {}
        #: Told ``(cid, file ids)`` when the account's own job for a hinted CID
        #: (a job the journal did not make) failed: those rows are to be sent.
        self.on_revive: Callable[[str, list[int]], None] | None = None
        #: Told after every round (the revival stage re-checks what it waits for).
        self.after_round: Callable[[], None] | None = None
        #: Asked about a hinted CID with no job: "coming" (another run is sending
        #: it: wait), "void" (its claim died with its run: send it now), or None
        #: (:meth:`bulkpin.journal.SharedClaims.state`); and told what is revived.
        self.claim_state: Callable[[str], str | None] | None = None
        self.forget_claim: Callable[[str], None] | None = None

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
                    if best is None or job_rank(job) < job_rank(best):
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
        # One query a round, usually of an empty table.
        hinted = self.journal.hinted_cids()
        for cid in wanted:
            job = found.get(cid)
            if job is None:
                missing += 1
                self._no_job(cid, cid in hinted, now)
                continue
            self._missing_since.pop(cid, None)
            if cid in hinted and self._hinted(cid, job):
                continue
            failed = job.status is JobStatus.FAILED
            error = "the service reports the pin job failed" if failed else None
            changed = self.journal.set_job_status(cid, job.status.value, job.id, error)
            if job.status is JobStatus.PINNED:
                pinned_n += changed
                self._seen_failed.pop(cid, None)
            elif job.status is JobStatus.FAILED and cid not in self._seen_failed:
                self._seen_failed[cid] = now
                failed_n += 1
        # Jobs failed for longer than the patience, and uploads the service never
        # made a job for, end failed; both stay revivable by a later pinned job.
        self.journal.give_up_failed_jobs(now - self.wait_timeout)
        for cid, since in list(self._missing_since.items()):
            if now - since > self.wait_timeout:
                if cid in hinted:
                    self._revive(cid)
                else:
                    self.journal.fail_cid(cid, "the service has no pin job for this upload")
                del self._missing_since[cid]
        self.journal.commit()
        waiting = self.journal.waiting_cids()
        waiting_n = len(waiting)
        failing = [since for cid, since in self._seen_failed.items() if cid in waiting]
        self.acct.jobs(pinned=self.journal.counts()["pinned"], waiting=waiting_n,
                       failing=len(failing),
                       gives_up_in=self.wait_timeout - (now - min(failing)) if failing else None)
        return RoundResult(self.requests - before, pinned_n, failed_n, waiting_n, missing)

    def _no_job(self, cid: str, hinted: bool, now: float) -> None:
        """The account shows no job for ``cid``: since when, unless a claim says more."""
        said = self.claim_state(cid) if hinted and self.claim_state is not None else None
        if said == "void":
            self._missing_since.pop(cid, None)
            self._revive(cid)
        elif said == "coming":
            self._missing_since[cid] = now
        else:
            self._missing_since.setdefault(cid, now)

    def _hinted(self, cid: str, job: PinJob) -> bool:
        """A job the journal did not make: True if its status is not the rows' to take."""
        if job.status is JobStatus.PINNED:
            self.journal.drop_hints(cid)
            return False
        if job.status is JobStatus.FAILED:
            # Not our job, and we have the bytes: send them rather than wait out a
            # job that may never find the content.
            self._revive(cid)
        return True

    def _revive(self, cid: str) -> None:
        if self.forget_claim is not None:
            self.forget_claim(cid)
        ids = self.journal.revive_hinted(cid)
        if ids and self.on_revive is not None:
            self.on_revive(cid, ids)

    async def follow(
        self,
        schedule: PollSchedule,
        *,
        patience: float,
        uploads_done: anyio.Event,
        stop: anyio.Event,
        on_error: Callable[[str], None],
        on_round: Callable[[RoundResult], None] | None = None,
    ) -> bool:
        """Poll while uploads run, then (if waiting) until every job is final.

        Returns True when it gave up after ``wait_timeout`` with no progress.
        Raises :class:`RunAborted` when the credentials are refused (exit 2) or
        the service stays unreachable past the patience (exit 3).
        """
        # The poller's own clock: pinJobs answering says nothing of uploads.
        outage = Outage(patience)
        pause = schedule.interval
        last_progress = time.monotonic()
        while True:
            done = uploads_done.is_set()
            result = await self._round(outage, on_error)
            if result is not None and on_round is not None:
                on_round(result)
            if self.after_round is not None:
                self.after_round()
            if result is not None and (result.pinned or result.failed):
                last_progress = time.monotonic()
                pause = schedule.interval
            else:
                pause = min(schedule.max_interval, pause * 2)
            # One query per round: the set of CIDs still waiting for a final job.
            waiting = bool(self.journal.waiting_cids())
            if done:
                if not schedule.wait or not waiting:
                    return False
                if time.monotonic() - last_progress > schedule.wait_timeout:
                    return True
            elif not waiting:
                # Nothing to follow yet: wake up soon, the uploads will add some.
                pause = schedule.interval
            if stop.is_set():
                return False
            with anyio.move_on_after(pause):
                if done:
                    await stop.wait()
                else:
                    await first_of(uploads_done, stop)


    async def _round(self, outage: Outage, on_error: Callable[[str], None]) -> RoundResult | None:
        """A round if anything is left to follow; None if not, or if it failed."""
        if not (self.journal.waiting_cids() or self.journal.failed_job_cids()):
            return None
        try:
            result = await self.poll_once()
        except JOURNAL_ERRORS:
            # The journal, not the service: no patience helps (exit 2, said by
            # the lifecycle with the journal's path), where "service
            # unreachable" would have sent the operator looking at the network.
            raise
        except Exception as exc:
            _round_failed(exc, outage, on_error)
            return None
        outage.success()
        return result


def _round_failed(exc: Exception, outage: Outage, on_error: Callable[[str], None]) -> None:
    if isinstance(exc, DecooError):
        verdict = classify_item(exc)
        if verdict.fate is Fate.STOP_RUN:
            # Refused credentials are refused on every try: no patience helps, and
            # it is a configuration problem (exit 2), not an outage (3).
            raise RunAborted(verdict.reason, ExitStatus.USAGE) from exc
    on_error(f"polling pin jobs failed: {exc}")
    # An outage while only polling is left counts against the patience too, not
    # only against the (longer) wait timeout.
    outage.failure(exc)


async def first_of(*events: anyio.Event) -> None:
    """Return once any of ``events`` is set."""
    async with anyio.create_task_group() as tg:
        async def waiter(event: anyio.Event) -> None:
            await event.wait()
            tg.cancel_scope.cancel()

        for event in events:
            tg.start_soon(waiter, event)
