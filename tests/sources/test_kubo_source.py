"""Listing a kubo node's pins, against :mod:`.fake_kubo` (no kubo daemon here)."""

from __future__ import annotations

import pytest

from bulkpin.client import InvalidResponse, RetryPolicy, ServerError
from bulkpin.client.redact import Secret
from bulkpin.sources import (
    BadLine,
    KuboSource,
    PinItem,
    SourceAuthenticationError,
    SourceEntry,
    SourceError,
    SourceToken,
)

from .cids import v0, v1
from .fake_kubo import FakeKubo, FakePin
from .loopback import serve

pytestmark = pytest.mark.anyio


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


PINS = [FakePin(v0("a"), name="photos 2019"), FakePin(v1("b")), FakePin(v1("c"), name="c"),
        FakePin(v0("d"), type="direct", name="only direct"),
        FakePin(v1("e"), type="indirect")]


async def listing(fake: FakeKubo, sleeps: Sleeps | None = None,
                  **kwargs: object) -> tuple[str, list[SourceEntry]]:
    async with serve(fake.app()) as url:
        retry = RetryPolicy(max_attempts=3, sleep=sleeps or Sleeps())
        source = KuboSource(url, retry=retry, **kwargs)  # type: ignore[arg-type]
        return url, [entry async for entry in source]


async def test_streamed_recursive_pins_with_names() -> None:
    fake = FakeKubo(PINS)
    url, got = await listing(fake)
    label = f"kubo:{url}"
    assert got == [
        PinItem(v0("a"), "photos 2019", {}, label),
        PinItem(v1("b"), None, {}, label),
        PinItem(v1("c"), "c", {}, label),
    ]
    assert fake.requests == [{"type": "recursive", "stream": "true", "names": "true"}]


async def test_another_pin_type_and_no_names() -> None:
    fake = FakeKubo(PINS)
    _, got = await listing(fake, pin_type="all", names=False)
    assert [(e.cid, e.name) for e in got if isinstance(e, PinItem)] == [
        (p.cid, None) for p in PINS
    ]


async def test_a_line_that_is_not_a_cid_is_a_bad_line_and_the_rest_goes_on() -> None:
    fake = FakeKubo(PINS[:1], extra_lines=[b'{"Cid": "QmNope", "Type": "recursive"}\n',
                                           b"\n", f'{{"Cid": "{v1("z")}"}}\n'.encode()])
    url, got = await listing(fake)
    assert got == [
        PinItem(v0("a"), "photos 2019", {}, f"kubo:{url}"),
        BadLine(f"kubo:{url}", 2, "QmNope", "not a CID: 'QmNope'"),
        PinItem(v1("z"), None, {}, f"kubo:{url}"),
    ]


async def test_an_error_line_in_the_stream_stops_the_listing() -> None:
    fake = FakeKubo(PINS, error_after=2)
    seen: list[SourceEntry] = []

    async def consume(source: KuboSource) -> None:
        async for entry in source:
            seen.append(entry)

    async with serve(fake.app()) as url:
        source = KuboSource(url, retry=RetryPolicy(sleep=Sleeps()))
        with pytest.raises(SourceError) as caught:
            await consume(source)
    assert [e.cid for e in seen if isinstance(e, PinItem)] == [v0("a"), v1("b")]
    assert "context canceled" in str(caught.value)
    assert f"kubo:{url} reported an error part-way" in str(caught.value)
    # Lines had arrived: the listing is not started again behind the caller's back.
    assert len(fake.requests) == 1


async def test_a_500_is_retried_then_reported_with_kubos_message() -> None:
    fake = FakeKubo(PINS, fail_with_500=True)
    sleeps = Sleeps()
    with pytest.raises(ServerError) as caught:
        await listing(fake, sleeps)
    assert "pin/ls: datastore closed" in str(caught.value)
    assert caught.value.attempts == 3
    assert len(fake.requests) == 3
    assert len(sleeps.delays) == 2


async def test_garbage_is_invalid_response() -> None:
    fake = FakeKubo([], extra_lines=[b"<html>not kubo</html>\n"])
    with pytest.raises(InvalidResponse, match="line 1 of the pin listing is not JSON"):
        await listing(fake)


async def test_a_token_is_sent_as_bearer_and_a_refusal_is_clear() -> None:
    fake = FakeKubo(PINS, token="kubo-secret-token-1234")
    good = SourceToken(Secret("kubo-secret-token-1234"), "file /x/token")
    _, got = await listing(fake, token=good)
    assert len(got) == 3
    bad = SourceToken(Secret("kubo-wrong-token-5678"), "file /x/token")
    with pytest.raises(SourceAuthenticationError) as caught:
        await listing(fake, token=bad)
    assert "refused the token from file /x/token" in str(caught.value)
    assert "kubo-wrong-token-5678" not in str(caught.value)


async def test_a_node_that_is_not_there_is_a_transport_error() -> None:
    async with serve(FakeKubo().app()) as url:
        pass  # the port is free again
    from bulkpin.client import ConnectError  # noqa: PLC0415

    with pytest.raises(ConnectError):
        [e async for e in KuboSource(url, retry=RetryPolicy(max_attempts=2, sleep=Sleeps()))]


async def test_an_endless_line_is_refused_without_being_held() -> None:
    fake = FakeKubo(PINS[:1], extra_lines=[b'{"Cid": "' + b"x" * 100_000 + b'"}\n'])
    with pytest.raises(InvalidResponse, match="longer than 65536 bytes"):
        await listing(fake)
