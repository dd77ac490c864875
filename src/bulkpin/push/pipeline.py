"""``push``: the bulk pipeline, wired as DESIGN.md draws it.

::

    paths ─▶ walk ─▶ journal check ─▶ hash+upload workers ─▶ job poller ─▶ manifest
           (thread)   (skip unchanged)   (bounded pool)        (batched)

Only this module starts tasks: one task group owns the walk (in a thread,
handing batches over a bounded stream), the planner (journal checks), the
upload workers, the poller and the progress ticker. Every stage is joined to
the next by a bounded stream, so a tree of any size is processed in bounded
memory, and uploads start as soon as the walk finds the first file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import platformdirs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..client import AuthenticationError, DecooClient
from ..unixfs import CidProfile, FileResult, TreeEntry, TreeImporter
from ..unixfs.file_builder import file_tsize
from ..unixfs.node import cid_from_str
from .accounting import Accounting, Snapshot
from .crashpoints import crash_point
from .events import FileEvent, NoticeEvent, ProgressEvent, PushEvent
from .journal import Journal, JournalError
from .manifest import write_manifest
from .options import PushOptions
from .poller import Poller
from .uploader import Outage, RunAborted, Uploader, WorkItem
from .walker import Candidate, batched, files_from, walk_candidates

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 3

#: Seconds between progress events.
PROGRESS_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class PushSummary:
    """How a push ended. ``exit_status`` follows the CLI's convention."""

    exit_status: int
    reason: str
    snapshot: Snapshot
    counts: dict[str, int]
    journal: Path
    manifest: Path | None
    failures: list[tuple[str, str]] = field(default_factory=list)
    roots: list[tuple[str, str | None]] = field(default_factory=list)
    poll_requests: int = 0
    poll_rounds: int = 0


def default_journal_path(roots: Sequence[bytes], options: PushOptions) -> Path:
    """A journal per set of PATHs, profile and shard: re-running a command resumes it."""
    key = hashlib.sha256()
    for root in sorted(roots):
        key.update(root + b"\0")
    key.update(options.profile.name.encode())
    if options.selection.shard is not None:
        shard = options.selection.shard
        key.update(f"shard {shard.index}/{shard.count}".encode())
    state = Path(platformdirs.user_state_dir("bulkpin"))
    return state / "journals" / f"{key.hexdigest()[:20]}.sqlite"


class _Run:
    """The state one push shares between its stages."""

    def __init__(
        self,
        roots: list[bytes],
        options: PushOptions,
        journal: Journal,
        client: DecooClient | None,
        emit: Callable[[PushEvent], None],
        stop: anyio.Event,
    ) -> None:
        self.roots = roots
        self.options = options
        self.journal = journal
        self.client = client
        self.emit = emit
        self.stop = stop
        self.acct = Accounting()
        self.outage = Outage(options.patience)
        # The poller's own clock: pinJobs answering says nothing of uploads.
        self.poll_outage = Outage(options.patience)
        self.hash_limiter = anyio.CapacityLimiter(options.hash_workers)
        self.uploader = Uploader(
            options, journal, client, self.acct, emit,
            hash_limiter=self.hash_limiter, outage=self.outage,
        )
        self.uploads_done = anyio.Event()
        self.aborted: RunAborted | None = None
        self.poll_timed_out = False
        self.poller = Poller(client, journal, self.acct, wait_timeout=options.wait_timeout) \
            if client is not None else None

    # -- stages --

    async def produce(
        self, send: MemoryObjectSendStream[list[Candidate]], candidates: Iterable[Candidate]
    ) -> None:
        """The walk, in a thread, handing batches to the loop."""

        def run() -> None:
            for batch in batched(candidates):
                if self.stop.is_set():
                    return
                anyio.from_thread.run(send.send, batch)

        async with send:
            await anyio.to_thread.run_sync(run, abandon_on_cancel=True)

    async def plan(
        self,
        receive: MemoryObjectReceiveStream[list[Candidate]],
        work: MemoryObjectSendStream[WorkItem],
    ) -> None:
        """Journal checks: decide, per file, whether there is work to do."""
        journal, acct = self.journal, self.acct
        root_ids = [journal.root_id(root) for root in self.roots] or [journal.root_id(b"-")]
        async with receive, work:
            async for batch in receive:
                for cand in batch:
                    if self.stop.is_set():
                        return
                    item = self._plan_one(cand, root_ids[min(cand.root, len(root_ids) - 1)])
                    if item is not None:
                        await work.send(item)
                journal.commit_if_due()
            acct.walk_done = True

    def _plan_one(self, cand: Candidate, root: int) -> WorkItem | None:
        journal, acct = self.journal, self.acct
        display = os.fsdecode(cand.display)
        if cand.kind == "skipped":
            journal.discover(cand.path, cand.display, root, 0, 0, 0, state="skipped",
                             error=cand.reason)
            acct.skipped += 1
            self.emit(FileEvent(display, "skipped", 0, None, cand.reason))
            return None
        if cand.kind == "error":
            journal.discover(cand.path, cand.display, root, 0, 0, 0, state="failed",
                             error=cand.reason)
            acct.failed += 1
            self.emit(FileEvent(display, "failed", 0, None, cand.reason))
            return None
        crash_point("walk")
        acct.found(cand.size)
        record = journal.discover(cand.path, cand.display, root, cand.size, cand.mtime_ns,
                                  cand.inode)
        if record.state in ("pinned", "uploaded") and not self.options.dry_run:
            acct.unchanged += 1
            acct.done(record.size)
            self.emit(FileEvent(display, "unchanged", record.size, record.cid))
            return None
        if self.options.dry_run and record.cid is not None:
            acct.done(record.size)
            self.emit(FileEvent(display, "hashed", record.size, record.cid))
            return None
        # "uploading": an earlier run may have sent it. "failed": try again, but a
        # failed job or an unknown outcome may have left a job behind, so check first.
        verify = record.state in ("uploading", "failed")
        return WorkItem(record, verify=verify)

    async def upload(self, work: MemoryObjectReceiveStream[WorkItem]) -> None:
        """One worker: files from the stream, one at a time."""
        async with work:
            async for item in work:
                await self.uploader.handle(item)
                self.journal.commit_if_due()

    async def poll(self) -> None:
        """Follow jobs while uploads run, then until they are final (if waiting)."""
        assert self.poller is not None
        opts = self.options
        pause = opts.poll_interval
        last_progress = time.monotonic()
        while True:
            done = self.uploads_done.is_set()
            result = None
            if self.journal.waiting_cids() or self.journal.failed_job_cids():
                try:
                    result = await self.poller.poll_once()
                    self.poll_outage.success()
                except Exception as exc:
                    self._poll_failed(exc)
            if result is not None and (result.pinned or result.failed):
                last_progress = time.monotonic()
                pause = opts.poll_interval
            else:
                pause = min(opts.poll_max_interval, pause * 2)
            # One query per round: the set of CIDs still waiting for a final job.
            waiting = bool(self.journal.waiting_cids())
            if done:
                if not opts.wait or not waiting:
                    return
                if time.monotonic() - last_progress > opts.wait_timeout:
                    self.poll_timed_out = True
                    return
            elif not waiting:
                # Nothing to follow yet: wake up soon, the uploads will add some.
                pause = opts.poll_interval
            if self.stop.is_set():
                return
            with anyio.move_on_after(pause):
                if done:
                    await self.stop.wait()
                else:
                    await self._wait_any(self.uploads_done, self.stop)

    def _poll_failed(self, exc: Exception) -> None:
        if isinstance(exc, AuthenticationError):
            # Refused credentials are refused on every try: no patience helps,
            # and it is a configuration problem (exit 2), not an outage (3).
            raise RunAborted(f"the service refused the credentials: {exc}", EXIT_USAGE) from exc
        self.emit(NoticeEvent(f"polling pin jobs failed: {exc}", "warning"))
        # An outage while only polling is left counts against the patience
        # too, not only against the (longer) wait timeout.
        self.poll_outage.failure()
        if self.poll_outage.expired:
            raise RunAborted(
                f"the service has been unreachable for over {self.options.patience:g} s"
                f" (last error: {exc})", EXIT_INTERRUPTED,
            ) from exc

    @staticmethod
    async def _wait_any(*events: anyio.Event) -> None:
        async with anyio.create_task_group() as tg:
            async def waiter(event: anyio.Event) -> None:
                await event.wait()
                tg.cancel_scope.cancel()

            for event in events:
                tg.start_soon(waiter, event)

    async def tick(self) -> None:
        """Progress events, until the run ends."""
        while True:
            self.emit(ProgressEvent(self.acct.snapshot()))
            await anyio.sleep(PROGRESS_INTERVAL)


async def _uploads(run: _Run, work_receive: MemoryObjectReceiveStream[WorkItem]) -> None:
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(run.options.concurrency):
                tg.start_soon(run.upload, work_receive.clone())
            work_receive.close()
    finally:
        run.uploads_done.set()


async def _main(run: _Run, candidates: Iterable[Candidate]) -> None:
    cand_send, cand_receive = anyio.create_memory_object_stream[list[Candidate]](4)
    work_send, work_receive = anyio.create_memory_object_stream[WorkItem](
        run.options.concurrency * 2
    )
    async with anyio.create_task_group() as outer:
        outer.start_soon(run.tick)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run.produce, cand_send, candidates)
                tg.start_soon(run.plan, cand_receive, work_send)
                tg.start_soon(_uploads, run, work_receive)
                if run.poller is not None:
                    tg.start_soon(run.poll)
        except RunAborted as exc:
            run.aborted = exc
        except BaseExceptionGroup as group:
            aborted = group.subgroup(RunAborted)
            if aborted is None:
                # A journal that cannot be written (disk full...) ends the run; the
                # broken streams that come with it are only its consequence.
                broken = group.subgroup(JournalError)
                if broken is not None:
                    raise _leaf(broken) from None
                raise
            # Uploads run in a nested task group: its RunAborted arrives group in group.
            leaf = _leaf(aborted)
            assert isinstance(leaf, RunAborted)
            run.aborted = leaf
        finally:
            outer.cancel_scope.cancel()


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _root_cids(run: _Run) -> list[tuple[str, str | None]]:
    """Each PATH's root CID, as ``bulkpin cid -r`` would give it, reusing recorded CIDs."""
    opts = run.options
    partial = (
        opts.selection.include or opts.selection.exclude or opts.selection.shard is not None
        or opts.selection.min_size is not None or opts.selection.max_size is not None
    )
    out: list[tuple[str, str | None]] = []
    known = _KnownCids(run.journal.path, opts.profile)
    for root in run.roots:
        root_id = run.journal.root_id(root)
        name = os.fsdecode(root)
        if partial:
            run.journal.set_root_cid(root_id, None, "not computed: filters or --shard select"
                                     " part of the tree")
            out.append((name, None))
            continue
        importer = TreeImporter(opts.profile, recursive=True, hidden=opts.hidden,
                                hash_workers=opts.hash_workers, known=known.known)
        base = os.path.basename(root.rstrip(b"/")) or root
        root_cid, first_error = None, None
        for result in importer.run([root]):
            if isinstance(result, TreeEntry):
                if result.path == base:
                    root_cid = result.cid
            elif first_error is None:
                first_error = f"{os.fsdecode(result.path)}: {result.message}"
        run.journal.set_root_cid(root_id, root_cid, None if root_cid else first_error)
        out.append((name, root_cid))
    run.journal.commit()
    return out


class _KnownCids:
    """For the tree importer: the CIDs the journal holds for unchanged files."""

    def __init__(self, journal_path: Path, profile: CidProfile) -> None:
        self.journal_path = journal_path
        self.profile = profile
        # One read-only connection per thread that walks (sqlite3 objects stay
        # in the thread that made them); closed with the threads.
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True)
            self._local.conn = conn
        return conn

    def known(self, path: bytes, st: os.stat_result) -> FileResult | None:
        """The recorded result of a file the walk found unchanged, else None (hash it)."""
        row = self._conn().execute(
            "SELECT size, mtime_ns, inode, cid FROM files WHERE path = ?", (path,)
        ).fetchone()
        if row is None or row[3] is None:
            return None
        if (st.st_size, st.st_mtime_ns, st.st_ino) != (row[0], row[1], row[2]):
            return None
        return FileResult(cid_from_str(row[3]), row[0], file_tsize(row[0], self.profile),
                          text=row[3])


def _failures(journal: Journal, limit: int = 50) -> list[tuple[str, str]]:
    out = []
    for record in journal.in_state("failed"):
        out.append((os.fsdecode(record.display), record.error or "failed"))
        if len(out) >= limit:
            break
    return out


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
    journal_path = options.journal or default_journal_path(roots, options)
    try:
        journal = Journal(journal_path, profile_name=options.profile.name)
    except JournalError as exc:
        raise RunAborted(str(exc), EXIT_USAGE) from exc
    with journal:
        run_id = journal.begin_run()
        run = _Run(roots, options, journal, client, emit, stop)
        candidates: Iterable[Candidate]
        if file_list is not None:
            candidates = files_from(file_list, options.selection,
                                    follow_symlinks=options.follow_symlinks)
        else:
            candidates = walk_candidates(roots, options.selection, hidden=options.hidden,
                                         follow_symlinks=options.follow_symlinks)
        try:
            await _main(run, candidates)
        finally:
            journal.commit()
        roots_out: list[tuple[str, str | None]] = []
        if run.aborted is None and not stop.is_set() and file_list is None:
            roots_out = await anyio.to_thread.run_sync(_root_cids, run)
        counts = journal.counts()
        if options.manifest is not None:
            write_manifest(journal, options.manifest)
        if run.aborted is not None:
            status, reason = run.aborted.exit_status, str(run.aborted)
        elif stop.is_set():
            status, reason = EXIT_INTERRUPTED, "interrupted"
        elif run.poll_timed_out:
            status, reason = EXIT_INTERRUPTED, (
                f"jobs still not final after waiting {options.wait_timeout:g} s with no progress"
            )
        elif counts["failed"]:
            status, reason = EXIT_FAILED, f"{counts['failed']} file(s) failed"
        else:
            status, reason = EXIT_OK, "done"
        journal.end_run(run_id, reason)
        snapshot = run.acct.snapshot()
        return PushSummary(
            exit_status=status, reason=reason, snapshot=snapshot, counts=counts,
            journal=journal_path, manifest=options.manifest, failures=_failures(journal),
            roots=roots_out,
            poll_requests=run.poller.requests if run.poller else 0,
            poll_rounds=run.poller.rounds if run.poller else 0,
        )
