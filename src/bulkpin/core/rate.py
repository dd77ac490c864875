"""The transfer rate a person is shown: bytes per second, smoothed over recent seconds.

An exponentially weighted moving average in continuous time: each update
weighs the rate since the previous one by how long ago it was, so the result
does not depend on how often it is asked for. The average is normalised by the
weight it has gathered so far, so the first seconds show the plain average
since the first byte instead of climbing slowly from zero (the bias a plain
EWMA has at the start), over at least :data:`RATE_MIN_SPAN` seconds: a burst in
the first fraction of a second is not a speed. Idle time before the first byte is not counted: a run
that lists the account for a minute first does not start with a slow rate.
"""

from __future__ import annotations

import math

__all__ = ["RATE_MIN_SPAN", "RATE_TIME_CONSTANT", "RateMeter"]

#: Seconds after which a past rate's weight has fallen to 1/e: the rate shown
#: mostly reflects the last 10-30 seconds, steady enough for an ETA.
RATE_TIME_CONSTANT = 10.0

#: The shortest time a rate is averaged over, in seconds.
RATE_MIN_SPAN = 1.0


class RateMeter:
    """Smoothed rate of a growing total (bytes sent), fed the total and the time."""

    def __init__(self, time_constant: float = RATE_TIME_CONSTANT) -> None:
        if time_constant <= 0:
            raise ValueError("time_constant must be positive")
        self._tau = time_constant
        # The weight gathered in RATE_MIN_SPAN seconds: dividing by no less
        # than it averages the first second's bytes over a whole second.
        self._min_weight = 1 - math.exp(-RATE_MIN_SPAN / time_constant)
        self._stamp: float | None = None
        self._total = 0
        self._average = 0.0
        self._weight = 0.0

    def start(self, now: float, total: int) -> None:
        """The first byte went out: measure from here (once)."""
        if self._stamp is None:
            self._stamp, self._total = now, total

    def update(self, now: float, total: int) -> None:
        """Fold in what happened since the previous update."""
        if self._stamp is None or now <= self._stamp:
            return
        elapsed = now - self._stamp
        recent = (total - self._total) / elapsed
        keep = math.exp(-elapsed / self._tau)
        self._average = keep * self._average + (1 - keep) * recent
        self._weight = keep * self._weight + (1 - keep)
        self._stamp, self._total = now, total

    @property
    def rate(self) -> float:
        """Bytes per second (never negative: a rewound retry is not a speed)."""
        if self._weight <= 0:
            return 0.0
        return max(0.0, self._average / max(self._weight, self._min_weight))
