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

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..client import DecooClient, DecooError, Fate, classify_item
from ..destination import Destination
from .account_index import AccountIndex, ListingCost
from .errors import ExitStatus, JournalError, RunAborted
from .events import NoticeEvent, PushEvent
from .journal import Journal
from .journal_lookup import default_journal_path
from .manifest import finish_manifest
from .options import PushOptions
from .pipeline import PushStages
from .remote import RemoteUploader
from .remote_listing import Listed, RemoteSpec, list_remote
from .remote_plan import RemotePlanner
from .remote_read import RemoteItem, RemoteSources
from .stages import abandoned_notice, run_stages, worker_pool
from .summary import PushSummary

__all__ = ["push_remote"]

#: Manifest root rows of remote sources say why they have no root CID.
NO_ROOT_CID = "no directory CID is computed for a remote source"


class _RemoteRun(PushStages):
    """The stages of one remote push and what they share."""

    uploader: RemoteUploader

    def __init__(self, spec: RemoteSpec, options: PushOptions, journal: Journal,
                 sources: RemoteSources, client: DecooClient | None,
                 emit: Callable[[PushEvent], None], stop: anyio.Event,
                 index: AccountIndex | None, root_ids: list[int]) -> None:
        super().__init__(options, journal, client, emit, stop, index, RemoteUploader)
        self.spec = spec
        self.sources = sources
        self.root_ids = root_ids
        self.planner = RemotePlanner(options, journal, self.acct, stop, index, root_ids,
                                     whole_listing=spec.keys is None)
        self.uploader.sources = sources

    async def uploads(self, work: MemoryObjectReceiveStream[RemoteItem]) -> None:
        try:
            await worker_pool(
                work, self.uploader.handle_remote, concurrency=self.options.fixed_concurrency,
                stop=self.stop, grace=self.options.grace,
                in_flight=lambda: self.acct.in_flight,
                on_abandon=abandoned_notice(self.emit, self.options.grace, "upload(s)"),
                after_each=self.journal.commit_if_due,
            )
        finally:
            self.uploads_done.set()

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
            self.options.fixed_concurrency * 2
        )
        self.aborted = await run_stages(
            [partial(self.list_objects, listed_send),
             partial(self.planner.run, listed_receive, work_send),
             partial(self.uploads, work_receive),
             *([self.poll] if self.poller is not None else [])],
            self.tick,
        )

    def ending(self, counts: dict[str, int]) -> tuple[ExitStatus, str]:
        if self.aborted is not None:
            return self.aborted.exit_status, str(self.aborted)
        if self.stop.is_set():
            return ExitStatus.INTERRUPTED, "interrupted"
        if self.poll_timed_out:
            return ExitStatus.INTERRUPTED, (f"jobs still not final after waiting"
                                            f" {self.options.wait_timeout:g} s with no progress")
        if counts["failed"]:
            return ExitStatus.FAILED, f"{counts['failed']} object(s) failed"
        return ExitStatus.OK, "done"


async def _account_index(journal: Journal, client: DecooClient | None, options: PushOptions,
                         emit: Callable[[PushEvent], None]
                         ) -> tuple[AccountIndex | None, ListingCost | None]:
    if client is None or not options.list_account or options.dry_run:
        return None, None
    index = AccountIndex(journal)
    listing = await index.refresh_patiently(
        client, options.patience, lambda m: emit(NoticeEvent(m, "warning")))
    emit(NoticeEvent(listing.describe()))
    return index, listing


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
    roots = spec.root_keys()
    destination = Destination.of(client.credentials) if client is not None else None
    journal_path = options.journal or default_journal_path(roots, options, destination)
    try:
        journal = Journal(journal_path, profile_name=options.profile.name,
                          destination=destination)
    except JournalError as exc:
        raise RunAborted(str(exc), ExitStatus.USAGE) from exc
    with journal:
        run_id = journal.begin_run()
        index, listing = await _account_index(journal, client, options, emit)
        root_ids = [journal.root_id(key) for key in roots]
        for root in root_ids:
            journal.set_root_cid(root, None, NO_ROOT_CID)
        run = _RemoteRun(spec, options, journal, sources, client, emit, stop, index, root_ids)
        try:
            await run.main()
        finally:
            journal.commit()
        counts = journal.counts()
        manifest, status, reason = finish_manifest(journal, options.manifest, emit,
                                                   run.ending(counts))
        journal.end_run(run_id, reason)
        return PushSummary(
            exit_status=status, reason=reason, snapshot=run.acct.snapshot(), counts=counts,
            journal=journal_path, manifest=manifest, failures=journal.failures(),
            poll_requests=run.poller.requests if run.poller else 0,
            poll_rounds=run.poller.rounds if run.poller else 0,
            listing=listing, destination=destination,
        )
