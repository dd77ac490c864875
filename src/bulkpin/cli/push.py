"""``bulkpin push``: parse, build the options, run :func:`bulkpin.push.push`, render."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import IO

import anyio
import click

from ..client import ConfigurationError, DecooClient
from ..push import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MEMORY,
    DEFAULT_SMALL_FILE,
    JournalError,
    ManifestError,
    NoticeEvent,
    PushOptions,
    PushSummary,
    RunAborted,
    Selection,
    SelectionError,
    Shard,
    manifest_format,
    push,
)
from ..target import open_target
from ..unixfs.tree import DEFAULT_HASH_WORKERS
from . import EXIT_INTERRUPTED, EXIT_USAGE
from .options import RATE, SIZE, build_profile, cid_profile_options
from .push_remote import RemoteArgs, remote_options, run_remote
from .render import JsonRenderer, PlainRenderer, RichRenderer
from .target_options import target_options

Renderer = JsonRenderer | PlainRenderer | RichRenderer


def _renderer(as_json: bool) -> Renderer:
    if as_json:
        return JsonRenderer()
    if sys.stderr.isatty():
        return RichRenderer()
    return PlainRenderer()


async def _run(
    paths: tuple[str, ...],
    options: PushOptions,
    target: tuple[str | None, str | None, str | None],
    renderer: Renderer,
    file_list: list[bytes] | None,
    read_timeout: float,
) -> PushSummary:
    stop = anyio.Event()

    def notice(message: str) -> None:
        renderer(NoticeEvent(message))

    async def signals(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for _ in received:
                if stop.is_set():
                    scope.cancel()  # a second Ctrl-C: stop now; the journal still commits
                    return
                stop.set()
                notice("Stopping: no new files start; uploads in flight finish. "
                       "Press Ctrl-C again to stop at once. Run the same command to resume.")

    profile, zone, endpoint = target
    if options.dry_run:
        return await push(paths, options, on_event=renderer, file_list=file_list, stop=stop)
    with open_target(profile, zone, endpoint, notice) as credentials:
        async with DecooClient(credentials, concurrency=options.concurrency,
                               endpoint=endpoint, read_timeout=read_timeout) as client:
            summary: PushSummary | None = None
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(signals, scope)
                    summary = await push(paths, options, client=client, on_event=renderer,
                                         file_list=file_list, stop=stop)
                    tg.cancel_scope.cancel()
            if summary is None:
                raise RunAborted("stopped at once; run the same command again to resume",
                                 EXIT_INTERRUPTED)
            return summary


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _read_list(source: str) -> list[bytes]:
    stream: IO[bytes] = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    with stream:
        return [line.rstrip(b"\r\n") for line in stream if line.strip()]


@click.command("push")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@target_options
@click.option("--concurrency", type=click.IntRange(1, 1024), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Uploads in flight.")
@click.option("--hash-workers", type=click.IntRange(min=1), default=DEFAULT_HASH_WORKERS,
              show_default=True, help="Threads hashing files.")
@click.option("--rate-limit", type=RATE, default=None, help="Uploads started per second (N/s).")
@click.option("--bwlimit", type=SIZE, default=None, help="File bytes sent per second (e.g. 10M/s).")
@click.option("--memory", type=SIZE, default=DEFAULT_MEMORY, show_default=True,
              help="Bytes of upload buffers held in memory at once, across uploads.")
@click.option("--small-file", type=SIZE, default=DEFAULT_SMALL_FILE, show_default=True,
              help="Files up to this size are hashed before sending (copies are skipped).")
@click.option("--include", multiple=True, help="Only files matching this glob (repeatable).")
@click.option("--exclude", multiple=True, help="Leave out files/directories matching this glob.")
@click.option("--min-size", type=SIZE, default=None, help="Leave out smaller files.")
@click.option("--max-size", type=SIZE, default=None, help="Leave out larger files.")
@click.option("--hidden", is_flag=True, help="Include names that start with a dot.")
@click.option("--follow-symlinks", is_flag=True, help="Follow symlinks (loops are detected).")
@click.option("--files-from", type=str, default=None,
              help="Read the paths to push from this file, one per line ('-': stdin).")
@cid_profile_options
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until every pin job is final.")
@click.option("--wait-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds a job may stay failed, or all jobs make no progress, before giving up.")
@click.option("--patience", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Seconds the service may be unreachable before the run stops (exit 3).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True,
              help="Seconds a request may wait for the service to answer, or to take more"
                   " of an upload, before that attempt fails and is retried.")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Journal file [default: one per set of PATHs in the user state directory].")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a manifest (.jsonl or .csv) at the end.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable events on stdout.")
@click.option("--dry-run", is_flag=True, help="Walk, filter and hash; upload nothing.")
@click.option("--account-listing/--no-account-listing", default=True, show_default=True,
              help="List the account's pins first, so nothing it holds is sent again"
                   " (about one request per 1,000 pins; later runs list only what changed).")
@click.option("--shard", default=None, help="Take share I of N of the files (I/N, from 0).")
@click.option("-v", "--verbose", count=True, help="Log more (-vv: debug).")
@remote_options
def push_command(
    paths: tuple[str, ...], profile: str | None, zone: str | None, endpoint: str | None,
    concurrency: int, hash_workers: int, rate_limit: float | None, bwlimit: int | None,
    memory: int, small_file: int, include: tuple[str, ...], exclude: tuple[str, ...],
    min_size: int | None, max_size: int | None, hidden: bool, follow_symlinks: bool,
    files_from: str | None, cid_profile: str | None, chunk_size: int | None,
    max_links: int | None, raw_leaves: bool | None, cid_version: int | None, wait: bool,
    wait_timeout: float, patience: float, timeout: float, journal: Path | None,
    manifest: Path | None,
    as_json: bool, dry_run: bool, account_listing: bool, shard: str | None, verbose: int,
    remote: RemoteArgs,
) -> None:
    """Pin every file under PATHS to Decoo (or to the embedded local service).

    Resumable: run the same command again after an interruption and only what
    is left is done. Exit status: 0 all pinned, 1 some files failed, 2 usage or
    configuration error, 3 interrupted or timed out (resumable).
    """
    if not remote.applies(paths) and bool(paths) == bool(files_from):
        raise click.UsageError("give PATHS or --files-from, not both and not neither")
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        selection = Selection(
            include=include, exclude=exclude, min_size=min_size, max_size=max_size,
            shard=Shard.parse(shard) if shard else None,
        )
        if manifest is not None:
            manifest_format(manifest)
    except (SelectionError, ManifestError) as exc:
        raise click.UsageError(str(exc)) from exc
    options = PushOptions(
        profile=build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version),
        selection=selection, hidden=hidden, follow_symlinks=follow_symlinks,
        concurrency=concurrency, hash_workers=hash_workers, rate_limit=rate_limit,
        bwlimit=bwlimit, small_file=small_file, memory=memory, wait=wait,
        wait_timeout=wait_timeout, patience=patience, journal=journal, manifest=manifest,
        dry_run=dry_run, list_account=account_listing,
    )
    if remote.applies(paths):  # s3:// locations or --urls: see push_remote.py
        run_remote(paths, files_from, remote, options, (profile, zone, endpoint),
                   lambda: _renderer(as_json), timeout)
    file_list = _read_list(files_from) if files_from else None
    renderer = _renderer(as_json)
    try:
        try:
            summary = anyio.run(_run, paths, options, (profile, zone, endpoint), renderer,
                                file_list, timeout)
        except BaseExceptionGroup as group:
            # The signal watcher's task group wraps what push raised: unwrap it.
            raise _first_leaf(group) from None
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except RunAborted as exc:
        if isinstance(renderer, RichRenderer):
            renderer.progress.stop()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_status)
    except JournalError as exc:
        # Mid-run (a full disk...): SQLite kept every committed mark.
        if isinstance(renderer, RichRenderer):
            renderer.progress.stop()
        click.echo(f"error: {exc}; nothing committed is lost: fix this, then run the same"
                   " command again to resume", err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    renderer.summary(summary)
    sys.exit(summary.exit_status)
