"""``BULKPIN_RETRY_BACKOFF``: the testing knob read where a retry policy's defaults are built."""

from __future__ import annotations

import random

import anyio
import pytest

from bulkpin.client import RetryPolicy, ServerError
from bulkpin.client.retry import BACKOFF_VARIABLE, Attempt


def test_unset_or_empty_is_half_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKOFF_VARIABLE, raising=False)
    assert RetryPolicy().backoff_base == 0.5
    monkeypatch.setenv(BACKOFF_VARIABLE, "")
    assert RetryPolicy().backoff_base == 0.5


def test_it_sets_the_first_backoff_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKOFF_VARIABLE, "0.02")
    policy = RetryPolicy()
    assert (policy.backoff_base, policy.backoff_cap, policy.max_attempts) == (0.02, 30.0, 6)
    assert RetryPolicy(backoff_base=1.0).backoff_base == 1.0  # an explicit base wins


def test_a_request_still_gives_up_after_its_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKOFF_VARIABLE, "0.02")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    calls: list[int] = []

    async def failing(attempt: Attempt) -> None:
        calls.append(attempt.number)
        raise ServerError(503, "down")

    policy = RetryPolicy(sleep=sleep, rng=random.Random(3))
    with pytest.raises(ServerError):
        anyio.run(policy.call, "op", failing)
    assert calls == [1, 2, 3, 4, 5, 6]
    assert all(0 <= s <= 0.02 * 2 ** n for n, s in enumerate(slept))
    assert len(slept) == 5


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf"])
def test_anything_else_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(BACKOFF_VARIABLE, value)
    with pytest.raises(ValueError, match=BACKOFF_VARIABLE):
        RetryPolicy()
