"""The request stage: one CID to one ``pinByHash``, exactly once.

Before the request goes out, the CID is marked ``requested`` and that mark is
committed (a group commit shared by the workers), so a crash never hides a
request that may have reached the service. A CID an earlier run may have sent
is first looked up with ``pinJobs?pin-hash=`` (the client also recovers a lost
answer by itself between its attempts). Errors follow DESIGN.md's tiers: the
client retries the request; :func:`bulkpin.client.classify_item` decides
whether the CID is tried again after a pause (while the run's patience lasts),
failed, or the run stopped.
"""

from __future__ import annotations

import logging
import random

import anyio

from ..client import DecooClient, DecooError, JobStatus
from ..core.crashpoints import crash_point
from ..core.item_retry import ItemRetry
from ..core.march import Work
from ..core.pacing import Outage, TokenBucket
from ..journal import PinJournal, PinRecord
from ..migrate.accounting import PinAccounting
from ..migrate.events import PinEvent, PinOutcome

__all__ = ["Requester"]

log = logging.getLogger(__name__)


class Requester:
    """Takes one CID at a time to an outcome; several run at once."""

    def __init__(self, journal: PinJournal, client: DecooClient, accounting: PinAccounting,
                 *, outage: Outage, stop: anyio.Event, rate_limit: float | None = None,
                 rng: random.Random | None = None) -> None:
        self.journal = journal
        self.client = client
        self.acct = accounting
        self.outage = outage
        self.stop = stop
        self.rate = TokenBucket(rate_limit) if rate_limit else None
        #: The item tier: CIDs requested again after a pause, taking turns in an outage.
        self.retry = ItemRetry(outage, stop=stop, rng=rng, on_retry=accounting.retry)
        #: pinByHash calls made (each may be several HTTP attempts).
        self.requests = 0

    def _done(self, record: PinRecord, outcome: PinOutcome, job_id: str | None = None,
              error: str | None = None) -> None:
        self.acct.done(PinEvent(record.cid, outcome, record.name, record.origin, job_id, error))

    async def handle(self, item: Work[PinRecord]) -> None:
        """Take one CID to an outcome, or leave it for the next run once the run stops.

        Raises :class:`~bulkpin.core.errors.RunAborted` when no request can succeed.
        """
        record, verify = item.record, item.verify
        attempt = 0
        self.acct.begin()
        try:
            while not self.stop.is_set():
                try:
                    await self._once(record, verify)
                except DecooError as exc:
                    if not await self._after_error(record, exc, attempt):
                        return
                    attempt += 1
                    verify = True  # the last attempt may have made a job
                else:
                    return
        finally:
            self.acct.end()

    async def _once(self, record: PinRecord, verify: bool) -> None:
        cid = record.cid
        if verify:
            job = await self.client.find_active_job(cid)
            if job is not None:
                self.outage.success()
                self.journal.mark_answered(cid, job.id, pinned=job.status is JobStatus.PINNED)
                self._done(record, "recovered", job.id)
                return
        if self.rate is not None:
            await self.rate.take()
            if self.stop.is_set():
                return  # stopped while paced: this CID waits for the next run
        self.journal.mark_requested(cid)
        await self.journal.sync()
        self.requests += 1
        result = await self.client.pin_by_hash(cid, record.name)
        crash_point("after_answer")
        self.outage.success()
        self.journal.mark_answered(cid, result.job_id, pinned=result.status is JobStatus.PINNED)
        self._done(record, "recovered" if result.recovered else "requested", result.job_id)

    async def _after_error(self, record: PinRecord, exc: DecooError, attempt: int) -> bool:
        """The item tier's verdict (:class:`~bulkpin.core.item_retry.ItemRetry`)."""

        def fail(reason: str) -> None:
            self.journal.mark_failed(record.cid, reason)
            self._done(record, "failed", error=reason)

        return await self.retry.after_error(exc, attempt, what=record.cid, fail=fail)
