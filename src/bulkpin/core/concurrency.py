"""How many uploads run at once, when the user did not say (``--concurrency auto``).

A fixed number is wrong somewhere: 64 uploads in flight over a 200 ms round
trip is at most 320 requests a second, the same 64 on loopback only queue. The
:class:`ConcurrencyController` decides the limit from what the requests
themselves report (pure logic: the caller feeds it, the clock is injected):

- an overload answer (429, 503, 504) or a request that timed out or lost its
  connection halves the limit at once, once per round trip: answers to
  requests sent before the cut say nothing about the new limit. Down to
  ``floor``: the service asked for fewer;
- otherwise it decides once per *round* (as many answers as the limit, about
  one round trip of a full pool). If the round's median latency is near the
  lowest latency seen (``tolerance`` times it, plus ``slack``), nothing is
  queueing: the limit grows, doubling until the first cut ("slow start"),
  then by a tenth. If latency rose, the extra requests queue somewhere; a
  step up is then a probe, kept (and followed by another) only if the round
  after it finished more requests per second than the round before it (by
  ``gain``), else taken back (the limit backs off by a tenth, or in
  proportion to the latency when it is far above the tolerated). So the limit
  settles within a step of the knee, where more in flight only queues;
- a round in which the pool never filled (the walk or hashing could not keep
  up) holds the limit: it says nothing about the path;
- the lowest latency is re-learned every ``baseline_window`` seconds, so a
  path that got slower is not mistaken for a queue forever.

Rising latency alone never takes the limit below ``latency_floor`` (see
:data:`DEFAULT_INITIAL`). The limit stays within ``floor`` .. ``ceiling``;
the ceiling is what bounds the pool's workers, connections and buffers, as a
fixed ``--concurrency`` did.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque
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
#: Where ``auto`` starts, and the least rising latency alone may take it to: the
#: fixed default it replaces (the best of 1, 4, 16, 64 on loopback). Below it,
#: latency is a poor signal: on loopback or a LAN it rises with every request
#: added because the CPU is the bottleneck (Little's law), while fewer requests
#: only lose the overlap of one request's waits with another's work; on a busy
#: machine the noise alone drove the limit to 1. Only the service saying so
#: (429, 503, timeouts) takes the limit lower.
DEFAULT_INITIAL = 64
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
        latency_floor: int = DEFAULT_INITIAL,
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
        self.latency_floor = latency_floor
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
        #: How many decisions of each kind, over the whole run.
        self.reasons: Counter[str] = Counter()
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
        if not self._round:
            # A round's rate is timed from its first answer, so the drain after
            # a cut is not counted as a slow round.
            self._round_started = now
        self._round.append(seconds)
        if len(self._round) >= max(self.min_round, self._limit):
            self._end_round(now)

    # -- decisions --

    def _end_round(self, now: float) -> None:
        samples, self._round = self._round, []
        elapsed = max(now - self._round_started, 1e-9)
        rate = (len(samples) - 1) / elapsed
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
        elif self._rate_before_step is None:
            # Queueing, and no step to judge: try one (a cut ends in one too).
            self._grow(now, rate, "latency rose: probing one step up")
        elif rate >= self._rate_before_step * (1 + self.gain):
            self._grow(now, rate, "latency rose, and so did throughput")
        else:
            # Far past the knee, back off in proportion (a queue twice the
            # tolerated latency halves the limit), near it by a tenth.
            factor = max(self.overload_backoff, min(self.backoff, threshold / latency))
            self._cut(now, factor, "latency rose without more throughput",
                      floor=min(self._limit, max(self.floor, self.latency_floor)))

    def _grow(self, now: float, rate: float, reason: str) -> None:
        if self._limit >= self.ceiling:
            self._rate_before_step = None
            self._decide(now, self._limit, "held at the ceiling")
            return
        self._rate_before_step = rate
        step = self._limit if self.slow_start else max(1, self._limit // 10)
        self._decide(now, min(self.ceiling, self._limit + step), reason)

    def _cut(self, now: float, factor: float, reason: str, floor: int | None = None) -> None:
        self.slow_start = False
        self._last_cut = now
        self._rate_before_step = None
        self._round = []
        self._round_started = now
        self._round_peak = self.in_flight
        lowest = self.floor if floor is None else floor
        self._decide(now, max(lowest, int(self._limit * factor)), reason)

    def _decide(self, now: float, limit: int, reason: str) -> None:
        self._limit = limit
        self.decisions.append(Decision(now, limit, reason))
        self.reasons[reason] += 1
