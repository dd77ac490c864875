"""``migrate``: the ``bulkpin pin`` pipeline, wired as DESIGN.md draws it.

::

    source ─▶ listing + journal check ─▶ pinByHash workers ─▶ job poller ─▶ manifest
              (listing.py, plan.py)  (movers/pin_by_hash.py)   (core/poll.py)

Only this module starts tasks: one task group owns the listing, the request
workers, the poller and the progress ticker, joined by a bounded stream, so a
source of any size is migrated in bounded memory and requests start with the
first page. The account index is refreshed first (as ``push`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from ..client import DecooClient
from ..core.errors import RunAborted
from ..core.lifecycle import Ended, run
from ..core.pacing import Outage
from ..core.poll import Poller
from ..core.stages import abandoned_notice, follow_jobs, run_stages, ticker, worker_pool
from ..destination import Destination
from ..journal import PinJournal, default_pin_journal_path
from ..movers.pin_by_hash import Requester
from ..push.account_index import AccountIndex
from ..sources import PinSource
from .accounting import PinAccounting
from .events import MigrateEvent, NoticeEvent, ProgressEvent
from .listing import Lister, Relister
from .manifest import write_pin_manifest
from .options import PinOptions
from .plan import Planner, WorkItem
from .summary import PinSummary

__all__ = ["PinSummary", "migrate"]


#: Seconds pinByHash requests in flight may take to finish once a stop is asked.
REQUEST_GRACE = 20.0


class _Run:
    """The stages of one run and what they share."""

    def __init__(self, source: PinSource, options: PinOptions, journal: PinJournal,
                 client: DecooClient | None, emit: Callable[[MigrateEvent], None],
                 stop: anyio.Event, index: AccountIndex | None,
                 relist: Relister | None) -> None:
        self.options = options
        self.journal = journal
        self.emit = emit
        self.stop = stop
        self.acct = PinAccounting(emit)
        planner = Planner(journal, self.acct, index, dry_run=options.dry_run)
        self.lister = Lister(source, journal, planner, self.acct, stop, shard=options.shard,
                             relist=relist)
        self.requester = Requester(journal, client, self.acct, outage=Outage(options.patience),
                                   stop=stop, rate_limit=options.rate_limit) \
            if client is not None else None
        self.poller = Poller(client, journal, self.acct, wait_timeout=options.wait_timeout) \
            if client is not None else None
        self.requests_done = anyio.Event()
        self.aborted: RunAborted | None = None
        self.poll_timed_out = False

    async def requests(self, work: MemoryObjectReceiveStream[WorkItem]) -> None:
        """The request workers; marks the requests done when the last one ends."""

        async def request(item: WorkItem) -> None:
            if self.requester is not None:  # a dry run requests nothing
                await self.requester.handle(item)

        try:
            await worker_pool(
                work, request, concurrency=self.options.concurrency, stop=self.stop,
                # pinByHash requests are small: in flight at a stop, they are let finish.
                grace=REQUEST_GRACE, in_flight=lambda: self.acct.in_flight,
                on_abandon=abandoned_notice(self.emit, REQUEST_GRACE, "request(s)"),
                after_each=self.journal.commit_if_due,
            )
        finally:
            self.requests_done.set()

    async def poll(self) -> None:
        """Follow jobs while the movers run, then until they are final (if waiting)."""
        assert self.poller is not None
        self.poll_timed_out = await follow_jobs(
            self.poller, self.options, movers_done=self.requests_done, stop=self.stop,
            warn=lambda m: self.emit(NoticeEvent(m, "warning")),
        )

    async def main(self) -> None:
        """Every stage, until the source's last CID is final, or the run stops or aborts."""
        send, receive = anyio.create_memory_object_stream[WorkItem](self.options.concurrency * 2)
        self.aborted = await run_stages(
            [partial(self.lister.run, send), partial(self.requests, receive),
             *([self.poll] if self.poller is not None else [])],
            self.tick,
        )

    @property
    def source_failed(self) -> str | None:
        """Why the listing of the source stopped part-way (resumable), or None."""
        return self.lister.failed.message if self.lister.failed is not None else None

    async def tick(self) -> None:
        """Progress events, until the run ends."""
        await ticker(lambda: ProgressEvent(self.acct.snapshot()), self.emit,
                     self.acct.stop_asked, self.stop)



async def migrate(
    source: PinSource,
    options: PinOptions,
    *,
    source_key: str,
    client: DecooClient | None = None,
    on_event: Callable[[MigrateEvent], None] | None = None,
    stop: anyio.Event | None = None,
    relist: Relister | None = None,
) -> PinSummary:
    """Pin every CID ``source`` lists to ``client``'s account with ``pinByHash``.

    ``source_key`` names the source across runs, for the default journal
    (:func:`~.journal_path.source_key`). ``client`` must be open; None only for
    a dry run. ``relist(before=..., after=...)`` lists the same source from a
    point (a Pinning Service API: lets a stopped listing resume). Setting
    ``stop`` ends the run early and cleanly: no new request starts, requests
    in flight finish, the journal is committed, exit status 3.
    """
    if client is None and not options.dry_run:
        raise ValueError("migrate needs an open DecooClient unless it is a dry run")
    emit = on_event or (lambda event: None)
    stop = stop or anyio.Event()
    plan = _PinPlan(source, options, source_key, client, emit, stop, relist)
    return await run(plan, client=client, options=options, stop=stop,
                     say=lambda m: emit(NoticeEvent(m)),
                     warn=lambda m: emit(NoticeEvent(m, "warning")))


class _PinPlan:
    """A ``pin`` run, as the lifecycle (:mod:`bulkpin.core.lifecycle`) runs it."""

    def __init__(self, source: PinSource, options: PinOptions, source_key: str,
                 client: DecooClient | None, emit: Callable[[MigrateEvent], None],
                 stop: anyio.Event, relist: Relister | None) -> None:
        self.source = source
        self.options = options
        self.source_key = source_key
        self.client = client
        self.emit = emit
        self.stop = stop
        self.relist = relist
        self.journal_path: Path | None = None

    def open_journal(self, destination: Destination | None) -> PinJournal:
        self.journal_path = self.options.journal or default_pin_journal_path(
            self.source_key, self.options.shard, destination)
        return PinJournal(self.journal_path, destination=destination)

    def begin(self, journal: PinJournal) -> None:
        """Nothing before the listing."""

    def stages(self, journal: PinJournal, index: AccountIndex | None) -> _Run:
        return _Run(self.source, self.options, journal, self.client, self.emit, self.stop,
                    index, self.relist)

    async def finish(self, journal: PinJournal, stages: _Run) -> None:
        """Nothing after the stages: CIDs have no root."""

    def write_manifest(self, journal: PinJournal, path: Path) -> None:
        write_pin_manifest(journal, path)

    def failures(self, counts: dict[str, int]) -> str | None:
        bad, failed = counts["bad"], counts["failed"]
        parts = [f"{failed} CID(s) failed"] if failed else []
        parts += [f"{bad} line(s) of the source are no CID"] if bad else []
        return ", ".join(parts) or None

    def summary(self, journal: PinJournal, stages: _Run, ended: Ended) -> PinSummary:
        assert self.journal_path is not None
        return PinSummary(
            exit_status=ended.status, reason=ended.reason, source=self.source.label,
            snapshot=stages.acct.snapshot(), counts=ended.counts, journal=self.journal_path,
            manifest=ended.manifest, failures=journal.failures(),
            pin_requests=stages.requester.requests if stages.requester else 0,
            poll_requests=stages.poller.requests if stages.poller else 0,
            poll_rounds=stages.poller.rounds if stages.poller else 0,
            listing=ended.listing, destination=ended.destination,
        )
