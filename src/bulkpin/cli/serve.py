"""``bulkpin serve``: run the local Decoo-compatible service."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from .._malloc import SERVICE_TRIM_THRESHOLD, tune_malloc
from ..service import (
    DataDirInUseError,
    FaultPlan,
    FaultSpecError,
    LocalService,
    ServiceConfig,
    SharedDataDirError,
    default_data_dir,
    init_accounts,
    parse_faults,
    parse_gateway_faults,
    parse_ports,
    parse_rate_limit,
    run_until_signalled,
)
from ..service.accounts import check_account_name
from ..service.config import (
    DEFAULT_BODY_RATE_WINDOW,
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_JOB_DELAY,
    DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MIN_BODY_RATE,
    DEFAULT_TOKEN_TTL,
    DEFAULT_UPLOAD_MEMORY,
)
from ..service.fetcher import parse_gateway
from ..service.private_files import SERVICE_UMASK
from .options import SIZE

T = TypeVar("T")


def _convert(value: str, parse: Callable[[str], T], param: str) -> T:
    try:
        return parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None


@click.command("serve")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="State directory [default: the user data dir's bulkpin/service].")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--advertise-host", default=None,
              help="Host name put in URLs handed out [default: --host, or 127.0.0.1 for 0.0.0.0].")
@click.option("--cloud-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Cloud port; 0 picks a free one.")
@click.option("--endpoint-ports", default="0", show_default=True,
              help="Endpoint ports, comma-separated (one Endpoint each); 0 picks a free one.")
@click.option("--job-delay", type=click.FloatRange(min=0), default=DEFAULT_JOB_DELAY,
              show_default=True, help="Seconds from a job's creation to pinned.")
@click.option("--token-ttl", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_TOKEN_TTL, show_default=True, help="Access token lifetime, seconds.")
@click.option("--fetch-timeout", type=click.FloatRange(min=0), default=DEFAULT_FETCH_TIMEOUT,
              show_default=True,
              help="Seconds a pinByHash job looks for its content (in the store, or"
                   " from --gateway, counted from the first fetch) before failing.")
@click.option("--gateway", "gateways", multiple=True, metavar="URL",
              help="IPFS HTTP gateway pin jobs fetch content from (GET URL/ipfs/CID, checked"
                   " by hashing); repeatable, tried in order.")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_IDLE_TIMEOUT, show_default=True,
              help="Seconds a request body may stall before it is abandoned (408).")
@click.option("--min-body-rate", type=SIZE, default=f"{DEFAULT_MIN_BODY_RATE}/s",
              show_default=True,
              help="Slowest request body kept, bytes per second over each --body-rate-window"
                   " of waiting (408 below); 0: no minimum.")
@click.option("--body-rate-window", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_BODY_RATE_WINDOW, show_default=True,
              help="Seconds over which --min-body-rate is judged.")
@click.option("--header-timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_HEADER_TIMEOUT, show_default=True,
              help="Seconds a request's headers may take from its first byte (or from the"
                   " connection's opening); slower connections are closed.")
@click.option("--keepalive-timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_KEEPALIVE_TIMEOUT, show_default=True,
              help="Seconds an idle kept-alive connection stays open.")
@click.option("--max-connections", type=click.IntRange(min=1), default=None,
              help="Open connections per listener; past it, 503 and close"
                   " [default: from the open-files limit, 16-1024].")
@click.option("--max-upload-size", type=click.IntRange(min=0), default=None,
              help="Largest file pinFile accepts, in bytes (413 above) [default: no limit].")
@click.option("--upload-memory", type=SIZE, default=f"{DEFAULT_UPLOAD_MEMORY >> 20}MiB",
              show_default=True,
              help="Memory large uploads share for hashing and writing several stages at"
                   " once (each upload also has one 4 MiB stage of its own).")
@click.option("--rate-limit", default=None, metavar="N/s",
              help="Requests per second and account, as push's --rate-limit (N/s; N/min and"
                   " N/h are read too); 429 with Retry-After above.")
@click.option("--faults", default=None, metavar="SPEC",
              help="Injected faults: ROUTE:KIND=P[,KIND=P...][;ROUTE:...].")
@click.option("--gateway-faults", default=None, metavar="SPEC",
              help="Injected faults of GET /ipfs (the gateway): KIND=P[,KIND=P...], KIND one of"
                   " missing, corrupt (blocks), stall, notfound (the CID asked for).")
@click.option("--fault-seed", type=int, default=0, show_default=True,
              help="Seed of the generator deciding faults (and of --gateway-faults).")
@click.option("--allow-shared-data-dir", is_flag=True,
              help="Serve from a data dir other users can write to (refused otherwise).")
@click.option("--wait-for-data-dir", type=click.FloatRange(min=0), default=0.0,
              metavar="SECONDS",
              help="Seconds to wait for another service to leave the data dir (one at a"
                   " time may serve from it) before refusing; 0: refuse at once.")
@click.option("--stop-with-stdin", is_flag=True,
              help="Also stop when stdin reaches its end: how a parent process ties the"
                   " service's life to its own.")
@click.option("--init-only", is_flag=True, help="Create the data dir and profiles, then exit.")
@click.option("--new-account", "new_accounts", multiple=True, metavar="NAME",
              help="Also create account NAME and write DIR/profile-NAME.toml.")
@click.option("-v", "--verbose", is_flag=True, help="Log requests' errors to stderr.")
def serve_command(
    data_dir: Path | None, host: str, advertise_host: str | None, cloud_port: int,
    endpoint_ports: str, job_delay: float, token_ttl: float, fetch_timeout: float,
    gateways: tuple[str, ...], idle_timeout: float, min_body_rate: int, body_rate_window: float,
    header_timeout: float, keepalive_timeout: float, max_connections: int | None,
    max_upload_size: int | None, upload_memory: int,
    rate_limit: str | None,
    faults: str | None, gateway_faults: str | None, fault_seed: int,
    allow_shared_data_dir: bool, wait_for_data_dir: float, stop_with_stdin: bool,
    init_only: bool,
    new_accounts: tuple[str, ...], verbose: bool,
) -> None:
    """Run a local Decoo-compatible pinning service (Cloud and Endpoints).

    Prints its URLs and the client profile's path, then "bulkpin serve: ready",
    and serves until interrupted. One service at a time serves from a data dir:
    a second one is refused (exit 2), or waits --wait-for-data-dir seconds.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        plan = parse_faults(faults) if faults else None
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        gateway_plan = parse_gateway_faults(gateway_faults or "", fault_seed)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--gateway-faults") from None
    for name in new_accounts:
        _convert(name, check_account_name, "--new-account")
    try:
        config = ServiceConfig(
            data_dir=(data_dir or default_data_dir()).absolute(), host=host,
            advertise_host=advertise_host, cloud_port=cloud_port,
            endpoint_ports=_convert(endpoint_ports, parse_ports, "--endpoint-ports"),
            job_delay=job_delay, token_ttl=token_ttl, fetch_timeout=fetch_timeout,
            idle_timeout=idle_timeout, max_upload_size=max_upload_size,
            upload_memory=upload_memory,
            rate_limit=(
                _convert(rate_limit, parse_rate_limit, "--rate-limit") if rate_limit else None
            ),
            faults=plan or FaultPlan(), fault_seed=fault_seed, gateway_faults=gateway_plan,
            allow_shared_data_dir=allow_shared_data_dir, min_body_rate=min_body_rate,
            body_rate_window=body_rate_window, header_timeout=header_timeout,
            keepalive_timeout=keepalive_timeout, max_connections=max_connections,
            gateways=tuple(_convert(g, parse_gateway, "--gateway") for g in gateways),
            lock_wait=wait_for_data_dir,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    # Whatever this process writes holds keys or uploads: nobody else's to read.
    # (Each file is also created with an explicit mode; this covers the rest.)
    os.umask(SERVICE_UMASK)
    try:
        if init_only:
            for path in init_accounts(config, new_accounts):
                click.echo(f"bulkpin serve: profile {path.resolve()}")
            return
        # Uploads stream through the heap in large reads: keep its top mapped.
        tune_malloc(SERVICE_TRIM_THRESHOLD)
        service = LocalService(config, new_accounts=new_accounts)
        asyncio.run(run_until_signalled(service, sys.stdout, stop_with_stdin=stop_with_stdin))
    except (SharedDataDirError, DataDirInUseError) as exc:
        click.echo(f"bulkpin serve: {exc}", err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        # A port in use or an unwritable data dir: a configuration error.
        click.echo(f"bulkpin serve: {exc}", err=True)
        raise SystemExit(2) from None
