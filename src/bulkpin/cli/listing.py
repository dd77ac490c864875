"""``bulkpin ls`` (the account's pins) and ``bulkpin jobs`` (its pin jobs)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import click

from ..client import ConfigurationError, DecooClient, DecooError, Pin, PinJob
from ..target import open_target
from . import EXIT_FAILED, EXIT_USAGE
from .target_options import target_options
from .terminal_text import for_terminal

T = TypeVar("T", Pin, PinJob)


async def _each(
    target: tuple[str | None, str | None, str | None],
    listing: Callable[[DecooClient], AsyncIterator[T]],
    show: Callable[[T], None],
    limit: int | None,
) -> int:
    profile, zone, endpoint = target
    with open_target(profile, zone, endpoint, lambda m: click.echo(m, err=True)) as creds:
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
         limit: int | None) -> None:
    try:
        anyio.run(_each, target, listing, show, limit)
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except DecooError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)


def _emit(as_json: bool, record: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(record) if as_json else text)


@click.command("ls")
@target_options
@click.option("--sort", type=click.Choice(["ASC", "DESC"], case_sensitive=False), default="DESC",
              help="Oldest (asc) or newest (desc) first.  [default: desc]")
@click.option("--start-date", default=None, help="Only pins after this ISO 8601 date.")
@click.option("--end-date", default=None, help="Only pins before this ISO 8601 date.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after N pins.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def ls_command(profile: str | None, zone: str | None, endpoint: str | None, sort: str,
               start_date: str | None, end_date: str | None, limit: int | None,
               as_json: bool) -> None:
    """List the account's pins (from pinList), newest first."""

    def show(pin: Pin) -> None:
        date = pin.date.isoformat() if pin.date else ""
        name = str(pin.metadata.get("name", "")) if pin.metadata else ""
        _emit(as_json, {"id": pin.id, "cid": pin.cid, "size": pin.size, "date": date,
                        "name": name},
              for_terminal(f"{pin.cid}  {pin.size or 0:>12}  {date}  {name}"))

    _run((profile, zone, endpoint),
         lambda c: c.pin_list(sort=sort.upper(), start_date=start_date, end_date=end_date),
         show, limit)


@click.command("jobs")
@target_options
@click.option("--status", type=click.Choice(["queued", "pinning", "pinned", "failed"]),
              default=None, help="Only jobs in this state.")
@click.option("--pin-hash", default=None, help="Only jobs for this CID.")
@click.option("--sort", type=click.Choice(["ASC", "DESC"], case_sensitive=False), default="DESC",
              help="Oldest (asc) or newest (desc) first.  [default: desc]")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after N jobs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def jobs_command(profile: str | None, zone: str | None, endpoint: str | None,
                 status: str | None, pin_hash: str | None, sort: str, limit: int | None,
                 as_json: bool) -> None:
    """List the account's pin jobs (from pinJobs), newest first."""

    def show(job: PinJob) -> None:
        _emit(as_json, {"id": job.id, "cid": job.cid, "status": job.status.value},
              for_terminal(f"{job.id}  {job.status.value:<8}  {job.cid}"))

    _run((profile, zone, endpoint),
         lambda c: c.pin_jobs(pin_hash=pin_hash, status=status, sort=sort.upper()),
         show, limit)
