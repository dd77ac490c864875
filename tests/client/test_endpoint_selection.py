"""Choosing an Endpoint by name, URL or latency, and failing over."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bulkpin.client import ConfigurationError, Endpoint, EndpointSelector

HK = Endpoint("Hong Kong", "https://api-hk.example", "1")
SH = Endpoint("Shanghai", "https://api-sh.example", "2")
NY = Endpoint("New York", "https://api-ny.example", "3")


def lister(endpoints: Sequence[Endpoint], calls: list[int] | None = None):  # type: ignore[no-untyped-def]
    async def list_endpoints() -> Sequence[Endpoint]:
        if calls is not None:
            calls.append(1)
        return endpoints

    return list_endpoints


def prober(latencies: dict[str, float | None]):  # type: ignore[no-untyped-def]
    async def probe(endpoint: Endpoint) -> float | None:
        return latencies[endpoint.url]

    return probe


@pytest.mark.anyio
async def test_lowest_latency_first_unreachable_last() -> None:
    latencies = {HK.url: 0.030, SH.url: None, NY.url: 0.010}
    selector = EndpointSelector(lister([HK, SH, NY]), prober(latencies))
    assert await selector.current() == NY
    assert list(selector.order) == [NY, HK, SH]


@pytest.mark.anyio
@pytest.mark.parametrize("preference", ["shanghai", "2", "https://api-sh.example/"])
async def test_by_name_id_or_url(preference: str) -> None:
    selector = EndpointSelector(lister([HK, SH]), prober({}), preference=preference)
    assert (await selector.current()).url == SH.url
    assert [e.url for e in selector.order] == [SH.url, HK.url]


@pytest.mark.anyio
async def test_unlisted_url_is_used_as_given() -> None:
    selector = EndpointSelector(lister([HK]), prober({}), preference="http://127.0.0.1:9")
    assert (await selector.current()).url == "http://127.0.0.1:9"
    assert [e.url for e in selector.order] == ["http://127.0.0.1:9", HK.url]


@pytest.mark.anyio
async def test_unknown_name_lists_the_choices() -> None:
    selector = EndpointSelector(lister([HK, SH]), prober({}), preference="Paris")
    with pytest.raises(ConfigurationError, match="'Hong Kong', 'Shanghai'"):
        await selector.current()


@pytest.mark.anyio
async def test_failover_after_consecutive_failures_only() -> None:
    selector = EndpointSelector(
        lister([HK, SH]), prober({HK.url: 0.001, SH.url: 0.002}), failover_after=3
    )
    assert await selector.current() == HK
    selector.record_failure(HK)
    selector.record_failure(HK)
    selector.record_success(HK)  # the streak is broken
    selector.record_failure(HK)
    selector.record_failure(HK)
    assert await selector.current() == HK
    selector.record_failure(HK)
    assert await selector.current() == SH
    # Late failures from requests that went to the old Endpoint change nothing.
    for _ in range(5):
        selector.record_failure(HK)
    assert await selector.current() == SH
    for _ in range(3):
        selector.record_failure(SH)
    assert await selector.current() == HK  # wraps round
    assert selector.switches == [(HK.url, SH.url), (SH.url, HK.url)]


@pytest.mark.anyio
async def test_a_named_endpoint_that_does_not_answer_is_an_error_unless_failover() -> None:
    """Before, a named Endpoint that did not answer was replaced silently."""
    latencies = {HK.url: None, SH.url: 0.002}
    strict = EndpointSelector(lister([HK, SH]), prober(latencies), preference="Hong Kong")
    with pytest.raises(ConfigurationError, match=r"Hong Kong \(https://api-hk.example\) does"
                                                 r" not answer.*--failover"):
        await strict.check()
    for _ in range(5):  # and the uploads' failures do not move it either
        strict.record_failure(HK)
    assert await strict.current() == HK
    allowed = EndpointSelector(lister([HK, SH]), prober(latencies), preference="Hong Kong",
                               failover=True)
    assert await allowed.check() == ("the Endpoint Hong Kong (https://api-hk.example) does not"
                                     " answer; uploading through Shanghai"
                                     " (https://api-sh.example) instead")
    assert await allowed.current() == SH
    # Nothing named: the quickest is used, and failover is the default.
    free = EndpointSelector(lister([HK, SH]), prober(latencies))
    assert await free.check() is None
    assert free.failover


@pytest.mark.anyio
async def test_a_wrong_name_is_found_by_the_check() -> None:
    selector = EndpointSelector(lister([HK, SH]), prober({}), preference="Narnia")
    with pytest.raises(ConfigurationError, match="no Endpoint named 'Narnia'"):
        await selector.check()
