"""How many uploads run at once, when the user did not say (``--concurrency auto``).

A fixed number is wrong somewhere: 64 uploads in flight over a 200 ms round
trip is at most 320 requests a second, the same 64 on loopback only queue. The
:class:`ConcurrencyController` decides the limit from what the requests
themselves report (pure logic: the caller feeds it, the clock is injected):

- an overload answer (429, 503, 504) or a request that timed out or lost its
  connection halves the limit at once, once per round trip: answers to
  requests sent before the cut say nothing about the new limit;
- otherwise it decides once per *round* (as many answers as the limit, about
  one round trip of a full pool). If the round's median latency is near the
  lowest latency seen (``tolerance`` times it, plus ``slack``), nothing is
  queueing: the limit grows, doubling until the first cut ("slow start"),
  then by a tenth. If latency rose, the extra requests queue somewhere; that
  is worth it only while the rounds finish more requests per second than
  before the last step up (by ``gain``); if not, the limit backs off by a
  tenth;
- a round in which the pool never filled (the walk or hashing could not keep
  up) holds the limit: it says nothing about the path;
- the lowest latency is re-learned every ``baseline_window`` seconds, so a
  path that got slower is not mistaken for a queue forever.

The limit stays within ``floor`` .. ``ceiling``; the ceiling is what bounds
the pool's workers, connections and buffers, as a fixed ``--concurrency`` did.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_CEILING",
    "DEFAULT_INITIAL",
    "OVERLOAD_STATUSES",
    "SAMPLE_MAX_BODY",
    "ConcurrencyController",
    "Decision",
    "Outcome",
    "outcome_of",
]

#: The most uploads in flight ``auto`` may reach (``--max-concurrency``): enough
#: for about 1,000 small files a second at 250 ms, the slowest Endpoint path.
DEFAULT_CEILING = 256
#: Where ``auto`` starts: a few round trips of doubling reach the ceiling.
DEFAULT_INITIAL = 16
#: Answers that say "fewer, please".
OVERLOAD_STATUSES = frozenset({429, 503, 504})

#: Requests with a larger body time the link's bandwidth, not its round trip:
#: they report overloads but give no latency sample.
SAMPLE_MAX_BODY = 1 << 20

Outcome = Literal["ok", "overload"]


def outcome_of(status: int | None) -> Outcome | None:
    """What an answer's status says to the controller (None: a transport failure).

    A timeout or a lost connection is an overload; an answer that is neither a
    success nor an overload (4xx, other 5xx) says nothing about the limit.
    """
    if status is None or status in OVERLOAD_STATUSES:
        return "overload"
    if 200 <= status < 300:
        return "ok"
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    """One change (or hold) of the limit, and why."""

    at: float
    limit: int
    reason: str


class ConcurrencyController:
    """Decides the limit on requests in flight from their latency and outcomes."""

    def __init__(
        self,
        *,
        initial: int = DEFAULT_INITIAL,
        ceiling: int = DEFAULT_CEILING,
        floor: int = 1,
        tolerance: float = 1.5,
        slack: float = 0.005,
        gain: float = 0.05,
        backoff: float = 0.9,
        overload_backoff: float = 0.5,
        min_round: int = 8,
        baseline_window: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= floor <= ceiling:
            raise ValueError("need 1 <= floor <= ceiling")
        self.floor = floor
        self.ceiling = ceiling
        self.tolerance = tolerance
        self.slack = slack
        self.gain = gain
        self.backoff = backoff
        self.overload_backoff = overload_backoff
        self.min_round = min_round
        self.baseline_window = baseline_window
        self._clock = clock
        self._limit = max(floor, min(ceiling, initial))
        self.in_flight = 0
        #: Recent decisions, newest last (for the run's summary and for tests).
        self.decisions: deque[Decision] = deque(maxlen=256)
        self.slow_start = True
        self._baseline: float | None = None
        self._baseline_at = clock()
        self._last_cut = float("-inf")
        self._round: list[float] = []
        self._round_started = clock()
        self._round_peak = 0
        # Rounds per second before the last step up: what the step must beat.
        self._rate_before_step: float | None = None

    @property
    def limit(self) -> int:
        """Requests that may be in flight now."""
        return self._limit

    @property
    def baseline(self) -> float | None:
        """The lowest latency seen in the current window (None before any answer)."""
        return self._baseline

    # -- what the pool reports --

    def acquire(self) -> None:
        """A request (an item of work) started."""
        self.in_flight += 1
        self._round_peak = max(self._round_peak, self.in_flight)

    def release(self) -> None:
        """It ended."""
        self.in_flight -= 1

    def observe(self, seconds: float, outcome: Outcome = "ok") -> None:
        """One answer (or failure) that took ``seconds``."""
        now = self._clock()
        if outcome == "overload":
            # Requests sent before the last cut were sent at the old limit.
            if now - seconds >= self._last_cut:
                self._cut(now, self.overload_backoff, "overload answer")
            return
        if self._baseline is None or seconds < self._baseline:
            self._baseline = seconds
            self._baseline_at = now
        if now - seconds < self._last_cut:
            return  # sent at the limit before the cut: says nothing of this one
        self._round.append(seconds)
        if len(self._round) >= max(self.min_round, self._limit):
            self._end_round(now)

    # -- decisions --

    def _end_round(self, now: float) -> None:
        samples, self._round = self._round, []
        elapsed = max(now - self._round_started, 1e-9)
        rate = len(samples) / elapsed
        filled = self._round_peak >= self._limit
        self._round_started = now
        self._round_peak = self.in_flight
        latency = statistics.median(samples)
        assert self._baseline is not None
        threshold = self._baseline * self.tolerance + self.slack
        if now - self._baseline_at > self.baseline_window:
            # Re-learn the floor of the path from this round alone.
            self._baseline, self._baseline_at = min(samples), now
        if not filled:
            self._decide(now, self._limit, "held: the pool never filled")
        elif latency <= threshold:
            self._grow(now, rate, "latency near the minimum")
        elif (self._rate_before_step is not None
              and rate >= self._rate_before_step * (1 + self.gain)):
            self._grow(now, rate, "latency rose, and so did throughput")
        else:
            self._cut(now, self.backoff, "latency rose without more throughput")

    def _grow(self, now: float, rate: float, reason: str) -> None:
        self._rate_before_step = rate
        step = self._limit if self.slow_start else max(1, self._limit // 10)
        self._decide(now, min(self.ceiling, self._limit + step), reason)

    def _cut(self, now: float, factor: float, reason: str) -> None:
        self.slow_start = False
        self._last_cut = now
        self._rate_before_step = None
        self._round = []
        self._round_started = now
        self._round_peak = self.in_flight
        self._decide(now, max(self.floor, int(self._limit * factor)), reason)

    def _decide(self, now: float, limit: int, reason: str) -> None:
        self._limit = limit
        self.decisions.append(Decision(now, limit, reason))
