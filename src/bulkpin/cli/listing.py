"""``bulkpin ls`` (the account's pins) and ``bulkpin jobs`` (its pin jobs)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import click

from ..client import ConfigurationError, DecooClient, DecooError, Fate, Pin, PinJob, classify_item
from ..target import open_target
from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE
from .logs import configure_logging, logging_options
from .target_options import target_options
from .terminal_text import for_terminal

T = TypeVar("T", Pin, PinJob)
FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)


async def _each(
    target: tuple[str | None, str | None, str | None],
    listing: Callable[[DecooClient], AsyncIterator[T]],
    show: Callable[[T], None],
    limit: int | None,
    quiet: bool,
) -> int:
    profile, zone, endpoint = target
    say = None if quiet else (lambda m: click.echo(m, err=True))
    with open_target(profile, zone, endpoint, say) as creds:
        async with DecooClient(creds, endpoint=endpoint) as client:
            count = 0
            async for item in listing(client):
                show(item)
                count += 1
                if limit is not None and count >= limit:
                    break
            return count


def _run(target: tuple[str | None, str | None, str | None],
         listing: Callable[[DecooClient], AsyncIterator[T]], show: Callable[[T], None],
         limit: int | None, quiet: bool) -> None:
    try:
        anyio.run(_each, target, listing, show, limit, quiet)
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except DecooError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(_exit_for(exc))


def _exit_for(exc: DecooError) -> int:
    """As push and check end: 3 for a Cloud that may come back, 2 for refused credentials."""
    fate = classify_item(exc).fate
    if fate is Fate.RETRY_ITEM:
        return EXIT_INTERRUPTED
    return EXIT_USAGE if fate is Fate.STOP_RUN else EXIT_FAILED


def _emit(as_json: bool, record: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(record) if as_json else text)


# The options ls and jobs share, worded once.
_SORT = click.option(
    "--sort", type=click.Choice(["ASC", "DESC"], case_sensitive=False), default="DESC",
    show_default=True, help="By date: newest first (DESC) or oldest first (ASC).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")


def _limit(noun: str) -> Callable[[FC], FC]:
    return click.option("--limit", type=click.IntRange(min=1), default=None,
                        help=f"Stop after N {noun}.")


@click.command("ls")
@target_options
@_SORT
@click.option("--start-date", default=None, help="Only pins after this ISO 8601 date.")
@click.option("--end-date", default=None, help="Only pins before this ISO 8601 date.")
@_limit("pins")
@_JSON
@logging_options(quiet="Only each pin's CID, one a line (as ipfs pin ls -q).")
def ls_command(profile: str | None, zone: str | None, endpoint: str | None, sort: str,
               start_date: str | None, end_date: str | None, limit: int | None,
               as_json: bool, verbose: int, quiet: bool, log_file: Path | None,
               log_format: str) -> None:
    """List the account's pins (from pinList), newest first.

    Exit status: 0 listed, 2 usage or configuration error (refused credentials),
    3 the Cloud could not be reached.
    """
    configure_logging(verbose, quiet, log_file, log_format)

    def show(pin: Pin) -> None:
        date = pin.date.isoformat() if pin.date else ""
        name = str(pin.metadata.get("name", "")) if pin.metadata else ""
        _emit(as_json, {"id": pin.id, "cid": pin.cid, "size": pin.size, "date": date,
                        "name": name},
              pin.cid if quiet else for_terminal(f"{pin.cid}  {pin.size or 0:>12}  {date}  {name}"))

    _run((profile, zone, endpoint),
         lambda c: c.pin_list(sort=sort.upper(), start_date=start_date, end_date=end_date),
         show, limit, quiet)


@click.command("jobs")
@target_options
@click.option("--status", type=click.Choice(["queued", "pinning", "pinned", "failed"]),
              default=None, help="Only jobs in this state [default: all].")
@click.option("--pin-hash", default=None, help="Only jobs for this CID.")
@_SORT
@_limit("jobs")
@_JSON
@logging_options(quiet="Only each job's id, one a line.")
def jobs_command(profile: str | None, zone: str | None, endpoint: str | None,
                 status: str | None, pin_hash: str | None, sort: str, limit: int | None,
                 as_json: bool, verbose: int, quiet: bool, log_file: Path | None,
                 log_format: str) -> None:
    """List the account's pin jobs (from pinJobs), newest first.

    Exit status: 0 listed, 2 usage or configuration error (refused credentials),
    3 the Cloud could not be reached.
    """
    configure_logging(verbose, quiet, log_file, log_format)

    def show(job: PinJob) -> None:
        _emit(as_json, {"id": job.id, "cid": job.cid, "status": job.status.value},
              job.id if quiet else for_terminal(f"{job.id}  {job.status.value:<8}  {job.cid}"))

    _run((profile, zone, endpoint),
         lambda c: c.pin_jobs(pin_hash=pin_hash, status=status, sort=sort.upper()),
         show, limit, quiet)
