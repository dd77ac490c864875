"""Listing a real ``bulkpin serve``'s ``/psa`` as a migration source, over loopback."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from bulkpin.client import InvalidResponse, RateLimited, RetryPolicy
from bulkpin.sources import (
    PinItem,
    PsaSource,
    SourceAuthenticationError,
    load_token,
    open_source,
)
from tests.service.helpers import Account, jobs, request
from tests.support.service import ServiceProcess, wait_for

from .cids import inline

pytestmark = pytest.mark.anyio

ServiceFactory = Callable[..., ServiceProcess]


class Sleeps:
    """An injected ``sleep``: returns at once, remembers what was asked (no real waiting)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def add_pins(svc: ServiceProcess, account: Account, count: int, tag: str) -> dict[str, Any]:
    """``count`` PSA pins of identity CIDs (pinned at once, no content to fetch), by CID."""
    made: dict[str, Any] = {}
    before = jobs(svc, account, status="pinned", limit=1)["Count"]
    for i in range(count):
        cid = inline(f"{tag}-{i}")
        pin = {"cid": cid, "name": f"{tag} file {i}.txt", "meta": {"tag": tag, "i": str(i)}}
        reply = request("POST", svc.cloud_url + "/psa/pins",
                        headers={**account.cloud_headers(), "Content-Type": "application/json"},
                        body=json.dumps(pin).encode())
        assert reply.status == 202, reply
        made[cid] = pin
    total = before + len(made)
    # Wait on pinJobs, which no fault in these tests touches.
    wait_for(lambda: jobs(svc, account, status="pinned", limit=1)["Count"] >= total)
    return made


def psa_source(svc: ServiceProcess, account: Account, sleeps: Sleeps, **kwargs: Any) -> PsaSource:
    token = load_token(token_env="SRC_TOKEN", environ={"SRC_TOKEN": account.api_key})
    retry = kwargs.pop("retry", None) or RetryPolicy(sleep=sleeps)
    return PsaSource(svc.cloud_url + "/psa", token, retry=retry, **kwargs)


async def listed(source: PsaSource) -> list[PinItem]:
    got = [entry async for entry in source]
    assert all(isinstance(e, PinItem) for e in got)
    return [e for e in got if isinstance(e, PinItem)]


def assert_exactly_once(got: list[PinItem], made: dict[str, Any], label: str) -> None:
    counts = Counter(item.cid for item in got)
    assert set(counts) == set(made)
    assert max(counts.values()) == 1
    for item in got:
        assert item.name == made[item.cid]["name"]
        assert item.meta == made[item.cid]["meta"]
        assert item.origin == label
        assert item.created is not None
    created = [item.created or "" for item in got]
    assert created == sorted(created, reverse=True)


def psa_requests(svc: ServiceProcess) -> dict[str, int]:
    by_status: dict[str, int] = svc.stats()["requests"].get("psaList", {})
    return by_status


async def test_every_pin_listed_once_with_names_and_meta(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    made = add_pins(service, account, 240, "a")
    source = psa_source(service, account, Sleeps(), page_size=7)
    got = await listed(source)
    assert_exactly_once(got, made, source.label)
    # Each page after the first starts with the previous page's oldest pin (the
    # overlap that protects pins sharing its time), so it brings 6 new pins:
    # 1 + ceil(233 / 6) = 40 pages; the last one is short, so no empty page follows.
    assert psa_requests(service) == {"200": 40}


async def test_a_relisting_sees_what_the_source_gained_newest_first(
    service: ServiceProcess,
) -> None:
    account = Account.load(service.profile_path)
    first = add_pins(service, account, 12, "old")
    source = psa_source(service, account, Sleeps(), page_size=5)
    assert {i.cid for i in await listed(source)} == set(first)
    newer = add_pins(service, account, 4, "new")
    again = await listed(source)
    assert {i.cid for i in again[:4]} == set(newer)
    assert {i.cid for i in again[4:]} == set(first)
    # And listing only what is at least as new as the previous newest pin:
    since = await listed(psa_source(service, account, Sleeps(), after=again[4].created))
    assert [i.cid for i in since] == [i.cid for i in again[:5]]


async def test_faults_on_the_source_are_retried(service_factory: ServiceFactory) -> None:
    service = service_factory("--faults", "psaList:503=0.3", "--fault-seed", "7")
    account = Account.load(service.profile_path)
    made = add_pins(service, account, 90, "f")
    sleeps = Sleeps()
    source = psa_source(service, account, sleeps, page_size=6)
    assert_exactly_once(await listed(source), made, source.label)
    seen = psa_requests(service)
    assert seen.get("503", 0) > 0
    assert len(sleeps.delays) == seen["503"]


async def test_a_refused_token_is_a_clear_error_at_once(service: ServiceProcess) -> None:
    token = load_token(token_env="SRC_TOKEN", environ={"SRC_TOKEN": "not-the-right-api-key"})
    sleeps = Sleeps()
    source = PsaSource(service.cloud_url + "/psa", token, retry=RetryPolicy(sleep=sleeps))
    with pytest.raises(SourceAuthenticationError) as caught:
        await listed(source)
    message = str(caught.value)
    assert f"the source psa:{service.cloud_url}/psa refused the token" in message
    assert "environment variable SRC_TOKEN" in message
    assert "not-the-right-api-key" not in message + repr(caught.value)
    assert psa_requests(service) == {"401": 1}
    assert sleeps.delays == []


async def test_garbage_is_invalid_response_naming_the_source(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory("--faults", "psaList:garbage=1")
    account = Account.load(service.profile_path)
    source = psa_source(service, account, Sleeps(), retry=RetryPolicy(max_attempts=3,
                                                                       sleep=Sleeps()))
    with pytest.raises(InvalidResponse) as caught:
        await listed(source)
    assert f"{service.cloud_url}/psa/pins did not answer with Pinning Service API" in str(
        caught.value)
    assert caught.value.attempts == 3
    assert psa_requests(service) == {"200": 3}


async def test_429_forever_gives_up_after_honouring_retry_after(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory("--faults", "psaList:429=1")
    account = Account.load(service.profile_path)
    sleeps = Sleeps()
    source = psa_source(service, account, sleeps, retry=RetryPolicy(max_attempts=4, sleep=sleeps))
    with pytest.raises(RateLimited) as caught:
        await listed(source)
    assert caught.value.attempts == 4
    assert f"{service.cloud_url}/psa/pins" in str(caught.value)
    assert sleeps.delays == [1.0, 1.0, 1.0]  # the service's Retry-After: 1


async def test_the_token_never_appears_in_debug_logs_or_errors(
    service_factory: ServiceFactory, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    service = service_factory("--faults", "psaList:503=0.4,500=0.1", "--fault-seed", "3")
    account = Account.load(service.profile_path)
    made = add_pins(service, account, 20, "s")
    monkeypatch.setenv("SRC_TOKEN", account.api_key)
    source = open_source(f"psa:{service.cloud_url}/psa", token_env="SRC_TOKEN", token_file=None,
                         retry=RetryPolicy(sleep=Sleeps()))
    assert isinstance(source, PsaSource)
    got = [e async for e in source]
    assert {e.cid for e in got if isinstance(e, PinItem)} == set(made)
    wrong = "wrong-token-" + account.api_key[:20]
    refused = PsaSource(service.cloud_url + "/psa",
                        load_token(token_env="W", environ={"W": wrong}),
                        retry=RetryPolicy(sleep=Sleeps()))
    with pytest.raises(SourceAuthenticationError) as caught:
        [e async for e in refused]
    assert "retrying" in caplog.text  # the faults were met and logged
    assert "/psa/pins" in caplog.text
    for text in (caplog.text, str(caught.value), repr(caught.value), repr(source)):
        assert account.api_key not in text
        assert wrong not in text
