"""``push --processes N|auto``: the option, and the parent's run of the workers.

The parent takes the signals (a worker ignores the terminal's): the first
SIGINT, SIGTERM or SIGHUP asks every worker to stop, a second SIGINT or SIGTERM
tells them to stop at once, as :mod:`.stopping` does for one process. Local
PATHs (and ``--files-from``) only: an s3:// or ``--urls`` push is one listing
that cannot be split by content before it is read, so it refuses the option.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FrameType
from typing import get_args

import click

from ..manifests import merge_manifests
from ..push import (
    ExitStatus,
    FileOutcome,
    Journal,
    NoticeEvent,
    PushEvent,
    PushOptions,
    PushSummary,
    write_manifest,
)
from ..push.processes import (
    MAX_PROCESSES,
    SEVERITY,
    ProcessPush,
    auto_processes,
    process_journals,
)
from ..target import open_target
from .options import AutoOrNumber
from .stopping import _leave_hung_up_terminals, stop_notice
from .target_options import Target

__all__ = [
    "PROCESSES_HELP", "ProcessesType", "processes_status", "refuse_processes", "run_processes",
]

PROCESSES_HELP = (
    "Push local PATHs with N worker processes (each a share of the files, as --shard"
    " splits them, with its own journal; one display, summary and manifest). 'auto': one"
    " per usable core, at most 8. --memory, --rate-limit, --bwlimit and --concurrency stay"
    " totals. Not for s3:// or --urls. The same command resumes every worker.")


#: ``auto`` (one worker per usable core, capped) or a number of worker processes.
ProcessesType = partial(AutoOrNumber, MAX_PROCESSES, auto_processes)


def refuse_processes(processes: int | None, remote: bool, shard: str | None) -> None:
    """The combinations ``--processes`` cannot take, as usage errors before anything starts."""
    if processes is None:
        return
    if remote:
        raise click.UsageError("--processes splits a local walk; an s3:// or --urls push"
                               " runs in one process (leave --processes out)")
    if shard is not None:
        raise click.UsageError("--processes takes its own shares of the files: give"
                               " --processes or --shard, not both")


class _Asked:
    """What the signals asked, kept until the run exists (the account may still be opening)."""

    def __init__(self) -> None:
        self.run: ProcessPush | None = None
        self.stop = self.now = False

    def ask(self, *, now: bool) -> None:
        self.stop, self.now = True, self.now or now
        if self.run is not None:
            self.attach(self.run)

    def attach(self, run: ProcessPush) -> None:
        self.run = run
        if self.now:
            run.ask_stop_now()
        elif self.stop:
            run.ask_stop()  # the notice is said by run(), not here, in the middle of a draw


@contextmanager
def _parent_signals() -> Iterator[_Asked]:
    """The two-signal rule of :mod:`.stopping`, for a parent whose workers do the work."""
    terminals = [fd for fd in (1, 2) if os.isatty(fd)]
    asked = _Asked()

    def handler(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            _leave_hung_up_terminals(terminals)
            if asked.stop:
                return
        asked.ask(now=asked.stop)

    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {signum: signal.signal(signum, handler) for signum in caught}
    try:
        yield asked
    finally:
        for signum, old in before.items():
            signal.signal(signum, old)


def run_processes(paths: Sequence[str], options: PushOptions, processes: int, target: Target,
                  renderer: Callable[[PushEvent], None], file_list: Sequence[bytes] | None,
                  read_timeout: float, stopping: str, *, every_file: bool,
                  listing: bool) -> PushSummary:
    """Open the account once, push with ``processes`` workers, return the merged summary.

    ``every_file``: the renderer shows every file's outcome (``--json``);
    ``listing``: a dry run names each file it would send. Otherwise only
    failures cross from the workers (a million small files are not a million
    messages).
    """
    forward: frozenset[FileOutcome] = frozenset(get_args(FileOutcome)) if every_file \
        else frozenset({"failed", "hashed"} if listing else {"failed"})
    profile, zone, endpoint, failover = target
    # The signals are the parent's from the start: a Ctrl-C while the embedded
    # service starts is a stop too, not a KeyboardInterrupt.
    with _parent_signals() as asked, open_target(
            profile, zone, endpoint, lambda m: renderer(NoticeEvent(m)),
            uploads=True) as credentials:
        run = ProcessPush(
            paths, options, processes, credentials=credentials, endpoint=endpoint,
            failover=failover, read_timeout=read_timeout, on_event=renderer,
            file_list=file_list, stopping_notice=stop_notice(stopping), forward=forward)
        asked.attach(run)
        return run.run()


def processes_status(directory: Path, report: Callable[[Journal], int], profile_name: str,
                     manifest: Path | None) -> int:
    """``bulkpin status`` of a ``--processes`` run: each worker's journal, the worst status.

    ``--manifest`` is the workers' manifests, written from their journals, merged
    with the root CIDs as ``bulkpin manifest merge`` computes them.
    """
    statuses = []
    with tempfile.TemporaryDirectory(prefix="bulkpin-status-") as scratch:
        shares = []
        for path in process_journals(directory):
            with Journal(path, profile_name=profile_name, read_only=True) as journal:
                if manifest is not None:
                    shares.append(Path(scratch) / f"{path.stem}.jsonl")
                    write_manifest(journal, shares[-1])
                statuses.append(report(journal))
        if manifest is not None:
            merge_manifests(shares, output=manifest)
    return max(statuses, key=lambda s: SEVERITY.get(ExitStatus(s), 3)) if statuses else 0
