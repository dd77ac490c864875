"""Workload S3: a bucket straight to Decoo, against "download it to disk, then push the copy".

Both contenders read the same bucket from the same moto server (a subprocess
on loopback) and push to a fresh ``bulkpin serve`` each, interleaved, in the
same run:

- ``bulkpin push s3://bucket``: each object streams from S3 into ``pinFile``;
- the baseline: aiobotocore downloads every object to a local directory
  (``--concurrency`` at a time, what ``aws s3 sync`` does), then
  ``bulkpin push DIR``; its time is the sum.

Two rows:

- everything on loopback with no limit (information, no target): on a small
  machine all three processes share the CPU, so streaming saves only the
  local copy's write and re-read (about 1.1x);
- the deployment streaming is for (target 1.5x): the bucket in one place, the
  Decoo Endpoint in another, the user a network away from both. Each leg
  goes through its own fault proxy (a process of its own, see
  :mod:`._link`) pacing every connection to :data:`LINK_RATE`, both ways:
  what one TCP flow gets across a 50-250 ms path (a window over a round
  trip), so 8 uploads or 8 downloads at once get 8 times the rate. Latency
  itself is not modelled, and the Cloud API
  (login, account listing, pin-job polling: a few small requests) is reached
  directly. The copy downloads (all of the bucket, through its link) and then
  pushes (through the other); the stream runs both legs at once, so the
  bound on the ratio is (T_download + T_push) / max(T_download, T_push),
  2 here, less the start-up and job polling both contenders pay (about 3 s
  of each run on this box; 16 objects of 4 MiB make each leg 8 s).

Also the client's peak RSS while pushing a bucket that holds one large object
(1 GiB; smoke: 32 MiB): streaming must hold a few chunks, not the object.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkpin.service import ServeProcess
from bulkpin.sources.s3 import S3Options, S3Source
from bulkpin.testing.s3server import MotoServer, isolate_aws

from ._link import paced_link
from .harness import Context, Result
from .push_bench import JOB_DELAY, _measured

MiB = 1 << 20
BUCKET = "bench"
LINKED = "bench-linked"
CONCURRENCY = 8
#: Bytes per second of each connection over a link (8 connections at once per leg):
#: 8 Mbit/s, what one TCP flow between continents often gets. Slow enough that
#: the links, not this small shared CPU, set the pace: at 4 and 8 MiB/s the
#: push leg ran at half its link's rate or less on a busy 2-core box (the
#: client, the service and two relays hashing, storing and copying at once).
LINK_RATE = 1 * MiB


def _options(url: str) -> S3Options:
    return S3Options(endpoint_url=url, path_style=True, max_pool_connections=32)


async def _fill(url: str, bucket: str, sizes: list[int]) -> None:
    async with S3Source(_options(url)) as s3:
        await s3.client.create_bucket(Bucket=bucket)
        for i, size in enumerate(sizes):
            await s3.client.put_object(Bucket=bucket, Key=f"obj/{i:04d}.bin",
                                       Body=os.urandom(size))


async def _download(url: str, bucket: str, into: Path) -> None:
    """The baseline's first half: every object to a local file, CONCURRENCY at a time."""
    limit = asyncio.Semaphore(CONCURRENCY)
    async with S3Source(_options(url)) as s3:
        keys: list[str] = []
        async for page in s3.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys += [entry["Key"] for entry in page.get("Contents", [])]

        async def one(key: str) -> None:
            async with limit:
                answer = await s3.client.get_object(Bucket=bucket, Key=key)
                path = into / key
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("wb") as f:
                    while chunk := await answer["Body"].read(MiB):
                        f.write(chunk)

        await asyncio.gather(*(one(key) for key in keys))


def _service(workdir: Path) -> ServeProcess:
    return ServeProcess(workdir / f"serve-{time.monotonic_ns()}", "--job-delay", JOB_DELAY)


@contextlib.contextmanager
def _decoo(workdir: Path, rate: int | None) -> Iterator[tuple[ServeProcess, list[str]]]:
    """A fresh service, and the push arguments that reach its Endpoint (through a link if paced)."""
    with _service(workdir).start() as svc:
        if rate is None:
            yield svc, []
            return
        # A small receive buffer: the kernel must not swallow megabytes of the
        # upload at loopback speed and hide the link from the sender.
        with paced_link(svc.endpoint_urls[0], rate, rcvbuf=256 * 1024) as link:
            yield svc, ["--endpoint", link]


def _push(svc: ServeProcess, workdir: Path, *args: str) -> tuple[float, int]:
    journal = workdir / f"journal-{time.monotonic_ns()}.sqlite"
    m = _measured(["bulkpin", "push", "--profile", str(svc.profile_path), "--json",
                   "--concurrency", str(CONCURRENCY), "--journal", str(journal), *args],
                  workdir)
    if m.summary.get("exit_status", 0) != 0:
        raise RuntimeError(f"push failed: {m.summary}")
    return m.seconds, m.maxrss_kib


def _s3_args(url: str) -> list[str]:
    return ["--s3-endpoint-url", url, "--s3-path-style"]


def _streamed(url: str, workdir: Path, bucket: str, rate: int | None = None) -> tuple[float, int]:
    with _decoo(workdir, rate) as (svc, endpoint):
        return _push(svc, workdir, f"s3://{bucket}", *_s3_args(url), *endpoint)


def _copied(url: str, workdir: Path, bucket: str, rate: int | None = None
            ) -> tuple[float, float]:
    """The baseline's download and push times."""
    copy = workdir / f"copy-{time.monotonic_ns()}"
    copy.mkdir()
    try:
        with _decoo(workdir, rate) as (svc, endpoint):
            start = time.perf_counter()
            asyncio.run(_download(url, bucket, copy))
            downloaded = time.perf_counter() - start
            pushed, _ = _push(svc, workdir, str(copy), *endpoint)
        return downloaded, pushed
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def run(ctx: Context) -> list[Result]:
    """Throughput ratio and peak RSS rows."""
    sizes = [MiB] * 4 if ctx.smoke else [16 * MiB] * 16
    # Over the links: 8 s a leg, 4 s an object.
    linked = [MiB] * 4 if ctx.smoke else [4 * MiB] * 16
    big = 32 * MiB if ctx.smoke else 1024 * MiB
    ratio_target = 1.5
    # The benchmark's own AWS settings (restored afterwards); ~/.aws is never read.
    with pytest.MonkeyPatch.context() as mp:
        isolate_aws(mp, ctx.workdir / "aws-home")
        with MotoServer(ctx.workdir / "moto") as moto:
            asyncio.run(_fill(moto.url, BUCKET, sizes))
            asyncio.run(_fill(moto.url, LINKED, linked))
            asyncio.run(_fill(moto.url, "one-big", [big]))
            rows = [_ratio(ctx, moto.url, None, BUCKET, "all on loopback", sizes, None)]
            with paced_link(moto.url, LINK_RATE) as link:
                rows.append(_ratio(
                    ctx, link, LINK_RATE, LINKED,
                    f"S3 and Decoo each over links of {LINK_RATE / MiB:g} MiB/s per connection",
                    linked, ratio_target))
            _, rss_kib = _streamed(moto.url, ctx.workdir, "one-big")
    return [
        *rows,
        Result("s3_push", f"client peak RSS, bucket with one {big // MiB} MiB object",
               rss_kib / 1024, "MiB", "< 128", None if ctx.smoke else rss_kib < 128 * 1024),
    ]


def _ratio(ctx: Context, url: str, rate: int | None, bucket: str, link: str,
           sizes: list[int], target: float | None) -> Result:
    """Download-then-push time over streamed time, interleaved ``ctx.repeats`` times."""
    streamed: list[float] = []
    copied: list[float] = []
    halves: list[tuple[float, float]] = []
    for _ in range(ctx.repeats):
        streamed.append(_streamed(url, ctx.workdir, bucket, rate)[0])
        halves.append(_copied(url, ctx.workdir, bucket, rate))
        copied.append(sum(halves[-1]))
    s_med, c_med = statistics.median(streamed), statistics.median(copied)
    # Each repeat's pair ran back to back: their ratios give the spread.
    pairs = sorted(c / s for c, s in zip(copied, streamed, strict=True))
    ratio = c_med / s_med
    label = f"{len(sizes)} x {sizes[0] // MiB} MiB, {link}"
    ok = None if ctx.smoke or target is None else ratio >= target
    return Result("s3_push", f"bucket ({label}) -> Decoo: download-then-push / streamed time",
                  ratio, "x", f">= {target}" if target else "", ok,
                  {"streamed_s": streamed, "copied_s": copied,
                   "copy_download_s": [d for d, _ in halves],
                   "copy_push_s": [p for _, p in halves],
                   "ratio_per_repeat_min_max": [pairs[0], pairs[-1]],
                   "streamed_mib_s": sum(sizes) / MiB / s_med})
