"""The stages of one push, wired as DESIGN.md draws it, for any source (:mod:`.run` runs them).

::

    source ─▶ walk/list ─▶ march ─▶ read+hash+upload workers ─▶ job poller ─▶ manifest
    (sources/local, sources/objects)   (movers/, push/remote)    (core/poll)  (manifest.py)

Only this module starts tasks: one task group owns the source's listing (the
local walk in a thread, handing batches over a bounded stream), the march, the
upload workers, the poller and the progress ticker. Every stage is joined to
the next by a bounded stream, so a source of any size is processed in bounded
memory, and uploads start as soon as the listing finds the first item. What a
source does at each stage is its hooks' (:class:`~bulkpin.sources.items.PushSource`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..client import DecooClient
from ..core.accounting import Accounting
from ..core.concurrency import ConcurrencyController
from ..core.errors import ExitStatus, RunAborted
from ..core.events import NoticeEvent, ProgressEvent, PushEvent
from ..core.lifecycle import Ended
from ..core.march import march_them
from ..core.pacing import Outage
from ..core.poll import Poller, first_of
from ..core.stages import (
    AdaptiveGate,
    abandoned_notice,
    follow_jobs,
    run_stages,
    ticker,
    worker_pool,
)
from ..journal import Journal
from ..movers.pin_file import PinFileMover
from ..sources.items import PushSource
from .account_index import AccountIndex
from .options import PushOptions
from .summary import PushSummary, dry_run_reason

__all__ = ["PushStages"]

E = TypeVar("E")
W = TypeVar("W")

#: Seconds between looks, by the revival stage, at whether the movers may end.
REVIVAL_CHECK = 0.2

log = logging.getLogger(__name__)


class PushStages(Generic[E, W]):
    """The stages of one push of ``source`` and what they share: accounting, the
    mover, the poller; :meth:`main` starts them.
    """

    def __init__(self, source: PushSource[E, W], options: PushOptions, journal: Journal,
                 client: DecooClient | None, emit: Callable[[PushEvent], None],
                 stop: anyio.Event, index: AccountIndex | None, root_ids: list[int]) -> None:
        self.source = source
        self.root_ids = root_ids
        self.index = index
        self.options = options
        self.journal = journal
        self.emit = emit
        self.stop = stop
        self.acct = Accounting(emit)
        #: The ``pinFile`` mover, held by what reads each kind of item.
        self.mover = PinFileMover(
            options, journal, client, self.acct,
            hash_limiter=anyio.CapacityLimiter(options.hash_workers),
            outage=Outage(options.patience), index=index, stop=stop,
        )
        # A dry run lists the account but follows no job: it made none.
        self.poller = Poller(client, journal, self.acct, wait_timeout=options.wait_timeout) \
            if client is not None and not options.dry_run else None
        self.uploads_done = anyio.Event()
        # --concurrency auto: the client's answers decide how many uploads are in flight.
        self.gate: AdaptiveGate | None = None
        if options.adaptive and client is not None:
            self.gate = AdaptiveGate(ConcurrencyController(ceiling=options.max_concurrency))
            client.observer = self.gate.observe
        self.aborted: RunAborted | None = None
        self.poll_timed_out = False
        self.marcher = source.marcher(journal, root_ids, self.acct, index)
        self.items = source.mover(self.mover)

    async def revivals(self, work: MemoryObjectSendStream[W], planned: anyio.Event) -> None:
        """Files the poller hands back (someone else's job for their CID failed), to upload.

        Keeps the movers' stream open until the planner is done, no file is queued
        or in a worker's hands (a worker may yet find it held by such a job), and,
        if the run waits, no file waits on such a job: the movers end after that.
        Looked at again after each polling round and every :data:`REVIVAL_CHECK`.
        """
        assert self.poller is not None
        revived: list[int] = []
        wake = anyio.Event()

        def revive(cid: str, ids: list[int]) -> None:
            if self.index is not None:
                self.index.forget_job(cid)
            revived.extend(ids)
            wake.set()

        def nudge() -> None:
            wake.set()  # the event of the moment: ``wake`` is replaced after each wait

        self.poller.on_revive = revive
        self.poller.after_round = nudge
        async with work:
            while True:
                while revived:
                    record = self.journal.get_id(revived.pop(0))
                    self.emit(NoticeEvent(
                        f"{os.fsdecode(record.display)}: the account's job for its content"
                        " failed; uploading it", "info"))
                    await work.send(self.source.revived(record))
                if self.stop.is_set() or (
                        planned.is_set() and self.acct.in_flight == 0
                        and work.statistics().current_buffer_used == 0
                        and not (self.options.wait and self.journal.hinted_cids())):
                    return
                # ``planned`` stays set once the planner is done: waited on again, it
                # would spin this loop (a task group a turn) for as long as an upload
                # runs, ~25 CPU-s per GiB of a big file.
                events = (wake, self.stop) if planned.is_set() else (wake, planned, self.stop)
                with anyio.move_on_after(REVIVAL_CHECK):
                    await first_of(*events)
                wake = anyio.Event()

    def movers_done(self) -> None:
        """The movers ended: the poller may finish, and auto says what it decided."""
        self.uploads_done.set()
        if self.gate is not None:
            ctl = self.gate.controller
            log.info("--concurrency auto: limit %d at the end; decisions %s; last: %s",
                     ctl.limit, dict(ctl.reasons),
                     ", ".join(f"{d.limit} ({d.reason})" for d in list(ctl.decisions)[-8:]))

    @property
    def source_failed(self) -> str | None:
        """A push's sources do not fail part-way: what they cannot read is an item's failure."""
        return None

    def summary(self, journal: Journal, ended: Ended, journal_path: Path | None, *,
                roots: list[tuple[str, str | None]] | None = None) -> PushSummary:
        """What the caller gets at the end (a dry run's reason says what it would send)."""
        snap = self.acct.snapshot()
        reason = ended.reason
        if self.options.dry_run and ended.status == ExitStatus.OK:
            reason = dry_run_reason(snap, listed=ended.listing is not None)
        assert journal_path is not None
        return PushSummary(
            exit_status=ended.status, reason=reason, snapshot=snap, counts=ended.counts,
            journal=journal_path, manifest=ended.manifest, failures=journal.failures(),
            roots=roots or [],
            root_errors={os.fsdecode(path): error for _, path, cid, error in journal.roots()
                         if cid is None and error},
            poll_requests=self.poller.requests if self.poller else 0,
            poll_rounds=self.poller.rounds if self.poller else 0,
            listing=ended.listing, destination=ended.destination, dry_run=self.options.dry_run,
        )

    async def uploads(self, work: MemoryObjectReceiveStream[W]) -> None:
        """The upload workers; marks the uploads done when the last one ends.

        Once the run is asked to stop, no worker takes another item (what is
        queued stays in the journal as it was); items in flight have ``grace``
        seconds to finish, then are abandoned (the journal says they may have
        been sent, so the next run checks them before sending again).
        """
        try:
            await worker_pool(
                work, self.items.handle, concurrency=self.options.fixed_concurrency,
                stop=self.stop, grace=self.options.grace, adaptive=self.gate,
                in_flight=lambda: self.acct.in_flight,
                on_abandon=abandoned_notice(self.emit, self.options.grace, "upload(s)"),
                after_each=self.journal.commit_if_due,
                cannot_finish=self._cannot_finish,
                on_hopeless=lambda n: self.emit(NoticeEvent(
                    f"{n} upload(s) cannot finish within --grace {self.options.grace:g} s at"
                    " their pace: abandoned now; the next run checks them first", "warning")),
            )
        finally:
            self.movers_done()

    def _cannot_finish(self, item: W, left: float) -> bool:
        name = self.items.name(item)
        return name is not None and self.acct.cannot_finish(name, left)

    async def main(self) -> None:
        """Every stage, until the source's last item is final, or the run stops or aborts."""
        listed_send, listed_receive = anyio.create_memory_object_stream[Sequence[E]](4)
        work_send, work_receive = anyio.create_memory_object_stream[W](
            self.options.pool_size * 2
        )
        planned = anyio.Event()

        async def plan() -> None:
            try:
                async with listed_receive:
                    await march_them(listed_receive, work_send, self.marcher, stop=self.stop,
                                     stop_asked=self.acct.stop_asked,
                                     listed=self.acct.walk_finished)
            finally:
                planned.set()

        following: list[Callable[[], Coroutine[Any, Any, None]]] = []
        if self.poller is not None:
            if self.source.revives:
                following.append(partial(self.revivals, work_send.clone(), planned))
            following.append(self.poll)
        self.aborted = await run_stages(
            [partial(self.source.listing, listed_send, self.root_ids, self.stop), plan,
             partial(self.uploads, work_receive), *following],
            self.tick,
        )

    async def poll(self) -> None:
        """Follow jobs while the movers run, then until they are final (if waiting)."""
        assert self.poller is not None
        self.poll_timed_out = await follow_jobs(
            self.poller, self.options, movers_done=self.uploads_done, stop=self.stop,
            warn=lambda m: self.emit(NoticeEvent(m, "warning")),
        )

    async def tick(self) -> None:
        """Progress events, until the run ends."""
        await ticker(lambda: ProgressEvent(self.acct.snapshot()), self.emit,
                     self.acct.stop_asked, self.stop)
