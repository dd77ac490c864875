"""``bulkpin status``: what a journal says; with ``--wait``, follow its jobs to the end."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import click

from ..client import ConfigurationError, DecooClient
from ..push import (
    Accounting,
    Journal,
    JournalError,
    Poller,
    PollSchedule,
    PushOptions,
    RoundResult,
    RunAborted,
    journals_for,
    write_manifest,
)
from ..target import open_target
from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .options import build_profile, cid_profile_options
from .target_options import target_options


def _journal_path(paths: tuple[str, ...], journal: Path | None, options: PushOptions) -> Path:
    if journal is not None:
        return journal
    if not paths:
        raise click.UsageError("give the PATHS of the push, or --journal FILE")
    found = journals_for([os.path.abspath(os.fsencode(p)) for p in paths], options)
    if not found:
        click.echo("error: no journal for these PATHS (push them first, or give --journal)",
                   err=True)
        sys.exit(EXIT_USAGE)
    if len(found) > 1:
        listing = "\n".join(f"  {path}  ({dest})" for path, dest in found)
        click.echo("error: these PATHS were pushed to several destinations; choose one with"
                   f" --journal:\n{listing}", err=True)
        sys.exit(EXIT_USAGE)
    return found[0][0]


def _report(journal: Journal) -> int:
    counts = journal.counts()
    width = max(len(s) for s in counts)
    for state, n in counts.items():
        click.echo(f"{state:>{width}}  {n}")
    failures = journal.failures()
    for shown, why in failures:
        click.echo(f"failed: {shown}: {why}", err=True)
    if counts["failed"] > len(failures):
        click.echo(f"... {counts['failed'] - len(failures)} more failures (write a --manifest"
                   " to see them all)", err=True)
    for _, path, cid, error in journal.roots():
        click.echo(f"root {cid or '-'} {os.fsdecode(path)}" + (f" ({error})" if error else ""))
    if counts["failed"]:
        return EXIT_FAILED
    if counts["discovered"] or counts["uploading"] or counts["uploaded"]:
        return EXIT_INTERRUPTED
    return EXIT_OK


async def _wait(journal: Journal, target: tuple[str | None, str | None, str | None],
                wait_timeout: float) -> None:
    profile, zone, endpoint = target

    def said(result: RoundResult) -> None:
        click.echo(f"waiting for {result.waiting} job(s); pinned {result.pinned} more", err=True)

    with open_target(profile, zone, endpoint, lambda m: click.echo(m, err=True)) as creds:
        async with DecooClient(creds, endpoint=endpoint) as client:
            poller = Poller(client, journal, Accounting(), wait_timeout=wait_timeout)
            done = anyio.Event()
            done.set()  # nothing is uploading: only the jobs are left to follow
            await poller.follow(
                PollSchedule(wait=True, wait_timeout=wait_timeout), patience=wait_timeout,
                uploads_done=done, stop=anyio.Event(),
                on_error=lambda m: click.echo(f"warning: {m}", err=True), on_round=said,
            )


@click.command("status")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The journal to read [default: the one push uses for PATHS].")
@cid_profile_options
@click.option("--wait", is_flag=True, help="Poll pin jobs until every one is final.")
@click.option("--wait-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True)
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the manifest (.jsonl or .csv).")
@target_options
def status_command(
    paths: tuple[str, ...], journal: Path | None, cid_profile: str | None,
    chunk_size: int | None, max_links: int | None, raw_leaves: bool | None,
    cid_version: int | None, wait: bool, wait_timeout: float, manifest: Path | None,
    profile: str | None, zone: str | None, endpoint: str | None,
) -> None:
    """Counts by state and failures from a push's journal.

    Exit status: 0 all pinned, 1 some failed, 3 work left (run push again, or --wait).
    """
    cid_profile_obj = build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version)
    options = PushOptions(profile=cid_profile_obj)
    path = _journal_path(paths, journal, options)
    if not path.exists():
        click.echo(f"error: no journal at {path}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        with Journal(path, profile_name=cid_profile_obj.name) as opened:
            if wait:
                anyio.run(_wait, opened, (profile, zone, endpoint), wait_timeout)
            if manifest is not None:
                write_manifest(opened, manifest)
            status = _report(opened)
    except (JournalError, ConfigurationError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except RunAborted as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_status)
    sys.exit(status)
