"""A push of local PATHs: what the one lifecycle (:mod:`.lifecycle`) needs to run it.

Its journal (a scratch copy for a dry run), the walk or ``--files-from`` as
the source of :mod:`.pipeline`'s stages, the PATHs' root CIDs after them, the
manifest, and the summary (:class:`~.summary.PushSummary`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import anyio

from ..client import DecooClient
from ..core.events import NoticeEvent, PushEvent
from ..core.lifecycle import Ended, run
from ..destination import Destination
from ..fs import Candidate, files_from, walk_candidates
from ..journal import Journal, SharedClaims, claims_path, default_journal_path, dry_run_copy
from .account_index import AccountIndex
from .manifest import SHARD_META, write_manifest
from .options import PushOptions
from .pipeline import Pipeline
from .roots import WalkPrints, root_cids
from .summary import PushSummary

__all__ = ["push"]


async def push(
    paths: Sequence[str | bytes],
    options: PushOptions,
    *,
    client: DecooClient | None = None,
    on_event: Callable[[PushEvent], None] | None = None,
    file_list: Iterable[bytes] | None = None,
    stop: anyio.Event | None = None,
) -> PushSummary:
    """Pin every file under ``paths`` (or in ``file_list``) through ``client``.

    ``client`` must be open (``async with DecooClient(...)``); it may be None
    only for a dry run. ``on_event`` receives :mod:`.events` objects as the run
    goes. Setting ``stop`` ends the run early and cleanly: no new file starts,
    files in flight finish, the journal is committed, exit status 3.
    """
    if client is None and not options.dry_run:
        raise ValueError("push needs an open DecooClient unless it is a dry run")
    emit = on_event or (lambda event: None)
    stop = stop or anyio.Event()
    roots = [os.path.abspath(os.fsencode(p)) for p in paths]  # noqa: ASYNC240 - no I/O
    with contextlib.ExitStack() as scratch:
        plan = _LocalPush(roots, options, client, emit, stop, file_list, scratch)
        return await run(plan, client=client, options=options, stop=stop,
                         say=lambda m: emit(NoticeEvent(m)),
                         warn=lambda m: emit(NoticeEvent(m, "warning")))


class _LocalPush:
    """A push of local PATHs, as the lifecycle (:mod:`.lifecycle`) runs it."""

    def __init__(self, roots: list[bytes], options: PushOptions, client: DecooClient | None,
                 emit: Callable[[PushEvent], None], stop: anyio.Event,
                 file_list: Iterable[bytes] | None, scratch: contextlib.ExitStack) -> None:
        self.roots = roots
        self.options = options
        self.client = client
        self.emit = emit
        self.stop = stop
        self.file_list = file_list
        self.scratch = scratch
        self.journal_path = options.journal
        self.destination: Destination | None = None
        self.walked = WalkPrints(options)
        self.roots_out: list[tuple[str, str | None]] = []
        self.claims: SharedClaims | None = None

    def open_journal(self, destination: Destination | None) -> Journal:
        self.destination = destination
        self.journal_path = path = self.options.journal or default_journal_path(
            self.roots, self.options, destination)
        if self.options.dry_run:
            # A dry run works on a copy: the journal is left exactly as it was.
            path = dry_run_copy(path, Path(self.scratch.enter_context(
                tempfile.TemporaryDirectory(prefix="bulkpin-dry-run-"))))
            self.emit(NoticeEvent("dry run: nothing is sent, and the journal is left as it was"))
        journal = Journal(path, profile_name=self.options.profile.name, destination=destination)
        if destination is not None and not self.options.dry_run:
            # After the journal: a run refused its journal claims nothing.
            self.claims = self.scratch.enter_context(SharedClaims(claims_path(destination.key)))
        return journal

    def begin(self, journal: Journal) -> None:
        # The manifest's root rows say which share of the tree it holds, so a
        # merge can tell that a shard is missing (manifests.merge).
        shard = self.options.selection.shard
        journal.set_meta(SHARD_META, str(shard) if shard is not None else "")
        if journal.upgraded:
            self.emit(NoticeEvent(
                f"{self.journal_path} was written before journals named their account: each"
                f" file it calls pinned is checked against {self.destination}"))

    def stages(self, journal: Journal, index: AccountIndex | None) -> Pipeline:
        options = self.options
        candidates: Iterable[Candidate]
        if self.file_list is not None:
            candidates = files_from(self.file_list, options.selection,
                                    follow_symlinks=options.follow_symlinks)
        else:
            candidates = walk_candidates(
                self.roots, options.selection, hidden=options.hidden,
                follow_symlinks=options.follow_symlinks,
                observe=self.walked.observe if self.walked.enabled else None)
        pipeline = Pipeline(self.roots, options, journal, self.client, self.emit, self.stop,
                            candidates, index=index, whole_walk=self.file_list is None)
        if self.claims is not None:
            self.claims.attach(pipeline.mover, pipeline.poller)
        return pipeline

    async def finish(self, journal: Journal, stages: Pipeline) -> None:
        if stages.aborted is None and not self.stop.is_set() and self.file_list is None:
            self.roots_out = await anyio.to_thread.run_sync(
                root_cids, self.roots, self.options, journal, self.walked)

    def write_manifest(self, journal: Journal, path: Path) -> None:
        write_manifest(journal, path)

    def failures(self, counts: dict[str, int]) -> str | None:
        return f"{counts['failed']} file(s) failed" if counts["failed"] else None

    def summary(self, journal: Journal, stages: Pipeline, ended: Ended) -> PushSummary:
        return stages.summary(journal, ended, self.journal_path, roots=self.roots_out)
