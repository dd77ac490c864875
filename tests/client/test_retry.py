"""The retry classifier, Retry-After parsing, backoff with jitter and the retry budget."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bulkpin.client import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    ConnectError,
    ConnectionBroken,
    ContentMismatch,
    Decision,
    DecooError,
    Fate,
    Forbidden,
    InvalidResponse,
    LocalFileError,
    PayloadTooLarge,
    RateLimited,
    ReadTimeout,
    RetryBudget,
    RetryPolicy,
    ServerError,
    TLSError,
    classify,
    classify_item,
)
from bulkpin.client.errors import error_for_status
from bulkpin.client.retry import Attempt, parse_retry_after

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("exc", "decision"),
    [
        (ConnectError("x"), Decision.RETRY),
        (ReadTimeout("x"), Decision.RETRY),
        (ConnectionBroken("x"), Decision.RETRY),
        (InvalidResponse("x"), Decision.RETRY),
        (error_for_status(500, "x"), Decision.RETRY),
        (error_for_status(503, "x"), Decision.RETRY),
        (error_for_status(429, "x", retry_after=1.0), Decision.RETRY),
        (error_for_status(401, "x", renewable=True), Decision.RENEW_TOKEN),
        (error_for_status(401, "x", renewable=False), Decision.FAIL),
        (error_for_status(400, "x"), Decision.FAIL),
        (error_for_status(403, "x"), Decision.FAIL),
        (error_for_status(404, "x"), Decision.FAIL),
        (error_for_status(408, "x"), Decision.RETRY),
        (error_for_status(413, "x"), Decision.FAIL),
        (error_for_status(422, "x"), Decision.FAIL),
        (TLSError("x"), Decision.FAIL),
        (LocalFileError("x"), Decision.FAIL),
        (ValueError("a bug"), Decision.FAIL),
    ],
)
def test_classifier(exc: BaseException, decision: Decision) -> None:
    assert classify(exc).decision is decision


def test_status_classes() -> None:
    assert isinstance(error_for_status(400, ""), BadRequest)
    assert isinstance(error_for_status(403, ""), Forbidden)
    assert isinstance(error_for_status(413, ""), PayloadTooLarge)
    assert isinstance(error_for_status(422, ""), ContentMismatch)
    assert isinstance(error_for_status(429, ""), RateLimited)
    assert isinstance(error_for_status(502, ""), ServerError)
    assert isinstance(error_for_status(401, ""), AuthenticationError)


def test_retry_after_forms() -> None:
    assert parse_retry_after("1", NOW) == 1.0
    assert parse_retry_after(" 2.5 ", NOW) == 2.5
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=30), usegmt=True), NOW) == 30.0
    for garbage in (None, "", "soon", "-3", "nan", "inf", "Mon, 99 Foo 2024"):
        assert parse_retry_after(garbage, NOW) is None, garbage
    # A date in the past asks for nothing usable.
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=5), usegmt=True), NOW) is None


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def failing(
    errors: list[BaseException], result: str = "ok"
) -> tuple[list[int], Callable[[Attempt], Awaitable[str]]]:
    calls: list[int] = []

    async def fn(attempt: Attempt) -> str:
        calls.append(attempt.number)
        if errors:
            raise errors.pop(0)
        return result

    return calls, fn


@pytest.mark.anyio
async def test_retries_then_succeeds_with_full_jitter_backoff() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=5.0, sleep=sleeps, rng=random.Random(7))
    calls, fn = failing([error_for_status(503, "busy") for _ in range(4)])
    assert await policy.call("op", fn) == "ok"
    assert calls == [1, 2, 3, 4, 5]
    ceilings = [1.0, 2.0, 4.0, 5.0]
    assert len(sleeps.delays) == 4
    assert all(0 <= d <= c for d, c in zip(sleeps.delays, ceilings, strict=True))
    # Jittered: not simply the ceilings.
    assert sleeps.delays != ceilings


@pytest.mark.anyio
async def test_retry_after_is_honoured_and_capped() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_retry_after=10.0, sleep=sleeps)
    errors: list[BaseException] = [
        error_for_status(429, "slow down", retry_after=3.0),
        error_for_status(429, "slow down", retry_after=3600.0),
        error_for_status(429, "slow down", retry_after=None),  # garbage header: normal backoff
    ]
    _, fn = failing(errors)
    await policy.call("op", fn)
    assert sleeps.delays[:2] == [3.0, 10.0]
    assert 0 <= sleeps.delays[2] <= policy.backoff_base * 4


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 403, 413, 422])
async def test_never_retried(status: int) -> None:
    sleeps = Sleeps()
    calls, fn = failing([error_for_status(status, "no")])
    with pytest.raises(DecooError) as info:
        await RetryPolicy(sleep=sleeps).call("op", fn)
    assert calls == [1]
    assert info.value.attempts == 1
    assert info.value.final


@pytest.mark.anyio
async def test_token_renewed_once_without_backoff_or_budget() -> None:
    sleeps = Sleeps()
    budget = RetryBudget(capacity=0)
    calls, fn = failing([error_for_status(401, "expired", renewable=True)])
    assert await RetryPolicy(sleep=sleeps, budget=budget).call("op", fn) == "ok"
    assert calls == [1, 2]
    assert sleeps.delays == [0.0]
    # A second 401 after the renewal is final.
    calls, fn = failing([error_for_status(401, "x", renewable=True) for _ in range(2)])
    with pytest.raises(AuthenticationError):
        await RetryPolicy(sleep=sleeps).call("op", fn)
    assert calls == [1, 2]


@pytest.mark.anyio
async def test_gives_up_after_max_attempts() -> None:
    calls, fn = failing([ConnectError("down") for _ in range(10)])
    with pytest.raises(ConnectError) as info:
        await RetryPolicy(max_attempts=3, sleep=Sleeps()).call("op", fn)
    assert calls == [1, 2, 3]
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)


@pytest.mark.anyio
async def test_budget_drains_under_failure_and_refills_on_success() -> None:
    budget = RetryBudget(capacity=20, retry_cost=5, timeout_cost=10, success_reward=1)
    policy = RetryPolicy(max_attempts=10, sleep=Sleeps(), budget=budget)
    calls, fn = failing([error_for_status(503, "down") for _ in range(100)])
    with pytest.raises(ServerError) as info:
        await policy.call("op", fn)
    assert calls == [1, 2, 3, 4, 5]  # four retries of cost 5 empty a budget of 20
    assert info.value.budget_exhausted
    assert "retry budget exhausted" in str(info.value)
    assert budget.available == 0
    # With the budget empty, a failure is not retried at all: a trickle.
    calls, fn = failing([error_for_status(503, "down")])
    with pytest.raises(ServerError):
        await policy.call("op", fn)
    assert calls == [1]
    # Successes at the first attempt refill it slowly...
    for _ in range(5):
        _, fn = failing([])
        await policy.call("op", fn)
    assert budget.available == 5
    # ...and a success after retries gives back what they took.
    _, fn = failing([error_for_status(503, "blip")])
    await policy.call("op", fn)
    assert budget.available == 5
    # Timeouts cost more.
    assert budget.try_acquire(timeout=True) == 0
    assert budget.try_acquire(timeout=False) == 5


@pytest.mark.anyio
async def test_nested_final_errors_are_not_retried_again() -> None:
    inner = error_for_status(503, "cloud down")
    inner.final = True
    inner.attempts = 4
    calls, fn = failing([inner])
    with pytest.raises(ServerError) as info:
        await RetryPolicy(sleep=Sleeps()).call("upload", fn)
    assert calls == [1]
    assert info.value.attempts == 4


@pytest.mark.anyio
async def test_other_exceptions_pass_through_untouched() -> None:
    calls, fn = failing([KeyError("bug")])
    with pytest.raises(KeyError):
        await RetryPolicy(sleep=Sleeps()).call("op", fn)
    assert calls == [1]


@pytest.mark.parametrize(
    ("exc", "fate", "fail_item"),
    [
        (ConfigurationError("no Endpoint named 'x'"), Fate.STOP_RUN, False),
        (error_for_status(401, "bad key"), Fate.STOP_RUN, False),
        (error_for_status(403, "bad signature"), Fate.STOP_RUN, True),
        (TLSError("certificate verify failed"), Fate.STOP_RUN, False),
        (error_for_status(400, "bad cid"), Fate.FAIL_ITEM, False),
        (error_for_status(404, "no such route"), Fate.FAIL_ITEM, False),
        (error_for_status(422, "CID mismatch"), Fate.FAIL_ITEM, False),
        (LocalFileError("unreadable"), Fate.FAIL_ITEM, False),
        (error_for_status(429, "slow down"), Fate.RETRY_ITEM, False),
        (error_for_status(408, "timeout"), Fate.RETRY_ITEM, False),
        (error_for_status(503, "down"), Fate.RETRY_ITEM, False),
        (ConnectError("refused"), Fate.RETRY_ITEM, False),
    ],
)
def test_classify_item(exc: DecooError, fate: Fate, fail_item: bool) -> None:
    verdict = classify_item(exc)
    assert (verdict.fate, verdict.fail_item) == (fate, fail_item)
