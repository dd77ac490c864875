"""The bulk pipeline, wired as DESIGN.md draws it (:mod:`.run` runs it around a push).

::

    paths ─▶ walk ─▶ journal check ─▶ hash+upload workers ─▶ job poller ─▶ manifest
           (thread)    (plan.py)          (movers/)            (poll.py)   (manifest.py)

Only this module starts tasks: one task group owns the walk (in a thread,
handing batches over a bounded stream), the planner, the upload workers, the
poller and the progress ticker. Every stage is joined to the next by a bounded
stream, so a tree of any size is processed in bounded memory, and uploads start
as soon as the walk finds the first file. What each stage does is in its module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..client import DecooClient
from ..core.accounting import Accounting
from ..core.concurrency import ConcurrencyController
from ..core.errors import ExitStatus, RunAborted
from ..core.events import NoticeEvent, ProgressEvent, PushEvent
from ..core.lifecycle import Ended
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
from ..fs import Candidate, batched
from ..journal import Journal
from ..movers.local_files import LocalFiles, WorkItem
from ..movers.pin_file import PinFileMover
from .account_index import AccountIndex
from .options import PushOptions
from .plan import Planner
from .summary import PushSummary, dry_run_reason

__all__ = ["Pipeline", "PushStages", "run_pipeline"]

#: Seconds between looks, by the revival stage, at whether the movers may end.
REVIVAL_CHECK = 0.2

log = logging.getLogger(__name__)


class PushStages:
    """What a local and a remote push share: accounting, the mover, the poller, and
    the two stages beside the movers (following jobs, ticking progress).

    A subclass adds its planner and its movers.
    """

    def __init__(self, options: PushOptions, journal: Journal, client: DecooClient | None,
                 emit: Callable[[PushEvent], None], stop: anyio.Event,
                 index: AccountIndex | None) -> None:
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

    async def revivals(self, work: MemoryObjectSendStream[WorkItem], planned: anyio.Event,
                       index: AccountIndex | None) -> None:
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
            if index is not None:
                index.forget_job(cid)
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
                    await work.send(WorkItem(record))
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


class Pipeline(PushStages):
    """The stages of one push and what they share; :func:`_main` starts them."""

    def __init__(self, roots: list[bytes], options: PushOptions, journal: Journal,
                 client: DecooClient | None, emit: Callable[[PushEvent], None],
                 stop: anyio.Event, candidates: Iterable[Candidate], *,
                 index: AccountIndex | None, whole_walk: bool) -> None:
        super().__init__(options, journal, client, emit, stop, index)
        self.candidates = candidates
        self.planner = Planner(roots, options, journal, self.acct, stop, index,
                               whole_walk=whole_walk)
        self.files = LocalFiles(self.mover)

    async def walk(
        self, send: MemoryObjectSendStream[list[Candidate]], candidates: Iterable[Candidate]
    ) -> None:
        """The walk, in a thread, handing batches to the loop."""

        def run() -> None:
            for batch in batched(candidates):
                if self.stop.is_set():
                    return
                try:
                    anyio.from_thread.run(send.send, batch)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # the planner stopped (the run is stopping): nothing to hand on

        async with send:
            await anyio.to_thread.run_sync(run, abandon_on_cancel=True)

    async def uploads(self, work: MemoryObjectReceiveStream[WorkItem]) -> None:
        """The upload workers; marks the uploads done when the last one ends.

        Once the run is asked to stop, no worker takes another file (what is
        queued stays in the journal as it was); files in flight have ``grace``
        seconds to finish, then are abandoned (the journal says they may have
        been sent, so the next run checks them before sending again).
        """

        try:
            await worker_pool(
                work, self.files.handle, concurrency=self.options.fixed_concurrency,
                stop=self.stop, grace=self.options.grace, adaptive=self.gate,
                in_flight=lambda: self.acct.in_flight,
                on_abandon=abandoned_notice(self.emit, self.options.grace, "upload(s)"),
                after_each=self.journal.commit_if_due,
                cannot_finish=lambda item, left: self.acct.cannot_finish(
                    os.fsdecode(item.record.display), left),
                on_hopeless=lambda n: self.emit(NoticeEvent(
                    f"{n} upload(s) cannot finish within --grace {self.options.grace:g} s at"
                    " their pace: abandoned now; the next run checks them first", "warning")),
            )
        finally:
            self.movers_done()


    async def main(self) -> None:
        """Every stage, until the walk's last file is final, or the run stops or aborts."""
        await run_pipeline(self, self.candidates)


async def run_pipeline(run: Pipeline, candidates: Iterable[Candidate]) -> None:
    """Run every stage until the walk's last file is final, or the run stops or aborts."""
    cand_send, cand_receive = anyio.create_memory_object_stream[list[Candidate]](4)
    work_send, work_receive = anyio.create_memory_object_stream[WorkItem](
        run.options.pool_size * 2
    )
    planned = anyio.Event()

    async def plan() -> None:
        try:
            await run.planner.run(cand_receive, work_send)
        finally:
            planned.set()

    following: list[Callable[[], Coroutine[Any, Any, None]]] = []
    if run.poller is not None:
        following = [partial(run.revivals, work_send.clone(), planned, run.planner.index),
                     run.poll]
    run.aborted = await run_stages(
        [partial(run.walk, cand_send, candidates), plan,
         partial(run.uploads, work_receive), *following],
        run.tick,
    )

