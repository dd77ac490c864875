"""bulkpin.verify against ``bulkpin serve`` as the gateway, over loopback; faults seeded."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bulkpin.client.retry import RetryPolicy
from bulkpin.unixfs.node import cid_to_str
from bulkpin.verify import (
    Corrupt,
    Incomplete,
    Outcome,
    Retrievable,
    Unreachable,
    WrongSize,
    verify_cid,
)
from tests.support.gateway import ipfs_server, sound_and_faulty, store
from tests.support.push import manifest, run_push_subprocess
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.anyio

V1 = "unixfs-v1-2025"
#: The CID of the empty raw block.
EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


async def _no_sleep(_: float) -> None:
    return None


def _policy(attempts: int = 2) -> RetryPolicy:
    # Seeded and without waits: a retry replays exactly and costs no time.
    return RetryPolicy(max_attempts=attempts, sleep=_no_sleep, rng=random.Random(0))


async def _verify(gateways: list[str], cid: str, **kwargs: object) -> Outcome:
    async with aiohttp.ClientSession() as session:
        return await verify_cid(session, gateways, cid, retry=_policy(), **kwargs)  # type: ignore[arg-type]


async def test_a_pushed_trees_cids_verify_through_the_service(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    sizes = {"empty": 0, "small": 100, "one-chunk": 256 * 1024, "sub/big": 1_300_000}
    for name, size in sizes.items():
        (tree / name).write_bytes(random.Random(name).randbytes(size))
    # A test of asyncio runs inside its event loop: the push needs a process of its own.
    out = tmp_path / "m.jsonl"
    proc = run_push_subprocess(service, tree, "--journal", tmp_path / "j", "--manifest", out)
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in manifest(out) if r.get("cid") and r.get("size") is not None]
    assert len(rows) == len(sizes)
    for row in rows:
        outcome = await _verify([service.cloud_url], row["cid"], expected_size=row["size"])
        assert isinstance(outcome, Retrievable), outcome
        assert outcome.gateway == service.cloud_url
        assert outcome.size == row["size"]
        assert outcome.ttfb >= 0
        assert outcome.bytes >= row["size"]


@pytest.mark.parametrize("profile", ["unixfs-v0-2015", V1])
async def test_a_wrong_expected_size_is_told(service: ServiceProcess, profile: str) -> None:
    cid = store(service, random.Random(3).randbytes(700_000), profile)
    outcome = await _verify([service.cloud_url], cid, expected_size=699_999)
    assert outcome == WrongSize(cid, service.cloud_url, 699_999, 700_000)


async def test_a_corrupt_block_names_the_gateway_that_sent_it(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    data = random.Random(5).randbytes(6 * 1024 * 1024)
    sound, faulty, cid, leaves, plan = sound_and_faulty(service_factory, data, "corrupt", 0.3)
    first_bad = next(c for c in leaves if plan.hits("corrupt", c))
    outcome = await _verify([faulty.cloud_url, sound.cloud_url], cid)
    assert isinstance(outcome, Corrupt), outcome
    assert outcome.gateway == faulty.cloud_url
    assert outcome.block == cid_to_str(first_bad)
    assert isinstance(await _verify([sound.cloud_url], cid), Retrievable)


async def test_missing_blocks_are_incomplete_alone_and_retrievable_with_a_sound_gateway(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    data = random.Random(6).randbytes(7 * 1024 * 1024 + 3)
    sound, faulty, cid, leaves, plan = sound_and_faulty(service_factory, data, "missing", 0.4)
    expected = tuple(cid_to_str(c) for c in leaves if plan.hits("missing", c))
    alone = await _verify([faulty.cloud_url], cid)
    assert alone == Incomplete(cid, faulty.cloud_url, expected)
    both = await _verify([faulty.cloud_url, sound.cloud_url], cid, expected_size=len(data))
    assert isinstance(both, Retrievable), both
    assert both.gateway == sound.cloud_url
    assert both.blocks == 1 + len(leaves)


async def test_a_stalled_gateway_is_cut_off_at_the_timeout(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    stalled = service_factory("--gateway-faults", "stall=1")
    cid = store(stalled, random.Random(7).randbytes(3 * 1024 * 1024), V1)
    # The first block comes at once, then nothing: only a bound on the whole
    # answer (not on each read's wait, which the first block resets) ends it.
    outcome = await _verify([stalled.cloud_url], cid, answer_timeout=1.0)
    assert isinstance(outcome, Unreachable), outcome
    (failure,) = outcome.failures
    assert failure.kind == "timeout"
    assert failure.gateway == stalled.cloud_url


async def test_unreachable_says_why_per_gateway(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    hiding = service_factory("--gateway-faults", "notfound=1")
    failing = service_factory("--faults", "ipfs:503=1")
    cid = store(hiding, b"hello", V1)
    outcome = await _verify([hiding.cloud_url, failing.cloud_url, "http://127.0.0.1:9"], cid)
    assert isinstance(outcome, Unreachable), outcome
    assert [(f.kind, f.status) for f in outcome.failures] == [
        ("not-found", 404), ("server-error", 503), ("connection", None),
    ]


async def test_retry_after_is_honoured_through_the_one_retry_policy(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    limited = service_factory("--faults", "ipfs:429=1")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(max_attempts=3, sleep=sleep, rng=random.Random(0))
    async with aiohttp.ClientSession() as session:
        empty = EMPTY_RAW
        outcome = await verify_cid(session, limited.cloud_url, empty, retry=policy)
    assert isinstance(outcome, Unreachable), outcome
    assert [(f.kind, f.status) for f in outcome.failures] == [("http-error", 429)]
    assert waits == [1.0, 1.0]  # the service's Retry-After: 1, twice, then no more attempts


async def test_a_path_only_gateway_is_told_apart_and_asked_once() -> None:
    asked: list[str] = []

    async def path_only(request: web.Request) -> web.Response:
        asked.append(request.path_qs)
        return web.Response(body=b"file bytes", content_type="application/octet-stream")

    async with ipfs_server(path_only) as url:
        outcome = await _verify([url], EMPTY_RAW)
    assert isinstance(outcome, Unreachable), outcome
    assert [f.kind for f in outcome.failures] == ["invalid-answer"]
    assert len(asked) == 1


async def test_times_come_from_the_injected_clock(service: ServiceProcess) -> None:
    cid = store(service, b"timed", V1)
    ticks = iter(range(100))

    def clock() -> float:
        return float(next(ticks))

    async with aiohttp.ClientSession() as session:
        outcome = await verify_cid(session, service.cloud_url, cid, clock=clock, retry=_policy())
    assert isinstance(outcome, Retrievable), outcome
    # Read at the request (0), its first block (1) and the end (2).
    assert outcome.ttfb == 1.0
    assert outcome.bytes == 5
    assert outcome.bytes_per_second == 2.5


async def test_blocks_a_car_lacks_are_fetched_raw(service: ServiceProcess) -> None:
    data = random.Random(8).randbytes(3 * 1024 * 1024)
    cid = store(service, data, "unixfs-v0-2015")
    asked: list[str] = []
    async with aiohttp.ClientSession() as session:

        async def root_only(request: web.Request) -> web.Response:
            # Forwards to the service, but its CARs hold the root block alone.
            fmt = request.query.get("format", "")
            asked.append(fmt)
            query = "format=car&dag-scope=block" if fmt == "car" else request.query_string
            async with session.get(f"{service.cloud_url}{request.path}?{query}") as upstream:
                return web.Response(body=await upstream.read(), status=upstream.status,
                                    content_type=upstream.content_type)

        async with ipfs_server(root_only) as url:
            outcome = await verify_cid(session, url, cid, retry=_policy())
    assert isinstance(outcome, Retrievable), outcome
    assert outcome.blocks == 1 + 12  # the root, then twelve 256 KiB leaves one by one
    assert asked == ["car"] + ["raw"] * 12
