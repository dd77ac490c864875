"""The account index: which CIDs the destination already holds, kept in the journal.

rclone's ``march`` compares a source listing with the destination's; this is
the destination's side. Before a run uploads anything it lists the account:

- ``pinList``, 1,000 pins a request, oldest first, only from the newest pin
  date seen by the last listing (less a day, for clocks and equal dates), so
  a later run pays for what changed, not for the whole account;
- one ``pinList`` request for the account's total: if the index holds fewer or
  more pins than the account says it has (a pin was removed, or added out of
  date order), the index is rebuilt from scratch;
- ``pinJobs`` by status ``queued`` and ``pinning`` (short lists), replacing what
  the last listing said of jobs not yet final. These are listed before the
  pins, so a job that finishes during the listing is seen one way or the other.

A file whose CID the index holds is not sent: it is recorded as pinned (or as
uploaded with the account's job, which the poller follows). Jobs this run
creates are added as it goes, so a later copy of the same content is known;
they are kept in a TEMP table (``run_jobs``), not in the journal: the next
run lists the account's unfinished jobs anew and would throw them away, and
at a million files they were a fifth of the journal.
A run started with ``--no-account-listing`` trusts its journal and asks
``pinJobs`` per file only for files an earlier run may have sent.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..client import (
    MAX_PAGE_SIZE,
    DecooClient,
    DecooError,
    JobStatus,
    Pin,
    PinJob,
)
from ..core.errors import ExitStatus, RunAborted
from ..core.item_retry import ItemRetry
from ..core.offset_pages import ListingDiverged, stable_pages
from ..core.options import ListingOptions
from ..core.pacing import Outage
from ..journal import AccountTables, JournalStore

__all__ = ["AccountIndex", "Held", "ListingCost", "ListingOptions", "list_account"]

log = logging.getLogger(__name__)

#: How far before the newest pin date seen a later listing starts again.
OVERLAP = timedelta(days=1)
#: How far the Cloud's ``Date`` may lag the newest pin date before its clock is
#: taken to have stepped back (a header has whole seconds; clocks drift a little).
CLOCK_SLACK = timedelta(minutes=5)
_UNTIL = "account_pins_until"


@dataclass(frozen=True, slots=True)
class Held:
    """What the account holds of one CID."""

    cid: str
    #: True if pinned; else a job is queued or pinning.
    pinned: bool
    job_id: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class ListingCost:
    """What one refresh cost and found."""

    requests: int
    pins_seen: int
    jobs_seen: int
    rebuilt: bool
    pins_total: int
    #: Wall-clock seconds the listing took.
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for the user, said as the listing ends."""
        whole = ", listed whole" if self.rebuilt else ""
        return (f"the account holds {self.pins_total:,} pins and {self.jobs_seen:,}"
                f" unfinished jobs ({self.requests:,} requests{whole})")

    def as_then(self, destination: object) -> str:
        """The same, said in a run's summary: as then, of ``destination``.

        Right after pinning thousands of files, "0 pins" alone read as if they
        were not there.
        """
        return (f"account: {destination}: held {self.pins_total:,} pins and"
                f" {self.jobs_seen:,} unfinished jobs when listed at the start"
                f" ({self.requests:,} requests)")


async def list_account(
    journal: JournalStore, client: DecooClient | None, options: ListingOptions, *,
    say: Callable[[str], None], warn: Callable[[str], None], stop: anyio.Event | None = None,
) -> tuple[AccountIndex | None, ListingCost | None]:
    """The account index of every run, brought up to date before anything moves.

    None when the run does not list (``--no-account-listing``, no client): the
    journal is then trusted. A dry run lists too (read-only requests, into its
    copy of the journal), so it says what a real run would send. ``say`` gets
    what the listing found, ``warn`` each failed try.
    """
    if client is None or not options.list_account:
        return None, None
    index = AccountIndex(journal)
    listing = await index.refresh_patiently(client, options.patience, warn, stop)
    say(listing.describe())
    return index, listing


async def _unless_stopped(listing: Awaitable[ListingCost],
                          stop: anyio.Event | None) -> ListingCost | None:
    """``await listing``, or None as soon as ``stop`` is set.

    A stop cancels the request in flight with its tenacity attempts: waiting
    them out kept a stopped run listing for minutes while Cloud was down.
    """
    if stop is None:
        return await listing
    result: ListingCost | None = None
    failed: Exception | None = None
    async with anyio.create_task_group() as tg:
        async def cut() -> None:
            await stop.wait()
            tg.cancel_scope.cancel()

        tg.start_soon(cut)
        try:
            result = await listing
        except Exception as exc:  # raised below, outside the group: not wrapped in one
            failed = exc
        tg.cancel_scope.cancel()
    if failed is not None:
        raise failed
    return result


class AccountIndex:
    """The destination's CIDs, read from and written to the journal's tables."""

    def __init__(self, journal: JournalStore) -> None:
        self.journal = journal
        self.tables = AccountTables(journal)
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    # -- the tables --

    def _add_pins(self, pins: Sequence[Pin]) -> None:
        self.tables.add_pins((pin.cid, pin.id, pin.size, _utc(pin.date)) for pin in pins)

    def pin_count(self) -> int:
        """How many of the account's pins the index holds."""
        return self.tables.pin_count()

    def _add_jobs(self, jobs: Sequence[PinJob]) -> None:
        # Stored page by page as the listing goes: an account with a million
        # queued jobs is not held in memory whole.
        self.tables.add_jobs((job.cid, job.id, job.status.value) for job in jobs)

    # -- lookups (one indexed query each) --

    def holds(self, cid: str) -> Held | None:
        """Whether the account holds ``cid`` or has a job for it not yet final."""
        row = self.tables.holds(cid, JobStatus.PINNED.value)
        return None if row is None else Held(cid, *row)

    def has_size(self, size: int) -> bool:
        """Whether the account holds a pin of exactly ``size`` bytes (a possible copy)."""
        return self.tables.has_size(size)

    def forget_job(self, cid: str) -> None:
        """The account's job for ``cid`` failed: it no longer counts as coming."""
        self.tables.forget_job(cid)

    def record_job(self, cid: str, job_id: str | None, status: str) -> None:
        """A job this run created (or found): the account has it now."""
        self.tables.record_job(cid, job_id, status)

    # -- listing --

    async def refresh_patiently(self, client: DecooClient, patience: float,
                                warn: Callable[[str], None],
                                stop: anyio.Event | None = None) -> ListingCost:
        """:meth:`refresh`, tried again while the service may come back.

        The item tier of retries (:class:`~.item_retry.ItemRetry`) applies to
        the listing as to an upload: the run's patience, and a stop asked
        during a pause or a request ends it at once. Raises :class:`~.errors.RunAborted`:
        exit 2 if no listing can succeed (credentials, configuration), 3 once
        the outage outlasts ``patience``, or when the run is stopped.
        """
        outage = Outage(patience)
        retry = ItemRetry(outage, stop=stop, rng=self._rng)
        failed: list[str] = []
        attempt = 0
        while True:
            try:
                listed = await _unless_stopped(self.refresh(client), stop)
                if listed is not None:
                    return listed
            except ListingDiverged as exc:
                # Asking again would read the same moving listing: say what it is.
                raise RunAborted(f"cannot list the account: {exc}",
                                 ExitStatus.INTERRUPTED) from exc
            except DecooError as exc:
                if not await retry.after_error(exc, attempt, what="the account's listing",
                                               fail=failed.append,
                                               abort_prefix="cannot list the account's pins: "):
                    raise RunAborted(f"cannot list the account's pins: {failed[-1]}",
                                     ExitStatus.INTERRUPTED) from exc
                left = outage.left
                warn(f"listing the account failed, trying again: {exc}"
                     + (f" (giving up in {left:.0f} s)" if left is not None else ""))
                attempt += 1
            if stop is not None and stop.is_set():
                raise RunAborted("interrupted while listing the account",
                                 ExitStatus.INTERRUPTED)

    async def refresh(self, client: DecooClient) -> ListingCost:
        """Bring the index up to date with the account (see the module's docstring)."""
        journal = self.journal
        started = time.monotonic()
        requests = 0
        # Unfinished jobs first, in the order a job moves (queued, pinning), then
        # the pins: a job that finishes while the account is listed is then seen
        # as a job or as a pin. Pins first, a job that was pinning then and
        # pinned by the time the jobs were listed was in neither, and a resumed
        # run requested its CID again.
        self.tables.clear_jobs()
        jobs_seen = 0
        for status in (JobStatus.QUEUED, JobStatus.PINNING):
            pager = _JobPager(client, status)
            async for jobs in stable_pages(pager.fetch, _job_key, limit=MAX_PAGE_SIZE,
                                           what=f"{status.value} jobs"):
                self._add_jobs(jobs)
                jobs_seen += len(jobs)
                journal.commit_if_due()
            requests += pager.requests
        since = journal.meta(_UNTIL)
        start = None
        if since is not None:
            start = datetime.fromisoformat(since) - OVERLAP
        listed = await self._list_pins(client, start)
        requests += listed.requests
        total_page = await client.pin_list_page(limit=1)
        requests += 1
        reason = self._distrust(listed, total_page.count, start, since, client.server_time)
        rebuilt = False
        if reason is not None:
            log.info("account index: %s; listing the account whole", reason)
            self.tables.clear_pins()
            listed = await self._list_pins(client, None)
            requests += listed.requests
            rebuilt = True
        newest = listed.newest
        if newest is not None and (since is None or rebuilt
                                   or newest > datetime.fromisoformat(since)):
            journal.set_meta(_UNTIL, newest.isoformat())
        journal.commit()
        return ListingCost(requests, listed.seen, jobs_seen, rebuilt, self.pin_count(),
                           time.monotonic() - started)

    def _distrust(self, listed: _Listed, total: int, start: datetime | None,
                  since: str | None, server_time: datetime | None) -> str | None:
        """Why the index, brought up to date by date, may still be wrong; None if it is not.

        Three checks, none costing a request more: the pins the index holds
        dated in the window just listed must be as many as the window's
        ``Count`` (a pin removed there shows); all the pins it holds as many as
        the account's total (a removal elsewhere, or a pin dated before the
        window); and the Cloud's clock, by its ``Date`` header, must not be
        behind the newest pin date seen (a clock that stepped back dates new
        pins before the window, where a removal could hide behind them).
        """
        if start is not None:
            # Dates are kept in UTC (_add_pins), so they compare as numbers; a
            # row from an older bulkpin kept as text counts as in the window,
            # and its mismatch lists the account whole once, in numbers.
            in_window = self.tables.pins_since(_utc(start))
            if in_window != listed.count:
                return (f"{in_window} pins known since {start.isoformat()}, the account lists"
                        f" {listed.count}")
        if self.pin_count() != total:
            return f"{self.pin_count()} pins known, the account says {total}"
        if since is not None and server_time is not None \
                and server_time < datetime.fromisoformat(since) - CLOCK_SLACK:
            return (f"the Cloud's clock ({server_time.isoformat()}) is behind the newest pin"
                    f" date seen ({since}): it stepped back")
        return None

    async def _list_pins(self, client: DecooClient, start: datetime | None) -> _Listed:
        failure: Exception | None = None
        send, receive = anyio.create_memory_object_stream[Sequence[Pin] | Exception](1)
        pager = _PinPager(client, start)
        async with anyio.create_task_group() as tg:
            # The next page is asked for while this one is read and stored: the
            # service's work and ours overlap instead of taking turns.
            tg.start_soon(self._fetch_pins, pager, send)
            try:
                seen, newest = await self._store_pins(receive)
                return _Listed(seen, newest, pager.requests, pager.count)
            except Exception as exc:  # raised as itself, not in a task group's ExceptionGroup
                failure = exc
                tg.cancel_scope.cancel()
        assert failure is not None
        raise failure

    async def _store_pins(
        self, receive: MemoryObjectReceiveStream[Sequence[Pin] | Exception]
    ) -> tuple[int, datetime | None]:
        seen = 0
        newest: datetime | None = None
        async with receive:
            async for pins in receive:
                if isinstance(pins, Exception):
                    raise pins
                for pin in pins:
                    if pin.date is not None and (newest is None or pin.date > newest):
                        newest = pin.date
                self._add_pins(pins)
                seen += len(pins)
                self.journal.commit_if_due()
        return seen, newest

    @staticmethod
    async def _fetch_pins(pager: _PinPager,
                          send: MemoryObjectSendStream[Sequence[Pin] | Exception]) -> None:
        """Every page of ``pinList`` from the pager's start, oldest first, into ``send``.

        A failure is handed on as the last item, for the reader to raise.
        """
        async with send:
            try:
                async for pins in stable_pages(pager.fetch, _pin_key, limit=MAX_PAGE_SIZE,
                                               what="pins"):
                    await send.send(pins)
            except Exception as exc:  # raised again by the reader
                await send.send(exc)


def _utc(when: datetime | None) -> datetime | None:
    """The same moment in UTC (naive dates as they are): packed as a number, it sorts."""
    return when.astimezone(UTC) if when is not None and when.tzinfo is not None else when


def _job_key(job: PinJob) -> str:
    return job.id


def _pin_key(pin: Pin) -> str:
    return pin.id


@dataclass(frozen=True, slots=True)
class _Listed:
    """What one ``pinList`` listing read."""

    seen: int
    newest: datetime | None
    requests: int
    #: The listing's ``Count`` as its last page gave it.
    count: int


class _JobPager:
    """``pinJobs`` pages of one status, oldest first, counted."""

    def __init__(self, client: DecooClient, status: JobStatus) -> None:
        self.client = client
        self.status = status
        self.requests = 0

    async def fetch(self, offset: int, limit: int) -> tuple[int, Sequence[PinJob]]:
        page = await self.client.pin_jobs_page(status=self.status, sort="ASC", offset=offset,
                                               limit=limit)
        self.requests += 1
        return page.count, page.jobs


class _PinPager:
    """``pinList`` pages from a date, oldest first, counted; keeps the last ``Count``."""

    def __init__(self, client: DecooClient, start: datetime | None) -> None:
        self.client = client
        self.start = start
        self.requests = 0
        self.count = 0

    async def fetch(self, offset: int, limit: int) -> tuple[int, Sequence[Pin]]:
        page = await self.client.pin_list_page(sort="ASC", start_date=self.start,
                                               offset=offset, limit=limit)
        self.requests += 1
        self.count = page.count
        return page.count, page.pins
