"""Retries against ``bulkpin serve``'s injected faults, counted on the service's side."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bulkpin.client import (
    AuthenticationError,
    BadRequest,
    ContentMismatch,
    Credentials,
    DecooError,
    Forbidden,
    PayloadTooLarge,
    PinHashMismatch,
    PinResult,
    RetryBudget,
    RetryPolicy,
    ServerError,
)
from bulkpin.client.redact import Secret
from bulkpin.service.faults import ROUTES
from bulkpin.signing import generate_private_key
from bulkpin.testing import ChaosProxy, Response
from bulkpin.unixfs import hash_bytes, hash_file
from tests.support.service import ServiceProcess, wait_for

from .helpers import Sleeps, credentials_for, make_client, requests, total_requests

pytestmark = pytest.mark.anyio

MakeFiles = Callable[..., list[Path]]
ServiceFactory = Callable[..., ServiceProcess]


async def upload_all(service: ServiceProcess, paths: list[Path], sleeps: Sleeps) -> list[PinResult]:
    async with make_client(service, sleep=sleeps) as client:
        return [await client.pin_file(path) for path in paths]


@pytest.mark.parametrize(
    ("kind", "seen_as"),
    [("503", "503"), ("500", "500"), ("429", "429"), ("reset", "reset"), ("drop", "drop")],
)
async def test_retryable_faults_are_retried_to_success(
    service_factory: ServiceFactory, files: MakeFiles, kind: str, seen_as: str
) -> None:
    service = service_factory("--faults", f"pinFile:{kind}=0.5", "--fault-seed", "1")
    paths = files(6, size=200_000)
    sleeps = Sleeps()
    results = await upload_all(service, paths, sleeps)
    assert [r.cid for r in results] == [hash_file(p).cid for p in paths]
    stats = service.stats()
    faults = requests(stats, "pinFile", seen_as)
    assert faults >= 1, stats
    assert sleeps.delays, "the faults were retried after a wait"
    assert stats["pins"] == 6
    assert stats["duplicate_jobs"] == 0
    if kind == "429":
        # Retry-After: 1, honoured exactly (the injected sleep was asked for it).
        assert sleeps.delays == [1.0] * faults


async def test_garbage_answers_are_recovered_without_uploading_again(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory("--faults", "pinFile:garbage=0.5", "--fault-seed", "1")
    paths = files(6)
    results = await upload_all(service, paths, Sleeps())
    recovered = [r for r in results if r.recovered]
    assert recovered, "seed 1 gives some garbage answers"
    assert all(r.job_id and r.job_status is not None for r in recovered)
    stats = service.stats()
    # Each garbage answer was followed by a pinJobs query, never a second upload.
    assert requests(stats, "pinFile") == 6
    assert requests(stats, "pinJobs") == len(recovered)
    assert stats["duplicate_jobs"] == 0


async def test_dropped_answers_never_make_a_second_job(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory(
        "--faults", "pinFile:drop=0.5;pinByHash:drop=0.5;pinJobs:drop=0.2", "--fault-seed", "4"
    )
    paths = files(8)
    async with make_client(service) as client:
        results = [await client.pin_file(path) for path in paths]
        # Content nobody uploaded: each pinByHash makes a job of its own CID.
        elsewhere = [hash_bytes(f"on the network {i}".encode()).cid for i in range(4)]
        by_hash = [await client.pin_by_hash(cid) for cid in elsewhere]
    assert sum(r.recovered for r in results) >= 1
    assert sum(r.recovered for r in by_hash) >= 1
    assert [r.cid for r in by_hash] == elsewhere
    stats = service.stats()
    assert requests(stats, "pinFile", "drop") >= 1
    assert requests(stats, "pinByHash", "drop") >= 1
    assert stats["pins"] == 8
    assert stats["duplicate_jobs"] == 0
    assert sum(stats["jobs"].values()) == 8 + 4


async def test_slow_answer_past_the_read_timeout_is_recovered(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory("--faults", "pinFile:slow=1.0")
    (path,) = files(1)
    async with make_client(service, read_timeout=0.5) as client:
        result = await client.pin_file(path)
    assert result.recovered

    # The service counts the request once its (held back) answer is written.
    def answered() -> dict[str, Any] | None:
        stats = service.stats()
        return stats if requests(stats, "pinFile") else None

    stats = wait_for(answered)
    assert requests(stats, "pinFile") == 1
    assert requests(stats, "pinJobs") == 1
    assert sum(stats["jobs"].values()) == 1
    assert stats["duplicate_jobs"] == 0


async def test_non_retryable_statuses_are_tried_exactly_once(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    service = service_factory("--max-upload-size", "1000")
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 500)
    large = tmp_path / "large.bin"
    large.write_bytes(b"y" * 50_000)
    sleeps = Sleeps()
    good = credentials_for(service)
    wrong_key = Credentials(good.cloud_url, good.api_key, generate_private_key())
    bad_api_key = Credentials(
        good.cloud_url, Secret("eyJhbGciOiJIUzI1NiJ9.e30.bm9wZQ"), good.private_key
    )
    cases: list[tuple[type[DecooError], str, str]] = []
    async with make_client(service, sleep=sleeps) as client:
        with pytest.raises(BadRequest) as bad:
            await client.pin_by_hash("not-a-cid")
        cases.append((BadRequest, "pinByHash", "400"))
        with pytest.raises(PayloadTooLarge):
            await client.pin_file(large)
        cases.append((PayloadTooLarge, "pinFile", "413"))
        with pytest.raises(ContentMismatch):
            await client.pin_file(small, cid=hash_bytes(b"other content").cid)
        cases.append((ContentMismatch, "pinFile", "422"))
    async with make_client(service, sleep=sleeps, credentials=wrong_key) as client:
        with pytest.raises(Forbidden):
            await client.pin_file(small)
        cases.append((Forbidden, "pinFile", "403"))
    async with make_client(service, sleep=sleeps, credentials=bad_api_key) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.ping()
        assert not refused.value.renewable
    assert bad.value.attempts == 1
    assert sleeps.delays == []
    stats = service.stats()
    for _, route, status in cases:
        assert requests(stats, route, status) == 1, (route, status, stats)
    assert requests(stats, "ping", "401") == 1
    assert requests(stats, "pinFile") == 3
    assert stats["pins"] == 0


async def test_retry_budget_holds_under_a_503_storm(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    paths = files(10)

    def policy(capacity: int) -> RetryPolicy:
        return RetryPolicy(budget=RetryBudget(capacity=capacity), sleep=Sleeps())

    clean = service_factory()
    async with make_client(clean, retry=policy(50)) as client:
        for path in paths:
            await client.pin_file(path)
    clean_requests = total_requests(clean.stats())

    async def storm(capacity: int) -> int:
        # Every API route, named one by one: the service refuses "*:503=1.0"
        # (its check counts the "*" rule twice).
        service = service_factory("--faults", ";".join(f"{r}:503=1.0" for r in ROUTES))
        async with make_client(service, retry=policy(capacity)) as client:
            for path in paths:
                with pytest.raises(ServerError):
                    await client.pin_file(path)
        return total_requests(service.stats())

    # With a budget the dead service sees a trickle...
    assert await storm(50) < 2 * clean_requests
    # ...without one it would see every retry of every upload.
    assert await storm(10**6) > 2 * clean_requests


async def test_a_pin_hash_other_than_the_local_cid_raises_naming_both(
    service: ServiceProcess, files: MakeFiles
) -> None:
    (path,) = files(1)
    local, liar = hash_file(path).cid, hash_bytes(b"some other content").cid

    def lie(request_line: str, response: Response) -> Response:
        if "pinFile" not in request_line:
            return response
        body = {**json.loads(response.body), "PinHash": liar}
        return replace(response, body=json.dumps(body).encode())

    with ChaosProxy(service.endpoint_urls[0]) as endpoint:
        endpoint.rewrite = lie
        async with make_client(service, endpoint=endpoint.url) as client:
            with pytest.raises(PinHashMismatch) as info:
                await client.pin_file(path)
    assert (info.value.pin_hash, info.value.cid) == (liar, local)
    expected = f"the service answered PinHash {liar}, but the file's CID is {local}"
    assert info.value.message == expected
    assert requests(service.stats(), "pinFile") == 1  # not sent again
