"""``bulkpin check``: whether the account holds every file under PATHS (nothing is sent)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import click

from ..client import ConfigurationError, DecooClient
from ..push import CheckResult, CheckSummary, PushOptions, RunAborted, Selection, check
from ..target import open_target
from . import EXIT_USAGE
from .logs import configure_logging, logging_options
from .options import build_profile, cid_profile_options
from .target_options import target_options
from .terminal_text import for_terminal

_LABELS = {"on_account": "on the account", "pending": "pending on the account",
           "missing": "missing", "changed": "changed since pinned", "unreadable": "unreadable"}


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@target_options
@cid_profile_options
@click.option("--hidden/--no-hidden", default=True, show_default=True,
              help="Check names that start with a dot, as push pushes them by default.")
@click.option("--include", multiple=True, help="Only files matching this glob (repeatable).")
@click.option("--exclude", multiple=True, help="Leave out files/directories matching this glob.")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The push's journal, for CIDs of unchanged files [default: the one push"
                   " uses for PATHS and this account].")
@click.option("--missing-to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the paths not on the account here, one per line (--files-from reads"
                   " it).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, then counts.")
@logging_options(quiet="Only the line of counts: no line per file, no notices.")
def check_command(
    paths: tuple[str, ...], profile: str | None, zone: str | None, endpoint: str | None,
    cid_profile: str | None, chunk_size: int | None, max_links: int | None,
    raw_leaves: bool | None, cid_version: int | None, hidden: bool,
    include: tuple[str, ...], exclude: tuple[str, ...], journal: Path | None,
    missing_to: Path | None, as_json: bool, verbose: int, quiet: bool, log_file: Path | None,
    log_format: str,
) -> None:
    """Tell, for every file under PATHS, whether the account holds its CID.

    CIDs come from the journal of an earlier push while files are unchanged, and
    are computed otherwise. A file whose CID has only a job not yet pinned is
    "pending on the account", not on it. Exit status: 0 every file is on the
    account, 1 some are pending, missing or changed, 2 usage or configuration
    error, 3 the service could not be reached.
    """
    configure_logging(verbose, quiet, log_file, log_format)
    for path in paths:
        if not os.path.lexists(path):
            raise click.UsageError(f"{path}: no such file or directory")
    options = PushOptions(
        profile=build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version),
        selection=Selection(include=include, exclude=exclude), hidden=hidden, journal=journal,
    )
    try:
        missing = open(missing_to, "wb") if missing_to else None  # noqa: SIM115 - closed below
    except OSError as exc:
        raise click.UsageError(f"--missing-to {missing_to}: {exc.strerror or exc}") from None

    def report(result: CheckResult) -> None:
        if as_json:
            click.echo(json.dumps({"path": result.display, "status": result.verdict,
                                   "cid": result.cid, "error": result.error}))
        elif result.verdict != "on_account" and not quiet:
            click.echo(for_terminal(f"{_LABELS[result.verdict]}: {result.display}"
                                    + (f" ({result.error})" if result.error else "")))
        if missing is not None and result.verdict != "on_account":
            missing.write(result.path + b"\n")

    async def run() -> CheckSummary:
        say = None if quiet else (lambda m: click.echo(m, err=True))
        with open_target(profile, zone, endpoint, say) as creds:
            async with DecooClient(creds, endpoint=endpoint) as client:
                return await check(paths, options, client=client, on_result=report)

    try:
        summary = anyio.run(run)
    except (ConfigurationError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except RunAborted as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_status)
    finally:
        if missing is not None:
            missing.close()
    # "pending" only when there is any: it is rare, and the line stays short.
    counts = {_LABELS[k]: v for k, v in summary.counts.items() if k != "pending" or v}
    if as_json:
        click.echo(json.dumps({"event": "summary", "destination": str(summary.destination),
                               "counts": summary.counts}))
    else:
        click.echo(", ".join(f"{label} {n}" for label, n in counts.items())
                   + f" ({summary.destination})", err=True)
    sys.exit(summary.exit_status)
