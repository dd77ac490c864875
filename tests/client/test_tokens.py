"""The access-token cache: renewal before expiry, on 401, shared between callers."""

from __future__ import annotations

import base64
import json

import anyio
import pytest

from bulkpin.client import ServerError
from bulkpin.client.errors import error_for_status
from bulkpin.client.tokens import DEFAULT_RENEW_AFTER, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Shop:
    """Sells numbered tokens; can be told to fail or to be slow."""

    def __init__(self, lifetime: float | None = None) -> None:
        self.sold = 0
        self.fail: Exception | None = None
        self.gate: anyio.Event | None = None
        self.lifetime = lifetime

    async def __call__(self) -> str:
        self.sold += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        if self.lifetime is None:
            return f"token-number-{self.sold}"
        claims = {"iat": 1700000000, "exp": 1700000000 + self.lifetime, "n": self.sold}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"


@pytest.mark.anyio
async def test_cached_then_renewed_after_100_minutes() -> None:
    clock, shop = Clock(), Shop()
    cache = TokenCache(shop, clock=clock)
    first = await cache.get()
    assert (await cache.get()) is first
    clock.now += DEFAULT_RENEW_AFTER - 1
    assert (await cache.get()) is first
    clock.now += 2
    second = await cache.get()
    assert second is not first
    assert second.value.reveal() == "token-number-2"
    assert shop.sold == 2


@pytest.mark.anyio
async def test_lifetime_learned_from_a_jwt() -> None:
    clock, shop = Clock(), Shop(lifetime=60)
    cache = TokenCache(shop, clock=clock)
    await cache.get()
    assert cache.renew_after == pytest.approx(50)


@pytest.mark.anyio
async def test_401_drops_the_token_once_and_learns_a_short_ttl() -> None:
    clock, shop = Clock(), Shop()
    cache = TokenCache(shop, clock=clock)
    token = await cache.get()
    clock.now += 120
    cache.invalidate(token)
    cache.invalidate(token)  # a second request failing with the same token
    renewed = await cache.get()
    assert shop.sold == 2
    # A stale token's 401 does not throw away the fresh one.
    cache.invalidate(token)
    assert (await cache.get()) is renewed
    assert cache.renew_after == pytest.approx(100)
    clock.now += 101
    await cache.get()
    assert shop.sold == 3


@pytest.mark.anyio
async def test_concurrent_callers_share_one_renewal() -> None:
    shop = Shop()
    shop.gate = anyio.Event()
    cache = TokenCache(shop, clock=Clock())
    got: list[str] = []

    async def caller() -> None:
        got.append((await cache.get()).value.reveal())

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(caller)
        await anyio.sleep(0.01)
        shop.gate.set()
    assert shop.sold == 1
    assert got == ["token-number-1"] * 20


@pytest.mark.anyio
async def test_concurrent_callers_share_one_failure() -> None:
    shop = Shop()
    shop.gate = anyio.Event()
    shop.fail = error_for_status(503, "down")
    cache = TokenCache(shop, clock=Clock())
    errors: list[BaseException] = []

    async def caller() -> None:
        try:
            await cache.get()
        except ServerError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(caller)
        await anyio.sleep(0.01)
        shop.gate.set()
    assert shop.sold == 1
    assert len(errors) == 10
    # The next caller tries again.
    shop.fail = None
    shop.gate = None
    assert (await cache.get()).value.reveal() == "token-number-2"


@pytest.mark.anyio
async def test_cancelled_renewal_hands_over_to_a_waiter() -> None:
    shop = Shop()
    shop.gate = anyio.Event()
    cache = TokenCache(shop, clock=Clock())
    results: list[str] = []

    async def waiter() -> None:
        results.append((await cache.get()).value.reveal())

    scopes: list[anyio.CancelScope] = []

    async def leader() -> None:
        with anyio.CancelScope() as scope:
            scopes.append(scope)
            await cache.get()

    async with anyio.create_task_group() as tg:
        tg.start_soon(leader)
        await anyio.sleep(0.01)
        tg.start_soon(waiter)
        await anyio.sleep(0.01)
        scopes[0].cancel()
        await anyio.sleep(0.01)
        shop.gate.set()
    assert results == ["token-number-2"]


def test_repr_hides_the_token() -> None:
    async def main() -> None:
        cache = TokenCache(Shop(), clock=Clock())
        token = await cache.get()
        assert "token-number" not in repr(token)

    anyio.run(main)
