"""One push from start to end, around the pipeline.

Opens the journal of the destination (a scratch copy for a dry run), lists
the account, runs :mod:`.pipeline`, computes the PATHs' root CIDs, writes the
manifest, and says how the run ended (:class:`~.summary.PushSummary`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import anyio

from ..client import DecooClient
from ..destination import Destination
from ..fs import Candidate, files_from, walk_candidates
from ..units import human_bytes
from .account_index import AccountIndex
from .errors import ExitStatus, JournalError, RunAborted, is_damage
from .events import NoticeEvent, PushEvent
from .journal import Journal, dry_run_copy
from .journal_lookup import default_journal_path
from .manifest import finish_manifest
from .options import PushOptions
from .pipeline import Pipeline, run_pipeline
from .roots import WalkPrints, root_cids
from .summary import PushSummary

__all__ = ["push"]


def _ending(run: Pipeline, counts: dict[str, int]) -> tuple[ExitStatus, str]:
    if run.aborted is not None:
        return run.aborted.exit_status, str(run.aborted)
    if run.stop.is_set():
        return ExitStatus.INTERRUPTED, "interrupted"
    if run.poll_timed_out:
        return ExitStatus.INTERRUPTED, (
            f"jobs still not final after waiting {run.options.wait_timeout:g} s with no progress"
        )
    if counts["failed"]:
        return ExitStatus.FAILED, f"{counts['failed']} file(s) failed"
    return ExitStatus.OK, "done"


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
    destination = Destination.of(client.credentials) if client is not None else None
    journal_path = options.journal or default_journal_path(roots, options, destination)
    with contextlib.ExitStack() as stack:
        opened = journal_path
        if options.dry_run:
            # A dry run works on a copy: the journal is left exactly as it was.
            opened = dry_run_copy(journal_path, Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="bulkpin-dry-run-"))))
            emit(NoticeEvent("dry run: nothing is sent, and the journal is left as it was"))
        try:
            journal = Journal(opened, profile_name=options.profile.name,
                              destination=destination)
        except JournalError as exc:
            if is_damage(exc):  # the CLI says how to set it aside
                raise JournalError(str(exc), journal_path, damaged=True) from exc
            raise RunAborted(str(exc), ExitStatus.USAGE) from exc
        try:
            return await _push(roots, options, journal, journal_path, client, emit, stop,
                               file_list, destination)
        except* (JournalError, sqlite3.DatabaseError) as group:
            raise _journal_failure(group, journal_path)  # noqa: B904 - the cause is kept


def _journal_failure(group: BaseExceptionGroup[BaseException], path: Path) -> JournalError:
    """One JournalError naming ``path``, for the first journal failure of a run.

    The journal's reads (the planner's, the poller's) raise SQLite's own errors;
    they become JournalError here, once, so the CLI need not know SQLite.
    """
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    if isinstance(first, JournalError):
        first.path = first.path or path
        first.damaged = first.damaged or is_damage(first)
        return first
    failure = JournalError(f"cannot read the journal {path}: {first}", path,
                           damaged=is_damage(first))
    failure.__cause__ = first
    return failure


async def _push(roots: list[bytes], options: PushOptions, journal: Journal, journal_path: Path,
                client: DecooClient | None, emit: Callable[[PushEvent], None],
                stop: anyio.Event, file_list: Iterable[bytes] | None,
                destination: Destination | None) -> PushSummary:
    with journal:
        run_id = journal.begin_run()
        if journal.upgraded:
            emit(NoticeEvent(f"{journal_path} was written before journals named their account:"
                             f" each file it calls pinned is checked against {destination}"))
        index, listing = None, None
        if client is not None and options.list_account and not options.dry_run:
            index = AccountIndex(journal)
            listing = await index.refresh_patiently(
                client, options.patience, lambda m: emit(NoticeEvent(m, "warning")))
            emit(NoticeEvent(listing.describe()))
        run = Pipeline(roots, options, journal, client, emit, stop, index=index,
                   whole_walk=file_list is None)
        candidates: Iterable[Candidate]
        walked = WalkPrints(options)
        if file_list is not None:
            candidates = files_from(file_list, options.selection,
                                    follow_symlinks=options.follow_symlinks)
        else:
            candidates = walk_candidates(roots, options.selection, hidden=options.hidden,
                                         follow_symlinks=options.follow_symlinks,
                                         observe=walked.observe if walked.enabled else None)
        try:
            await run_pipeline(run, candidates)
        finally:
            journal.commit()
        roots_out: list[tuple[str, str | None]] = []
        if run.aborted is None and not stop.is_set() and file_list is None:
            roots_out = await anyio.to_thread.run_sync(root_cids, roots, options, journal,
                                                       walked)
        counts = journal.counts()
        manifest, status, reason = finish_manifest(journal, options.manifest, emit,
                                                   _ending(run, counts))
        if options.dry_run and status == ExitStatus.OK:
            n, size = journal.left_to_send()
            reason = f"dry run: would upload {n} file(s), {human_bytes(size)}"
        journal.end_run(run_id, reason)
        return PushSummary(
            exit_status=status, reason=reason, snapshot=run.acct.snapshot(), counts=counts,
            journal=journal_path, manifest=manifest, failures=journal.failures(),
            roots=roots_out,
            poll_requests=run.poller.requests if run.poller else 0,
            poll_rounds=run.poller.rounds if run.poller else 0,
            listing=listing, destination=destination,
        )
