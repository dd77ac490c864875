"""Token renewal on expiry and Endpoint failover, against ``bulkpin serve``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from bulkpin.client import ConnectError
from bulkpin.testing import ChaosProxy
from tests.support.service import ServiceProcess

from .helpers import FrozenClock, Sleeps, make_client, requests

pytestmark = pytest.mark.anyio

MakeFiles = Callable[..., list[Path]]
ServiceFactory = Callable[..., ServiceProcess]


async def test_token_renewed_before_it_expires(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory("--token-ttl", "3")
    first, second = files(2)
    async with make_client(service, token_renew_after=1.0) as client:
        await client.pin_file(first)
        await anyio.sleep(1.2)  # past the renewal point, well before the expiry
        await client.pin_file(second)
        assert client.tokens.renewals == 2
    stats = service.stats()
    assert requests(stats, "accessToken", "200") == 2
    assert requests(stats, "pinFile", "401") == 0
    assert requests(stats, "pinFile", "200") == 2


async def test_expired_token_renewed_once_on_401(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory("--token-ttl", "1")
    first, second = files(2, size=500_000)
    deltas: list[int] = []
    sleeps = Sleeps()
    # A frozen clock: the client never thinks its token is due, so only the
    # service's 401 can tell it.
    async with make_client(service, clock=FrozenClock(), sleep=sleeps) as client:
        await client.pin_file(first)
        await anyio.sleep(1.2)
        result = await client.pin_file(second, on_progress=deltas.append)
        assert result.attempts == 2
        assert client.tokens.renewals == 2
    assert sum(deltas) == 500_000
    assert sleeps.delays == [0.0]  # a renewal is not backed off
    stats = service.stats()
    assert requests(stats, "pinFile", "401") == 1
    assert requests(stats, "pinFile", "200") == 2
    assert requests(stats, "accessToken", "200") == 2


async def test_failover_when_an_endpoint_stops(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory("--endpoint-ports", "0,0")
    listed = [url.rstrip("/") for url in service.endpoint_urls]
    first, second, third = files(3)
    sleeps = Sleeps()
    proxy = ChaosProxy(listed[0]).start()
    # The preferred Endpoint is reached through the proxy; stopping the proxy
    # stops that Endpoint while the service runs on. Named, it is left only
    # because failover is allowed.
    async with make_client(service, endpoint=proxy.url, failover_after=2, failover=True,
                           sleep=sleeps) as client:
        before = await client.pin_file(first)
        assert before.endpoint == proxy.url
        proxy.stop()
        after = await client.pin_file(second)
        assert after.endpoint in listed
        assert client.endpoint_selector.switches == [(proxy.url, after.endpoint)]
        # The switch sticks: the next upload goes straight to the new one.
        retries = len(sleeps.delays)
        assert (await client.pin_file(third)).endpoint == after.endpoint
        assert len(sleeps.delays) == retries
    stats = service.stats()
    assert requests(stats, "pinFile", "200") == 3
    assert stats["duplicate_jobs"] == 0


async def test_dead_endpoint_alone_fails_with_a_connect_error(
    service_factory: ServiceFactory, files: MakeFiles
) -> None:
    service = service_factory()
    (path,) = files(1)
    with ChaosProxy(service.endpoint_urls[0]) as proxy:
        dead = proxy.url
    # Nothing listens there now; with every attempt refused, the upload fails
    # with the connection error, after the configured attempts.
    async with make_client(service, endpoint=dead, failover_after=100) as client:
        with pytest.raises(ConnectError) as info:
            await client.pin_file(path)
    assert info.value.attempts == client.retry_policy.max_attempts
    assert requests(service.stats(), "pinFile") == 0
