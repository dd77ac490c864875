"""Helpers for remote pushes: a moto bucket, an in-process push, and what the service holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import PushEvent, PushOptions, PushSummary
from bulkpin.push.remote_listing import RemoteSpec
from bulkpin.push.remote_read import RemoteSources
from bulkpin.sources.http import HttpSource
from bulkpin.sources.objects import push_remote
from bulkpin.sources.s3 import S3Location, S3Options, S3Source
from bulkpin.testing.s3server import MotoServer, fill_bucket
from tests.support.push import all_pins
from tests.support.service import ServiceProcess


def s3_options(url: str, **kw: Any) -> S3Options:
    """Options for a moto (or proxy) endpoint: path-style addressing."""
    return S3Options(endpoint_url=url, path_style=True, **kw)


def fill(moto: MotoServer, bucket: str, objects: dict[str, bytes]) -> None:
    """Create ``bucket`` on ``moto`` with ``objects`` in it."""

    async def run() -> None:
        async with S3Source(s3_options(moto.url)) as s3:
            await fill_bucket(s3.client, bucket, objects)

    asyncio.run(run())


async def push_bucket(
    service: ServiceProcess, location: str, options: PushOptions, source: S3Options,
    *, on_event: Callable[[PushEvent], None] | None = None,
) -> PushSummary:
    """A push of one ``s3://`` location in this process (for /proc/self/io and hooks)."""
    credentials = load_credentials(profile=service.profile_path, env={})
    spec = RemoteSpec((S3Location.parse(location),))
    async with S3Source(source) as s3, HttpSource() as http, \
            DecooClient(credentials, concurrency=options.pool_size) as client:
        return await push_remote(spec, options, RemoteSources(s3, http), client=client,
                                 on_event=on_event)


def pinned_cids(service: ServiceProcess) -> dict[str, str | None]:
    """CID -> pin name, of every pin the account holds."""
    return {p["PinHash"]: (p.get("Metadata") or {}).get("name") for p in all_pins(service)}


def write_bytes() -> int:
    """This process's bytes written to storage so far (``/proc/self/io``)."""
    with open("/proc/self/io") as io:
        fields = dict(line.split(": ") for line in io.read().splitlines())
    return int(fields["write_bytes"])


def journal_bytes(path: Path) -> int:
    """The journal's size on disk, WAL included."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
