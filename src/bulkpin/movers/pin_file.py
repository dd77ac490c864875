"""The ``pinFile`` mover: what every upload shares, whatever its bytes are read from.

A local file (:mod:`.local_files`) and an ``s3://`` object or URL
(:mod:`bulkpin.push.remote`) differ in how they are read, how they are told
apart and what "deleted" means; the rest is this one object, held by both (not
inherited and re-implemented):

- what an upload may hold in memory (``--memory``), its turn at ``--rate-limit``
  and its share of ``--bwlimit``, paid on the wire piece by piece;
- the claims that keep two copies of one content from being sent at once, and
  the rule that content already there is not sent again (:mod:`bulkpin.push.dedup`):
  ``deduplicated`` when the journal has it, ``held`` when the account does;
- ``pinJobs?pin-hash=`` for an item a past attempt may have sent (``recovered``);
- the ``uploading`` mark, committed before the first byte goes out, and what
  the answer is recorded as;
- the item tier of DESIGN.md's three (:class:`~bulkpin.core.item_retry.ItemRetry`):
  tried again after a pause, failed, or the run stopped.
"""

from __future__ import annotations

import os
import random
from collections.abc import Awaitable, Callable

import anyio

from ..client import DecooClient, DecooError, PinResult
from ..core.accounting import Accounting
from ..core.events import FileEvent, FileOutcome
from ..core.item_retry import ItemRetry
from ..core.pacing import ByteSemaphore, Outage, TokenBucket, wire_bucket
from ..journal import FileRecord, Journal, SharedClaims
from ..push.account_index import AccountIndex
from ..push.dedup import Claims, ShapeKey, known_content
from ..push.options import PushOptions

__all__ = ["MAX_CHANGED_RETRIES", "PinFileMover"]

#: Times an item that keeps changing under us is read again before it is failed.
MAX_CHANGED_RETRIES = 2


class PinFileMover:
    """One run's uploads: shared by every worker, and by every kind of item."""

    def __init__(
        self,
        options: PushOptions,
        journal: Journal,
        client: DecooClient | None,
        accounting: Accounting,
        *,
        hash_limiter: anyio.CapacityLimiter,
        outage: Outage,
        index: AccountIndex | None = None,
        rng: random.Random | None = None,
        stop: anyio.Event | None = None,
    ) -> None:
        self.index = index
        self.options = options
        self.journal = journal
        self.client = client
        self.acct = accounting
        self.hash_limiter = hash_limiter
        self.outage = outage
        self.memory = ByteSemaphore(options.memory)
        self.rate = TokenBucket(options.rate_limit) if options.rate_limit else None
        # One bucket for all uploads, paid as bytes go to the socket (--bwlimit).
        self.bandwidth = wire_bucket(options.bwlimit) if options.bwlimit else None
        #: The item tier: items tried again after a pause, taking turns in an outage.
        self.retry = ItemRetry(outage, stop=stop, rng=rng, on_retry=accounting.retry)
        self.claims = Claims()
        #: Claims shared with the other runs to this destination
        #: (:mod:`bulkpin.journal.claims`): set by a local push.
        self.shared: SharedClaims | None = None
        #: Items an attempt of this run may have sent (its request failed): the
        #: account index, listed before that attempt, cannot know the job it made.
        self._tried: set[int] = set()

    def others_running(self) -> bool:
        """Whether another run to this destination is live (so may send what this one does)."""
        return self.shared is not None and self.shared.others_running()

    @property
    def throttle(self) -> Callable[[int], Awaitable[None]] | None:
        """What a body pays each piece it sends with (``--bwlimit``), or None."""
        return self.bandwidth.take if self.bandwidth is not None else None

    def finish(self, record: FileRecord, outcome: FileOutcome, cid: str | None,
               error: str | None = None) -> None:
        """Count one item's outcome (the journal already says it)."""
        self._tried.discard(record.id)
        self.acct.file_done(
            FileEvent(os.fsdecode(record.display), outcome, record.size, cid, error)
        )

    async def after_error(self, record: FileRecord, exc: DecooError, attempt: int,
                          fail: Callable[[str], None]) -> bool:
        """The item tier's verdict: True to try again; ``fail`` records a final failure."""
        self._tried.add(record.id)
        return await self.retry.after_error(exc, attempt, what=os.fsdecode(record.display),
                                            fail=fail)

    def may_be_held(self, size: int) -> bool:
        """Whether the account holds a pin of this size: such an item may be a copy."""
        return self.index is not None and self.index.has_size(size)

    async def send(self, record: FileRecord, cid: str | None, shape: ShapeKey, *,
                   verify: bool, ours_maybe: bool,
                   upload: Callable[[], Awaitable[None]]) -> None:
        """``upload()`` unless the same content is there or on its way; never twice at once.

        ``verify``: a past attempt may have sent it, so ask ``pinJobs`` first
        when the account was not listed. ``ours_maybe``: see :meth:`already_there`.
        """
        # Wait out any upload of the same content, then decide. Nothing awaits
        # between the last check and the claim, so the claim is exclusive.
        await self.claims.wait(cid, shape)
        if cid is not None and self.already_there(record, cid, ours_maybe=ours_maybe):
            return
        with self.claims.claim(cid, shape):
            if cid is not None and self.shared is not None and self._claimed_elsewhere(record, cid):
                return
            # The index, listed at the start, holds what earlier runs sent, but
            # not a job made by one of this run's failed attempts: ask pinJobs
            # when there is no index, or when this run already tried the item.
            if verify and cid is not None and (self.index is None or record.id in self._tried) \
                    and await self._recover(record, cid):
                return
            try:
                await upload()
            except BaseException:
                if cid is not None and self.shared is not None:
                    self.shared.release(cid)  # whoever waits on it sends it
                raise

    def _claimed_elsewhere(self, record: FileRecord, cid: str) -> bool:
        """Another live run is sending ``cid``: follow its job, as a hint, instead."""
        assert self.shared is not None
        other = self.shared.claim(cid)
        if other is None:
            return False
        self.journal.mark_held(record.id, cid, job_id=other.job_id, pinned=False, hint=True)
        self.finish(record, "held", cid)
        return True

    def already_there(self, record: FileRecord, cid: str, *, ours_maybe: bool) -> bool:
        """Whether ``cid`` needs no upload for ``record`` (recorded as such if so).

        ``ours_maybe``: an earlier attempt may have sent the item, so a job the
        account has for it may be ours. Otherwise such a job is someone
        else's: a hint that the content is coming, followed as such
        (:meth:`~bulkpin.push.journal.Journal.mark_held`'s ``hint``).
        """
        known = known_content(self.journal, self.index, record, cid)
        if known is None:
            return False
        if known.row is not None:
            self.journal.mark_duplicate(record.id, known.row)
            self.finish(record, "deduplicated", cid)
        else:
            assert known.held is not None
            held = known.held
            self.journal.mark_held(record.id, cid, job_id=held.job_id, pinned=held.pinned,
                                   pin_date=held.date, hint=not ours_maybe)
            self.finish(record, "held", cid)
        return True

    async def _recover(self, record: FileRecord, cid: str) -> bool:
        assert self.client is not None
        job = await self.client.find_active_job(cid)
        if job is None:
            # The Cloud answering is no sign the upload will go through now: only
            # progress ends an outage, or an Endpoint that always refuses would
            # restart the patience on every try and the run would never stop.
            return False
        self.outage.success()
        self.journal.mark_uploaded(record.id, cid, job.id)
        self.finish(record, "recovered", cid)
        return True

    async def begin_upload(self, record: FileRecord, cid: str | None) -> DecooClient:
        """Take a turn at ``--rate-limit`` and commit the ``uploading`` mark; the client."""
        assert self.client is not None
        if self.rate is not None:
            await self.rate.take()
        self.journal.mark_uploading(record.id, cid)
        await self.journal.sync()
        return self.client

    def uploaded(self, record: FileRecord, result: PinResult) -> None:
        """Record ``pinFile``'s answer: the job to follow, or the pin it already is."""
        self.outage.success()
        date = result.date.isoformat() if result.date is not None else None
        self.journal.mark_uploaded(record.id, result.cid, result.job_id, date)
        if self.index is not None:
            self.index.record_job(result.cid, result.job_id, "queued")
        if self.shared is not None and result.job_id is not None:
            self.shared.sent(result.cid, result.job_id)
        if result.job_status is not None and result.job_status.value == "pinned":
            self.journal.set_job_status(result.cid, "pinned", result.job_id, None)
        self.finish(record, "recovered" if result.recovered else "uploaded", result.cid)
