"""The one place that decides what is retried, how long to wait, and when to stop.

Like rclone's ``fserrors``: :func:`classify` looks at a :class:`~.errors.DecooError`
and says *retry*, *renew the access token and retry*, or *fail*; :class:`RetryPolicy`
turns that into a tenacity loop. No other module writes a retry loop.

- Retried: connection errors, timeouts (408 included), broken connections,
  answers that are not JSON, 429 (waiting what ``Retry-After`` asks, capped) and 5xx.
- Renewed once per request, then retried: 401 on a request that used an access token.
- Never retried: 400, 403, 413, 422, any other 4xx, TLS failures, a 401 on the API
  key, local file errors, configuration errors, and anything that is not a
  :class:`~.errors.DecooError` (a bug is not made better by repeating it).

Waits are exponential with full jitter (``uniform(0, min(cap, base * 2**n))``, the
AWS architecture blog's "full jitter"), so many clients that failed together do
not come back together.

A :class:`RetryBudget` shared by the whole client, like botocore's retry quota,
pays for every retry; first attempts are free and successes refill it. When a
service is down, the budget drains and further failures are not retried: a dead
service sees about one request per operation, a trickle, not ``max_attempts``
times the load.

The retry tiers: per request (:func:`classify`, :class:`RetryPolicy`); per item
(:func:`classify_item`: try the item again later in the run, fail it, or stop the
run), applied by the push pipeline; per run (resume) in the journal.
"""

from __future__ import annotations

import enum
import functools
import logging
import math
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import anyio
import tenacity
from tenacity.asyncio import AsyncRetrying
from tenacity.wait import wait_base

from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionBroken,
    DecooError,
    Forbidden,
    HTTPStatusError,
    InvalidResponse,
    LocalFileError,
    RateLimited,
    RequestTimeout,
    ServerError,
    TLSError,
    TransportError,
)

__all__ = [
    "BACKOFF_VARIABLE",
    "Attempt",
    "Decision",
    "Fate",
    "ItemVerdict",
    "RetryBudget",
    "RetryPolicy",
    "Verdict",
    "classify",
    "classify_item",
    "full_jitter",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


class Decision(enum.Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    RENEW_TOKEN = "renew-token"  # noqa: S105 - a decision, not a password
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The classifier's answer for one error."""

    decision: Decision
    #: Why, in a few words, for logs.
    reason: str
    #: A delay the service asked for (``Retry-After``), used instead of the backoff.
    delay: float | None = None
    #: True for timeouts, which cost the budget more: they tie up a connection longest.
    timeout: bool = False
    #: True when the failure counts against the Endpoint that was used (failover).
    endpoint_fault: bool = False


# The classifier's table, most specific class first.
_RULES: tuple[tuple[type[DecooError] | tuple[type[DecooError], ...], Verdict], ...] = (
    (TLSError, Verdict(Decision.FAIL, "TLS failure")),
    (RequestTimeout, Verdict(Decision.RETRY, "timeout", timeout=True, endpoint_fault=True)),
    (
        (ConnectError, ConnectionBroken, TransportError),
        Verdict(Decision.RETRY, "connection failure", endpoint_fault=True),
    ),
    (InvalidResponse, Verdict(Decision.RETRY, "unreadable answer")),
    (ServerError, Verdict(Decision.RETRY, "server error", endpoint_fault=True)),
)


def classify(exc: BaseException) -> Verdict:
    """Decide what to do about ``exc``; the only function that knows what is retryable."""
    if isinstance(exc, DecooError) and exc.final:
        return Verdict(Decision.FAIL, f"{exc.operation or 'a nested call'} already gave up")
    if isinstance(exc, RateLimited):
        return Verdict(Decision.RETRY, "rate limited", delay=exc.retry_after)
    if isinstance(exc, HTTPStatusError) and exc.status == 408:
        # The service gave up waiting for a stalled body: a timeout, seen from its side.
        return Verdict(Decision.RETRY, "request timeout", timeout=True, endpoint_fault=True)
    if isinstance(exc, AuthenticationError) and exc.renewable:
        return Verdict(Decision.RENEW_TOKEN, "access token refused")
    for types, verdict in _RULES:
        if isinstance(exc, types):
            return verdict
    return Verdict(Decision.FAIL, f"{type(exc).__name__} is not retried")


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """The wait before retry number ``attempt`` (from 0): ``uniform(0, min(cap, base * 2**n))``."""
    return rng.uniform(0.0, min(cap, base * math.pow(2, attempt)))


class Fate(enum.Enum):
    """What a mover does with an item after the client gave up on a request for it.

    The second retry tier (DESIGN.md): the client has already retried the
    request; this says whether the *item* is tried again later in the run.
    """

    #: The service may come back: try the item again after a pause, while the
    #: run's patience lasts.
    RETRY_ITEM = "retry-item"
    #: The request for this item is wrong (400, 404, 413, 422...): fail it, go on.
    FAIL_ITEM = "fail-item"
    #: Every item would fail alike (credentials, certificate, signature,
    #: configuration): stop the run, a usage or configuration error.
    STOP_RUN = "stop-run"


@dataclass(frozen=True, slots=True)
class ItemVerdict:
    """The item tier's answer for one error."""

    fate: Fate
    #: Why, for the user (a run stopped says this).
    reason: str
    #: For STOP_RUN: whether the item that met the error is failed as well
    #: (a refused signature is the item's outcome too; refused credentials are not).
    fail_item: bool = False


# The item tier's table: errors after which no item can succeed, most specific first.
_STOP_RUN: tuple[tuple[type[DecooError], str, bool], ...] = (
    (AuthenticationError, "the service refused the credentials: {}", False),
    # A certificate that does not verify will not verify on a retry either.
    (TLSError, "the service's certificate was refused: {}", False),
    # The signature is the key's doing, not the item's: every upload would be
    # refused alike, so stop rather than send the whole tree for nothing.
    (Forbidden, "the service refused the upload's signature: the private key does not"
                " belong to this API key's account ({})", True),
    (ConfigurationError, "configuration error: {}", False),
)


def classify_item(exc: DecooError) -> ItemVerdict:
    """Decide what becomes of an item whose request failed for good; the only such place."""
    for cls, reason, fail_item in _STOP_RUN:
        if isinstance(exc, cls):
            return ItemVerdict(Fate.STOP_RUN, reason.format(exc), fail_item=fail_item)
    if isinstance(exc, LocalFileError):
        return ItemVerdict(Fate.FAIL_ITEM, exc.message)
    if isinstance(exc, HTTPStatusError) and 400 <= exc.status < 500 and exc.status not in (
        408, 429
    ):
        # The request itself is wrong: sending it again cannot help.
        return ItemVerdict(Fate.FAIL_ITEM, str(exc))
    # Connections, timeouts, 408, 429, 5xx, unreadable answers, unknown outcomes.
    return ItemVerdict(Fate.RETRY_ITEM, str(exc))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns None for anything unusable (absent, garbage, negative, a date in the
    past), so the caller falls back to its own backoff. Capping is the policy's job.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


class RetryBudget:
    """A client-wide allowance of retries, refilled by successes (botocore's retry quota).

    Every retry takes ``retry_cost`` tokens (``timeout_cost`` after a timeout);
    when fewer remain, the retry is refused and the error is raised. A request
    that succeeds at once adds ``success_reward``; one that succeeds after
    retries gives back what its retries took. Renewing an access token after a
    401 is not paid for: it happens at most once per request.
    """

    def __init__(
        self,
        capacity: int = 500,
        *,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_reward: int = 1,
    ) -> None:
        if capacity < 0 or retry_cost <= 0 or timeout_cost <= 0 or success_reward < 0:
            raise ValueError("retry budget figures must be positive")
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_reward = success_reward
        self._available = capacity

    @property
    def available(self) -> int:
        """Tokens left."""
        return self._available

    def try_acquire(self, *, timeout: bool) -> int:
        """Take the cost of one retry; returns what was taken, 0 when refused."""
        cost = self.timeout_cost if timeout else self.retry_cost
        if cost > self._available:
            return 0
        self._available -= cost
        return cost

    def record_success(self, spent: int) -> None:
        """A request succeeded after retries that cost ``spent`` tokens (0: at once)."""
        refill = spent if spent else self.success_reward
        self._available = min(self.capacity, self._available + refill)

    def __repr__(self) -> str:
        return f"RetryBudget({self._available}/{self.capacity})"


@dataclass(slots=True)
class Attempt:
    """What an attempt function learns about its call so far."""

    #: 1 for the first attempt.
    number: int = 1
    #: The error that ended the previous attempt, if any.
    previous_error: DecooError | None = None
    #: The classifier's verdict on it.
    previous_verdict: Verdict | None = None
    #: True once the access token has been renewed for this call.
    renewed_token: bool = False
    #: Budget tokens taken by this call's retries.
    spent: int = 0
    #: The delay chosen before the next attempt (for logs and tests).
    delays: list[float] = field(default_factory=list)


#: A testing knob, not a user option: the first backoff (seconds, positive) of a
#: request's retries, 0.5 unless set; the doubling, the cap and the number of
#: attempts are unchanged. The suite sets it small, so a test of a request that
#: gives up after its six attempts does not wait out ~8 s of backoff.
BACKOFF_VARIABLE = "BULKPIN_RETRY_BACKOFF"


def _default_backoff_base() -> float:
    value = os.environ.get(BACKOFF_VARIABLE, "")
    if not value:
        return 0.5
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{BACKOFF_VARIABLE}={value!r}: not a positive number of seconds")
    return seconds


class _FullJitter(wait_base):
    """Exponential backoff with full jitter, or the delay the service asked for."""

    def __init__(self, policy: RetryPolicy, state: Attempt) -> None:
        self._policy = policy
        self._state = state

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        verdict = self._state.previous_verdict
        if verdict is None or verdict.decision is Decision.RENEW_TOKEN:
            delay = 0.0
        elif verdict.delay is not None:
            delay = min(verdict.delay, self._policy.max_retry_after)
        else:
            # Renewals do not count towards the backoff's exponent.
            n = max(0, retry_state.attempt_number - 1 - int(self._state.renewed_token))
            policy = self._policy
            delay = full_jitter(n, policy.backoff_base, policy.backoff_cap, policy.rng)
        self._state.delays.append(delay)
        return delay


@dataclass
class RetryPolicy:
    """How one client retries: attempts, backoff, the ``Retry-After`` cap, the budget.

    ``sleep`` and ``rng`` are injected so tests of backoff take no time and
    replay exactly.
    """

    max_attempts: int = 6
    #: 0.5 s, or ``$BULKPIN_RETRY_BACKOFF`` (a testing knob).
    backoff_base: float = field(default_factory=_default_backoff_base)
    backoff_cap: float = 30.0
    #: The longest ``Retry-After`` honoured; a longer request waits this long.
    max_retry_after: float = 120.0
    budget: RetryBudget = field(default_factory=RetryBudget)
    sleep: Sleep = anyio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def _permit(self, operation: str, state: Attempt, exc: DecooError, verdict: Verdict) -> bool:
        """Whether the verdict, the attempts left and the budget allow another attempt."""
        if verdict.decision is Decision.FAIL:
            return False
        if verdict.decision is Decision.RENEW_TOKEN:
            # Once per call: a second 401 means the fresh token is refused too.
            if state.renewed_token:
                return False
            state.renewed_token = True
            return True
        if state.number - int(state.renewed_token) >= self.max_attempts:
            return False
        cost = self.budget.try_acquire(timeout=verdict.timeout)
        if not cost:
            exc.budget_exhausted = True
            log.debug("%s: not retrying %s: retry budget exhausted", operation, verdict.reason)
            return False
        state.spent += cost
        return True

    def _should_retry(
        self,
        operation: str,
        state: Attempt,
        on_failure: Callable[[DecooError, Verdict], None] | None,
        retry_state: tenacity.RetryCallState,
    ) -> bool:
        """Tenacity's question after each attempt, answered by :func:`classify` and the budget."""
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if exc is None:
            return False
        verdict = classify(exc)
        state.previous_verdict = verdict
        state.previous_error = exc if isinstance(exc, DecooError) else None
        if state.previous_error is None:
            return False
        if not state.previous_error.final:
            # A nested call's error keeps its own count.
            state.previous_error.attempts = retry_state.attempt_number
        if on_failure is not None:
            on_failure(state.previous_error, verdict)
        if self._permit(operation, state, state.previous_error, verdict):
            return True
        state.previous_error.final = True
        return False

    async def call(
        self,
        operation: str,
        fn: Callable[[Attempt], Awaitable[T]],
        *,
        on_failure: Callable[[DecooError, Verdict], None] | None = None,
    ) -> T:
        """Run ``fn`` until it succeeds or the classifier, the attempts or the budget say stop.

        ``fn`` gets an :class:`Attempt` describing the call so far; it must do
        any per-attempt preparation itself (fresh body, current Endpoint, token).
        ``on_failure`` sees every failed attempt's error and verdict (the client
        uses it for Endpoint failover and token invalidation). The error raised
        at the end is the last attempt's, with ``attempts`` and
        ``budget_exhausted`` filled in.
        """
        state = Attempt()
        # Most calls succeed at once: their one attempt runs without building
        # tenacity's machinery (a tenth of a small file's client CPU). A
        # failed first attempt is replayed as the loop's first, so the
        # classifier, the budget and the backoff see it as they see any other.
        try:
            result = await fn(state)
        except Exception as exc:
            first: Exception | None = exc
        else:
            self.budget.record_success(state.spent)
            return result

        async def replayed(state: Attempt) -> T:
            nonlocal first
            if first is not None:
                exc, first = first, None
                raise exc
            return await fn(state)

        retrying = AsyncRetrying(
            sleep=self.sleep,
            stop=tenacity.stop_never,
            wait=_FullJitter(self, state),
            retry=functools.partial(self._should_retry, operation, state, on_failure),
            before_sleep=functools.partial(_log_retry, operation, state),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                state.number = attempt.retry_state.attempt_number
                result = await replayed(state)
            if not attempt.retry_state.outcome or not attempt.retry_state.outcome.failed:
                self.budget.record_success(state.spent)
                return result
        raise AssertionError("unreachable: tenacity stops by raising")  # pragma: no cover


def _log_retry(operation: str, state: Attempt, retry_state: tenacity.RetryCallState) -> None:
    verdict = state.previous_verdict
    assert verdict is not None
    log.debug(
        "%s: attempt %d failed (%s: %s); retrying in %.3f s",
        operation,
        retry_state.attempt_number,
        verdict.reason,
        state.previous_error.message if state.previous_error else "",
        retry_state.upcoming_sleep,
    )
