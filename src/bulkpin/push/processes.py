"""``push --processes N``: N worker processes, each pushing one share of the walk, seen as one run.

One event loop is one core; small files are bound by it. Here the walk is
split as ``--shard I/N`` splits it (by size and first bytes,
:mod:`bulkpin.fs._content_key`, so every copy of a content is one worker's and
is sent once, with no coordination), and each share is pushed by a process of
its own (:mod:`.process_worker`) with its own journal, all in one directory
where the run's journal would be (:func:`processes_dir`). Runs to one account
on one machine share a claims file already (:mod:`bulkpin.journal.claims`), so
no two workers ever send one CID.

The parent shows one run: the workers' snapshots summed (:mod:`.merged`), their
notices said once, one summary (counts add; the exit status is the worst a
worker had), one manifest merged from the workers' at the end, with each
PATH's root CID as ``bulkpin manifest merge`` computes it. A stop asked of the
parent is asked of every worker; the same command resumes every worker's
journal. A worker that dies (kill -9) leaves its journal resumable and is
reported; the others finish their shares.

Totals the user gives (``--memory``, ``--rate-limit``, ``--bwlimit``, uploads
in flight) stay totals: each worker gets its part.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import multiprocessing
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ExitStatus, RunAborted
from ..core.events import FileOutcome, NoticeEvent, ProgressEvent, PushEvent, Snapshot
from ..core.snapshot import merge
from ..core.stages import PROGRESS_INTERVAL
from ..destination import Destination
from ..fs import Shard
from ..journal import FoundJournal, Journal, default_journal_path, read_found
from ..manifests import ManifestReadError, MergeConflict, MergeResult, merge_manifests
from .manifest import ManifestWriteError, write_manifest
from .merged import merged_listing
from .options import PushOptions
from .process_worker import WorkerFailed, WorkerSpec, WorkerTarget, worker_main
from .roots import _takes_part
from .summary import PushSummary, dry_run_reason

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess

    from ..client import Credentials

__all__ = [
    "AUTO_PROCESSES_CAP",
    "MAX_PROCESSES",
    "SEVERITY",
    "ProcessPush",
    "auto_processes",
    "process_journals",
    "process_runs_for",
    "processes_dir",
]

#: The most workers a user may ask for.
MAX_PROCESSES = 64
#: The most ``auto`` starts: each worker lists the account and holds a journal
#: and a connection pool of its own, so past a few cores more cost more than they give.
AUTO_PROCESSES_CAP = 8
#: Seconds the parent waits for a worker's message before it looks at its orders again.
_TICK = 0.1
#: Never less read-ahead per worker than this, whatever ``--memory`` divided by N is.
_MIN_MEMORY = 4 << 20
#: A worker's summary reason when files failed (the lifecycle's wording).
_FAILED_FILES = re.compile(r"\d+ file\(s\) failed")


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def auto_processes() -> int:
    """``--processes auto``: one worker per usable core, at most :data:`AUTO_PROCESSES_CAP`."""
    return max(1, min(usable_cores(), AUTO_PROCESSES_CAP))


def processes_dir(run_journal: Path) -> Path:
    """Where a run's workers keep their journals and manifests: beside, named for, its journal."""
    return run_journal.with_suffix(".processes")


def _share_name(index: int, count: int) -> str:
    return f"{index}-of-{count}"


def process_journals(run_journal: Path) -> list[Path]:
    """The worker journals of the last ``--processes`` run whose journal is ``run_journal``.

    ``run_journal`` may be the run's directory itself.
    A directory may hold an earlier run's with another N (their shares differ):
    the set written last is the run's.
    """
    directory = run_journal if run_journal.is_dir() else processes_dir(run_journal)
    groups: dict[str, list[Path]] = {}
    for path in directory.glob("*-of-*.sqlite"):
        groups.setdefault(path.stem.rsplit("-of-", 1)[1], []).append(path)
    if not groups:
        return []
    latest = max(groups.values(), key=lambda paths: max(p.stat().st_mtime for p in paths))
    return sorted(latest, key=lambda p: int(p.stem.split("-of-")[0]))


def process_runs_for(roots: Sequence[bytes], options: PushOptions) -> list[FoundJournal]:
    """The ``--processes`` runs of these PATHs, one per destination, as ``status`` finds journals.

    Each is its directory (:func:`processes_dir`), with its workers' counts summed.
    """
    name = processes_dir(default_journal_path(roots, options)).name
    base = default_journal_path(roots, options).parent
    runs = []
    for directory in sorted(base.glob(f"*/{name}")):
        found = [f for f in map(read_found, process_journals(directory)) if f is not None]
        if not found:
            continue
        counts: dict[str, int] = {}
        for journal in found:
            for state, n in journal.counts.items():
                counts[state] = counts.get(state, 0) + n
        first = found[0]
        runs.append(dataclasses.replace(first, path=directory, shard=None, counts=counts))
    return runs


def share_options(options: PushOptions, index: int, count: int, directory: Path,
                  manifests: Path | None = None) -> PushOptions:
    """A worker's options: its shard, its journal and manifest, its part of every total.

    Its journal is in ``directory``, its manifest there too unless ``manifests``
    says where (a dry run leaves the run's directory as it was).
    """
    name = _share_name(index, count)
    return dataclasses.replace(
        options,
        selection=dataclasses.replace(options.selection, shard=Shard(index, count)),
        journal=directory / f"{name}.sqlite",
        manifest=(manifests or directory) / f"{name}.jsonl",
        memory=max(options.memory // count, _MIN_MEMORY),
        concurrency=None if options.concurrency is None
        else math.ceil(options.concurrency / count),
        max_concurrency=math.ceil(options.max_concurrency / count),
        rate_limit=None if options.rate_limit is None else options.rate_limit / count,
        bwlimit=None if options.bwlimit is None else max(options.bwlimit // count, 1),
    )


@dataclass(slots=True)
class _Worker:
    """The parent's view of one worker."""

    index: int
    options: PushOptions
    process: SpawnProcess
    events: Connection
    orders: Connection
    snapshot: Snapshot | None = None
    summary: PushSummary | None = None
    failed: WorkerFailed | None = None
    ended: bool = False

    @property
    def journal(self) -> Path:
        assert self.options.journal is not None
        return self.options.journal

    def order(self, what: str) -> None:
        with contextlib.suppress(OSError):
            self.orders.send(what)


class ProcessPush:
    """One push of ``paths`` by ``count`` worker processes (see the module).

    ``credentials``: the account the parent opened (None only for a dry run).
    ``forward``: the file outcomes ``on_event`` is given (the others stay in
    the workers: a million small files are not a million messages).
    :meth:`ask_stop` and :meth:`ask_stop_now` may be called from a signal
    handler: they only set a flag, which :meth:`run` acts on.
    """

    def __init__(
        self, paths: Sequence[str | bytes], options: PushOptions, count: int, *,
        credentials: Credentials | None, endpoint: str | None = None,
        failover: bool | None = None, read_timeout: float = 120.0,
        on_event: Callable[[PushEvent], None] | None = None,
        file_list: Sequence[bytes] | None = None,
        forward: frozenset[FileOutcome] = frozenset({"failed"}),
        stopping_notice: str | None = None,
    ) -> None:
        if not 1 <= count <= MAX_PROCESSES:
            raise ValueError(f"processes must be in 1..{MAX_PROCESSES}, not {count}")
        if options.selection.shard is not None:
            raise ValueError("--processes takes shares of the walk itself: give no --shard")
        if credentials is None and not options.dry_run:
            raise ValueError("a push needs credentials unless it is a dry run")
        self.roots = [os.path.abspath(os.fsencode(p)) for p in paths]
        self.options = options
        self.count = count
        self.credentials = credentials
        self.target = None if credentials is None else WorkerTarget.of(
            credentials, endpoint, failover, read_timeout)
        self.emit = on_event or (lambda event: None)
        self.file_list = file_list
        self.forward = forward
        self.stopping_notice = stopping_notice
        self._stop = False
        self._now = False
        self._told: set[tuple[str, str]] = set()

    def ask_stop(self) -> None:
        """No new file starts in any worker; those in flight have their grace."""
        self._stop = True

    def ask_stop_now(self) -> None:
        """Every worker cancels at once (its journal still commits)."""
        self._stop = self._now = True

    def run(self) -> PushSummary:
        """Start the workers, show them as one run until the last ends, and sum them up."""
        started = time.monotonic()
        destination = Destination.of(self.credentials) if self.credentials else None
        run_journal = self.options.journal or default_journal_path(
            self.roots, self.options, destination)
        directory = processes_dir(run_journal)
        with contextlib.ExitStack() as scratch:
            manifests = None
            if self.options.dry_run:
                # Left as it was: the workers' manifests go to a scratch directory.
                manifests = Path(scratch.enter_context(
                    tempfile.TemporaryDirectory(prefix="bulkpin-dry-run-")))
            else:
                directory.mkdir(parents=True, exist_ok=True)
            workers = [self._start(i, directory, manifests) for i in range(self.count)]
            try:
                self._follow(workers)
            finally:
                for worker in workers:
                    worker.process.join()
                    worker.events.close()
                    worker.orders.close()
            return self._summary(workers, directory, destination, time.monotonic() - started)

    def _start(self, index: int, directory: Path, manifests: Path | None) -> _Worker:
        # spawn: the parent holds threads (the embedded service's watcher, a
        # terminal display) that a forked child would inherit half-made.
        context = multiprocessing.get_context("spawn")
        events_in, events_out = context.Pipe(duplex=False)
        orders_in, orders_out = context.Pipe(duplex=False)
        options = share_options(self.options, index, self.count, directory, manifests)
        spec = WorkerSpec(index, self.roots, options, self.target,
                          list(self.file_list) if self.file_list is not None else None,
                          self.forward)
        process = context.Process(target=worker_main, args=(spec, events_out, orders_in),
                                  name=f"bulkpin push {_share_name(index, self.count)}",
                                  daemon=False)
        with _signals_ignored_by_children():
            process.start()
        # The child's ends belong to the child now: closed here, a worker that
        # dies is an end of file, not a pipe kept open by its parent.
        events_out.close()
        orders_in.close()
        return _Worker(index, options, process, events_in, orders_out)

    def _follow(self, workers: list[_Worker]) -> None:
        """Relay orders down and events up until every worker has ended."""
        sent: set[str] = set()
        shown = time.monotonic()
        while not all(w.ended for w in workers):
            self._relay(workers, sent)
            waiting = [w for w in workers if not w.ended]
            ready = set(wait([w.events for w in waiting]
                             + [w.process.sentinel for w in waiting], _TICK))
            for worker in waiting:
                if worker.events in ready or worker.process.sentinel in ready:
                    self._read(worker)
                if worker.process.sentinel in ready:
                    worker.process.join()  # reaped: its exit code is known
                    worker.ended = True
                    if worker.summary is None and worker.failed is None:
                        self._notice(NoticeEvent(self._death(worker), "warning"))
            if time.monotonic() - shown >= PROGRESS_INTERVAL:
                shown = time.monotonic()
                self._show(workers)

    def _relay(self, workers: list[_Worker], sent: set[str]) -> None:
        """Each order asked (by a signal handler, meanwhile) sent once to every worker."""
        for order, asked in (("stop", self._stop), ("now", self._now)):
            if asked and order not in sent:
                sent.add(order)
                if order == "stop" and self.stopping_notice:
                    self._notice(NoticeEvent(self.stopping_notice))
                for worker in workers:
                    worker.order(order)

    def _show(self, workers: list[_Worker]) -> None:
        snapshots = [w.snapshot for w in workers if w.snapshot is not None]
        if snapshots:
            snapshot = merge(snapshots)
            if len(snapshots) < len(workers):  # one still starting has walked nothing
                snapshot = dataclasses.replace(snapshot, source_done=False)
            self.emit(ProgressEvent(snapshot))

    def _read(self, worker: _Worker) -> None:
        """Every message the worker has sent so far (all of them, once it has exited)."""
        try:
            while worker.events.poll(0):
                message: Any = worker.events.recv()
                kind, body = message
                if kind == "events":
                    for event in body:
                        if isinstance(event, ProgressEvent):
                            worker.snapshot = event.snapshot
                        elif isinstance(event, NoticeEvent):
                            self._notice(event)
                        else:
                            self.emit(event)
                elif kind == "summary":
                    worker.summary = body
                    worker.snapshot = body.snapshot
                else:
                    worker.failed = body
        except (EOFError, OSError):
            return

    def _notice(self, event: NoticeEvent) -> None:
        # Every worker says what its start says (a dry run, the journal's
        # upgrade...): the user reads it once.
        key = (event.message, event.level)
        if key not in self._told:
            self._told.add(key)
            self.emit(event)

    def _death(self, worker: _Worker) -> str:
        code = worker.process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 \
            else f"exited with status {code}"
        return (f"worker {_share_name(worker.index, self.count)} (pid {worker.process.pid}) {how};"
                f" its share is resumable from {worker.journal}: run the same command again")

    def _summary(self, workers: list[_Worker], directory: Path,
                 destination: Destination | None, elapsed: float) -> PushSummary:
        if all(w.summary is None for w in workers):
            worst = _worst(self._endings(workers))
            raise RunAborted(worst[1], worst[0])
        counts: dict[str, int] = {}
        failures: list[tuple[str, str]] = []
        for worker in workers:
            for state, n in self._counts(worker).items():
                counts[state] = counts.get(state, 0) + n
            if worker.summary is not None:
                failures += worker.summary.failures
        endings = self._endings(workers)
        status, reason = _worst(endings)
        if status == ExitStatus.FAILED and all(_FAILED_FILES.fullmatch(r)
                                               for s, r in endings if s == status):
            reason = f"{counts.get('failed', 0)} file(s) failed"
        merged, manifest_problem = self._merge(workers)
        manifest = self.options.manifest if merged is not None else None
        if self.options.manifest is not None and merged is None:
            self._notice(NoticeEvent(f"error: the manifest was not written: {manifest_problem}",
                                     "warning"))
            if status == ExitStatus.OK:
                status, reason = ExitStatus.FAILED, "done, but the manifest could not be written"
        roots, root_errors = self._roots(merged, manifest_problem)
        if self._stop or any(w.summary is None for w in workers):
            roots, root_errors = [], {}  # as a stopped push of one process: no root to say
        snapshots = [w.snapshot for w in workers if w.snapshot is not None]
        snapshot = dataclasses.replace(
            merge(snapshots), elapsed=elapsed,
            items_rate=sum(s.done for s in snapshots) / elapsed if elapsed > 0 else 0.0)
        summaries = [w.summary for w in workers if w.summary is not None]
        listing = merged_listing([s.listing for s in summaries])
        if self.options.dry_run and status == ExitStatus.OK:
            reason = dry_run_reason(snapshot, listed=listing is not None)
        return PushSummary(
            exit_status=status, reason=reason, counts=counts, journal=directory,
            failures=failures, manifest=manifest,
            poll_requests=sum(s.poll_requests for s in summaries),
            poll_rounds=max(s.poll_rounds for s in summaries),
            listing=listing,
            destination=destination, snapshot=snapshot, roots=roots, root_errors=root_errors,
            dry_run=self.options.dry_run)

    def _endings(self, workers: list[_Worker]) -> list[tuple[ExitStatus, str]]:
        endings = []
        for worker in workers:
            if worker.summary is not None:
                endings.append((worker.summary.exit_status, worker.summary.reason))
            elif worker.failed is not None:
                endings.append((worker.failed.exit_status, worker.failed.message))
            else:
                endings.append((ExitStatus.INTERRUPTED, self._death(worker)))
        return endings

    def _counts(self, worker: _Worker) -> dict[str, int]:
        if worker.summary is not None:
            return worker.summary.counts
        # A worker with no summary (killed, or refused its journal): what its
        # journal says, read as ``bulkpin status`` reads it.
        try:
            with Journal(worker.journal, profile_name=self.options.profile.name,
                         read_only=True) as journal:
                return journal.counts()
        except Exception:  # no journal (it never opened one): nothing counted
            return {}

    def _merge(self, workers: list[_Worker]) -> tuple[MergeResult | None, str]:
        """The workers' manifests merged into the one asked for (or nowhere, for the roots)."""
        sources: list[Path] = []
        for worker in workers:
            path = worker.options.manifest
            assert path is not None
            if worker.summary is None or worker.summary.manifest is None:
                # The worker's run wrote none (it died, or its manifest failed):
                # its journal has every row it learned.
                try:
                    with Journal(worker.journal, profile_name=self.options.profile.name,
                                 read_only=True) as journal:
                        write_manifest(journal, path)
                except Exception as exc:  # said; a root needs every share
                    return None, f"worker {_share_name(worker.index, self.count)}: {exc}"
            sources.append(path)
        try:
            if self.options.manifest is not None:
                return merge_manifests(sources, output=self.options.manifest,
                                       profile=self.options.profile), ""
            with open(os.devnull, "w", encoding="utf-8") as nowhere:
                return merge_manifests(sources, stream=nowhere, profile=self.options.profile), ""
        except (MergeConflict, ManifestReadError, ManifestWriteError, OSError) as exc:
            return None, str(exc)

    def _roots(self, merged: MergeResult | None,
               problem: str) -> tuple[list[tuple[str, str | None]], dict[str, str]]:
        """Each PATH's root CID, as a one-process push says it (none for --files-from)."""
        if self.file_list is not None:
            return [], {}
        found = {os.path.basename(os.fsencode(r.path).rstrip(b"/")): r.cid
                 for r in (merged.roots if merged is not None else ())}
        why = "not computed: filters select part of the tree" \
            if _takes_part(self.options) else (merged.problem if merged is not None
                                               else problem) or "not computed"
        roots: list[tuple[str, str | None]] = []
        errors: dict[str, str] = {}
        for root in self.roots:
            name = os.fsdecode(root)
            cid = None if _takes_part(self.options) else \
                found.get(os.path.basename(root.rstrip(b"/")) or root)
            roots.append((name, cid))
            if cid is None:
                errors[name] = why
        return roots, errors


#: What the parent decides for its workers: the terminal's Ctrl-C and hang-up
#: reach the whole process group, and a service manager's SIGTERM may too.
_PARENTS_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)


@contextlib.contextmanager
def _signals_ignored_by_children() -> Iterator[None]:
    """Start a child with the parent's signals ignored from its first instruction.

    An ignored signal stays ignored across exec (a handled one does not), and
    Python leaves an inherited SIG_IGN alone: a Ctrl-C while a worker still
    imports does not kill it with a KeyboardInterrupt. (A signal to the parent
    in the instant of the fork is lost; only the main thread may set handlers.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _PARENTS_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


#: How bad each exit status is, for "the worst of the workers'": an abort
#: (usage, configuration) over a stop over failed files over done, as
#: :func:`bulkpin.core.errors.ending` orders them for one run.
SEVERITY = {ExitStatus.OK: 0, ExitStatus.FAILED: 1, ExitStatus.INTERRUPTED: 2,
             ExitStatus.USAGE: 3}


def _worst(endings: list[tuple[ExitStatus, str]]) -> tuple[ExitStatus, str]:
    status = max((s for s, _ in endings), key=lambda s: SEVERITY.get(s, 3))
    reasons = [(i, r) for i, (s, r) in enumerate(endings) if s == status]
    if len({r for _, r in reasons}) == 1:
        return status, reasons[0][1]
    count = len(endings)
    return status, "; ".join(f"worker {_share_name(i, count)}: {r}" for i, r in reasons)
