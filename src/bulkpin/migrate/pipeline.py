"""``migrate``: the ``bulkpin pin`` pipeline, wired as DESIGN.md draws it.

::

    source ─▶ listing + journal check ─▶ pinByHash workers ─▶ job poller ─▶ manifest
              (listing.py, plan.py)        (request.py)        (push's poll.py)

Only this module starts tasks: one task group owns the listing, the request
workers, the poller and the progress ticker, joined by a bounded stream, so a
source of any size is migrated in bounded memory and requests start with the
first page. The account index is refreshed first (as ``push`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from ..client import DecooClient
from ..destination import Destination
from ..push.account_index import AccountIndex, list_account
from ..push.errors import ExitStatus, JournalError, RunAborted, ending
from ..push.pacing import Outage
from ..push.poll import Poller
from ..push.preflight import check_destination
from ..push.stages import abandoned_notice, follow_jobs, run_stages, ticker, worker_pool
from ..sources import PinSource
from .accounting import PinAccounting
from .events import MigrateEvent, NoticeEvent, PinProgress
from .journal import PinJournal
from .journal_path import default_pin_journal_path
from .listing import Lister, Relister
from .manifest import write_pin_manifest
from .options import PinOptions
from .plan import Planner
from .request import Requester
from .summary import PinSummary
from .work import WorkItem

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

    async def tick(self) -> None:
        """Progress events, until the run ends."""
        await ticker(lambda: PinProgress(self.acct.snapshot()), self.emit,
                     )

async def _main(run: _Run) -> None:
    send, receive = anyio.create_memory_object_stream[WorkItem](run.options.concurrency * 2)
    run.aborted = await run_stages(
        [partial(run.lister.run, send), partial(run.requests, receive),
         *([run.poll] if run.poller is not None else [])],
        run.tick,
    )


def _failures(counts: dict[str, int]) -> str | None:
    bad, failed = counts["bad"], counts["failed"]
    parts = [f"{failed} CID(s) failed"] if failed else []
    parts += [f"{bad} line(s) of the source are no CID"] if bad else []
    return ", ".join(parts) or None


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
    await check_destination(client, options.dry_run, lambda m: emit(NoticeEvent(m, "warning")))
    destination = Destination.of(client.credentials) if client is not None else None
    journal_path = options.journal or default_pin_journal_path(source_key, options.shard,
                                                               destination)
    try:
        journal = PinJournal(journal_path, destination=destination)
    except JournalError as exc:
        raise RunAborted(str(exc), ExitStatus.USAGE) from exc
    with journal:
        run_id = journal.begin_run()
        index, listing = await list_account(
            journal, client, options, stop=stop, say=lambda m: emit(NoticeEvent(m)),
            warn=lambda m: emit(NoticeEvent(m, "warning")))
        run = _Run(source, options, journal, client, emit, stop, index, relist)
        try:
            await _main(run)
        finally:
            journal.commit()
        counts = journal.counts()
        if options.manifest is not None:
            write_pin_manifest(journal, options.manifest)
        status, reason = ending(
            aborted=run.aborted, stopped=stop.is_set(), poll_timed_out=run.poll_timed_out,
            wait_timeout=options.wait_timeout, failures=_failures(counts),
            source_failed=run.lister.failed.message if run.lister.failed is not None else None)
        journal.end_run(run_id, reason)
        return PinSummary(
            exit_status=status, reason=reason, source=source.label,
            snapshot=run.acct.snapshot(), counts=counts, journal=journal_path,
            manifest=options.manifest, failures=journal.failures(),
            pin_requests=run.requester.requests if run.requester else 0,
            poll_requests=run.poller.requests if run.poller else 0,
            poll_rounds=run.poller.rounds if run.poller else 0,
            listing=listing, destination=destination,
        )
