"""``bulkpin status``: what a journal says; with ``--wait``, follow its jobs to the end."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import click

from ..client import ConfigurationError, DecooClient, load_credentials
from ..destination import Destination
from ..journal import all_journals
from ..push import (
    Accounting,
    Journal,
    JournalError,
    ManifestWriteError,
    Poller,
    PollSchedule,
    PushOptions,
    RoundResult,
    RunAborted,
    Selection,
    SelectionError,
    Shard,
    journals_for,
    write_manifest,
)
from ..push.processes import process_runs_for, processes_dir
from ..target import open_target
from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .logs import configure_logging, logging_options
from .options import build_profile, cid_profile_options, poll_interval
from .push_processes import processes_status
from .target_options import target_options
from .terminal_text import failure_line, for_terminal


def _journal_path(paths: tuple[str, ...], files_from: bool, journal: Path | None,
                  options: PushOptions, target: tuple[str | None, str | None]) -> Path:
    if journal is not None:
        return journal
    # A --files-from push keys its journal by no PATH at all, as push does.
    roots = [] if files_from else [os.path.abspath(os.fsencode(p)) for p in paths]
    found = journals_for(roots, options) or process_runs_for(roots, options)
    profile, zone = target
    if found and (profile is not None or zone is not None):
        # --profile/--zone name the destination: its journal, no other.
        key = _destination_key(profile, zone)
        found = [j for j in found if j.destination_key == key]
    if len(found) > 1:
        # A run that failed before its first file left an empty journal behind.
        found = [j for j in found if j.items] or found[:1]
    if not found:
        click.echo("error: no journal for these PATHS"
                   + (" and this account" if profile or zone else "")
                   + " (push them first, or give --journal)", err=True)
        sys.exit(EXIT_USAGE)
    if len(found) > 1:
        listing = "\n".join(f"  {j.path}  ({j.destination}, {j.items:,} files)" for j in found)
        click.echo("error: these PATHS were pushed to several destinations; choose one with"
                   f" --profile or --journal:\n{listing}", err=True)
        sys.exit(EXIT_USAGE)
    return found[0].path


def _destination_key(profile: str | None, zone: str | None) -> str:
    """The destination a --profile or --zone names, from its credentials (nothing started)."""
    try:
        return Destination.of(load_credentials(profile=profile, zone=zone)).key
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _exit_status(counts: dict[str, int]) -> int:
    if counts["failed"]:
        return EXIT_FAILED
    if counts["discovered"] or counts["uploading"] or counts["uploaded"]:
        return EXIT_INTERRUPTED
    return EXIT_OK


def _report(journal: Journal, as_json: bool, quiet: bool = False) -> int:
    counts = journal.counts()
    failures = journal.failures()
    roots = [(os.fsdecode(path), cid, error) for _, path, cid, error in journal.roots()]
    if as_json:
        click.echo(json.dumps({
            "journal": str(journal.path), "destination": journal.meta("destination_label"),
            "counts": counts, "failures": [{"path": p, "error": e} for p, e in failures],
            "roots": [{"path": p, "cid": c, "error": e} for p, c, e in roots],
        }, ensure_ascii=False))
        return _exit_status(counts)
    if not quiet:
        label = journal.meta("destination_label") or "no destination"
        click.echo(for_terminal(f"journal {journal.path} ({label})"))
        width = max(len(s) for s in counts)
        for state, n in counts.items():
            click.echo(f"{state:>{width}}  {n:,}")
    for shown, why in failures:
        click.echo(failure_line(shown, why), err=True)
    if counts["failed"] > len(failures):
        click.echo(f"... {counts['failed'] - len(failures)} more failures (write a --manifest"
                   " to see them all)", err=True)
    for path, cid, error in roots:
        click.echo(for_terminal(f"root {cid or '-'} {path}" + (f" ({error})" if error else "")))
    return _exit_status(counts)


#: What the names ``status`` lists of each kind of journal are (a verification keeps none).
_NAMES_ARE = {"push": "paths", "pin": "CIDs from", "verify": "a verification of CIDs"}


def _list_journals(as_json: bool) -> None:
    """Every journal in the user's state directories: its kind, names, destination and counts."""
    for path, found in all_journals():
        if found is None:
            click.echo(for_terminal(f"{path}: not a bulkpin journal (or damaged)"), err=True)
            continue
        counts, shown = found.counts, found.names
        dest = found.destination or "no destination recorded"
        if as_json:
            click.echo(json.dumps({"journal": str(path), "kind": found.kind, "paths": shown,
                                   "destination": dest, "shard": found.shard,
                                   "counts": counts}, ensure_ascii=False))
        else:
            done = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v)
            what = _NAMES_ARE[found.kind]
            names = f": {' '.join(map(for_terminal, shown)) or '-'}" if found.kind != "verify" \
                else ""
            shard = f"\n  shard: {found.shard}" if found.shard else ""
            click.echo(f"{for_terminal(str(path))}"
                       f"\n  {what}{names}{shard}"
                       f"\n  destination: {for_terminal(dest)}\n  {done or 'empty'}")


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
                PollSchedule(wait=True, wait_timeout=wait_timeout, interval=poll_interval()),
                patience=wait_timeout,
                uploads_done=done, stop=anyio.Event(),
                on_error=lambda m: click.echo(f"warning: {m}", err=True), on_round=said,
            )


@click.command("status")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--journal", type=click.Path(path_type=Path), default=None,
              help="The journal to read [default: the one push uses for PATHS]; a push"
                   " --processes run's is a directory.")
@click.option("--files-from", "files_from", is_flag=False, default=None,
              help="The journal of a push given this --files-from (the list is not read).")
@click.option("--shard", default=None, help="The journal of a push given this --shard I/N.")
@cid_profile_options
@click.option("--wait", is_flag=True, help="Poll pin jobs until every one is final.")
@click.option("--wait-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds with no job becoming final before giving up.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the manifest (.jsonl or .csv).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@target_options
@logging_options(quiet="Only failures and root CIDs: no counts.")
def status_command(
    paths: tuple[str, ...], journal: Path | None, files_from: str | None, shard: str | None,
    cid_profile: str | None, chunk_size: int | None, max_links: int | None,
    raw_leaves: bool | None, cid_version: int | None, wait: bool, wait_timeout: float,
    manifest: Path | None, as_json: bool, profile: str | None, zone: str | None,
    endpoint: str | None, verbose: int, quiet: bool, log_file: Path | None, log_format: str,
) -> None:
    """Counts by state, failures and root CIDs from a push's journal.

    Reads the journal while a push writes it (read-only), unless --wait. With
    no PATHS, lists the journals it knows: their PATHs, destination and counts.
    Exit status: 0 all pinned, 1 some failed, 2 no such journal or a usage error,
    3 work left (run push again, or --wait).
    """
    configure_logging(verbose, quiet, log_file, log_format)
    if not paths and journal is None and files_from is None:
        _list_journals(as_json)
        sys.exit(EXIT_OK)
    cid_profile_obj = build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version)
    try:
        selection = Selection(shard=Shard.parse(shard) if shard else None)
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from exc
    options = PushOptions(profile=cid_profile_obj, selection=selection)
    path = _journal_path(paths, files_from is not None, journal, options, (profile, zone))
    if not path.exists() and processes_dir(path).is_dir():
        path = processes_dir(path)
    if path.is_dir():  # a push --processes run: a journal per worker
        if wait:
            raise click.UsageError(f"--wait follows one journal; give --journal one of {path}'s")
        sys.exit(processes_status(path, lambda j: _report(j, as_json, quiet),
                                  cid_profile_obj.name, manifest))
    if not path.exists():
        click.echo(f"error: no journal at {path}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        with Journal(path, profile_name=cid_profile_obj.name, read_only=not wait) as opened:
            if wait:
                anyio.run(_wait, opened, (profile, zone, endpoint), wait_timeout)
            if manifest is not None:
                write_manifest(opened, manifest)
            status = _report(opened, as_json, quiet)
    except (JournalError, ConfigurationError, ManifestWriteError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except RunAborted as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_status)
    sys.exit(status)
