"""``bulkpin pin``: parse, open the source, run :func:`bulkpin.migrate.migrate`, render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import click

from ..client import ConfigurationError, DecooClient
from ..fs import SelectionError, Shard
from ..migrate import (
    DEFAULT_PIN_CONCURRENCY,
    CidArguments,
    NoticeEvent,
    PinOptions,
    PinSummary,
    Relister,
    migrate,
    source_key,
)
from ..push import ManifestError, manifest_format
from ..sources import InvalidCid, PinSource, PsaSource, load_token, open_source
from ..target import open_target
from .logs import configure_logging, logging_options
from .options import RATE, follow_options, poll_interval
from .render import Renderer, make_renderer
from .run_errors import run_and_exit
from .stopping import run_stoppable
from .target_options import Target, failover_option, target_options


def _renderer(as_json: bool, quiet: bool = False) -> Renderer:
    return make_renderer("pin", as_json, quiet)


def _open(cids: tuple[str, ...], spec: str | None, token_env: str | None,
          token_file: Path | None, timeout: float) -> tuple[PinSource, str, Relister | None]:
    """The source, its journal key, and how to list it from a point (PSA only)."""
    if bool(cids) == (spec is not None):
        raise click.UsageError("give CIDs or --from SOURCE, not both and not neither")
    if spec is None:
        if token_env is not None or token_file is not None:
            raise click.UsageError("--from-token-env/--from-token-file go with --from")
        try:
            arguments = CidArguments(cids)
        except InvalidCid as exc:
            raise click.UsageError(str(exc)) from None
        return arguments, source_key(arguments), None
    try:
        source = open_source(spec, token_env=token_env, token_file=token_file,
                             read_timeout=timeout)
    except (ConfigurationError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    relist: Relister | None = None
    if isinstance(source, PsaSource):
        token = load_token(token_env=token_env, token_file=token_file)
        base = source.base_url

        def relist(**where: Any) -> PinSource:
            return PsaSource(base, token, read_timeout=timeout, **where)

    return source, source_key(source, spec), relist


async def _run(source: PinSource, key: str, relist: Relister | None, options: PinOptions,
               target: Target, renderer: Renderer,
               read_timeout: float) -> PinSummary:
    def notice(message: str) -> None:
        renderer(NoticeEvent(message))

    async def run(stop: anyio.Event) -> PinSummary:
        if options.dry_run:
            return await migrate(source, options, source_key=key, on_event=renderer, stop=stop,
                                 relist=relist)
        profile, zone, endpoint, failover = target
        with open_target(profile, zone, endpoint, notice, uploads=True) as credentials:
            async with DecooClient(credentials, concurrency=options.concurrency,
                                   endpoint=endpoint, failover=failover,
                                   read_timeout=read_timeout) as client:
                return await migrate(source, options, source_key=key, client=client,
                                     on_event=renderer, stop=stop, relist=relist)

    return await run_stoppable(
        run, "Stopping: no new pinByHash starts; requests in flight finish.", notice)


@click.command("pin")
@click.argument("cids", nargs=-1, metavar="[CID]...")
@click.option("--from", "from_spec", metavar="SOURCE", default=None,
              help="Where the CIDs come from: a CID list file (one CID per line, an optional"
                   " name after it), '-' for stdin, psa:URL (a Pinning Service API, e.g."
                   " psa:https://api.pinata.cloud/psa) or kubo:URL (a kubo node's RPC API).")
@click.option("--from-token-env", metavar="NAME", default=None,
              help="Environment variable holding the source's bearer token.")
@click.option("--from-token-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="File holding the source's bearer token (mode 600).")
@target_options
@click.option("--concurrency", type=click.IntRange(1, 1024), default=DEFAULT_PIN_CONCURRENCY,
              show_default=True, help="pinByHash requests in flight.")
@click.option("--rate-limit", type=RATE, default=None,
              help="pinByHash requests started per second (N/s).")
@follow_options
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True, help="Seconds a request may wait for an answer before that"
                                      " attempt fails and is retried.")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Journal file [default: one per destination, source and shard in the user"
                   " state directory].")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a manifest (.jsonl or .csv) at the end: one row per CID.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable events on stdout.")
@click.option("-n", "--dry-run", is_flag=True,
              help="List and check the source; request nothing.")
@click.option("--account-listing/--no-account-listing", default=True, show_default=True,
              help="List the account's pins first, so nothing it holds is requested again"
                   " (about one request per 1,000 pins; later runs list only what changed).")
@click.option("--shard", default=None, help="Take share I of N of the CIDs (I/N, from 0).")
@logging_options(quiet="Only failures and the final line: no progress, no notices.")
@failover_option
def pin_command(
    cids: tuple[str, ...], from_spec: str | None, from_token_env: str | None,
    from_token_file: Path | None, profile: str | None, zone: str | None,
    endpoint: str | None, concurrency: int, rate_limit: float | None, wait: bool,
    wait_timeout: float, patience: float, timeout: float, journal: Path | None,
    manifest: Path | None, as_json: bool, dry_run: bool, account_listing: bool,
    shard: str | None, verbose: int, quiet: bool, log_file: Path | None, log_format: str,
    failover: bool | None,
) -> None:
    """Pin CIDs that are already on IPFS to Decoo (or the embedded local service).

    The CIDs come from the arguments or from --from: a CID list, another
    pinning service (the IPFS Pinning Service API) or a kubo node. Each is
    pinned with pinByHash (the service fetches the content from the network),
    then followed until pinned. CIDs the account already holds are not
    requested again. Resumable: run the same command again after an
    interruption. Exit status: 0 all pinned, 1 some CIDs failed or some lines
    are no CID, 2 usage or configuration error, 3 interrupted, timed out or
    the source failed (resumable).
    """
    configure_logging(verbose, quiet, log_file, log_format)
    try:
        parsed_shard = Shard.parse(shard) if shard else None
        if manifest is not None:
            manifest_format(manifest)
    except (SelectionError, ManifestError) as exc:
        raise click.UsageError(str(exc)) from exc
    source, key, relist = _open(cids, from_spec, from_token_env, from_token_file, timeout)
    options = PinOptions(
        concurrency=concurrency, rate_limit=rate_limit, shard=parsed_shard, wait=wait,
        wait_timeout=wait_timeout, patience=patience, journal=journal, manifest=manifest,
        dry_run=dry_run, list_account=account_listing, poll_interval=poll_interval(),
    )
    renderer = _renderer(as_json, quiet)
    target = Target(profile, zone, endpoint, failover)
    run_and_exit(
        lambda: anyio.run(_run, source, key, relist, options, target, renderer, timeout),
        renderer)

