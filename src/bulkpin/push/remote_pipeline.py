"""``push`` of remote sources (``s3://`` buckets, ``--urls`` lists), wired as DESIGN.md draws it.

::

    listings ─▶ journal check ─▶ read+hash+upload workers ─▶ job poller ─▶ manifest
    (remote_listing)  (remote_plan)         (remote)            (poll)     (manifest)

The same shape as :mod:`.pipeline` for local PATHs, and the same journal,
account index, poller, accounting and manifest: one task group owns the
listing, the planner, the workers, the poller and the progress ticker, every
stage joined to the next by a bounded stream. What differs is where bytes
come from: each object streams from its source into ``pinFile``, and nothing
is written to the local disk but the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..client import DecooClient, DecooError, Fate, classify_item
from ..core.errors import ExitStatus, RunAborted
from ..core.events import NoticeEvent, PushEvent
from ..core.lifecycle import Ended, run
from ..core.stages import abandoned_notice, run_stages, worker_pool
from ..destination import Destination
from ..journal import Journal, default_journal_path
from .account_index import AccountIndex
from .manifest import write_manifest
from .options import PushOptions
from .pipeline import PushStages
from .remote import RemoteObjects
from .remote_listing import Listed, RemoteSpec, list_remote
from .remote_plan import RemotePlanner
from .remote_read import RemoteItem, RemoteSources
from .summary import PushSummary

__all__ = ["push_remote"]

#: Manifest root rows of remote sources say why they have no root CID.
NO_ROOT_CID = "no directory CID is computed for a remote source"


class _RemoteRun(PushStages):
    """The stages of one remote push and what they share."""

    def __init__(self, spec: RemoteSpec, options: PushOptions, journal: Journal,
                 sources: RemoteSources, client: DecooClient | None,
                 emit: Callable[[PushEvent], None], stop: anyio.Event,
                 index: AccountIndex | None, root_ids: list[int]) -> None:
        super().__init__(options, journal, client, emit, stop, index)
        self.spec = spec
        self.sources = sources
        self.root_ids = root_ids
        self.planner = RemotePlanner(options, journal, self.acct, stop, index, root_ids,
                                     whole_listing=spec.keys is None)
        self.objects = RemoteObjects(self.mover, sources)

    async def uploads(self, work: MemoryObjectReceiveStream[RemoteItem]) -> None:
        try:
            await worker_pool(
                work, self.objects.handle, concurrency=self.options.fixed_concurrency,
                stop=self.stop, grace=self.options.grace, adaptive=self.gate,
                in_flight=lambda: self.acct.in_flight,
                on_abandon=abandoned_notice(self.emit, self.options.grace, "upload(s)"),
                after_each=self.journal.commit_if_due,
            )
        finally:
            self.movers_done()

    async def list_objects(self, send: MemoryObjectSendStream[Listed]) -> None:
        """The listing stage; a listing that fails for good ends the run."""
        try:
            await list_remote(self.spec, self.root_ids, self.options.selection,
                              self.sources.s3, send)
        except DecooError as exc:
            # No such bucket, refused credentials...: no object can be read.
            verdict = classify_item(exc)
            status = ExitStatus.USAGE if verdict.fate is Fate.STOP_RUN else \
                ExitStatus.INTERRUPTED
            raise RunAborted(f"the listing failed: {verdict.reason}", status) from exc

    async def main(self) -> None:
        listed_send, listed_receive = anyio.create_memory_object_stream[Listed](256)
        work_send, work_receive = anyio.create_memory_object_stream[RemoteItem](
            self.options.pool_size * 2
        )
        self.aborted = await run_stages(
            [partial(self.list_objects, listed_send),
             partial(self.planner.run, listed_receive, work_send),
             partial(self.uploads, work_receive),
             *([self.poll] if self.poller is not None else [])],
            self.tick,
        )


async def push_remote(
    spec: RemoteSpec,
    options: PushOptions,
    sources: RemoteSources,
    *,
    client: DecooClient | None = None,
    on_event: Callable[[PushEvent], None] | None = None,
    stop: anyio.Event | None = None,
) -> PushSummary:
    """Pin every object ``spec`` names, streamed from ``sources`` through ``client``.

    ``sources`` and ``client`` must be open; ``client`` may be None only for a
    dry run. Events, ``stop`` and the summary are those of
    :func:`~.pipeline.push`; the manifest names each object by its URL.
    """
    if client is None and not options.dry_run:
        raise ValueError("push needs an open DecooClient unless it is a dry run")
    emit = on_event or (lambda event: None)
    stop = stop or anyio.Event()
    plan = _RemotePush(spec, options, sources, client, emit, stop)
    return await run(plan, client=client, options=options, stop=stop,
                     say=lambda m: emit(NoticeEvent(m)),
                     warn=lambda m: emit(NoticeEvent(m, "warning")))


class _RemotePush:
    """A push of remote sources, as the lifecycle (:mod:`.lifecycle`) runs it."""

    def __init__(self, spec: RemoteSpec, options: PushOptions, sources: RemoteSources,
                 client: DecooClient | None, emit: Callable[[PushEvent], None],
                 stop: anyio.Event) -> None:
        self.spec = spec
        self.options = options
        self.sources = sources
        self.client = client
        self.emit = emit
        self.stop = stop
        self.roots = spec.root_keys()
        self.journal_path: Path | None = None

    def open_journal(self, destination: Destination | None) -> Journal:
        self.journal_path = self.options.journal or default_journal_path(
            self.roots, self.options, destination)
        return Journal(self.journal_path, profile_name=self.options.profile.name,
                       destination=destination)

    def begin(self, journal: Journal) -> None:
        """Nothing before the listing: the root rows are written with the stages."""

    def stages(self, journal: Journal, index: AccountIndex | None) -> _RemoteRun:
        root_ids = [journal.root_id(key) for key in self.roots]
        for root in root_ids:
            journal.set_root_cid(root, None, NO_ROOT_CID)
        return _RemoteRun(self.spec, self.options, journal, self.sources, self.client,
                          self.emit, self.stop, index, root_ids)

    async def finish(self, journal: Journal, stages: _RemoteRun) -> None:
        """No root CID to compute for a remote source (:data:`NO_ROOT_CID`)."""

    def write_manifest(self, journal: Journal, path: Path) -> None:
        write_manifest(journal, path)

    def failures(self, counts: dict[str, int]) -> str | None:
        return f"{counts['failed']} object(s) failed" if counts["failed"] else None

    def summary(self, journal: Journal, stages: _RemoteRun, ended: Ended) -> PushSummary:
        return stages.summary(journal, ended, self.journal_path)
