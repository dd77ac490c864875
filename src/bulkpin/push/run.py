"""One push of any source: what the one lifecycle (:mod:`bulkpin.core.lifecycle`) needs to run it.

Its journal (a scratch copy for a dry run of a source that asks for one), the
source's listing, march and movers as :mod:`.pipeline`'s stages, the roots'
CIDs after them (local PATHs), the manifest, and the summary
(:class:`~.summary.PushSummary`). :func:`push` is the library's entry point
for local PATHs; :func:`push_source` takes any source
(:class:`~bulkpin.sources.items.PushSource`): the local walk
(:mod:`bulkpin.sources.local`), ``s3://`` and URLs (:mod:`bulkpin.sources.objects`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import anyio

from ..client import DecooClient
from ..core.events import NoticeEvent, PushEvent
from ..core.lifecycle import Ended, run
from ..destination import Destination
from ..journal import Journal, SharedClaims, claims_path, default_journal_path, dry_run_copy
from ..sources.items import PushSource
from .account_index import AccountIndex
from .manifest import write_manifest
from .options import PushOptions
from .pipeline import PushStages
from .summary import PushSummary

__all__ = ["push", "push_source"]

E = TypeVar("E")
W = TypeVar("W")


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
    # Imported here: the local source holds the movers, whose package imports this one.
    from ..sources.local import LocalSource  # noqa: PLC0415

    roots = [os.path.abspath(os.fsencode(p)) for p in paths]  # noqa: ASYNC240 - no I/O
    return await push_source(LocalSource(roots, options, file_list), options, client=client,
                             on_event=on_event, stop=stop)


async def push_source(
    source: PushSource[E, W],
    options: PushOptions,
    *,
    client: DecooClient | None = None,
    on_event: Callable[[PushEvent], None] | None = None,
    stop: anyio.Event | None = None,
) -> PushSummary:
    """Pin every item of ``source`` through ``client``, as :func:`push` does a tree's files."""
    if client is None and not options.dry_run:
        raise ValueError("push needs an open DecooClient unless it is a dry run")
    emit = on_event or (lambda event: None)
    stop = stop or anyio.Event()
    with contextlib.ExitStack() as scratch:
        plan = _Push(source, options, client, emit, stop, scratch)
        return await run(plan, client=client, options=options, stop=stop,
                         say=lambda m: emit(NoticeEvent(m)),
                         warn=lambda m: emit(NoticeEvent(m, "warning")))


class _Push(Generic[E, W]):
    """A push of one source, as the lifecycle runs it."""

    def __init__(self, source: PushSource[E, W], options: PushOptions,
                 client: DecooClient | None, emit: Callable[[PushEvent], None],
                 stop: anyio.Event, scratch: contextlib.ExitStack) -> None:
        self.source = source
        self.options = options
        self.client = client
        self.emit = emit
        self.stop = stop
        self.scratch = scratch
        self.journal_path = options.journal
        self.destination: Destination | None = None
        self.roots_out: list[tuple[str, str | None]] = []
        self.claims: SharedClaims | None = None

    def open_journal(self, destination: Destination | None) -> Journal:
        self.destination = destination
        self.journal_path = path = self.options.journal or default_journal_path(
            self.source.roots, self.options, destination)
        if self.options.dry_run and self.source.dry_run_copy:
            # A dry run works on a copy: the journal is left exactly as it was.
            path = dry_run_copy(path, Path(self.scratch.enter_context(
                tempfile.TemporaryDirectory(prefix="bulkpin-dry-run-"))))
            self.emit(NoticeEvent("dry run: nothing is sent, and the journal is left as it was"))
        journal = Journal(path, profile_name=self.options.profile.name, destination=destination)
        if destination is not None and not self.options.dry_run and self.source.shares_claims:
            # After the journal: a run refused its journal claims nothing.
            self.claims = self.scratch.enter_context(SharedClaims(claims_path(destination.key)))
        return journal

    def begin(self, journal: Journal) -> None:
        if journal.upgraded:
            self.emit(NoticeEvent(
                f"{self.journal_path} was written before journals named their account: each"
                f" file it calls pinned is checked against {self.destination}"))

    def stages(self, journal: Journal, index: AccountIndex | None) -> PushStages[E, W]:
        stages = PushStages(self.source, self.options, journal, self.client, self.emit,
                            self.stop, index, self.source.begin(journal))
        if self.claims is not None:
            self.claims.attach(stages.mover, stages.poller)
        return stages

    async def finish(self, journal: Journal, stages: PushStages[E, W]) -> None:
        if stages.aborted is None and not self.stop.is_set():
            self.roots_out = await self.source.finish(journal)

    def write_manifest(self, journal: Journal, path: Path) -> None:
        write_manifest(journal, path)

    def failures(self, counts: dict[str, int]) -> str | None:
        return f"{counts['failed']} {self.source.noun} failed" if counts["failed"] else None

    def summary(self, journal: Journal, stages: PushStages[E, W], ended: Ended) -> PushSummary:
        return stages.summary(journal, ended, self.journal_path, roots=self.roots_out)
