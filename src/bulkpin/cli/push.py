"""``bulkpin push``: parse, build the options, run :func:`bulkpin.push.push`, render."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO

import anyio
import anyio.lowlevel
import click

from ..client import DecooClient
from ..push import (
    DEFAULT_CEILING,
    DEFAULT_GRACE,
    DEFAULT_MEMORY,
    DEFAULT_SMALL_FILE,
    FileEvent,
    ManifestError,
    NoticeEvent,
    PushEvent,
    PushOptions,
    PushSummary,
    Selection,
    SelectionError,
    Shard,
    manifest_format,
    push,
)
from ..target import open_target
from ..unixfs.tree import DEFAULT_HASH_WORKERS
from .logs import configure_logging, logging_options
from .options import (
    DURATION,
    POSITIVE_SIZE,
    RATE,
    SIZE,
    AutoOrNumber,
    build_profile,
    cid_profile_options,
    follow_options,
    poll_interval,
    read_patterns,
    refuse_unverifiable,
)
from .push_processes import PROCESSES_HELP, ProcessesType, refuse_processes, run_processes
from .push_remote import RemoteArgs, remote_options, run_remote
from .render import STATS_INTERVAL, Renderer, make_renderer
from .run_errors import run_and_exit
from .stopping import run_stoppable
from .target_options import Target, failover_option, target_options
from .terminal_text import for_terminal

#: The most uploads in flight a user may ask for, fixed or as auto's ceiling.
MAX_CONCURRENCY = 1024


#: ``auto`` (None: decided as the run goes) or a fixed number of uploads in flight.
ConcurrencyType = partial(AutoOrNumber, MAX_CONCURRENCY)


def _renderer(as_json: bool, quiet: bool = False, stats: float = STATS_INTERVAL) -> Renderer:
    return make_renderer("push", as_json, quiet, stats)


async def _run(
    paths: tuple[str, ...],
    options: PushOptions,
    target: Target,
    renderer: Callable[[PushEvent], None],
    file_list: list[bytes] | None,
    read_timeout: float,
) -> PushSummary:
    def notice(message: str) -> None:
        renderer(NoticeEvent(message))

    async def run(stop: anyio.Event) -> PushSummary:
        profile, zone, endpoint, failover = target
        # A dry run too: it lists the account (read-only) to say what would be sent.
        with open_target(profile, zone, endpoint, notice, uploads=True) as credentials:
            async with DecooClient(credentials, concurrency=options.pool_size,
                                   endpoint=endpoint, failover=failover,
                                   read_timeout=read_timeout) as client:
                return await push(paths, options, client=client, on_event=renderer,
                                  file_list=file_list, stop=stop)

    return await run_stoppable(run, _stopping(options), notice)


def _stopping(options: PushOptions) -> str:
    return (f"Stopping: no new files start; uploads in flight have up to {options.grace:g} s"
            " to finish.")


class _ListingDryRun:
    """``--dry-run -v``: each file that would be sent, then the usual display."""

    def __init__(self, inner: Renderer) -> None:
        self.inner = inner

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent) and event.outcome == "hashed":
            click.echo(f"would upload: {for_terminal(event.path)}", err=True)
        self.inner(event)


def _fail_fast(paths: tuple[str, ...], manifest: Path | None) -> None:
    """Mistakes found before anything starts (no service, no journal, nothing sent)."""
    for path in paths:
        if not os.path.lexists(path):
            raise click.UsageError(f"{for_terminal(path)}: no such file or directory")
    if manifest is not None:
        where = manifest.parent if str(manifest.parent) else Path()
        try:
            # The manifest is written at the end: learn now, not after every
            # file is pinned, that its directory does not take files.
            with tempfile.TemporaryFile(dir=where):
                pass
        except OSError as exc:
            raise click.UsageError(
                f"--manifest {manifest}: cannot write in {where}: {exc.strerror}"
            ) from None


def _read_list(source: str) -> list[bytes]:
    """The paths of ``--files-from``, read before anything starts; a usage error if unusable."""
    try:
        stream: IO[bytes] = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
        with stream:
            lines = [line.rstrip(b"\r\n") for line in stream if line.strip()]
    except OSError as exc:
        raise click.UsageError(f"--files-from {source}: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, 1):
        if b"\0" in line:
            # No path holds one; a NUL-separated list (find -print0) is not what this reads.
            raise click.UsageError(f"--files-from {source}: line {number} holds a NUL byte;"
                                   " give one path per line")
    return lines


@click.command("push")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@target_options
@click.option("--concurrency", type=ConcurrencyType(), default="auto", show_default=True,
              help="Uploads in flight: 'auto' adapts to the link and the service (more over a"
                   " long round trip, fewer when it answers 429/503 or its latency rises);"
                   " a number keeps exactly that many.")
@click.option("--max-concurrency", type=click.IntRange(1, MAX_CONCURRENCY),
              default=DEFAULT_CEILING, show_default=True,
              help="The most uploads in flight --concurrency auto may reach.")
@click.option("--hash-workers", type=click.IntRange(min=1), default=DEFAULT_HASH_WORKERS,
              show_default=True, help="Threads hashing files.")
@click.option("--rate-limit", type=RATE, default=None, help="Uploads started per second (N/s).")
@click.option("--bwlimit", type=SIZE, default=None, help="File bytes sent per second (e.g. 10M/s).")
@click.option("--memory", type=POSITIVE_SIZE, default=f"{DEFAULT_MEMORY >> 20}MiB",
              show_default=True,
              help="Bytes of upload buffers held in memory at once, across uploads.")
@click.option("--small-file", type=SIZE, default=f"{DEFAULT_SMALL_FILE >> 20}MiB",
              show_default=True,
              help="Files up to this size (never under 64KiB) are hashed before sending"
                   " (copies are skipped).")
@click.option("--include", multiple=True, help="Only files matching this glob (repeatable).")
@click.option("--exclude", multiple=True, help="Leave out files/directories matching this glob.")
@click.option("--include-from", multiple=True, metavar="FILE",
              help="Read --include globs from FILE, one per line (# comments).")
@click.option("--exclude-from", multiple=True, metavar="FILE",
              help="Read --exclude globs from FILE, one per line (# comments).")
@click.option("--min-age", type=DURATION, default=None,
              help="Leave out files modified less than this long ago (30s, 10m, 2h, 7d).")
@click.option("--max-age", type=DURATION, default=None,
              help="Leave out files modified longer ago than this (30s, 10m, 2h, 7d).")
@click.option("--min-size", type=SIZE, default=None, help="Leave out smaller files.")
@click.option("--max-size", type=SIZE, default=None, help="Leave out larger files.")
@click.option("--hidden/--no-hidden", default=True, show_default=True,
              help="Push names that start with a dot (.env, .git...); --no-hidden leaves"
                   " them out, each listed in the manifest as skipped.")
@click.option("--follow-symlinks", is_flag=True, help="Follow symlinks (loops are detected).")
@click.option("--files-from", type=str, default=None,
              help="Read the paths to push from this file, one per line ('-': stdin).")
@cid_profile_options
@follow_options
@click.option("--grace", type=click.FloatRange(min=0), default=DEFAULT_GRACE, show_default=True,
              help="Seconds uploads in flight may take to finish after Ctrl-C or SIGTERM"
                   " (Kubernetes kills 30 s after SIGTERM by default).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True,
              help="Seconds a request may wait for the service to answer, or to take more"
                   " of an upload, before that attempt fails and is retried.")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Journal file [default: one per set of PATHs in the user state directory].")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a manifest (.jsonl or .csv) at the end.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable events on stdout.")
@click.option("--stats", type=click.FloatRange(min=0, min_open=True), default=STATS_INTERVAL,
              show_default=True,
              help="Seconds between status lines when stderr is not a terminal.")
@click.option("-n", "--dry-run", is_flag=True,
              help="Say what this command would send: walk, hash, read the journal and list"
                   " the account (read-only); upload nothing, leave the journal as it was"
                   " (-v: name each file).")
@click.option("--account-listing/--no-account-listing", default=True, show_default=True,
              help="List the account's pins first, so nothing it holds is sent again"
                   " (about one request per 1,000 pins; later runs list only what changed).")
@click.option("--shard", default=None, help="Take share I of N of the files (I/N, from 0).")
@click.option("--processes", type=ProcessesType(), default=None, help=PROCESSES_HELP)
@failover_option
@logging_options
@remote_options
def push_command(
    paths: tuple[str, ...], profile: str | None, zone: str | None, endpoint: str | None,
    concurrency: int | None, max_concurrency: int, hash_workers: int,
    rate_limit: float | None, bwlimit: int | None,
    memory: int, small_file: int, include: tuple[str, ...], exclude: tuple[str, ...],
    include_from: tuple[str, ...], exclude_from: tuple[str, ...], min_age: float | None,
    max_age: float | None,
    min_size: int | None, max_size: int | None, hidden: bool, follow_symlinks: bool,
    files_from: str | None, cid_profile: str | None, chunk_size: int | None,
    max_links: int | None, raw_leaves: bool | None, cid_version: int | None, wait: bool,
    wait_timeout: float, patience: float, grace: float, timeout: float, journal: Path | None,
    manifest: Path | None,
    as_json: bool, dry_run: bool, account_listing: bool, shard: str | None,
    processes: int | None, verbose: int,
    quiet: bool, log_file: Path | None, log_format: str, failover: bool | None,
    remote: RemoteArgs,
    stats: float = STATS_INTERVAL,
) -> None:
    """Pin every file under PATHS to Decoo (or to the embedded local service).

    Resumable: run the same command again after an interruption and only what
    is left is done. Exit status: 0 all pinned, 1 some files failed, 2 usage or
    configuration error, 3 interrupted or timed out (resumable).
    """
    if not remote.applies(paths) and bool(paths) == bool(files_from):
        raise click.UsageError("give PATHS or --files-from, not both and not neither")
    refuse_processes(processes, remote.applies(paths), shard)
    configure_logging(verbose, quiet, log_file, log_format)
    try:
        selection = Selection(
            include=include + tuple(p for f in include_from for p in read_patterns(f)),
            exclude=exclude + tuple(p for f in exclude_from for p in read_patterns(f)),
            min_size=min_size, max_size=max_size, min_age=min_age, max_age=max_age,
            shard=Shard.parse(shard) if shard else None,
        )
        if manifest is not None:
            manifest_format(manifest)
    except (SelectionError, ManifestError) as exc:
        raise click.UsageError(str(exc)) from exc
    # s3:// locations are checked by the remote sources, with one listing request.
    _fail_fast(() if remote.applies(paths) else paths, manifest)
    profile_obj = build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version)
    refuse_unverifiable(profile_obj, dry_run=dry_run)
    options = PushOptions(
        profile=profile_obj,
        selection=selection, hidden=hidden, follow_symlinks=follow_symlinks,
        concurrency=concurrency, max_concurrency=max_concurrency, hash_workers=hash_workers,
        rate_limit=rate_limit,
        bwlimit=bwlimit, small_file=small_file, memory=memory, wait=wait,
        wait_timeout=wait_timeout, patience=patience, grace=grace, journal=journal,
        manifest=manifest,
        dry_run=dry_run, list_account=account_listing, poll_interval=poll_interval(),
    )
    if remote.applies(paths):  # s3:// locations or --urls: see push_remote.py
        run_remote(paths, files_from, remote, options, Target(profile, zone, endpoint, failover),
                   lambda: _renderer(as_json, quiet, stats), timeout)
    target = Target(profile, zone, endpoint, failover)
    file_list = _read_list(files_from) if files_from else None
    renderer = _renderer(as_json, quiet, stats)
    events: Callable[[PushEvent], None] = renderer
    if dry_run and verbose and not as_json:
        events = _ListingDryRun(renderer)
    if processes is not None and processes > 1:  # one process is today's push, journal and all
        run_and_exit(lambda: run_processes(
            paths, options, processes, target, events, file_list, timeout, _stopping(options),
            every_file=as_json, listing=dry_run and bool(verbose) and not as_json), renderer)
    run_and_exit(lambda: anyio.run(_run, paths, options, target, events, file_list, timeout),
                 renderer)
